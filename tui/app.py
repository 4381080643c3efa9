"""The dashboard app: a shell around two views, each with its own keys and its own polling.

`1` the executions view (`tui.views.executions`: the list, the detail, a throughput
sparkline), `2` the cloud view (`tui.views.cloud`: queues, Scheduler jobs, Run Jobs; on the
emulator also its clock and fault rules). The shell shows which cloud the backends talk to,
switches views, shows what the last action did, and offers help and quit. Every action goes
through the public `tasks_google` API (`cancel_task`, `retry_task`, `pause_queue`,
`run_schedule`, ...).
"""

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Footer, Static

from tui.cloud_state import CloudSource
from tui.screens.help import HelpScreen
from tui.targets import backend_targets, cloud_source, describe_targets
from tui.throughput import BUCKET_SECONDS
from tui.views.cloud import CloudView
from tui.views.dashboard_view import DashboardView
from tui.views.executions import DEFAULT_POLL_INTERVAL, ExecutionsView

EXECUTIONS_VIEW = "executions-view"
CLOUD_VIEW = "cloud-view"


class TasksDashboard(App[None]):
    """Watch and steer tasks_google executions."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "tasks_google"
    # Quit and help are the views' (`DashboardView`), so the footer lists them first.
    BINDINGS = [
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
        self.cloud = cloud if cloud is not None else cloud_source()
        self.executions_view = ExecutionsView(
            poll_interval=poll_interval, throughput_interval=throughput_interval, id=EXECUTIONS_VIEW
        )
        self.cloud_view = CloudView(self.cloud, poll_interval=poll_interval, id=CLOUD_VIEW)
        self.views = ContentSwitcher(initial=EXECUTIONS_VIEW, id="views")
        self.last_action = Static("", id="last-action")

    @property
    def slow_read_seconds(self) -> float:
        """Reads slower than this are reported in the executions view's header."""
        return self.executions_view.slow_read_seconds

    @slow_read_seconds.setter
    def slow_read_seconds(self, seconds: float) -> None:
        self.executions_view.slow_read_seconds = seconds

    def compose(self) -> ComposeResult:
        targets = backend_targets()
        target = Static(describe_targets(targets), id="target")
        target.set_class(any(t.kind == "GCP" for t in targets), "gcp")
        yield target
        with self.views:
            yield self.executions_view
            yield self.cloud_view
        yield self.last_action
        yield self.executions_view.search
        yield Footer()

    def action_show_view(self, view: str) -> None:
        self.views.current = view
        self.refresh_bindings()
        if view == CLOUD_VIEW:
            self.cloud_view.focus()
            self.cloud_view.poll_now()
        else:
            self.executions_view.execution_list.focus()
            self.executions_view.poll_now()

    def action_refresh(self) -> None:
        """Read again now, in every view that shows (the executions view always reads)."""
        self.executions_view.poll_now()
        self.cloud_view.poll_now()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    @on(DashboardView.Reported)
    def _show_report(self, message: DashboardView.Reported) -> None:
        self.last_action.update(message.text)
        if message.severity is not None:
            self.notify(message.text.plain, severity=message.severity)

    @on(DashboardView.ActionDone)
    def _after_action(self) -> None:
        self.action_refresh()
