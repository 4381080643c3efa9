"""What the cloud view shows: queues, Scheduler jobs, Run Jobs and, on the emulator, its
clock and fault rules.

One small interface, three sources that return the same typed rows (`tui.cloud_rows`):
`tui.emulator_sources` (an emulator server's control API, or the in-process emulator) and
`tui.google_cloud_source` (the backends' transports, i.e. Google's official clients).
`tui.targets.cloud_source()` picks one. Reads are synchronous: the app calls them in a thread
worker.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from tui.cloud_rows import FaultRow, QueueRow, RunJobRow, SchedulerJobRow

#: Run Jobs executions shown per job (newest first).
EXECUTIONS_PER_JOB = 3


@dataclass(frozen=True)
class CloudState:
    """What the cloud view shows; `error` set (and the rest empty) when it could not be read."""

    where: str
    emulated: bool = True  # an emulator (with a clock and fault rules), not Google
    clock: datetime | None = None  # the emulator's (virtual) time
    queues: tuple[QueueRow, ...] = ()
    scheduler_jobs: tuple[SchedulerJobRow, ...] = ()
    run_jobs: tuple[RunJobRow, ...] = ()
    faults: tuple[FaultRow, ...] = ()
    error: str | None = None
    hint: str | None = None  # what to do about `error`, when the source knows better than the view


class CloudSource(Protocol):
    """Where the cloud view's state comes from."""

    where: str
    emulated: bool
    #: Seconds between reads (None: the dashboard's refresh interval).
    refresh_seconds: float | None

    def read(self) -> CloudState: ...


@runtime_checkable
class FaultSwitch(Protocol):
    """A source that can switch the emulator's fault rules (the emulator's; Google has none)."""

    def set_fault_enabled(self, fault_id: str, enabled: bool) -> FaultRow: ...


def resource_id(name: str) -> str:
    """The last part of a resource name (`…/queues/emails` → `emails`)."""
    return name.rsplit("/", 1)[-1]
