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
from collections.abc import Sequence

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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535)")
    return value


def _queue_spec(text: str) -> object:
    try:
        return parse_queue_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _route(text: str) -> tuple[str, str]:
    try:
        return parse_route(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _job_spec(text: str) -> object:
    try:
        return parse_job_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _command(text: str) -> list[str]:
    try:
        argv = shlex.split(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a command line: {error}") from None
    if not argv:
        raise argparse.ArgumentTypeError("the command must not be empty")
    return argv


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


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
    parser.add_argument("--location", default=DEFAULT_LOCATION, help="location of --queue queues")
    parser.add_argument(
        "--queue",
        dest="queues",
        action="append",
        type=_queue_spec,
        default=[],
        metavar="SPEC",
        help="create or update a queue at start: QUEUE_ID[:key=value,...] with keys "
        f"{', '.join(SPEC_KEYS)} (durations in seconds); repeatable",
    )
    parser.add_argument(
        "--job",
        dest="jobs",
        action="append",
        type=_job_spec,
        default=[],
        metavar="SPEC",
        help="create or update a Cloud Run job running --job-command at start: "
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
    parser.add_argument(
        "--route",
        dest="routes",
        action="append",
        type=_route,
        default=[],
        metavar="FROM=TO",
        help="send deliveries whose URL starts with FROM to TO instead, with the rest of the URL "
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGINT/SIGTERM; the exit status (1 when it cannot start)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    http_port = args.http_port
    if http_port is None:
        http_port = args.port + 1 if args.port else 0
    try:
        server = start_server(
            host=args.host,
            port=args.port,
            http_port=http_port,
            data_dir=args.data_dir,
            project=args.project,
            location=args.location,
            queues=args.queues,
            max_parallel=args.max_parallel,
            fault_seed=args.fault_seed,
            jobs=args.jobs,
            job_kill_grace=args.job_kill_grace,
            default_job_command=args.job_command,
            default_job_workdir=args.job_workdir,
            routes=dict(args.routes),
        )
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
