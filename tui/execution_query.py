"""The dashboard's reads of `TaskExecution` rows: a filtered window, counts, one row in detail.

Every read is bounded: the list asks for the rows it shows plus a margin (`fetch_window`), never
the whole table; counts are one aggregate query over the status index.
"""

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.db.models.fields.json import KeyTextTransform

from tasks_google import TaskExecution
from tasks_google.config.scheduler_jobs import execution_task_name
from tui.execution_filter import ExecutionFilter
from tui.status_labels import CANCELLED, DISPLAY_ORDER
from tui.throughput import Throughput, read_throughput

#: Columns a list row needs (the detail pane loads the rest for one row).
_LIST_FIELDS = (
    "id",
    "status",
    "cancelled_at",
    "task_path",
    "backend",
    "queue",
    "attempt_count",
    "enqueued_at",
    "started_at",
    "finished_at",
    "progress_done",
    "progress_total",
)
#: Newest first; the id breaks ties so windows never overlap or skip rows.
ORDERING = ("-enqueued_at", "-id")


@dataclass(frozen=True)
class ExecutionRow:
    """What one list line shows."""

    id: str
    status: str
    cancelled: bool
    task_path: str
    backend: str
    queue: str
    attempt_count: int
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress_done: int | None
    progress_total: int | None
    first_arg: str | None = None  # for a PeriodicTask, its class path

    @property
    def task_name(self) -> str:
        """The task the row is shown under (a PeriodicTask's class, not its runner)."""
        return execution_task_name(self.task_path, [self.first_arg])


@dataclass(frozen=True)
class Snapshot:
    """One poll's reads: a window of the filtered list, its length, the counts, the selection."""

    filter: ExecutionFilter
    start: int
    rows: list[ExecutionRow]
    total: int
    counts: dict[str, int]
    detail: TaskExecution | None = None
    seconds: float = 0.0  # how long the reads took
    throughput: Throughput | None = None  # read when the caller asked for it


def fetch_window(flt: ExecutionFilter, start: int, limit: int) -> tuple[list[ExecutionRow], int]:
    """Rows `start`…`start + limit` of the filtered list (newest first) and its length."""
    rows = flt.apply(TaskExecution.objects.all())
    total = rows.count()
    start = max(0, min(start, max(0, total - 1)))
    # Only the first argument: the others may be large, and the list never shows them.
    values = rows.order_by(*ORDERING).values(*_LIST_FIELDS, first_arg=KeyTextTransform("0", "args"))
    values = values[start : start + limit]
    return [_row(v) for v in values], total


def _row(v: dict[str, Any]) -> ExecutionRow:
    return ExecutionRow(
        id=v["id"],
        status=v["status"],
        cancelled=v["cancelled_at"] is not None,
        task_path=v["task_path"],
        backend=v["backend"],
        queue=v["queue"],
        attempt_count=v["attempt_count"],
        enqueued_at=v["enqueued_at"],
        started_at=v["started_at"],
        finished_at=v["finished_at"],
        progress_done=v["progress_done"],
        progress_total=v["progress_total"],
        first_arg=v["first_arg"],
    )


def status_counts() -> dict[str, int]:
    """How many executions have each displayed status (CANCELLED apart from FAILED).

    Two queries an index answers: one count per status (grouped over the status index, without
    reading the rows) and the cancelled ones among the FAILED."""
    per_status = dict(
        TaskExecution.objects.order_by()
        .values_list("status")
        .annotate(n=Count("status"))
        .values_list("status", "n")
    )
    cancelled = TaskExecution.objects.filter(status="FAILED", cancelled_at__isnull=False).count()
    totals = {status: per_status.get(status, 0) for status in DISPLAY_ORDER}
    totals[CANCELLED] = cancelled
    totals["FAILED"] -= cancelled
    return totals


def fetch_execution(execution_id: str) -> TaskExecution | None:
    """One execution with every field, for the detail pane (None once it is gone)."""
    return TaskExecution.objects.filter(pk=execution_id).first()


def take_snapshot(
    flt: ExecutionFilter,
    start: int,
    limit: int,
    selected_id: str | None = None,
    throughput_until: datetime | None = None,
) -> Snapshot:
    """Everything one refresh of the dashboard reads, in a handful of bounded queries; the
    throughput too when `throughput_until` is given."""
    began = time.perf_counter()
    rows, total = fetch_window(flt, start, limit)
    counts = status_counts()
    detail = fetch_execution(selected_id) if selected_id else None
    throughput = read_throughput(throughput_until) if throughput_until is not None else None
    return Snapshot(
        flt,
        max(0, min(start, max(0, total - 1))),
        rows,
        total,
        counts,
        detail,
        time.perf_counter() - began,
        throughput,
    )
