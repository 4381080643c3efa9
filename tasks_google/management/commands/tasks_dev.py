"""`manage.py tasks_dev`: the emulator and runserver together, restarted on code changes."""

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from tasks_google.config import dev_emulator
from tasks_google.config.options import EMULATOR_URL_ENV
from tasks_google.dev import children, emulator_command, loop, ports
from tasks_google.management.command_errors import TasksCommand
from tasks_google.management.commands.tasks_emulator import add_emulator_arguments


class Command(TasksCommand):
    help = (
        "Run the Cloud Tasks emulator and runserver together, pointed at each other. A change "
        "to your code restarts runserver, a change to the emulator restarts the emulator, an "
        "emulator that dies is restarted; Ctrl-C stops both and everything they started."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="runserver's address:port."
        )
        add_emulator_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import watchfiles  # noqa: F401
        except ImportError as exc:
            raise CommandError(f"tasks_dev needs {exc.name}: install tasks-google[dev].") from exc

        host = "127.0.0.1"
        port, http_port = options["emulator_port"], options["emulator_http_port"]
        taken = ports.port_taken(options["addrport"], host, port, http_port)
        if taken:
            raise CommandError(taken)
        loop = self._dev_loop(host, port, http_port, options)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            loop.start()
            # Where tools like tasks_tui find it, whatever this shell exports.
            running = dev_emulator.record_dev_emulator(host, port, http_port)
            self.stdout.write(
                f"Emulator at {running.url}, app at http://{options['addrport']}/ - Ctrl-C "
                "stops both."
            )
            loop.supervise(stop)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            dev_emulator.forget_dev_emulator()
            loop.stop()

    def _dev_loop(
        self, host: str, port: int, http_port: int | None, options: dict[str, Any]
    ) -> loop.DevLoop:
        data_dir = (
            None
            if options["memory"]
            else options["data_dir"] or emulator_command.default_data_dir()
        )
        env = {**os.environ, **dev_emulator.emulator_env(host, port, http_port)}
        emulator = children.Child(
            "emulator",
            emulator_command.emulator_argv(
                port=port,
                http_port=http_port,
                data_dir=data_dir,
                queue_specs=options["queue"],
                app_url=ports.app_url(options["addrport"]),
            ),
            env,
        )
        manage = os.path.abspath(sys.argv[0])
        server = children.Child(
            "runserver",
            [sys.executable, manage, "tasks_runserver", options["addrport"], "--noreload"],
            env,
            # Like Ctrl-C: runserver exits cleanly, so tasks it was running give up their leases
            # at once and are redelivered to the restarted server without waiting for expiry.
            stop_signal=signal.SIGINT,
        )
        emulator_dir = emulator_command.package_dir("emulator")
        watched = {
            Path(getattr(settings, "BASE_DIR", None) or Path.cwd()),
            emulator_dir,
            emulator_command.package_dir("tasks_google"),
        }
        return loop.DevLoop(
            emulator,
            server,
            health_url=env[EMULATOR_URL_ENV] + "/health",
            watched=[path for path in watched if path],
            emulator_dir=emulator_dir,
            say=self.stdout.write,
            warn=self.stderr.write,
        )
