"""``python -m emulator`` argument handling and start-up errors (the full run is an integration
test: tests/integration/test_emulator_cli.py)."""

from __future__ import annotations

import inspect
import socket

import pytest

from emulator.cloud_tasks.queue_specs import QueueSpec
from emulator.kit.store import DataDirectory
from emulator.server import start_server
from emulator.server.cli import build_parser, main, server_options


def test_defaults():
    args = build_parser().parse_args([])

    assert (args.host, args.port, args.http_port, args.data_dir) == ("127.0.0.1", 8123, None, None)
    assert (args.project, args.location, args.queues) == ("demo-project", "us-central1", [])
    assert args.log_level == "INFO"


def test_repeatable_queue_specs():
    args = build_parser().parse_args(["--queue", "a:max_attempts=2", "--queue", "b"])

    assert args.queues == [QueueSpec("a", {"max_attempts": 2}), QueueSpec("b")]


def test_every_option_but_the_log_level_reaches_start_server_under_its_parameter_name():
    argv = ["--port", "9000", "--job-command", "python run.py", "--job-workdir", "/srv"]
    options = server_options(build_parser().parse_args([*argv, "--route", "http://a=http://b"]))

    assert set(options) <= set(inspect.signature(start_server).parameters)
    assert options["http_port"] == 9001 and options["routes"] == {"http://a": "http://b"}
    assert options["default_job_command"] == ["python", "run.py"]
    assert options["default_job_workdir"] == "/srv"
    assert server_options(build_parser().parse_args(["--port", "0"]))["http_port"] == 0
    given = ["--port", "9000", "--http-port", "7000"]
    assert server_options(build_parser().parse_args(given))["http_port"] == 7000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--queue", "a:speed=3"], "invalid setting 'speed=3'"),
        (["--queue", "no_underscores"], "invalid queue id"),
        (["--port", "70000"], "not a port number"),
        (["--max-parallel", "0"], "must be at least 1"),
        (["--max-parallel", "many"], "'many' is not an integer"),
        (["--job-kill-grace", "-1"], "must not be negative"),
        (["--job-command", "'unclosed"], "is not a command line"),
        (["--job-command", " "], "the command must not be empty"),
        (["--route", "nowhere"], "--route"),
        (["--log-level", "chatty"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_port_in_use_is_a_clear_error_and_exit_1(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        assert main(["--port", str(port), "--http-port", "0"]) == 1

    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "in use" in err


def test_a_busy_control_api_port_is_a_clear_error(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        assert main(["--port", "0", "--http-port", str(port)]) == 1

    assert "--http-port" in capsys.readouterr().err


def test_an_invalid_queue_setting_combination_is_a_start_up_error(capsys):
    assert main(["--port", "0", "--queue", "q:min_backoff=10,max_backoff=1"]) == 1

    assert "--queue q: RetryConfig.minBackoff" in capsys.readouterr().err


def test_a_data_dir_in_use_is_a_start_up_error(tmp_path, capsys):
    held = DataDirectory(tmp_path)
    try:
        assert main(["--port", "0", "--data-dir", str(tmp_path)]) == 1
    finally:
        held.close()

    assert "in use by another emulator process" in capsys.readouterr().err
