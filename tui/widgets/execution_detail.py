"""The detail pane: everything about the selected execution."""

import json
from datetime import datetime
from typing import Any

from django.utils import timezone
from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tasks_google import TaskExecution
from tasks_google.execution.attempts import parse_timestamp
from tasks_google.framework import task_backends
from tasks_google.observability.tracing import TRACEPARENT_HEADER, trace_ids
from tui.columns import format_duration, progress
from tui.status_labels import attempt_label, label_for

#: Longest JSON shown for args, kwargs or a return value.
MAX_JSON_CHARS = 4_000
#: How many errors are shown (the most recent; each with its traceback).
MAX_ERRORS_SHOWN = 5
#: Narrower than this (cells), the facts are shown in one column instead of two.
TWO_COLUMNS_MIN_WIDTH = 130
#: How many attempts the timeline shows (the most recent).
MAX_ATTEMPTS_SHOWN = 20


def pretty_json(value: Any) -> str:
    """Indented JSON, cut (and said so) past MAX_JSON_CHARS."""
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    if len(text) > MAX_JSON_CHARS:
        text = text[:MAX_JSON_CHARS] + f"\n… ({len(text) - MAX_JSON_CHARS:,} more characters)"
    return text


def _age(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "—"
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return f"in {format_duration(-seconds)}"
    return f"{format_duration(seconds)} ago"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def heartbeat_timeout(backend_alias: str) -> float | None:
    """The backend's heartbeat timeout (seconds), if it is a tasks_google backend."""
    try:
        return task_backends[backend_alias].config.heartbeat_timeout_seconds
    except Exception:
        return None


def stalled_reason(row: TaskExecution, now: datetime) -> str:
    """Why a RUNNING execution looks stuck (its lease expired, its heartbeat is late), or ""."""
    if row.status != "RUNNING":
        return ""
    if row.lease_expires_at is not None and row.lease_expires_at < now:
        return f"lease expired {_age(row.lease_expires_at, now)}"
    timeout = heartbeat_timeout(row.backend)
    beat = row.heartbeat_at or row.last_attempted_at
    if timeout and beat is not None and (now - beat).total_seconds() > timeout:
        return f"no heartbeat for {format_duration((now - beat).total_seconds())}"
    return ""


def cancellation_state(row: TaskExecution) -> str:
    """Cancelled, requested (still running) or not."""
    if row.cancelled_at is not None:
        return f"cancelled at {_when(row.cancelled_at)}"
    if row.cancel_requested_at is not None:
        return f"requested at {_when(row.cancel_requested_at)}, not finished yet"
    return "not requested"


def _attempt_duration(started: datetime | None, finished: datetime | None, now: datetime) -> str:
    if started is None:
        return "—"
    return format_duration(max(0.0, ((finished or now) - started).total_seconds()))


def attempt_timeline(row: TaskExecution, now: datetime) -> list[RenderableType]:
    """The "Attempts" section: one line per attempt (number, outcome, worker, start, duration,
    error), the most recent MAX_ATTEMPTS_SHOWN. A running attempt's duration is the time so far.
    Rows from before `attempts` was recorded list their `worker_ids`, outcome unknown."""
    entries = row.attempts or [
        {"number": number, "worker": worker, "outcome": None}
        for number, worker in enumerate(row.worker_ids or [], start=1)
    ]
    total = max(row.attempt_count, len(entries))
    shown = entries[-MAX_ATTEMPTS_SHOWN:]
    title = f"Attempts ({total}"
    title += f", last {len(shown)} shown)" if len(shown) < total else ")"
    if not shown:
        return [Text(title, style="bold underline"), Text("none yet", style="dim")]
    lines = Table.grid(padding=(0, 2))
    lines.add_column(justify="right", no_wrap=True)
    lines.add_column(no_wrap=True)
    lines.add_column(no_wrap=True)
    lines.add_column(no_wrap=True)
    lines.add_column(justify="right", no_wrap=True)
    lines.add_column(style="dim", overflow="fold")
    for entry in shown:
        label = attempt_label(entry.get("outcome"))
        started = parse_timestamp(entry.get("started_at"))
        finished = parse_timestamp(entry.get("finished_at"))
        lines.add_row(
            f"#{entry.get('number', '?')}",
            Text(label.text, style=label.style),
            entry.get("worker") or "—",
            _when(started),
            _attempt_duration(started, finished, now),
            entry.get("error") or "",
        )
    return [Text(title, style="bold underline"), lines]


def trace_id(row: TaskExecution) -> str:
    """The id of the trace an execution's enqueue started (its stored traceparent's)."""
    return trace_ids({TRACEPARENT_HEADER: row.trace_parent})[0] or row.trace_parent


def _facts() -> Table:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    return facts


def describe(row: TaskExecution, now: datetime, wide: bool = True) -> RenderableType:
    """The detail of one execution as Rich renderables; its facts in two columns if `wide`."""
    label = label_for(row.status, row.cancelled_at is not None)
    what = _facts()  # what and when, on the left
    what.add_row("Execution", row.id)
    what.add_row("Task", row.task_name)
    what.add_row("Status", Text(label.text, style=label.style))
    what.add_row("Backend / queue", f"{row.backend} / {row.queue}  (priority {row.priority})")
    what.add_row("Enqueued", f"{_when(row.enqueued_at)}  ({_age(row.enqueued_at, now)})")
    if row.run_after:
        what.add_row("Run after", _when(row.run_after))
    what.add_row("Started", _when(row.started_at))
    what.add_row("Finished", _when(row.finished_at))
    where = _facts()  # where it runs and how it is doing, on the right
    if row.progress_done is not None:
        bar = progress(row.progress_done, row.progress_total)
        total = f"/{row.progress_total:,}" if row.progress_total else ""
        where.add_row(
            "Progress", f"{bar}  {row.progress_done:,}{total}  {row.progress_message}".rstrip()
        )
    lease = row.lease_owner or "—"
    if row.lease_expires_at:
        lease += f"  (expires {_age(row.lease_expires_at, now)})"
    where.add_row("Lease owner", lease)
    beat = Text(_age(row.heartbeat_at, now))
    stalled = stalled_reason(row, now)
    if stalled:
        beat.append(f"  ⚠ STALLED: {stalled}", style="bold red")
    where.add_row("Heartbeat", beat)
    where.add_row("Remote name", row.remote_name or "— (not created)")
    if row.trace_parent:
        where.add_row("Trace", trace_id(row))
    where.add_row("Cancellation", cancellation_state(row))
    facts = Table.grid(padding=(0, 4), expand=wide)
    if wide:
        facts.add_column(ratio=1)
        facts.add_column(ratio=1)
        facts.add_row(what, where)
    else:
        facts.add_row(what)
        facts.add_row(where)

    parts: list[RenderableType] = [facts, Text(), *attempt_timeline(row, now), Text()]
    parts.append(Text("Arguments", style="bold underline"))
    parts.append(Text(pretty_json({"args": row.args, "kwargs": row.kwargs})))
    if row.status == "SUCCESSFUL" or row.return_value is not None:
        parts.append(Text("Return value", style="bold underline"))
        parts.append(Text(pretty_json(row.return_value)))
    errors = row.errors or []
    if errors:
        shown = errors[-MAX_ERRORS_SHOWN:]
        title = f"Errors ({len(errors)}"
        title += f", last {len(shown)} shown)" if len(shown) < len(errors) else ")"
        parts.append(Text(title, style="bold underline red"))
        for number, error in enumerate(shown, start=len(errors) - len(shown) + 1):
            parts.append(Text(f"#{number} {error.get('exception_class_path', '?')}", style="red"))
            parts.append(Text(error.get("traceback", "").rstrip(), style="dim"))
    return Group(*parts)


class ExecutionDetail(VerticalScroll, can_focus=True):
    """A scrollable pane with the selected execution's detail."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.body = Static("Select an execution.", id="detail-body")
        self.shown_id: str | None = None
        self._shown_lines: list[list[Segment]] | None = None

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, row: TaskExecution | None, now: datetime) -> None:
        """Show `row` (None: nothing selected, or it is gone); another row starts at the top."""
        wide = self.size.width >= TWO_COLUMNS_MIN_WIDTH
        content = describe(row, now, wide) if row is not None else "Select an execution."
        lines = self._lines(content)
        if lines is None or lines != self._shown_lines:
            # A repaint of unchanged text would cost a layout of the whole screen, at every poll.
            self.body.update(content)
            self._shown_lines = lines
        row_id = row.pk if row is not None else None
        if row_id != self.shown_id:
            self.shown_id = row_id
            if self.is_mounted:
                self.scroll_home(animate=False)

    def _lines(self, content: RenderableType) -> list[list[Segment]] | None:
        """`content` as the body would paint it at its width (None before it has one)."""
        width = self.body.size.width
        if not self.is_mounted or width <= 0:
            return None
        console = self.app.console
        return console.render_lines(content, console.options.update_width(width), pad=False)
