"""What every view of the dashboard has: the keys that work everywhere (quit, help), operator
actions run in a worker thread (asking first when they cannot be undone), and how they report.

A view says what happened with messages the app shell shows: `Reported` (the line above the
footer, and a toast when asked) and `ActionDone` (the app then refreshes every view).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connections
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from tui.screens.confirm import ConfirmScreen


def on_own_connection(read: Callable[[], Any]) -> Any:
    """Run `read` in this worker thread, then close the thread's database connections."""
    try:
        return read()
    finally:
        connections.close_all()


class DashboardView(Widget):
    """A view of the dashboard (mixed into its container class). Subclasses read in `poll_now`."""

    # Listed first, so that the footer shows them before the view's own keys.
    BINDINGS = [
        Binding("q", "app.quit", "Quit"),
        Binding("question_mark", "app.help", "Help"),
    ]

    @dataclass
    class Reported(Message):
        """Show `text` on the line above the footer; also as a toast of `severity`, if set."""

        text: Text
        severity: SeverityLevel | None = None

    class ActionDone(Message):
        """An action finished (or failed): what every view shows may have changed."""

    def poll_now(self) -> None:
        """Read what the view shows now (in a thread)."""

    def act(self, title: str, action: Callable[[], str]) -> None:
        """Run `action` in a thread; report what it returns (or why it failed) under `title`."""
        work = partial(on_own_connection, action)
        self.run_worker(work, thread=True, group="action", name=title, exit_on_error=False)

    def confirm(self, question: str, title: str, action: Callable[[], str]) -> None:
        """Ask `question`; on yes, `act(title, action)`."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(title, action)

        self.app.push_screen(ConfirmScreen(question), answered)

    def report(self, message: str, *, error: bool = False) -> None:
        """Say what an action did: in the line above the footer (it stays) and as a toast."""
        text = Text(message, style="bold red" if error else "green")
        self.post_message(self.Reported(text, "error" if error else "information"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "action" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if event.state == WorkerState.SUCCESS:
            self.report(f"{worker.name}: {worker.result}")
        else:
            self.report(f"{worker.name} failed: {worker.error}", error=True)
        self.post_message(self.ActionDone())
