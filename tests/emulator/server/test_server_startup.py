"""Starting the emulator server: a client that comes before the server can answer is refused at
once, instead of being left in the backlog and answered after it gave up (which printed a
BrokenPipeError traceback: the first thing `just dev` showed on a busy machine)."""

from __future__ import annotations

import json
import socket
import urllib.request
from urllib.error import URLError

from emulator.server import start_server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_health_check_during_startup_is_refused_at_once_and_leaves_no_traceback(capfd):
    http_port = free_port()
    early: list[object] = []

    def queue_specs():
        """start_server reads its queue specs once its ports are bound, before it serves:
        a health check from here is one that comes too early."""
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=1)
            early.append("answered")
        except URLError as error:
            early.append(type(error.reason))
        except OSError as error:
            early.append(type(error))
        yield from ()

    with start_server(http_port=http_port, queues=queue_specs()) as server:
        health = json.load(urllib.request.urlopen(server.url + "/health", timeout=10))
    assert health["status"] == "ok"

    assert early == [ConnectionRefusedError]
    assert "Traceback" not in capfd.readouterr().err
