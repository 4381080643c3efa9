"""The executions view (key 1): counts per status, the throughput sparkline, the list of
executions, the selected one's detail, the search line; keys to filter, cancel, retry.

Reads happen in a worker thread (one poll at a time), rescheduled by a timer after each poll
finishes, so a slow database slows the refresh rate instead of piling up reads. It keeps
polling while the cloud view shows, so its counts are current when it comes back.
"""

import time
from collections.abc import Callable
from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

import tasks_google
from tasks_google import clock
from tui.execution_filter import ExecutionFilter
from tui.execution_query import Snapshot, fetch_execution, take_snapshot
from tui.status_labels import DISPLAY_ORDER, LABELS, label_for
from tui.targets import backend_targets
from tui.throughput import BUCKET_SECONDS, throughput_line
from tui.views.dashboard_view import DashboardView, on_own_connection
from tui.widgets.execution_detail import ExecutionDetail
from tui.widgets.execution_list import ColumnHeader, ExecutionList

#: Seconds between the end of one poll and the start of the next.
DEFAULT_POLL_INTERVAL = 1.0
#: The next refresh waits at least this many times as long as the last one's reads took.
READ_LOAD_FACTOR = 4
#: A refresh's reads taking longer than this are reported in the header.
SLOW_READ_SECONDS = 0.25
_STATUS_CYCLE: tuple[str | None, ...] = (None, *DISPLAY_ORDER)


def _update_line(line: Static, text: Text) -> None:
    """Show `text` on a one-line Static (its height fixed by the stylesheet): no new layout, and
    no repaint at all when the text is unchanged."""
    if line.content != text:
        line.update(text, layout=False)


class SearchLine(Input):
    """The executions view's search line. The app places it above the footer (across the
    whole screen); what is typed in it goes to the view."""

    BINDINGS = [Binding("escape", "clear_search", "Clear search", show=False)]

    def __init__(self, view: "ExecutionsView") -> None:
        super().__init__(placeholder="filter: task path, id prefix, queue, backend…", id="search")
        self.executions_view = view

    def action_clear_search(self) -> None:
        self.executions_view.action_clear_search()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.executions_view.apply_search(event.value)

    def on_input_submitted(self) -> None:
        self.executions_view.search_submitted()


class ExecutionsView(DashboardView, Vertical):
    """Watch and steer the executions."""

    BINDINGS = [
        Binding("s", "cycle_status", "Status filter"),
        Binding("b", "cycle_backend", "Backend filter", show=False),
        Binding("T", "only_task", "Only this task", show=False),
        Binding("slash", "search", "Search"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("c", "cancel", "Cancel"),
        Binding("C", "force_cancel", "Force cancel"),
        Binding("r", "retry", "Retry"),
        Binding("y", "copy_id", "Copy id"),
    ]

    def __init__(
        self,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        throughput_interval: float = BUCKET_SECONDS / 2,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.poll_interval = poll_interval
        self.slow_read_seconds = SLOW_READ_SECONDS
        self.throughput_interval = throughput_interval
        self._throughput_read_at: float | None = None
        self.filter = ExecutionFilter()
        self.snapshot: Snapshot | None = None
        self.polls = 0
        self._timer: Timer | None = None
        self.execution_list = ExecutionList(id="executions")
        self.detail = ExecutionDetail(id="detail")
        self.counts = Static("loading…", id="counts")
        self.throughput = Static("", id="throughput")
        self.search = SearchLine(self)

    def compose(self) -> ComposeResult:
        yield self.counts
        yield self.throughput
        yield ColumnHeader(id="columns")
        yield self.execution_list
        yield self.detail

    def on_mount(self) -> None:
        self.execution_list.focus()
        self.poll_now()

    # ------------------------------------------------------------------ polling

    def poll_now(self, window: tuple[int, int] | None = None) -> None:
        """Read the database now (in a thread); the next poll is scheduled when this one ends."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not self.execution_list.is_mounted:
            return
        start, limit = window or self.execution_list.wanted_window()
        throughput_until = None
        if (
            self._throughput_read_at is None
            or time.monotonic() - self._throughput_read_at >= self.throughput_interval
        ):
            self._throughput_read_at = time.monotonic()
            throughput_until = clock.now()
        selected = self.execution_list.selected_id
        self._read(
            "poll", partial(take_snapshot, self.filter, start, limit, selected, throughput_until)
        )

    def _read(self, group: str, read: Callable[[], object]) -> None:
        """Run `read` in a worker thread of `group` (cancelling the group's previous one)."""
        work = partial(on_own_connection, read)
        self.run_worker(
            work, thread=True, exclusive=True, group=group, name=group, exit_on_error=False
        )

    def _schedule_poll(self) -> None:
        if self._timer is None:
            self._timer = self.set_timer(self.next_poll_delay(), self._on_timer)

    def next_poll_delay(self) -> float:
        """The refresh interval, stretched so that reads take at most 1/READ_LOAD_FACTOR of the
        time: a slow database (a huge table) is polled less often, not harder."""
        last_read = self.snapshot.seconds if self.snapshot is not None else 0.0
        return max(self.poll_interval, READ_LOAD_FACTOR * last_read)

    def _on_timer(self) -> None:
        self._timer = None
        self.poll_now()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "poll" and event.state == WorkerState.SUCCESS:
            self._apply(worker.result)
            self._schedule_poll()
        elif worker.group == "poll" and event.state == WorkerState.ERROR:
            failed = Text(f"Reading executions failed: {worker.error}", style="bold red")
            self.counts.update(failed)
            self._schedule_poll()
        elif worker.group == "detail" and event.state == WorkerState.SUCCESS:
            row = worker.result
            if row is not None and row.pk == self.execution_list.selected_id:
                self.detail.show(row, clock.now())

    def _apply(self, snapshot: Snapshot) -> None:
        if not self.execution_list.is_mounted:
            return  # the app is closing
        if snapshot.filter != self.filter:
            return  # read for a filter the user has changed since; the next poll is current
        self.snapshot = snapshot
        self.polls += 1
        now = clock.now()
        listing = self.execution_list
        listing.show(snapshot.start, snapshot.rows, snapshot.total, now)
        _update_line(self.counts, self._counts_line(snapshot))
        if snapshot.throughput is not None:
            _update_line(self.throughput, throughput_line(snapshot.throughput))
        detail = snapshot.detail
        if detail is not None and detail.pk != listing.selected_id:
            detail = None
        self.detail.show(detail, now)
        if listing.total and not listing.covers_view():
            self.call_later(self.poll_now)

    def _counts_line(self, snapshot: Snapshot) -> Text:
        line = Text()
        for status in DISPLAY_ORDER:
            label = LABELS[status]
            style = label.style + (" reverse" if self.filter.status == status else "")
            line.append(f"{label.text} {snapshot.counts.get(status, 0):,}", style=style)
            line.append("  ")
        line.append(f"│ {snapshot.total:,} shown · {self.filter.describe()}", style="dim")
        if snapshot.seconds >= self.slow_read_seconds:
            line.append(f" · slow read: {snapshot.seconds * 1000:.0f} ms", style="yellow")
            delay = self.next_poll_delay()
            if delay > self.poll_interval:
                line.append(f", refreshing every {delay:.1f} s", style="yellow")
        return line

    def on_execution_list_window_needed(self, message: ExecutionList.WindowNeeded) -> None:
        self.poll_now((message.start, message.limit))

    def on_execution_list_selected(self, message: ExecutionList.Selected) -> None:
        """Load the newly selected execution alone (one primary-key read), not a whole poll."""
        if message.execution_id is None:
            return
        self._read("detail", partial(fetch_execution, message.execution_id))

    # ------------------------------------------------------------------ filters

    def action_cycle_status(self) -> None:
        """Show the next status only (then all again)."""
        position = _STATUS_CYCLE.index(self.filter.status)
        status = _STATUS_CYCLE[(position + 1) % len(_STATUS_CYCLE)]
        self._set_filter(self.filter.with_status(status))

    def action_cycle_backend(self) -> None:
        """Show the next tasks_google backend only (then all again)."""
        cycle = ["", *(target.backend for target in backend_targets())]
        current = self.filter.backend if self.filter.backend in cycle else ""
        backend = cycle[(cycle.index(current) + 1) % len(cycle)]
        self._set_search_field("backend", backend)

    def action_only_task(self) -> None:
        """Show only the selected execution's task (or every task again)."""
        if self.filter.task:
            self._set_search_field("task", "")
            return
        row = self.execution_list.selected_row
        if row is None:
            self.notify("No execution selected.", severity="warning")
            return
        self._set_search_field("task", row.task_path)

    def _set_search_field(self, name: str, value: str) -> None:
        """Put `name:value` in the search line (replacing any `name:` word) and apply it."""
        search = self.search
        words = [w for w in search.value.split() if not w.lower().startswith(f"{name}:")]
        if value:
            words.append(f"{name}:{value}")
        search.value = " ".join(words)
        search.set_class(bool(search.value), "visible")
        self.apply_search(search.value)

    def action_search(self) -> None:
        self.search.add_class("visible")
        self.search.focus()

    def action_clear_search(self) -> None:
        self.search.value = ""
        self.search.remove_class("visible")
        self.execution_list.focus()
        self.apply_search("")

    def search_submitted(self) -> None:
        """Enter in the search line: back to the list (an empty line is hidden)."""
        if not self.search.value:
            self.search.remove_class("visible")
        self.execution_list.focus()

    def apply_search(self, line: str) -> None:
        """Filter by the search line `line` (its words that mean nothing are said)."""
        flt, problems = ExecutionFilter.parse_leniently(line, self.filter.status)
        self.post_message(self.Reported(Text("; ".join(problems), style="bold red")))
        self._set_filter(flt)

    def _set_filter(self, flt: ExecutionFilter) -> None:
        if flt == self.filter:
            return
        self.filter = flt
        listing = self.execution_list
        listing.cursor = 0
        listing.scroll_to(y=0, animate=False)
        listing.selected_id = None
        self.poll_now((0, listing.wanted_window()[1]))

    # ------------------------------------------------------------------ actions

    def _selected_id(self) -> str | None:
        execution_id = self.execution_list.selected_id
        if execution_id is None:
            self.notify("No execution selected.", severity="warning")
        return execution_id

    def action_cancel(self) -> None:
        """Cancel the selected execution (graceful), after confirmation."""
        self._confirm_then_cancel(force=False)

    def action_force_cancel(self) -> None:
        """Force-cancel the selected execution, after confirmation."""
        self._confirm_then_cancel(force=True)

    def _confirm_then_cancel(self, *, force: bool) -> None:
        execution_id = self._selected_id()
        if execution_id is None:
            return
        verb = "Force cancel" if force else "Cancel"

        def cancel() -> str:
            return tasks_google.cancel_task(execution_id, force=force).message

        self.confirm(f"{verb} execution {execution_id}?", verb, cancel)

    def action_retry(self) -> None:
        """Enqueue a copy of the selected execution (asks first unless it failed)."""
        execution_id = self._selected_id()
        if execution_id is None:
            return

        def retry() -> str:
            copy = tasks_google.retry_task(execution_id)
            return f"Enqueued {copy.id} (a copy of {execution_id})."

        row = self.execution_list.selected_row
        if row is None or row.status == "FAILED":
            self.act("Retry", retry)
            return
        label = label_for(row.status, row.cancelled)
        self.confirm(
            f"Execution {execution_id} is {label.word}, not failed. Enqueue a second copy "
            "anyway? Both will run.",
            "Retry",
            retry,
        )

    def action_copy_id(self) -> None:
        execution_id = self._selected_id()
        if execution_id is not None:
            self.app.copy_to_clipboard(execution_id)
            self.report(f"Copied {execution_id} to the clipboard.")
