"""The dashboard app: a live list of executions, their detail, and keys to steer them.

Two views: `1` the executions (with a throughput sparkline), `2` the cloud (queues, Scheduler
jobs, Run Jobs; on the emulator also its clock and fault rules). Reads happen in worker threads
(one poll at a time per view), rescheduled by a timer after each poll finishes, so a slow
database or cloud slows the refresh rate instead of piling up reads. Every action goes through
the public `tasks_google` API (`cancel_task`, `retry_task`, `pause_queue`, `run_schedule`, ...).
"""

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import connections
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Input, Static
from textual.worker import Worker, WorkerState

import tasks_google
from tasks_google import clock
from tui import queue_actions, schedule_actions
from tui.cloud_rows import FaultRow, QueueRow, SchedulerJobRow
from tui.cloud_state import CloudSource, CloudState, FaultSwitch
from tui.execution_filter import ExecutionFilter
from tui.execution_query import Snapshot, fetch_execution, take_snapshot
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.status_labels import DISPLAY_ORDER, LABELS, label_for
from tui.targets import backend_targets, cloud_source, describe_targets
from tui.throughput import BUCKET_SECONDS, throughput_line
from tui.widgets.cloud_view import CloudView, Row
from tui.widgets.execution_detail import ExecutionDetail
from tui.widgets.execution_list import ColumnHeader, ExecutionList

#: Seconds between the end of one poll and the start of the next.
DEFAULT_POLL_INTERVAL = 1.0
#: The next refresh waits at least this many times as long as the last one's reads took.
READ_LOAD_FACTOR = 4
#: A refresh's reads taking longer than this are reported in the header.
SLOW_READ_SECONDS = 0.25
_STATUS_CYCLE: tuple[str | None, ...] = (None, *DISPLAY_ORDER)
EXECUTIONS_VIEW = "executions-view"
CLOUD_VIEW = "cloud-view"
#: Actions that only make sense in one view (hidden from the footer in the other).
_VIEW_ACTIONS = {
    "cycle_status": EXECUTIONS_VIEW,
    "search": EXECUTIONS_VIEW,
    "cycle_backend": EXECUTIONS_VIEW,
    "only_task": EXECUTIONS_VIEW,
    "cancel": EXECUTIONS_VIEW,
    "force_cancel": EXECUTIONS_VIEW,
    "retry": EXECUTIONS_VIEW,
    "copy_id": EXECUTIONS_VIEW,
    "toggle_fault": CLOUD_VIEW,
    "run_schedule": CLOUD_VIEW,
    "pause": CLOUD_VIEW,
    "resume": CLOUD_VIEW,
    "purge_queue": CLOUD_VIEW,
}


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
        Binding("b", "cycle_backend", "Backend filter", show=False),
        Binding("T", "only_task", "Only this task", show=False),
        Binding("slash", "search", "Search"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("c", "cancel", "Cancel"),
        Binding("C", "force_cancel", "Force cancel"),
        Binding("r", "retry", "Retry"),
        Binding("y", "copy_id", "Copy id"),
        Binding("t", "toggle_fault", "Toggle fault"),
        Binding("n", "run_schedule", "Run now"),
        Binding("p", "pause", "Pause"),
        Binding("u", "resume", "Resume"),
        Binding("X", "purge_queue", "Purge queue"),
        Binding("1", "show_view('executions-view')", "Executions"),
        Binding("2", "show_view('cloud-view')", "Cloud"),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
    ]

    def __init__(
        self,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        cloud: CloudSource | None = None,
        throughput_interval: float = BUCKET_SECONDS / 2,
    ) -> None:
        super().__init__()
        self.poll_interval = poll_interval
        self.slow_read_seconds = SLOW_READ_SECONDS
        self.throughput_interval = throughput_interval
        self._throughput_read_at: float | None = None
        self.cloud = cloud if cloud is not None else cloud_source()
        self.cloud_polls = 0
        self._cloud_timer: Timer | None = None
        self.filter = ExecutionFilter()
        self.snapshot: Snapshot | None = None
        self.polls = 0
        self._timer: Timer | None = None
        self.execution_list = ExecutionList(id="executions")
        self.detail = ExecutionDetail(id="detail")
        self.counts = Static("loading…", id="counts")
        self.throughput = Static("", id="throughput")
        self.views = ContentSwitcher(initial=EXECUTIONS_VIEW, id="views")
        self.cloud_view = CloudView(id=CLOUD_VIEW)
        self.last_action = Static("", id="last-action")

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        targets = backend_targets()
        target = Static(describe_targets(targets), id="target")
        target.set_class(any(t.kind == "GCP" for t in targets), "gcp")
        yield target
        with self.views:
            with Vertical(id=EXECUTIONS_VIEW):
                yield self.counts
                yield self.throughput
                yield ColumnHeader(id="columns")
                yield self.execution_list
                yield self.detail
            yield self.cloud_view
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
        throughput_until = None
        if (
            self._throughput_read_at is None
            or time.monotonic() - self._throughput_read_at >= self.throughput_interval
        ):
            self._throughput_read_at = time.monotonic()
            throughput_until = clock.now()
        read = partial(
            take_snapshot,
            self.filter,
            start,
            limit,
            self.execution_list.selected_id,
            throughput_until,
        )
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
        if worker.group == "poll":
            if event.state == WorkerState.SUCCESS:
                self._apply(worker.result)
                self._schedule_poll()
            elif event.state == WorkerState.ERROR:
                self.counts.update(
                    Text(f"Reading executions failed: {worker.error}", style="bold red")
                )
                self._schedule_poll()
        elif worker.group == "cloud":
            if event.state == WorkerState.SUCCESS:
                self._apply_cloud(worker.result)
            elif event.state == WorkerState.ERROR:
                where, emulated = self.cloud.where, self.cloud.emulated
                error = CloudState(where=where, emulated=emulated, error=str(worker.error))
                self._apply_cloud(error)
            if event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
                self._schedule_cloud_poll()
        elif worker.group == "detail" and event.state == WorkerState.SUCCESS:
            row = worker.result
            if row is not None and row.pk == self.execution_list.selected_id:
                self.detail.show(row, clock.now())
        elif worker.group == "action" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            if event.state == WorkerState.SUCCESS:
                self._report(f"{worker.name}: {worker.result}")
            else:
                self._report(f"{worker.name} failed: {worker.error}", error=True)
            self.poll_now()
            if self.current_view == CLOUD_VIEW:
                self.poll_cloud_now()

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
        self.counts.update(self._counts_line(snapshot))
        if snapshot.throughput is not None:
            self.throughput.update(throughput_line(snapshot.throughput))
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

    # ------------------------------------------------------------------ the cloud view

    @property
    def current_view(self) -> str:
        return self.views.current or EXECUTIONS_VIEW

    def action_show_view(self, view: str) -> None:
        self.views.current = view
        self.refresh_bindings()
        if view == CLOUD_VIEW:
            self.cloud_view.focus()
            self.poll_cloud_now()
        else:
            self.execution_list.focus()
            self.poll_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_fault" and not isinstance(self.cloud, FaultSwitch):
            return False  # fault rules exist only on the emulator
        view = _VIEW_ACTIONS.get(action)
        return view is None or not self.is_mounted or view == self.current_view

    def poll_cloud_now(self) -> None:
        """Read the cloud now (in a thread) while its view shows; then every interval."""
        if self._cloud_timer is not None:
            self._cloud_timer.stop()
            self._cloud_timer = None
        if self.current_view != CLOUD_VIEW:
            return
        source = self.cloud
        self.run_worker(
            source.read,
            thread=True,
            exclusive=True,
            group="cloud",
            name="cloud",
            exit_on_error=False,
        )

    def _schedule_cloud_poll(self) -> None:
        if self._cloud_timer is None and self.current_view == CLOUD_VIEW:
            interval = self.cloud.refresh_seconds or self.poll_interval
            self._cloud_timer = self.set_timer(interval, self.poll_cloud_now)

    def _apply_cloud(self, state: CloudState) -> None:
        if not self.cloud_view.is_mounted:
            return
        self.cloud_polls += 1
        self.cloud_view.show(state)

    def _selected_item(self, *kinds: str) -> tuple[str, Row] | None:
        """The selected row of the cloud view if it is of one of `kinds` (else say so)."""
        selected = self.cloud_view.selected()
        if selected is None or selected[0] not in kinds:
            names = {"queue": "queue", "job": "Scheduler job", "fault": "fault rule"}
            what = " or ".join(names[kind] for kind in kinds)
            self.notify(f"Select a {what} first (↑ ↓).", severity="warning")
            return None
        return selected

    def action_toggle_fault(self) -> None:
        """Switch the selected fault rule on or off."""
        selected = self._selected_item("fault")
        source = self.cloud
        if selected is None or not isinstance(source, FaultSwitch):
            return
        fault = selected[1]
        assert isinstance(fault, FaultRow)
        enabled = not fault.enabled

        def toggle() -> str:
            rule = source.set_fault_enabled(fault.id, enabled)
            return f"fault rule {rule.id} {'on' if rule.enabled else 'off'}"

        self._act("Toggle fault", toggle)

    def action_run_schedule(self) -> None:
        """Fire the selected Scheduler job now (asks first)."""
        selected = self._selected_item("job")
        if selected is not None:
            job = selected[1]
            assert isinstance(job, SchedulerJobRow)
            self._confirm(
                f"Run Scheduler job {job.job_id} now?",
                "Run now",
                partial(schedule_actions.run_now, job.name),
            )

    def action_pause(self) -> None:
        """Pause the selected queue or Scheduler job (asks first)."""
        selected = self._selected_item("queue", "job")
        if selected is None:
            return
        item = selected[1]
        if isinstance(item, QueueRow):
            question = (
                f"Pause queue {item.queue_id}? Its tasks wait (none is lost) until it is resumed."
            )
            action = partial(queue_actions.set_queue_paused, item.name, True)
        else:
            assert isinstance(item, SchedulerJobRow)
            question = f"Pause Scheduler job {item.job_id}? It stops firing until resumed."
            action = partial(schedule_actions.set_paused, item.name, True)
        self._confirm(question, "Pause", action)

    def action_resume(self) -> None:
        """Resume the selected queue or Scheduler job."""
        selected = self._selected_item("queue", "job")
        if selected is None:
            return
        item = selected[1]
        if isinstance(item, QueueRow):
            self._act("Resume", partial(queue_actions.set_queue_paused, item.name, False))
        else:
            self._act("Resume", partial(schedule_actions.set_paused, item.name, False))

    def action_purge_queue(self) -> None:
        """Delete every task of the selected queue (asks first)."""
        selected = self._selected_item("queue")
        if selected is not None:
            queue = selected[1]
            assert isinstance(queue, QueueRow)
            self._confirm(
                f"Purge queue {queue.queue_id}? Every task waiting in it "
                "is deleted, and their executions are recorded cancelled. This cannot be undone.",
                "Purge",
                partial(queue_actions.purge, queue.name),
            )

    def _confirm(self, question: str, title: str, action: Callable[[], str]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._act(title, action)

        self.push_screen(ConfirmScreen(question), answered)

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
        search = self.query_one("#search", Input)
        words = [w for w in search.value.split() if not w.lower().startswith(f"{name}:")]
        if value:
            words.append(f"{name}:{value}")
        search.value = " ".join(words)
        search.set_class(bool(search.value), "visible")
        self._apply_search(search.value)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("visible")
        search.focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        search.value = ""
        search.remove_class("visible")
        self.execution_list.focus()
        self._apply_search("")

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._apply_search(event.value)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.remove_class("visible")
        self.execution_list.focus()

    def _apply_search(self, line: str) -> None:
        flt, problems = ExecutionFilter.parse_leniently(line, self.filter.status)
        self.last_action.update(Text("; ".join(problems), style="bold red"))
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
        """Enqueue a copy of the selected execution (asks first unless it failed)."""
        execution_id = self._selected_id()
        if execution_id is None:
            return

        def retry() -> str:
            copy = tasks_google.retry_task(execution_id)
            return f"Enqueued {copy.id} (a copy of {execution_id})."

        row = self.execution_list.selected_row
        if row is None or row.status == "FAILED":
            self._act("Retry", retry)
            return
        label = label_for(row.status, row.cancelled)
        self._confirm(
            f"Execution {execution_id} is {label.word}, not failed. Enqueue a second copy "
            "anyway? Both will run.",
            "Retry",
            retry,
        )

    def action_copy_id(self) -> None:
        execution_id = self._selected_id()
        if execution_id is not None:
            self.copy_to_clipboard(execution_id)
            self._report(f"Copied {execution_id} to the clipboard.")

    def action_refresh(self) -> None:
        self.poll_now()
        self.poll_cloud_now()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())
