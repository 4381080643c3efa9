"""Process trees of task attempts: start in a new session, signal and kill the whole tree (R9).

Each attempt runs in its own session and process group. Its descendants are also tracked with
psutil (a descendant that moved to another group or session escapes ``killpg``). ``signal_tree``
reaches the group and every known descendant, each once; the supervisor sends SIGTERM and, after
the grace period, SIGKILL. The leader is our child and is reaped by ``poll``; a descendant is
reaped here only if it became our child (we are PID 1 or a subreaper): otherwise its zombie
belongs to whoever adopted it, and counts as gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

import psutil

from emulator.run_jobs.output_tail import StderrTail

logger = logging.getLogger(__name__)

DESCENDANT_REFRESH_SECONDS = 1.0
"""How often a running tree's descendants are listed again (each listing scans /proc; the
process group, which ``killpg`` reaches, needs no listing)."""
OUTPUT_FD = 2
"""Attempts write their stdout and stderr to the emulator's stderr (Cloud Run sends both to
Cloud Logging; the emulator's stdout carries only its ``export`` lines). Stderr goes through a
``StderrTail``, which keeps its last lines."""


class AttemptProcess:
    """The process tree of one attempt; every method is safe to call after the tree died."""

    def __init__(self, popen: subprocess.Popen[bytes], stderr: StderrTail) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.create_time = _create_time(popen.pid)
        self._descendants: dict[int, psutil.Process] = {}
        self._refreshed_at = 0.0
        self._stderr = stderr

    @classmethod
    def start(cls, argv: Sequence[str], env: Mapping[str, str], cwd: str | None) -> AttemptProcess:
        """Start ``argv`` in a new session; OSError if it cannot be executed."""
        read_fd, write_fd = os.pipe()
        try:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd or None,
                stdin=subprocess.DEVNULL,
                stdout=OUTPUT_FD,
                stderr=write_fd,
                start_new_session=True,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child holds its own copy
        return cls(popen, StderrTail(read_fd, OUTPUT_FD))

    def stderr_tail(self) -> str:
        """The last lines the tree wrote to stderr (call once it exited and was cleaned up)."""
        return self._stderr.text()

    def poll(self) -> int | None:
        """The leader's return code (negative = killed by that signal), or None if it runs."""
        return self._popen.poll()

    def refresh_descendants(self, *, force: bool = False) -> None:
        """Remember the leader's current descendants (throttled unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._refreshed_at < DESCENDANT_REFRESH_SECONDS:
            return
        self._refreshed_at = now
        if self._popen.returncode is not None:
            return
        try:
            children = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return
        for child in children:
            self._descendants.setdefault(child.pid, child)

    def signal_tree(self, sig: int) -> None:
        """Send ``sig`` once to every process of the tree: the process group, then each known
        process that left it (a second SIGTERM could hit a process whose handler already ran
        and that is shutting down with the default disposition restored)."""
        self.refresh_descendants(force=True)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
        if self._popen.returncode is None and not self._in_group(self.pid):
            self._popen.send_signal(sig)  # the leader moved to another group
        for process in list(self._descendants.values()):
            if self._in_group(process.pid):
                continue
            try:
                process.send_signal(sig)
            except psutil.Error:
                self._descendants.pop(process.pid, None)

    def _in_group(self, pid: int) -> bool:
        """True if ``pid`` is in the tree's process group (so ``killpg`` reached it)."""
        try:
            return os.getpgid(pid) == self.pid
        except OSError:
            return True  # gone: nothing to signal

    def tree_alive(self) -> bool:
        """True while the leader or any known descendant runs (zombies count as gone)."""
        if self.poll() is None:
            return True
        return any(_running(p) for p in self._descendants.values())

    def kill_tree(self) -> None:
        """SIGKILL the whole tree and reap what is ours; returns once it is gone."""
        self.signal_tree(signal.SIGKILL)
        try:
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            logger.error("Process %d survived SIGKILL for 5 s.", self.pid)
        _wait_gone(list(self._descendants.values()), timeout=1)
        self._descendants.clear()

    def clean_up_after_exit(self) -> None:
        """The leader exited: kill what it left behind (a container stops as a whole)."""
        leftovers = [p for p in self._descendants.values() if _running(p)]
        group_left = _group_exists(self.pid)
        if leftovers or group_left:
            self.kill_tree()


def kill_leftover_tree(pid: int, create_time: float | None) -> bool:
    """Kill the tree of an attempt started by an earlier emulator process, if it still runs.

    ``create_time`` (from psutil) guards against a reused pid. Returns True if something was
    killed.
    """
    try:
        leader = psutil.Process(pid)
        if create_time is not None and abs(leader.create_time() - create_time) > 0.01:
            return False
        tree = [leader, *leader.children(recursive=True)]
    except psutil.Error:
        tree = []
    killed = False
    try:
        os.killpg(pid, signal.SIGKILL)
        killed = True
    except (ProcessLookupError, PermissionError):
        pass
    for process in tree:
        try:
            process.kill()
            killed = True
        except psutil.Error:
            pass
    _wait_gone(tree, timeout=1)
    return killed


def kill_unrecorded_attempts(job_id: str, execution_id: str) -> list[int]:
    """Kill the processes an earlier emulator started for an execution without recording them.

    An attempt's process can be running (and, say, writing its own pid somewhere) before the
    emulator has recorded its pid; if the emulator dies in between, only the environment the
    attempt was started with still names it. Every process whose environment says this job and
    execution (the attempt and its descendants) is killed; their pids are returned.
    """
    wanted = {"CLOUD_RUN_JOB": job_id, "CLOUD_RUN_EXECUTION": execution_id}
    found = []
    for process in psutil.process_iter():
        try:
            environ = process.environ()
        except psutil.Error:
            continue  # gone, a zombie, or another user's
        if all(environ.get(name) == value for name, value in wanted.items()):
            found.append(process)
    for process in found:
        with contextlib.suppress(psutil.Error):
            process.kill()
    _wait_gone(found, timeout=1)
    return [process.pid for process in found]


def _create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(processes: Sequence[psutil.Process], timeout: float) -> None:
    """Wait until none of ``processes`` runs (zombies count as gone); reap those that are ours."""
    deadline = time.monotonic() + timeout
    pending = list(processes)
    while True:
        for process in pending:
            _reap_if_ours(process)
        pending = [p for p in pending if _running(p)]
        if not pending or time.monotonic() >= deadline:
            return
        time.sleep(0.01)


def _reap_if_ours(process: psutil.Process) -> None:
    try:
        # is_running() also checks the pid was not reused by another process.
        if not (process.is_running() and process.status() == psutil.STATUS_ZOMBIE):
            return
        os.waitpid(process.pid, os.WNOHANG)
    except (psutil.Error, ChildProcessError):
        pass  # gone, or not our child: its adoptive parent reaps it


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
