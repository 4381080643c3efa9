"""The help screen: every key, what it does."""

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

#: (keys, what they do), in the order shown.
KEYS = (
    ("↑ ↓ / j k", "move the cursor (PgUp, PgDn, Home, End too)"),
    ("click", "select the execution, queue, job or fault rule under the pointer"),
    ("s", "cycle the status filter: all → READY → RUNNING → SUCCESSFUL → FAILED → CANCELLED"),
    ("b", "cycle the backend filter through the tasks_google backends"),
    ("T", "only the selected execution's task (again: every task)"),
    (
        "/",
        "search: free text (task path, id prefix, queue, backend, progress message) and "
        "backend:NAME queue:NAME task:PART status:NAME words",
    ),
    ("Escape", "clear the search"),
    ("c", "cancel the selected execution (asks first)"),
    ("C", "force cancel: stop the running attempt (Run Jobs; asks first)"),
    ("r", "retry: enqueue a copy with the same arguments (asks first unless it failed)"),
    ("y", "copy the execution id to the clipboard"),
    ("1 / 2", "the executions view / the cloud view (queues, schedules, Run Jobs, faults)"),
    ("p / u", "cloud view: pause (asks first) / resume the selected queue or Scheduler job"),
    (
        "X",
        "cloud view: purge the selected queue (asks first; its waiting executions are cancelled)",
    ),
    ("n", "cloud view: run the selected Scheduler job now (asks first)"),
    ("t", "cloud view, emulator only: switch the selected fault rule on or off"),
    ("Ctrl+R", "refresh now"),
    ("Tab", "move between the list and the detail pane"),
    ("?", "this help"),
    ("q", "quit"),
)


class HelpScreen(ModalScreen[None]):
    """Lists the keys; any of Escape, ? or q closes it."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for keys, what in KEYS:
            table.add_row(keys, what)
        with Vertical(id="help"):
            yield Static("Keys", id="help-title")
            yield Static(table)
            yield Static(
                "Status reads without colour: … READY  ▶ RUNNING  ✓ SUCCESSFUL  ✗ FAILED  "
                "⊘ CANCELLED (a FAILED execution that was cancelled).",
                id="help-legend",
            )

    def action_close(self) -> None:
        self.dismiss(None)
