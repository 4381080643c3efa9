"""The development loop: the emulator and runserver as child processes of one command.

Each child runs in its own session, so stopping it reaches its whole process tree (runserver's
threads, task subprocesses) and Ctrl-C in the terminal reaches only the parent, which then stops
the children in order: SIGTERM to the process group, SIGKILL to whatever is left after a grace
period (including descendants that left the group).
"""

import contextlib
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from tasks_google.backends.stored import configured_backends
from tasks_google.options import (
    CLOUD_TASKS,
    EMULATOR_HOST_ENV,
    EMULATOR_URL_ENV,
    RUN_EMULATOR_HOST_ENV,
    SCHEDULER_EMULATOR_HOST_ENV,
)

logger = logging.getLogger(__name__)

DEFAULT_EMULATOR_PORT = 8123
STOP_GRACE_SECONDS = 5.0
HEALTH_TIMEOUT_SECONDS = 30.0


def emulator_argv(
    *,
    port: int,
    http_port: int | None,
    data_dir: str | None,
    queue_specs: Sequence[str] = (),
    host: str = "127.0.0.1",
) -> list[str]:
    """`python -m emulator` for this project: its project, location and queues from TASKS.

    Queues named in `queue_specs` (`QUEUE_ID[:key=value,...]`) replace the plain ones from TASKS.
    With several projects, the first backend's project and location are used; queues elsewhere
    are created on first use, with defaults.
    """
    argv = [sys.executable, "-m", "emulator", "--host", host, "--port", str(port)]
    if http_port is not None:
        argv += ["--http-port", str(http_port)]
    if data_dir:
        argv += ["--data-dir", data_dir]
    specs = {spec.split(":", 1)[0]: spec for spec in queue_specs}
    backends = [b for b in configured_backends(CLOUD_TASKS) if b.config.transport == "gcp"]
    if backends:
        first = backends[0].config
        argv += ["--project", first.project_id, "--location", first.location]
        for backend in backends:
            config = backend.config
            if (config.project_id, config.location) != (first.project_id, first.location):
                continue
            for queue in sorted(backend.queues):
                specs.setdefault(config.queue_id(queue), config.queue_id(queue))
    for spec in specs.values():
        argv += ["--queue", spec]
    return argv


def default_data_dir() -> str:
    """`.emulator-data` beside the project (BASE_DIR if the settings have one)."""
    base = getattr(settings, "BASE_DIR", None) or Path.cwd()
    return str(Path(base) / ".emulator-data")


def emulator_env(host: str, port: int, http_port: int | None) -> dict[str, str]:
    """The environment variables that point the `gcp` transport at the emulator (one gRPC port
    serves every service)."""
    return {
        EMULATOR_HOST_ENV: f"{host}:{port}",
        RUN_EMULATOR_HOST_ENV: f"{host}:{port}",
        SCHEDULER_EMULATOR_HOST_ENV: f"{host}:{port}",
        EMULATOR_URL_ENV: f"http://{host}:{http_port if http_port is not None else port + 1}",
    }


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


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

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Signal the process group (`stop_signal`), SIGTERM the rest of the tree, then SIGKILL
        every survivor (descendants that left the group included)."""
        if self.process is None:
            return
        import psutil

        try:
            tree = [psutil.Process(self.process.pid)]
            tree += tree[0].children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, self.stop_signal)
        for proc in tree[1:]:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.terminate()
        _, alive = psutil.wait_procs(tree, timeout=grace)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None


def wait_until_healthy(url: str, child: Child, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
    """Return once `url` answers; raise RuntimeError if the child exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            pass
        if not child.running:
            raise RuntimeError(f"The {child.name} exited before answering at {url}.")
        if time.monotonic() > deadline:
            raise RuntimeError(f"The {child.name} did not answer at {url} within {timeout:.0f} s.")
        time.sleep(0.1)
