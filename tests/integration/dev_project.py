"""A copy of the example project used as a user's own project: its commands run as real
processes, `tasks_dev` in the background and `tasks_tui` in a terminal."""

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from pathlib import Path

import psutil

from tasks_google.config.dev_emulator import emulator_env
from tests.integration.dev_processes import wait_until

REPO = Path(__file__).resolve().parents[2]


def example_project(tmp_path: Path) -> Path:
    """A migrated copy of the example project, laid out as `startproject` makes one: its
    SQLite database and the emulator's data directory beside manage.py."""
    project = tmp_path / "example"
    shutil.copytree(
        REPO / "example", project, ignore=shutil.ignore_patterns("*.sqlite3", "__pycache__")
    )
    subprocess.run(
        [*manage(project), "migrate", "-v", "0", "--skip-checks"], env=project_env(), check=True
    )
    return project


def manage(project: Path) -> list[str]:
    return [sys.executable, str(project / "manage.py")]


def project_env(**extra: str) -> dict[str, str]:
    """The environment of a shell in the project's virtualenv (`python` is its Python, as Run
    Jobs executions need), with nothing pointing at an emulator."""
    env = {**os.environ, **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in ("DJANGO_SETTINGS_MODULE", "EXAMPLE_DB", *emulator_env("h", 1, None)):
        env.pop(name, None)
    return env


class TasksDev:
    """`manage.py tasks_dev` running in its own session, its output in a log file."""

    def __init__(self, project: Path, log_path: Path, port: int, *args: str) -> None:
        self.log_path = log_path
        self.port = port
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [*manage(project), "tasks_dev", f"127.0.0.1:{port}", *args],
            cwd=project,
            env=project_env(DEV_PORT=str(port)),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_runserver(self) -> None:
        wait_until(lambda: urllib.request.urlopen(self.base + "/", timeout=5), 90, "runserver")

    def emulator_pid(self) -> int | None:
        """The pid of its emulator (None while there is none)."""
        for child in psutil.Process(self.proc.pid).children():
            if "emulator" in child.cmdline()[1:3]:
                return child.pid
        return None

    def interrupt(self) -> int:
        """Ctrl-C; the exit status."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(30)
        finally:
            self._log.close()
            print(self.log()[-5000:])


#: Terminal control sequences (colours, cursor moves, modes), removed to read the text.
CONTROL = re.compile(
    rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Z]"
)


class Terminal:
    """A command in a pseudo-terminal of `columns` x `rows`, as a user runs it."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], size=(150, 40)) -> None:
        self._master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**env, "TERM": "xterm-256color"},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self._output = b""

    def text(self) -> str:
        """Everything written so far, without control sequences."""
        while select.select([self._master], [], [], 0)[0]:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # the command ended
                break
            if not chunk:
                break
            self._output += chunk
        return CONTROL.sub(b"", self._output).decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.text())) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never shown; the terminal shows:\n{self.text()}")
            time.sleep(0.1)
        return found

    def press(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def close(self) -> None:
        with_status = self.proc.poll()
        if with_status is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        os.close(self._master)
