"""Helpers for tests that drive the emulator as a server: the official client on an insecure
channel, and ``python -m emulator`` as a subprocess (used by tests/integration)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from tests.emulator.channels import emulator_channel

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def tasks_client(grpc_target: str) -> Iterator[tasks_v2.CloudTasksClient]:
    """The unmodified official client, pointed at the emulator as the docs say."""
    channel = emulator_channel(grpc_target)
    try:
        yield tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    finally:
        channel.close()


class EmulatorProcess:
    """``python -m emulator`` in a subprocess; ``env`` holds the variables it printed (at least
    those named in ``wait_for``)."""

    def __init__(self, *args: str, log_path: Path, wait_for: tuple[str, ...] = ()) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            bufsize=0,  # unbuffered: select() below must see every byte not yet read
            stderr=self._log,
            start_new_session=True,
        )
        self.env = self._read_exports(
            {"CLOUD_TASKS_EMULATOR_HOST", "TASKS_GOOGLE_EMULATOR_URL", *wait_for}, timeout=30
        )

    @property
    def grpc_target(self) -> str:
        return self.env["CLOUD_TASKS_EMULATOR_HOST"]

    @property
    def url(self) -> str:
        return self.env["TASKS_GOOGLE_EMULATOR_URL"]

    def kill(self) -> None:
        """``kill -9``: no chance to clean up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then wait; returns the exit status (SIGKILL if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _read_exports(self, names: set[str], timeout: float) -> dict[str, str]:
        assert self.process.stdout is not None
        env: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while not names <= env.keys():
            remaining = deadline - time.monotonic()
            ready = remaining > 0 and select.select([self.process.stdout], [], [], remaining)[0]
            if not ready:
                self.stop()
                raise AssertionError(f"the emulator did not start:\n{self.log()}")
            line = self.process.stdout.readline().decode().strip()
            if not line and self.process.poll() is not None:
                self.stop()
                raise AssertionError(f"the emulator exited at start:\n{self.log()}")
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = value
        return env
