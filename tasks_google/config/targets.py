"""Which cloud a backend talks to: the one place that decides it.

A backend's work goes to the in-process emulator, to an emulator server (its gRPC host and its
control API), or to Google (a project and location); a `demo-` project configured for Google with
no emulator goes nowhere. The transport factory, token verification, the system checks and the
dashboard all read `resolve_target`.

The in-process emulator can also be switched on at run time (`tasks_google.testing.emulated()`),
so a target is resolved at call time. Only the in-process transport's module can switch it on;
it is looked up in `sys.modules` rather than imported, because importing it loads the whole
emulator, seconds before the first call.
"""

import enum
import sys
from dataclasses import dataclass

from tasks_google.config.options import DEMO_PROJECT_PREFIX, BackendOptions, Problem

#: The module of the in-process emulator; only it can switch one on at run time.
IN_PROCESS_MODULE = "tasks_google.transports.inprocess"


class TargetKind(enum.Enum):
    IN_PROCESS = "in-process emulator"
    EMULATOR = "emulator server"
    GOOGLE = "Google Cloud"
    #: A `demo-` project with no emulator: it exists only in an emulator, and never reaches Google.
    NO_EMULATOR = "no emulator"


@dataclass(frozen=True)
class Target:
    """Where a backend sends its work."""

    kind: TargetKind
    project_id: str
    location: str
    #: The emulator server's gRPC `host:port` (EMULATOR only).
    emulator_host: str | None = None
    #: The emulator server's control API, which also serves its signing keys (EMULATOR only).
    control_url: str | None = None
    #: The environment variable that names the emulator host for this kind of backend.
    emulator_host_env: str = ""

    @property
    def is_emulated(self) -> bool:
        """Whether the work goes to an emulator (or to a demo project's missing one)."""
        return self.kind is not TargetKind.GOOGLE

    def demo_project_problem(self, alias: str) -> Problem | None:
        """W003 for backend `alias` if it would send a `demo-` project to Google."""
        if self.kind is not TargetKind.NO_EMULATOR:
            return None
        return Problem(
            "tasks_google.W003",
            f"TASKS[{alias!r}]: project_id {self.project_id!r} is a demo project, which "
            "exists only in the emulator, and no emulator is configured, so enqueue refuses to "
            "send its tasks to Google.",
            hint=f"Set {self.emulator_host_env} (or OPTIONS['emulator_host']), "
            "or use 'transport': 'inprocess'.",
        )


def in_process_emulator_active() -> bool:
    """Whether an in-process emulator is switched on (`emulated()`), without importing one."""
    is_emulated = getattr(sys.modules.get(IN_PROCESS_MODULE), "is_emulated", None)
    return is_emulated is not None and is_emulated()


def resolve_target(options: BackendOptions, *, at_run_time: bool = True) -> Target:
    """The target of a backend with `options`.

    With `at_run_time` (the default) an in-process emulator switched on now takes every backend;
    without it, the target is the one the settings alone give (what the system checks judge).
    """
    where = {
        "project_id": options.project_id,
        "location": options.location,
        "emulator_host_env": options.emulator_host_env,
    }
    if options.transport == "inprocess" or (at_run_time and in_process_emulator_active()):
        return Target(kind=TargetKind.IN_PROCESS, **where)
    if options.emulator_host:
        return Target(
            kind=TargetKind.EMULATOR,
            emulator_host=options.emulator_host,
            control_url=options.emulator_url,
            **where,
        )
    if options.project_id.startswith(DEMO_PROJECT_PREFIX):
        return Target(kind=TargetKind.NO_EMULATOR, **where)
    return Target(kind=TargetKind.GOOGLE, **where)
