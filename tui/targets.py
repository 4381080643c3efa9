"""Which cloud the dashboard is looking at: the emulator or Google (said loudly in its header),
and where its cloud view reads from."""

from dataclasses import dataclass

from django.tasks import task_backends

from tasks_google.options import demo_project_problem
from tui.cloud_state import CloudSource
from tui.emulator_sources import (
    HttpEmulatorSource,
    InProcessEmulatorSource,
    MissingEmulatorSource,
)
from tui.google_cloud_source import GoogleCloudSource


@dataclass(frozen=True)
class Target:
    """Where one backend sends its work."""

    backend: str
    kind: str  # "EMULATOR" or "GCP"
    where: str  # the emulator host, or "project, location"

    @property
    def text(self) -> str:
        return f"{self.kind} ({self.where})"


def backend_targets() -> list[Target]:
    """The target of every tasks_google backend in settings.TASKS (others are skipped)."""
    targets = []
    for backend in task_backends.all():
        try:
            config = backend.config
        except Exception:  # not a tasks_google backend, or invalid OPTIONS (manage.py check says)
            continue
        if config.transport == "inprocess":
            target = Target(backend.alias, "EMULATOR", "in-process")
        elif config.emulator_host:
            target = Target(backend.alias, "EMULATOR", config.emulator_host)
        elif demo_project_problem(backend.alias, config) is not None:
            # A demo project never reaches Google: what it lacks is an emulator.
            target = Target(backend.alias, "EMULATOR", "not running")
        else:
            target = Target(backend.alias, "GCP", f"{config.project_id}, {config.location}")
        targets.append(target)
    return targets


def describe_targets(targets: list[Target] | None = None) -> str:
    """One line naming the target: `EMULATOR (host)` or `GCP (project, location)`; per backend
    when the backends disagree."""
    if targets is None:
        targets = backend_targets()
    if not targets:
        return "NO tasks_google BACKEND in settings.TASKS"
    texts = {t.text for t in targets}
    if len(texts) == 1:
        return texts.pop()
    return " · ".join(f"{t.backend}: {t.text}" for t in targets)


def cloud_source() -> CloudSource:
    """Where the cloud view reads: the in-process emulator, else the first backend's emulator
    control API (`emulator_url`, `TASKS_GOOGLE_EMULATOR_URL`, or derived from the emulator
    host), else nothing when a `demo-` project has no emulator, else Google Cloud through the
    backends' transports."""
    url = None
    missing: list[str] = []
    for backend in task_backends.all():
        try:
            config = backend.config
        except Exception:  # not a tasks_google backend
            continue
        if config.transport == "inprocess":
            return InProcessEmulatorSource()
        if url is None and config.emulator_host and config.emulator_url:
            url = config.emulator_url
        if (
            demo_project_problem(backend.alias, config) is not None
            and config.project_id not in missing
        ):
            missing.append(config.project_id)
    if url:
        return HttpEmulatorSource(url)
    return MissingEmulatorSource(missing) if missing else GoogleCloudSource()
