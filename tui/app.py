"""The dashboard app: a live list of executions, their detail, and keys to steer them.

Reads happen in a worker thread (one poll at a time), rescheduled by a timer after each poll
finishes, so a slow database slows the refresh rate instead of piling up queries. Every action
goes through the public `tasks_google` API (`cancel_task`, `retry_task`).
"""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import connections
from django.utils import timezone
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

import tasks_google
from tui.execution_query import ExecutionFilter, Snapshot, fetch_execution, take_snapshot
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.status_labels import DISPLAY_ORDER, LABELS
from tui.targets import backend_targets, describe_targets
from tui.widgets.execution_detail import ExecutionDetail
from tui.widgets.execution_list import ColumnHeader, ExecutionList

#: Seconds between the end of one poll and the start of the next.
DEFAULT_POLL_INTERVAL = 1.0
_STATUS_CYCLE: tuple[str | None, ...] = (None, *DISPLAY_ORDER)


def _on_own_connection(read: Callable[[], Any]) -> Any:
    """Run `read` in this worker thread, then close the thread's database connections."""
    try:
        return read()
    finally:
        connections.close_all()


class TasksDashboard(App[None]):
    """Watch and steer tasks_google executions."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "tasks_google"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("s", "cycle_status", "Status filter"),
        Binding("slash", "search", "Search"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("c", "cancel", "Cancel"),
        Binding("C", "force_cancel", "Force cancel"),
        Binding("r", "retry", "Retry"),
        Binding("y", "copy_id", "Copy id"),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
    ]

    def __init__(self, *, poll_interval: float = DEFAULT_POLL_INTERVAL) -> None:
        super().__init__()
        self.poll_interval = poll_interval
        self.filter = ExecutionFilter()
        self.snapshot: Snapshot | None = None
        self.polls = 0
        self._timer: Timer | None = None
        self.execution_list = ExecutionList(id="executions")
        self.detail = ExecutionDetail(id="detail")
        self.counts = Static("loading…", id="counts")
        self.last_action = Static("", id="last-action")

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        targets = backend_targets()
        target = Static(describe_targets(targets), id="target")
        target.set_class(any(t.kind == "GCP" for t in targets), "gcp")
        yield target
        yield self.counts
        yield ColumnHeader(id="columns")
        yield self.execution_list
        yield self.detail
        yield self.last_action
        yield Input(placeholder="filter: task path, id prefix, queue, backend…", id="search")
        yield Footer()

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
        read = partial(take_snapshot, self.filter, start, limit, self.execution_list.selected_id)
        self.run_worker(
            partial(_on_own_connection, read),
            thread=True,
            exclusive=True,
            group="poll",
            name="poll",
            exit_on_error=False,
        )

    def _schedule_poll(self) -> None:
        if self._timer is None:
            self._timer = self.set_timer(self.poll_interval, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.poll_now()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "poll":
            if event.state == WorkerState.SUCCESS:
                self._apply(worker.result)
                self._schedule_poll()
            elif event.state == WorkerState.ERROR:
                self.counts.update(
                    Text(f"Reading executions failed: {worker.error}", style="bold red")
                )
                self._schedule_poll()
        elif worker.group == "detail" and event.state == WorkerState.SUCCESS:
            row = worker.result
            if row is not None and row.pk == self.execution_list.selected_id:
                self.detail.show(row, timezone.now())
        elif worker.group == "action" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            if event.state == WorkerState.SUCCESS:
                self._report(f"{worker.name}: {worker.result}")
            else:
                self._report(f"{worker.name} failed: {worker.error}", error=True)
            self.poll_now()

    def _apply(self, snapshot: Snapshot) -> None:
        if not self.execution_list.is_mounted:
            return  # the app is closing
        if snapshot.filter != self.filter:
            return  # read for a filter the user has changed since; the next poll is current
        self.snapshot = snapshot
        self.polls += 1
        now = timezone.now()
        listing = self.execution_list
        listing.show(snapshot.start, snapshot.rows, snapshot.total, now)
        self.counts.update(self._counts_line(snapshot))
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
        line.append(f" · read in {snapshot.seconds * 1000:.0f} ms", style="dim")
        return line

    def on_execution_list_window_needed(self, message: ExecutionList.WindowNeeded) -> None:
        self.poll_now((message.start, message.limit))

    def on_execution_list_selected(self, message: ExecutionList.Selected) -> None:
        """Load the newly selected execution alone (one primary-key read), not a whole poll."""
        if message.execution_id is None:
            return
        read = partial(fetch_execution, message.execution_id)
        self.run_worker(
            partial(_on_own_connection, read),
            thread=True,
            exclusive=True,
            group="detail",
            name="detail",
            exit_on_error=False,
        )

    # ------------------------------------------------------------------ filters

    def action_cycle_status(self) -> None:
        """Show the next status only (then all again)."""
        position = _STATUS_CYCLE.index(self.filter.status)
        status = _STATUS_CYCLE[(position + 1) % len(_STATUS_CYCLE)]
        self._set_filter(ExecutionFilter(status, self.filter.text))

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("visible")
        search.focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        search.value = ""
        search.remove_class("visible")
        self.execution_list.focus()
        self._set_filter(ExecutionFilter(self.filter.status, ""))

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._set_filter(ExecutionFilter(self.filter.status, event.value))

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.remove_class("visible")
        self.execution_list.focus()

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

    def _act(self, title: str, action: Callable[[], str]) -> None:
        work = partial(_on_own_connection, action)
        self.run_worker(work, thread=True, group="action", name=title, exit_on_error=False)

    def _report(self, message: str, *, error: bool = False) -> None:
        """Say what an action did: in the line above the footer (it stays) and as a toast."""
        self.last_action.update(Text(message, style="bold red" if error else "green"))
        self.notify(message, severity="error" if error else "information")

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

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(verb, cancel)

        self.push_screen(ConfirmScreen(f"{verb} execution {execution_id}?"), answered)

    def action_retry(self) -> None:
        """Enqueue a copy of the selected execution."""
        execution_id = self._selected_id()
        if execution_id is None:
            return

        def retry() -> str:
            copy = tasks_google.retry_task(execution_id)
            return f"Enqueued {copy.id} (a copy of {execution_id})."

        self._act("Retry", retry)

    def action_copy_id(self) -> None:
        execution_id = self._selected_id()
        if execution_id is not None:
            self.copy_to_clipboard(execution_id)
            self._report(f"Copied {execution_id} to the clipboard.")

    def action_refresh(self) -> None:
        self.poll_now()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())
