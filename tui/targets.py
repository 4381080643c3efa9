"""Which cloud the dashboard is looking at: the emulator or Google (said loudly in its header),
and where its cloud view reads from."""

from dataclasses import dataclass

from tasks_google.config.targets import Target as BackendTarget
from tasks_google.config.targets import TargetKind
from tasks_google.framework import task_backends
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


def _resolved() -> list[tuple[str, BackendTarget]]:
    """(alias, target) of every tasks_google backend in settings.TASKS (others are skipped)."""
    found = []
    for backend in task_backends.all():
        try:
            found.append((backend.alias, backend.target))
        except Exception:  # not a tasks_google backend, or invalid OPTIONS (manage.py check says)
            continue
    return found


def _shown(alias: str, target: BackendTarget) -> Target:
    if target.kind is TargetKind.IN_PROCESS:
        return Target(alias, "EMULATOR", "in-process")
    if target.kind is TargetKind.EMULATOR:
        return Target(alias, "EMULATOR", str(target.emulator_host))
    if target.kind is TargetKind.NO_EMULATOR:
        # A demo project never reaches Google: what it lacks is an emulator.
        return Target(alias, "EMULATOR", "not running")
    return Target(alias, "GCP", f"{target.project_id}, {target.location}")


def backend_targets() -> list[Target]:
    """The target of every tasks_google backend in settings.TASKS (others are skipped)."""
    return [_shown(alias, target) for alias, target in _resolved()]


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
    targets = [target for _, target in _resolved()]
    if any(t.kind is TargetKind.IN_PROCESS for t in targets):
        return InProcessEmulatorSource()
    urls = [t.control_url for t in targets if t.kind is TargetKind.EMULATOR and t.control_url]
    if urls:
        return HttpEmulatorSource(urls[0])
    missing = [t.project_id for t in targets if t.kind is TargetKind.NO_EMULATOR]
    return MissingEmulatorSource(list(dict.fromkeys(missing))) if missing else GoogleCloudSource()
