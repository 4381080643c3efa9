"""Child processes of the development loop, each in its own session and stopped with its whole
tree: SIGTERM to the process group, SIGKILL to whatever is left after a grace period (including
descendants that left the group, or that outlived a child which died)."""

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from typing import Any

STOP_GRACE_SECONDS = 5.0
HEALTH_TIMEOUT_SECONDS = 30.0
#: How long one health request may take before it counts as unanswered.
HEALTH_REQUEST_SECONDS = 5.0
#: How often the emulator's descendants (the Run Jobs processes) are listed.
DESCENDANTS_READ_SECONDS = 1.0


class Child:
    """A child process in its own session, stopped with its whole tree."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.stop_signal = stop_signal
        self.process: subprocess.Popen | None = None
        self._descendants: dict[int, Any] = {}  # pid -> psutil.Process
        self._descendants_read_at = 0.0

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        self._descendants = {}

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal)."""
        return None if self.process is None else self.process.poll()

    def remember_descendants(self) -> None:
        """Note the processes the child started (at most once a second): once the child is
        dead they are re-parented away from it, and this is how they are still found."""
        import psutil

        now = time.monotonic()
        if not self.running or now - self._descendants_read_at < DESCENDANTS_READ_SECONDS:
            return
        self._descendants_read_at = now
        with contextlib.suppress(psutil.Error):
            for proc in psutil.Process(self.process.pid).children(recursive=True):
                self._descendants.setdefault(proc.pid, proc)

    def _tree(self) -> list[Any]:
        """The child (first, if it is still there), its descendants and those remembered."""
        import psutil

        tree: dict[int, Any] = {}
        if self.process.poll() is None:  # not reaped yet, so its pid is still its own
            with contextlib.suppress(psutil.NoSuchProcess):
                leader = psutil.Process(self.process.pid)
                tree = {proc.pid: proc for proc in [leader, *leader.children(recursive=True)]}
        for pid, proc in self._descendants.items():
            if pid not in tree and proc.is_running():  # is_running() also rules out pid reuse
                tree[pid] = proc
        return list(tree.values())

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Signal the process group (`stop_signal`), SIGTERM the rest of the tree, then SIGKILL
        every survivor (descendants that left the group or outlived the child included)."""
        if self.process is None:
            return
        import psutil

        tree = self._tree()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, self.stop_signal)
        for proc in tree:
            if proc.pid != self.process.pid:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.terminate()
        _, alive = psutil.wait_procs(tree, timeout=grace)
        self._kill(alive, grace)

    def kill_leftovers(self) -> None:
        """SIGKILL at once whatever a child that died left running (as the emulator itself
        does with the task processes an earlier emulator left behind)."""
        if self.process is not None:
            self._kill(self._tree(), STOP_GRACE_SECONDS)

    def _kill(self, procs: list[Any], grace: float) -> None:
        import psutil

        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(procs, timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        self._descendants = {}


def wait_until_healthy(url: str, child: Child, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
    """Return once `url` answers; raise RuntimeError if the child exits or time runs out.

    Each request may take HEALTH_REQUEST_SECONDS: a busy emulator is waited for, not hung up on
    (a request given up on leaves the server writing its answer to a closed connection).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=HEALTH_REQUEST_SECONDS):
                return
        except OSError:
            pass
        if not child.running:
            raise RuntimeError(f"The {child.name} exited before answering at {url}.")
        if time.monotonic() > deadline:
            raise RuntimeError(f"The {child.name} did not answer at {url} within {timeout:.0f} s.")
        time.sleep(0.1)


def describe_exit(returncode: int) -> str:
    """How a process ended, in words: `was killed by SIGKILL`, `exited with status 1`."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"
