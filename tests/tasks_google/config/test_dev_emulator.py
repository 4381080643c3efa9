"""Finding the project's running development emulator from its record beside the project."""

import json
import os
import subprocess
import sys

import pytest

from emulator.server.emulator_server import start_server
from tasks_google.config import dev_emulator
from tasks_google.config.dev_emulator import (
    DevEmulator,
    find_dev_emulator,
    follow_dev_emulator,
    record_path,
)
from tasks_google.config.options import EMULATOR_HOST_ENV, EMULATOR_URL_ENV


@pytest.fixture
def project(settings, tmp_path, monkeypatch):
    settings.BASE_DIR = tmp_path
    for name in dev_emulator.emulator_env("h", 1, None):
        # Set, then deleted: monkeypatch restores the variable (or its absence) afterwards,
        # whatever follow_dev_emulator() sets meanwhile.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return tmp_path


def write_record(found: DevEmulator) -> None:
    record_path().parent.mkdir(parents=True, exist_ok=True)
    record_path().write_text(json.dumps(found.__dict__))


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_recorded_emulator_that_answers_is_followed(project, monkeypatch):
    with start_server() as server:
        write_record(DevEmulator(server.grpc_target, server.url, dead_pid()))

        followed = follow_dev_emulator()

        assert followed == find_dev_emulator()
        assert followed.grpc_target == server.grpc_target
        assert os.environ[EMULATOR_HOST_ENV] == server.grpc_target
        assert os.environ[EMULATOR_URL_ENV] == server.url
        assert record_path() == project / ".emulator-data" / "running-emulator.json"


def test_an_emulator_variable_wins_over_the_record(project, monkeypatch):
    monkeypatch.setenv(EMULATOR_HOST_ENV, "127.0.0.1:7001")
    with start_server() as server:
        write_record(DevEmulator(server.grpc_target, server.url, os.getpid()))

        assert follow_dev_emulator() is None

    assert os.environ[EMULATOR_HOST_ENV] == "127.0.0.1:7001"
    assert EMULATOR_URL_ENV not in os.environ


def test_the_record_of_a_live_process_is_followed_while_its_emulator_restarts(project):
    with start_server() as server:
        url, target = server.url, server.grpc_target
    write_record(DevEmulator(target, url, os.getpid()))  # nothing answers there now

    assert find_dev_emulator() == DevEmulator(target, url, os.getpid())


def test_a_stale_record_is_ignored_and_removed(project):
    with start_server() as server:
        url, target = server.url, server.grpc_target
    write_record(DevEmulator(target, url, dead_pid()))

    assert follow_dev_emulator() is None
    assert not record_path().exists()
    assert EMULATOR_HOST_ENV not in os.environ


def test_a_process_forgets_only_its_own_record(project):
    mine = dev_emulator.record_dev_emulator("127.0.0.1", 7001, None)
    assert mine == DevEmulator("127.0.0.1:7001", "http://127.0.0.1:7002", os.getpid())
    write_record(DevEmulator("127.0.0.1:7003", "http://127.0.0.1:7004", os.getpid() + 1))

    dev_emulator.forget_dev_emulator()
    assert record_path().exists()

    write_record(mine)
    dev_emulator.forget_dev_emulator()
    assert not record_path().exists()
