"""How an execution's status, and an attempt's outcome, read on screen: a symbol and a word, so
colour is optional."""

from dataclasses import dataclass

from tasks_google.execution import attempts

#: The pseudo-status of a FAILED execution with `cancelled_at` set (Django has no CANCELLED).
CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class StatusLabel:
    """A status as shown: symbol, word and the Rich style that colours it."""

    symbol: str
    word: str
    style: str

    @property
    def text(self) -> str:
        return f"{self.symbol} {self.word}"


LABELS: dict[str, StatusLabel] = {
    "READY": StatusLabel("…", "READY", "cyan"),
    "RUNNING": StatusLabel("▶", "RUNNING", "bold yellow"),
    "SUCCESSFUL": StatusLabel("✓", "SUCCESSFUL", "green"),
    "FAILED": StatusLabel("✗", "FAILED", "bold red"),
    CANCELLED: StatusLabel("⊘", "CANCELLED", "#b48ead"),
}
#: The order statuses are counted in the header and cycled through by the status filter.
DISPLAY_ORDER = ("READY", "RUNNING", "SUCCESSFUL", "FAILED", CANCELLED)
#: The widest label, so the status column never truncates one.
STATUS_WIDTH = max(len(label.text) for label in LABELS.values())


def display_status(status: str, cancelled: bool) -> str:
    """The status key shown for a row: CANCELLED for a cancelled FAILED execution."""
    return CANCELLED if cancelled and status == "FAILED" else status


def label_for(status: str, cancelled: bool = False) -> StatusLabel:
    """The label of a row's status (unknown statuses are shown as they are)."""
    key = display_status(status, cancelled)
    return LABELS.get(key, StatusLabel("?", key, ""))


#: How each outcome of `TaskExecution.attempts` reads (see tasks_google.execution.attempts).
ATTEMPT_LABELS: dict[str, StatusLabel] = {
    attempts.RUNNING: StatusLabel("▶", "running", "bold yellow"),
    attempts.SUCCEEDED: StatusLabel("✓", "succeeded", "green"),
    attempts.RETRY: StatusLabel("↻", "retry", "dark_orange"),
    attempts.FAILED: StatusLabel("✗", "failed", "bold red"),
    attempts.CANCELLED: StatusLabel("⊘", "cancelled", "#b48ead"),
    attempts.LOST: StatusLabel("↯", "lost", "red"),
}
#: An attempt whose outcome was not recorded (history from before `attempts` existed).
UNKNOWN_ATTEMPT = StatusLabel("?", "unknown", "dim")


def attempt_label(outcome: str | None) -> StatusLabel:
    """The label of an attempt's outcome (None: UNKNOWN_ATTEMPT; others are shown as they are)."""
    if outcome is None:
        return UNKNOWN_ATTEMPT
    return ATTEMPT_LABELS.get(outcome, StatusLabel("?", outcome, ""))
