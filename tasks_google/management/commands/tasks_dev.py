"""`manage.py tasks_dev`: the emulator and runserver together, restarted on code changes."""

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tasks_google import devloop
from tasks_google.management.commands.tasks_emulator import add_emulator_arguments

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the Cloud Tasks emulator and runserver together, pointed at each other. A change "
        "to your code restarts runserver, a change to the emulator restarts the emulator; "
        "Ctrl-C stops both and everything they started."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="runserver's address:port."
        )
        add_emulator_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import watchfiles
        except ImportError as exc:
            raise CommandError(f"tasks_dev needs {exc.name}: install tasks-google[dev].") from exc

        host = "127.0.0.1"
        port, http_port = options["emulator_port"], options["emulator_http_port"]
        data_dir = None if options["memory"] else options["data_dir"] or devloop.default_data_dir()
        env = {**os.environ, **devloop.emulator_env(host, port, http_port)}
        emulator = devloop.Child(
            "emulator",
            devloop.emulator_argv(
                port=port, http_port=http_port, data_dir=data_dir, queue_specs=options["queue"]
            ),
            env,
        )
        manage = os.path.abspath(sys.argv[0])
        server = devloop.Child(
            "runserver",
            [sys.executable, manage, "runserver", options["addrport"], "--noreload"],
            env,
            # Like Ctrl-C: runserver exits cleanly, so tasks it was running give up their leases
            # at once and are redelivered to the restarted server without waiting for expiry.
            stop_signal=signal.SIGINT,
        )
        health = env[devloop.EMULATOR_URL_ENV] + "/health"
        emulator_dir = devloop.package_dir("emulator")
        watched = [
            p
            for p in {
                Path(getattr(settings, "BASE_DIR", Path.cwd())),
                emulator_dir,
                devloop.package_dir("tasks_google"),
            }
            if p
        ]

        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            self._start(emulator, health)
            server.start()
            self.stdout.write(
                f"Emulator at {env[devloop.EMULATOR_URL_ENV]}, app at http://{options['addrport']}/"
                " - Ctrl-C stops both."
            )
            for changes in watchfiles.watch(
                *watched,
                watch_filter=watchfiles.PythonFilter(),
                stop_event=stop,
                yield_on_timeout=True,
                rust_timeout=1000,
            ):
                changed = [Path(path) for _, path in changes]
                if emulator_dir and any(emulator_dir in p.parents for p in changed):
                    self.stdout.write("Emulator code changed: restarting the emulator.")
                    emulator.stop()
                    self._start(emulator, health)
                elif changed:
                    self.stdout.write(f"{changed[0].name} changed: restarting runserver.")
                    server.stop()
                    server.start()
                elif not emulator.running:
                    self.stderr.write("The emulator stopped unexpectedly: restarting it.")
                    self._start(emulator, health)
        finally:
            server.stop()
            emulator.stop()

    def _start(self, emulator: devloop.Child, health: str) -> None:
        emulator.start()
        try:
            devloop.wait_until_healthy(health, emulator)
        except RuntimeError as exc:
            emulator.stop()
            raise CommandError(str(exc)) from exc
