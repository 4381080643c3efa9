"""``python -m emulator``: run the emulator server until SIGINT or SIGTERM.

On start it prints the environment variables that point the app at it (with the ports really
bound), one ``export`` line each, so a script can ``eval`` them; everything else goes to the log on
stderr.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from emulator.cloud_tasks.queue_specs import SPEC_KEYS, parse_queue_spec
from emulator.kit.http_delivery import parse_route
from emulator.kit.realtime import DEFAULT_MAX_PARALLEL
from emulator.run_jobs.engine import DEFAULT_KILL_GRACE_SECONDS
from emulator.run_jobs.job_specs import SPEC_KEYS as JOB_SPEC_KEYS
from emulator.run_jobs.job_specs import parse_job_spec
from emulator.server.emulator_server import (
    DEFAULT_HOST,
    DEFAULT_LOCATION,
    DEFAULT_PORT,
    DEFAULT_PROJECT,
    StartupError,
    start_server,
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
#: The gcloud APIs whose REST surface the control API's port serves (gcloud appends v2/... or
#: v1/... to the endpoint override).
GCLOUD_APIS = ("CLOUDTASKS", "CLOUDSCHEDULER")
GCLOUD_TOKEN_HINT = (
    "# gcloud also needs: export CLOUDSDK_AUTH_ACCESS_TOKEN=<any string> "
    "(the emulator accepts any token)"
)


def _number_argument[N: (int, float)](
    convert: Callable[[str], N], what: str, valid: Callable[[N], bool], requirement: str
) -> Callable[[str], N]:
    """An argparse type: ``convert`` of the text, which must be ``valid`` (usage errors that
    say the text is not ``what`` or that the value ``requirement``)."""

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"{value} {requirement}")
        return value

    return parse


def _parsed_argument[T](parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type: ``parse``, its ValueError a usage error with the same message."""

    def argument(text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return argument


def _split_command(text: str) -> list[str]:
    try:
        argv = shlex.split(text)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a command line: {error}") from None
    if not argv:
        raise ValueError("the command must not be empty")
    return argv


_port = _number_argument(
    int, "a port number", lambda v: 0 <= v <= 65535, "is not a port number (0-65535)"
)
_seconds = _number_argument(float, "a number of seconds", lambda v: v >= 0, "must not be negative")
_positive = _number_argument(int, "an integer", lambda v: v >= 1, "must be at least 1")
_queue_spec = _parsed_argument(parse_queue_spec)
_job_spec = _parsed_argument(parse_job_spec)
_route = _parsed_argument(parse_route)
_command = _parsed_argument(_split_command)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m emulator``."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="A local Google Cloud emulator (Cloud Tasks, Cloud Scheduler, Cloud Run "
        "Jobs): the official clients talk to it over gRPC, it delivers real HTTP requests to your "
        "app and runs job tasks as local processes.",
    )
    _add_server_arguments(parser)
    _add_resource_arguments(parser)
    _add_delivery_arguments(parser)
    return parser


def _add_repeatable(
    parser: argparse.ArgumentParser, flag: str, kind: Callable[[str], Any], metavar: str, help: str
) -> None:
    """A repeatable option collecting its values in a list (dest: the flag's name + ``s``)."""
    parser.add_argument(
        flag,
        dest=f"{flag.removeprefix('--')}s",
        action="append",
        type=kind,
        default=[],
        metavar=metavar,
        help=help,
    )


def _add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Where it listens, where it keeps its state, how much it logs."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on (%(default)s)")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="gRPC port (%(default)s; 0 = a free port)",
    )
    parser.add_argument(
        "--http-port",
        type=_port,
        default=None,
        help="control API port (default: the gRPC port + 1; 0 = a free port)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="keep the state in a SQLite file in this directory (default: in memory)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default="INFO",
        help="log level on stderr (%(default)s)",
    )


def _add_resource_arguments(parser: argparse.ArgumentParser) -> None:
    """The queues and jobs it creates at start, and how job tasks run."""
    parser.add_argument("--project", default=DEFAULT_PROJECT, help="project of --queue queues")
    parser.add_argument(
        "--location",
        default=DEFAULT_LOCATION,
        help="location of --queue queues and --job jobs; the Locations API always lists it",
    )
    _add_repeatable(
        parser,
        "--queue",
        _queue_spec,
        "SPEC",
        "create or update a queue at start: QUEUE_ID[:key=value,...] with keys "
        f"{', '.join(SPEC_KEYS)} (durations in seconds); repeatable",
    )
    _add_repeatable(
        parser,
        "--job",
        _job_spec,
        "SPEC",
        "create or update a Cloud Run job running --job-command at start: "
        f"JOB_ID[:key=value,...] with keys {', '.join(JOB_SPEC_KEYS)} (timeout in seconds); "
        "repeatable",
    )
    parser.add_argument(
        "--job-command",
        type=_command,
        default=None,
        metavar="COMMAND",
        help="command line of Cloud Run jobs whose container names no command, and of unknown "
        'jobs that RunJob registers (e.g. "python manage.py execute_task")',
    )
    parser.add_argument(
        "--job-workdir",
        default=None,
        metavar="DIR",
        help="working directory of Cloud Run job containers that name none (default: here)",
    )
    parser.add_argument(
        "--job-kill-grace",
        type=_seconds,
        default=DEFAULT_KILL_GRACE_SECONDS,
        metavar="SECONDS",
        help="seconds between SIGTERM and SIGKILL when a Cloud Run task is cancelled or times "
        "out (%(default)s)",
    )


def _add_delivery_arguments(parser: argparse.ArgumentParser) -> None:
    """Where deliveries go, how many at once, and the fault rules' seed."""
    _add_repeatable(
        parser,
        "--route",
        _route,
        "FROM=TO",
        "send deliveries whose URL starts with FROM to TO instead, with the rest of the URL "
        "(headers and ID token keep the task's own URL); repeatable",
    )
    parser.add_argument(
        "--max-parallel",
        type=_positive,
        default=DEFAULT_MAX_PARALLEL,
        help="deliveries in flight at once, over all queues (%(default)s)",
    )
    parser.add_argument(
        "--fault-seed", type=int, default=None, help="seed of the fault rules' probabilities"
    )


#: start_server's parameters that the command line names otherwise (option dest -> parameter).
_RENAMED_OPTIONS = {"job_command": "default_job_command", "job_workdir": "default_job_workdir"}


def server_options(args: argparse.Namespace) -> dict[str, Any]:
    """start_server's keyword arguments for the parsed command line."""
    options = {
        _RENAMED_OPTIONS.get(name, name): value
        for name, value in vars(args).items()
        if name != "log_level"
    }
    options["routes"] = dict(args.routes)
    if args.http_port is None:  # the gRPC port + 1, or a free port next to a free gRPC port
        options["http_port"] = args.port + 1 if args.port else 0
    return options


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGINT/SIGTERM; the exit status (1 when it cannot start)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        server = start_server(**server_options(args))
    except StartupError as error:
        print(f"python -m emulator: error: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        logging.getLogger("emulator").info("Received %s; stopping.", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(f"export CLOUD_TASKS_EMULATOR_HOST={server.grpc_target}", flush=True)
    print(f"export TASKS_GOOGLE_EMULATOR_URL={server.url}", flush=True)
    print(f"export CLOUD_SCHEDULER_EMULATOR_HOST={server.grpc_target}", flush=True)
    print(f"export CLOUD_RUN_EMULATOR_HOST={server.grpc_target}", flush=True)
    for api in GCLOUD_APIS:
        print(f"export CLOUDSDK_API_ENDPOINT_OVERRIDES_{api}={server.url}/", flush=True)
    print(GCLOUD_TOKEN_HINT, flush=True)
    try:
        while not stop.wait(timeout=1.0):
            pass
    finally:
        server.stop()
    return 0
