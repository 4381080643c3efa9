"""The project's development emulator: how to start one, and where a running one listens.

`tasks_dev` and `tasks_emulator` record where their emulator listens in a small JSON file beside
the project, `.emulator-data/running-emulator.json` under `BASE_DIR` (else the current
directory), whatever `--data-dir` says, and `tasks_dev` removes it when it stops.
`find_dev_emulator()` is the one place that reads it; `tasks_tui` follows what it finds when
nothing else names an emulator.

The record: `{"grpc_target": "127.0.0.1:8123", "url": "http://127.0.0.1:8124", "pid": 4242}`,
where `pid` is the process that wrote it (`tasks_dev`, or the emulator that `tasks_emulator`
became).
"""

import contextlib
import json
import os
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from tasks_google.config.options import (
    EMULATOR_HOST_ENV,
    EMULATOR_URL_ENV,
    RUN_EMULATOR_HOST_ENV,
    SCHEDULER_EMULATOR_HOST_ENV,
)

#: What to do about an emulator that is not running (error messages and the dashboard say it).
START_HINT = (
    "Start it with `python manage.py tasks_dev` (the emulator and runserver) or "
    "`python manage.py tasks_emulator` (the emulator alone)."
)
#: The emulator's default data directory, beside the project; the record lives there too.
DATA_DIR_NAME = ".emulator-data"
RECORD_NAME = "running-emulator.json"
#: How long the recorded emulator's control API may take to answer.
ANSWER_SECONDS = 1.0


def emulator_env(host: str, port: int, http_port: int | None) -> dict[str, str]:
    """The environment variables pointing at an emulator on `host` (one gRPC port serves every
    service; the control API is on `http_port`, by default the next port)."""
    control = http_port if http_port is not None else port + 1
    return _env(f"{host}:{port}", f"http://{host}:{control}")


def _env(grpc_target: str, url: str) -> dict[str, str]:
    return {
        EMULATOR_HOST_ENV: grpc_target,
        RUN_EMULATOR_HOST_ENV: grpc_target,
        SCHEDULER_EMULATOR_HOST_ENV: grpc_target,
        EMULATOR_URL_ENV: url,
    }


@dataclass(frozen=True)
class DevEmulator:
    """A development emulator as recorded beside the project."""

    grpc_target: str
    url: str
    pid: int

    def env(self) -> dict[str, str]:
        """The environment variables pointing at it."""
        return _env(self.grpc_target, self.url)


def project_dir() -> Path:
    """`settings.BASE_DIR` if the settings have one, else the current directory."""
    from django.conf import settings

    return Path(getattr(settings, "BASE_DIR", None) or Path.cwd())


def default_data_dir() -> Path:
    """`.emulator-data` beside the project: the emulator's default data directory."""
    return project_dir() / DATA_DIR_NAME


def record_path() -> Path:
    return default_data_dir() / RECORD_NAME


def record_dev_emulator(host: str, port: int, http_port: int | None) -> DevEmulator:
    """Record that this process runs the project's development emulator there."""
    env = emulator_env(host, port, http_port)
    emulator = DevEmulator(env[EMULATOR_HOST_ENV], env[EMULATOR_URL_ENV], os.getpid())
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(emulator)))
    partial.replace(path)  # readers never see half a record
    return emulator


def forget_dev_emulator() -> None:
    """Remove the record if this process wrote it."""
    found = _read_record()
    if found is not None and found.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            record_path().unlink()


def find_dev_emulator() -> DevEmulator | None:
    """The development emulator recorded beside the project, if it runs: its control API
    answers, or the process that recorded it is alive (tasks_dev restarting its emulator).
    A record whose process and emulator are both gone is removed."""
    found = _read_record()
    if found is None:
        return None
    if _answers(found.url) or _alive(found.pid):
        return found
    with contextlib.suppress(FileNotFoundError):
        record_path().unlink()
    return None


def follow_dev_emulator() -> DevEmulator | None:
    """Point this process at the running development emulator (its environment variables),
    unless an emulator variable or a backend's OPTIONS['emulator_host'] already names one."""
    from django.conf import settings

    if any(os.environ.get(name) for name in _env("", "")):
        return None
    tasks = getattr(settings, "TASKS", {}) or {}
    if any((c.get("OPTIONS") or {}).get("emulator_host") for c in tasks.values()):
        return None
    found = find_dev_emulator()
    if found is not None:
        os.environ.update(found.env())
    return found


def _read_record() -> DevEmulator | None:
    try:
        data = json.loads(record_path().read_text())
        return DevEmulator(str(data["grpc_target"]), str(data["url"]), int(data["pid"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # none, or not one of ours: as if there were none


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=ANSWER_SECONDS):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
