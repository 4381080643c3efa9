"""The cloud's state drawn as tables: queues, Scheduler jobs, Run Jobs executions; on the
emulator also its clock and fault rules.

Queues, Scheduler jobs and fault rules are selectable (one cursor runs through the queues, the
jobs, then the rules), so the cloud view's keys (`tui.views.cloud`) can pause, resume or purge
the selected queue, run, pause or resume the selected job, or toggle the selected rule.
"""

from datetime import UTC, datetime
from typing import Any, Literal

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tasks_google.config.dev_emulator import START_HINT
from tui.cloud_rows import FaultRow, QueueRow, RunJobRow, SchedulerJobRow
from tui.cloud_state import CloudState
from tui.columns import format_duration

Kind = Literal["queue", "job", "fault"]
Row = QueueRow | SchedulerJobRow | FaultRow

_STATE_STYLES = {
    "RUNNING": "green",
    "ENABLED": "green",
    "SUCCEEDED": "green",
    "PAUSED": "yellow",
    "CANCELLING": "yellow",
    "PENDING": "dim",
    "DISABLED": "red",
    "FAILED": "red",
    "CANCELLED": "magenta",
}


def at(when: datetime | None, clock: datetime | None) -> str:
    """`HH:MM:SS` (UTC) of a time, with how far it is from the emulator's clock."""
    if when is None:
        return "—"
    text = when.strftime("%H:%M:%S")
    if clock is not None:
        seconds = (when - clock).total_seconds()
        if seconds >= 0.5:
            text += f" (in {format_duration(seconds)})"
        elif seconds <= -0.5:
            text += f" ({format_duration(-seconds)} ago)"
    return text


def _state(value: str) -> Text:
    text = value or "—"
    return Text(text, style=_STATE_STYLES.get(text, ""))


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:g}s"


def _count(value: int | None) -> str:
    """A count, or `—` when the source does not know it (Google's API has no queue depth)."""
    return "—" if value is None else f"{value:,}"


def _fitted(table: Table, width: int, *flexible: str) -> Table:
    """`table` fitted to `width` cells: every column but the `flexible` ones (by header) keeps
    its widest cell, and the flexible ones share what is left, cut with "…" if they must be."""
    pinned, loose = 0, []
    for column in table.columns:
        widest = max(cell_len(str(cell)) for cell in (column.header, *column.cells))
        if str(column.header) in flexible:
            loose.append((column, widest))
        else:
            column.min_width = widest
            pinned += widest
    left = width - pinned - CELL_GAP * len(table.columns)
    for position, (column, widest) in enumerate(loose):
        share = max(MIN_FLEXIBLE_WIDTH, left // (len(loose) - position))
        column.max_width = min(widest, share)
        left -= column.max_width
    return table


#: Cells between two columns of a table.
CELL_GAP = 2
#: The narrowest a flexible column is cut to.
MIN_FLEXIBLE_WIDTH = 8


def _table(title: str | None, *columns: str) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        padding=(0, CELL_GAP, 0, 0),
        header_style="bold dim",
        expand=False,
    )
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    return table


def _marker(selected: bool) -> Text:
    return Text("▸", style="bold reverse") if selected else Text(" ")


def _last_result(job: SchedulerJobRow, clock: datetime | None) -> str:
    if job.last_attempt_time is None:
        return "never fired"
    if job.status_code:
        outcome = f"✗ code {job.status_code} {job.status_message}".rstrip()
    elif job.last_response_status is not None:
        code = job.last_response_status
        outcome = f"{'✓' if 200 <= code < 300 else '✗'} HTTP {code}"
    else:
        outcome = "✓"
    return f"{outcome} at {at(job.last_attempt_time, clock)}"


def _run_job_line(job: RunJobRow) -> Text:
    tasks = job.task_count or 1
    parallel = job.parallelism or "all"
    executions = job.execution_count
    return Text.assemble(
        (job.job_id, "bold"),
        (
            f"  {tasks} task{'s' if tasks != 1 else ''}, {parallel} at once, "
            f"max retries {job.max_retries}, "
            f"{executions} execution{'s' if executions != 1 else ''}",
            "dim",
        ),
    )


def _executions_table(job: RunJobRow, clock: datetime | None) -> Table:
    """A job's newest executions, each followed by its tasks."""
    table = _table(
        None, "  EXECUTION / TASK", "STATUS", "TASKS ✓ ✗ ▶", "ATTEMPT", "EXIT", "STARTED", "ENDED"
    )
    for execution in job.executions:
        table.add_row(
            f"  {execution.execution_id}",
            _state(execution.status),
            f"{execution.succeeded_count} {execution.failed_count} {execution.running_count}",
            "",
            "",
            at(execution.start_time, clock),
            at(execution.completion_time, clock),
        )
        for task in execution.tasks:
            if task.term_signal:
                exit_text = f"signal {task.term_signal}"
            else:
                exit_text = "—" if task.exit_code is None else str(task.exit_code)
            table.add_row(
                f"    task {task.index}",
                _state(task.status),
                "",
                "—" if task.attempt is None else str(task.attempt),
                exit_text,
                at(task.start_time, clock),
                at(task.end_time, clock),
            )
    return table


def _key(row: Row) -> str:
    """What identifies a row from one reading to the next."""
    return row.id if isinstance(row, FaultRow) else row.name


class CloudTables(VerticalScroll, can_focus=True):
    """The cloud's state, rendered; a cursor over its queues, Scheduler jobs and fault rules."""

    BINDINGS = [
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("up,k", "move(-1)", "Up", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state: CloudState | None = None
        self.cursor = 0
        self._row_at_line: dict[int, int] = {}
        self.body = Static("Reading…", id="cloud-body")

    def compose(self) -> ComposeResult:
        yield self.body

    def items(self) -> list[tuple[Kind, Row]]:
        """The selectable rows, in order: queues, Scheduler jobs, then fault rules."""
        if self.state is None:
            return []
        queues: list[tuple[Kind, Row]] = [("queue", queue) for queue in self.state.queues]
        jobs: list[tuple[Kind, Row]] = [("job", job) for job in self.state.scheduler_jobs]
        faults: list[tuple[Kind, Row]] = [("fault", fault) for fault in self.state.faults]
        return queues + jobs + faults

    def selected(self) -> tuple[Kind, Row] | None:
        items = self.items()
        return items[self.cursor] if 0 <= self.cursor < len(items) else None

    def action_move(self, step: int) -> None:
        count = len(self.items())
        if count:
            self.cursor = max(0, min(count - 1, self.cursor + step))
            self._render_state()

    def show(self, state: CloudState) -> None:
        """Show a new reading, keeping the cursor on the same job or rule when it is still there."""
        before = self.selected()
        self.state = state
        items = self.items()
        if before is not None:
            for position, (kind, item) in enumerate(items):
                if kind == before[0] and _key(item) == _key(before[1]):
                    self.cursor = position
                    break
        self.cursor = max(0, min(self.cursor, len(items) - 1))
        self._render_state()

    def _render_state(self) -> None:
        if self.state is not None:
            self.body.update(self.render_state(self.state))

    @property
    def _width(self) -> int:
        """The cells a table may take (the view's content width, or a wide default)."""
        return self.scrollable_content_region.width or 200

    def render_state(self, state: CloudState) -> RenderableType:
        if state.error:
            self._row_at_line = {}
            if state.emulated:
                title = f"⚠ EMULATOR UNREACHABLE ({state.where})"
                hint = f"{START_HINT} Retrying at every refresh."
            else:
                title = f"⚠ GOOGLE CLOUD UNREADABLE ({state.where})"
                hint = "Retrying at every refresh; check credentials and the project's IAM roles."
            hint = state.hint or hint
            return Group(
                Text(title, style="bold red"),
                Text(state.error, style="red"),
                Text(hint, style="dim"),
            )
        selected = self.selected()
        if state.emulated:
            clock = state.clock
            stamp = clock.strftime("%Y-%m-%d %H:%M:%S UTC") if clock else "—"
            title = Text.assemble(
                ("Emulator ", "bold"),
                (f"({state.where})", ""),
                ("  clock ", "dim"),
                (stamp, "bold"),
            )
        else:
            # Google's clock is the wall clock; times are shown relative to it.
            clock = datetime.now(UTC)
            title = Text.assemble(
                ("Google Cloud ", "bold"),
                (f"({state.where})", ""),
                ("  read through the backends' transports", "dim"),
            )
        # Each part, and how many selectable rows end it (a table's rows are its last lines).
        parts: list[tuple[RenderableType, int]] = [
            (title, 0),
            (self._queues(state, clock, selected), len(state.queues)),
            (self._scheduler(state, clock, selected), len(state.scheduler_jobs)),
            (self._run_jobs(state, clock), 0),
        ]
        if state.emulated:
            parts.append((self._faults(state, selected), len(state.faults)))
        self._map_rows(parts)
        return Group(*(part for part, _ in parts))

    def _map_rows(self, parts: list[tuple[RenderableType, int]]) -> None:
        """Record on which line each selectable row is drawn (for clicks)."""
        console = self.app.console
        options = console.options.update_width(self._width)
        self._row_at_line = {}
        line = item = 0
        for part, rows in parts:
            height = len(console.render_lines(part, options, pad=False))
            for row in range(rows):
                self._row_at_line[line + height - rows + row] = item
                item += 1
            line += height

    def on_click(self, event: events.Click) -> None:
        """A click on a queue, Scheduler job or fault rule selects it."""
        offset = event.get_content_offset(self.body)
        if offset is None:
            return
        item = self._row_at_line.get(offset.y)
        if item is not None and item != self.cursor:
            self.cursor = item
            self._render_state()

    def _queues(
        self, state: CloudState, clock: datetime | None, selected: tuple[Kind, Row] | None
    ) -> RenderableType:
        if not state.queues:
            return Text("\nQueues: none", style="dim")
        table = _table(
            "\nQueues",
            "",
            "QUEUE",
            "STATE",
            "DEPTH",
            "IN FLIGHT",
            "NEXT DISPATCH",
            "RETRY",
            "RATE",
        )
        for queue in state.queues:
            table.add_row(
                _marker(selected is not None and selected[1] is queue),
                queue.queue_id,
                _state(queue.state),
                _count(queue.depth),
                _count(queue.in_flight),
                at(queue.next_dispatch_time, clock),
                f"{queue.max_attempts} attempts, backoff "
                f"{_seconds(queue.min_backoff)} to {_seconds(queue.max_backoff)}",
                f"{queue.max_dispatches_per_second:g}/s, burst {queue.max_burst_size},"
                f" ≤{queue.max_concurrent_dispatches} at once",
            )
        return _fitted(table, self._width, "RETRY", "RATE")

    def _scheduler(
        self, state: CloudState, clock: datetime | None, selected: tuple[Kind, Row] | None
    ) -> RenderableType:
        if not state.scheduler_jobs:
            return Text("\nScheduler jobs: none", style="dim")
        table = _table(
            "\nScheduler jobs", "", "JOB", "CRON", "TIME ZONE", "STATE", "NEXT FIRE", "LAST RESULT"
        )
        for job in state.scheduler_jobs:
            table.add_row(
                _marker(selected is not None and selected[1] is job),
                job.job_id,
                job.schedule,
                job.time_zone,
                _state(job.state),
                at(job.next_fire_time, clock),
                _last_result(job, clock),
            )
        return _fitted(table, self._width, "NEXT FIRE", "LAST RESULT")

    def _run_jobs(self, state: CloudState, clock: datetime | None) -> RenderableType:
        if not state.run_jobs:
            return Text("\nRun Jobs: none", style="dim")
        parts: list[RenderableType] = [Text("\nRun Jobs", style="bold")]
        for job in state.run_jobs:
            parts.append(_run_job_line(job))
            if job.executions:
                table = _executions_table(job, clock)
                parts.append(_fitted(table, self._width, "STARTED", "ENDED"))
        return Group(*parts)

    def _faults(self, state: CloudState, selected: tuple[Kind, Row] | None) -> RenderableType:
        if not state.faults:
            return Text("\nFault rules: none", style="dim")
        table = _table(
            "\nFault rules", "", "ID", "ON", "SERVICE", "OPERATION", "WHERE", "P", "FIRED", "EFFECT"
        )
        for fault in state.faults:
            fired, count = fault.fired, fault.count
            table.add_row(
                _marker(selected is not None and selected[1] is fault),
                fault.id,
                Text("● on", style="bold green") if fault.enabled else Text("○ off", style="dim"),
                fault.service,
                fault.operation,
                fault.queue or fault.job or "any",
                f"{fault.probability:g}",
                f"{fired}/{count}" if count is not None else str(fired),
                fault.effect,
            )
        return _fitted(table, self._width, "EFFECT")
