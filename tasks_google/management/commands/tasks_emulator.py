"""`manage.py tasks_emulator`: run the emulator for this project (queues from TASKS)."""

import os
from typing import Any

from django.core.management.base import CommandError, CommandParser

from tasks_google.config import dev_emulator
from tasks_google.dev import emulator_command, ports
from tasks_google.management.command_errors import TasksCommand


class Command(TasksCommand):
    help = (
        "Run the Cloud Tasks emulator with this project's project, location and queues (from "
        "TASKS). It prints the export lines that point the app at it."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_emulator_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        host = "127.0.0.1"
        port, http_port = options["emulator_port"], options["emulator_http_port"]
        argv = emulator_command.emulator_argv(
            port=port,
            http_port=http_port,
            data_dir=None
            if options["memory"]
            else options["data_dir"] or emulator_command.default_data_dir(),
            queue_specs=options["queue"],
        )
        if port and http_port != 0:
            taken = ports.port_taken(None, host, port, http_port)
            if taken:
                raise CommandError(taken)
            # Where tools like tasks_tui find it; this process becomes the emulator, so the
            # record names the emulator's own pid.
            dev_emulator.record_dev_emulator(host, port, http_port)
        # Become the emulator: signals and the exit status are its own.
        os.execv(argv[0], argv)


def add_emulator_arguments(parser: CommandParser) -> None:
    """The emulator options shared by tasks_emulator and tasks_dev."""
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=emulator_command.DEFAULT_EMULATOR_PORT,
        help="gRPC port of the emulator (default: %(default)s; its control API uses the next one).",
    )
    parser.add_argument(
        "--emulator-http-port", type=int, default=None, help="control API port (default: gRPC + 1)."
    )
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument(
        "--data-dir",
        default=None,
        help="where the emulator keeps its state (default: .emulator-data beside the project).",
    )
    storage.add_argument(
        "--memory", action="store_true", help="keep the emulator's state in memory only."
    )
    parser.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="SPEC",
        help="QUEUE_ID[:key=value,...] to create or update at start, e.g. "
        "'default:max_attempts=5,min_backoff=1' (repeatable; see python -m emulator --help).",
    )
