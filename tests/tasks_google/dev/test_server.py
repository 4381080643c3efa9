"""`tasks_runserver`, what `tasks_dev` starts: the project's runserver, whose connections send
without Nagle's delay."""

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connections

from emulator.kit.realtime import DEFAULT_MAX_PARALLEL
from tasks_google.dev.server import NoDelayWSGIServer, runserver_command

REPO = Path(__file__).resolve().parents[3]


def test_its_accepted_connections_send_without_delay():
    server = NoDelayWSGIServer(("127.0.0.1", 0), None)
    try:
        client = socket.create_connection(server.server_address)
        accepted, _address = server.get_request()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        accepted.close()
        client.close()
    finally:
        server.server_close()


@pytest.mark.django_db(transaction=True)
def test_the_end_of_an_http_connection_closes_its_threads_database_connections():
    server = NoDelayWSGIServer(("127.0.0.1", 0), None)
    seen = {}

    def serve_one_connection() -> None:
        connection = connections["default"]
        connection.ensure_connection()  # a request on it used the database
        client = socket.create_connection(server.server_address)
        accepted, _address = server.get_request()
        server.close_request(accepted)  # as runserver's thread does when the connection ends
        client.close()
        seen["closed"] = connection.connection is None

    try:
        worker = threading.Thread(target=serve_one_connection)
        worker.start()
        worker.join(15)
    finally:
        server.server_close()
    assert seen == {"closed": True}


def test_it_queues_every_connection_a_burst_of_emulator_deliveries_opens():
    # Connects beyond the backlog are dropped and retried by TCP a second later.
    assert NoDelayWSGIServer.request_queue_size >= DEFAULT_MAX_PARALLEL


def test_it_is_the_projects_own_runserver_with_that_server():
    # With staticfiles installed (as in these settings), its runserver serves static files.
    from django.contrib.staticfiles.management.commands.runserver import Command as Static

    command = runserver_command()
    assert issubclass(command, Static)
    assert command.server_cls is NoDelayWSGIServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_manage_py_tasks_runserver_serves_the_project_on_kept_alive_connections():
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "django", "tasks_runserver", f"127.0.0.1:{port}", "--noreload"]
    server = subprocess.Popen(argv, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        deadline = time.monotonic() + 60
        while True:
            try:
                connection.connect()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "tasks_runserver never listened"
                time.sleep(0.1)
        statuses = []
        for _ in range(3):  # one connection, kept alive
            connection.request("GET", "/admin/login/")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        assert statuses == [200, 200, 200]
    finally:
        server.terminate()
        server.wait(15)
