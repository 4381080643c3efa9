"""The cloud view (key 2): queues, Scheduler jobs, Run Jobs; on the emulator also its clock and
fault rules; keys to pause, resume, purge, run now, switch a fault rule.

It reads its source (`tui.cloud_state.CloudSource`) in a worker thread while it shows, again
after each reading by a timer; actions go through the public tasks_google API.
"""

from functools import partial
from typing import Any

from textual.binding import Binding
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tui import queue_actions, schedule_actions
from tui.cloud_rows import FaultRow, QueueRow, SchedulerJobRow
from tui.cloud_state import CloudSource, CloudState, FaultSwitch
from tui.views.dashboard_view import DashboardView
from tui.widgets.cloud_tables import CloudTables

_KIND_NAMES = {"queue": "queue", "job": "Scheduler job", "fault": "fault rule"}


class CloudView(DashboardView, CloudTables, can_focus=True):
    """Watch and steer the cloud the backends talk to."""

    BINDINGS = [
        Binding("t", "toggle_fault", "Toggle fault"),
        Binding("n", "run_schedule", "Run now"),
        Binding("p", "pause", "Pause"),
        Binding("u", "resume", "Resume"),
        Binding("X", "purge_queue", "Purge queue"),
    ]

    def __init__(self, source: CloudSource, *, poll_interval: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.poll_interval = poll_interval
        self.polls = 0
        self._timer: Timer | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Fault rules exist only on the emulator: no key for them on Google.
        return action != "toggle_fault" or isinstance(self.source, FaultSwitch)

    # ------------------------------------------------------------------ polling

    def poll_now(self) -> None:
        """Read the cloud now (in a thread) while this view shows; then every interval."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not self.display:
            return
        self.run_worker(
            self.source.read,
            thread=True,
            exclusive=True,
            group="cloud",
            name="cloud",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "cloud" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if event.state == WorkerState.SUCCESS:
            self._apply(worker.result)
        else:
            where, emulated = self.source.where, self.source.emulated
            self._apply(CloudState(where=where, emulated=emulated, error=str(worker.error)))
        if self._timer is None and self.display:
            interval = self.source.refresh_seconds or self.poll_interval
            self._timer = self.set_timer(interval, self.poll_now)

    def _apply(self, state: CloudState) -> None:
        if self.is_mounted:
            self.polls += 1
            self.show(state)

    # ------------------------------------------------------------------ actions

    def _selected_row(self, *kinds: str) -> Any:
        """The selected row if it is of one of `kinds` (else say what to select; None)."""
        selected = self.selected()
        if selected is None or selected[0] not in kinds:
            what = " or ".join(_KIND_NAMES[kind] for kind in kinds)
            self.notify(f"Select a {what} first (↑ ↓).", severity="warning")
            return None
        return selected[1]

    def action_toggle_fault(self) -> None:
        """Switch the selected fault rule on or off."""
        fault: FaultRow | None = self._selected_row("fault")
        source = self.source
        if fault is None or not isinstance(source, FaultSwitch):
            return
        enabled = not fault.enabled

        def toggle() -> str:
            rule = source.set_fault_enabled(fault.id, enabled)
            return f"fault rule {rule.id} {'on' if rule.enabled else 'off'}"

        self.act("Toggle fault", toggle)

    def action_run_schedule(self) -> None:
        """Fire the selected Scheduler job now (asks first)."""
        job: SchedulerJobRow | None = self._selected_row("job")
        if job is not None:
            run = partial(schedule_actions.run_now, job.name)
            self.confirm(f"Run Scheduler job {job.job_id} now?", "Run now", run)

    def action_pause(self) -> None:
        """Pause the selected queue or Scheduler job (asks first)."""
        item: QueueRow | SchedulerJobRow | None = self._selected_row("queue", "job")
        if isinstance(item, QueueRow):
            question = (
                f"Pause queue {item.queue_id}? Its tasks wait (none is lost) until it is resumed."
            )
            self.confirm(
                question, "Pause", partial(queue_actions.set_queue_paused, item.name, True)
            )
        elif item is not None:
            question = f"Pause Scheduler job {item.job_id}? It stops firing until resumed."
            self.confirm(question, "Pause", partial(schedule_actions.set_paused, item.name, True))

    def action_resume(self) -> None:
        """Resume the selected queue or Scheduler job."""
        item: QueueRow | SchedulerJobRow | None = self._selected_row("queue", "job")
        if isinstance(item, QueueRow):
            self.act("Resume", partial(queue_actions.set_queue_paused, item.name, False))
        elif item is not None:
            self.act("Resume", partial(schedule_actions.set_paused, item.name, False))

    def action_purge_queue(self) -> None:
        """Delete every task of the selected queue (asks first)."""
        queue: QueueRow | None = self._selected_row("queue")
        if queue is not None:
            self.confirm(
                f"Purge queue {queue.queue_id}? Every task waiting in it "
                "is deleted, and their executions are recorded cancelled. This cannot be undone.",
                "Purge",
                partial(queue_actions.purge, queue.name),
            )
