"""The development loop: the emulator and runserver as child processes of one command, kept
running and restarted on code changes. Ctrl-C in the terminal reaches only the parent (each child
has its own session), which then stops the children in order (`tasks_google.dev.children`)."""

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from tasks_google.dev.children import Child, describe_exit, wait_until_healthy

logger = logging.getLogger(__name__)

#: How often the supervisor looks at its children.
CHECK_INTERVAL_SECONDS = 0.25


class DevLoop:
    """The emulator and runserver, kept running until a stop event is set.

    A change to the project's code restarts runserver, a change to the emulator's code restarts
    the emulator, and an emulator that dies is restarted. The children are looked at every
    CHECK_INTERVAL_SECONDS whatever the file watcher does: a running task writes the project's
    SQLite database and the emulator's data directory all the time, and watchfiles keeps
    collecting those changes (which its filter then drops) without ever yielding or timing out.
    """

    def __init__(
        self,
        emulator: Child,
        server: Child,
        health_url: str,
        watched: Sequence[Path],
        emulator_dir: Path | None,
        say: Callable[[str], None],
        warn: Callable[[str], None],
    ) -> None:
        self.emulator = emulator
        self.server = server
        self.health_url = health_url
        self.watched = list(watched)
        self.emulator_dir = emulator_dir
        self.say = say
        self.warn = warn
        self._server_exit_reported = False

    def start(self) -> None:
        """Start the emulator, wait until it answers, then start runserver (RuntimeError if
        the emulator does not come up)."""
        self._start_emulator()
        self.server.start()

    def supervise(self, stop: threading.Event) -> None:
        """Restart what needs restarting until `stop` is set."""
        changes: queue.SimpleQueue[list[Path] | BaseException] = queue.SimpleQueue()
        threading.Thread(
            target=self._watch, args=(stop, changes), name="tasks_dev-watcher", daemon=True
        ).start()
        while not stop.is_set():
            try:
                changed = changes.get(timeout=CHECK_INTERVAL_SECONDS)
            except queue.Empty:
                changed = []
            if isinstance(changed, BaseException):
                raise RuntimeError(f"Watching the code for changes failed: {changed}")
            if changed:
                self._code_changed(changed)
            self._look_after_children()

    def stop(self) -> None:
        """Stop runserver, then the emulator, each with everything it started."""
        self.server.stop()
        self.emulator.stop()

    def _watch(self, stop: threading.Event, changes: queue.SimpleQueue) -> None:
        import watchfiles

        try:
            for batch in watchfiles.watch(
                *self.watched,
                watch_filter=watchfiles.PythonFilter(),
                stop_event=stop,
                raise_interrupt=False,
            ):
                changes.put([Path(path) for _, path in batch])
        except Exception as error:
            changes.put(error)

    def _code_changed(self, changed: list[Path]) -> None:
        if self.emulator_dir and any(self.emulator_dir in path.parents for path in changed):
            self.say("Emulator code changed: restarting the emulator.")
            self.emulator.stop()
            self._start_emulator()
        else:
            self.say(f"{changed[0].name} changed: restarting runserver.")
            self.server.stop()
            self.server.start()
            self._server_exit_reported = False

    def _look_after_children(self) -> None:
        pid, returncode = self.emulator.pid, self.emulator.returncode
        if returncode is not None:
            self.warn(f"The emulator (pid {pid}) {describe_exit(returncode)}: restarting it.")
            self.emulator.kill_leftovers()
            self._start_emulator()
        self.emulator.remember_descendants()
        returncode = self.server.returncode
        if returncode is not None and not self._server_exit_reported:
            self.warn(f"runserver {describe_exit(returncode)}: a code change starts it again.")
            self._server_exit_reported = True

    def _start_emulator(self) -> None:
        self.emulator.start()
        try:
            wait_until_healthy(self.health_url, self.emulator)
        except RuntimeError:
            self.emulator.stop()
            raise
