"""The execution list's columns: fixed widths (never re-measured) and how each cell reads."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from tui.execution_query import ExecutionRow
from tui.status_labels import STATUS_WIDTH, label_for

PROGRESS_BAR_WIDTH = 8
GAP = " "


@dataclass(frozen=True)
class Column:
    """One column: title, width in cells (0: takes the room left), alignment."""

    title: str
    width: int
    right: bool = False


STATUS = Column("STATUS", STATUS_WIDTH)
TASK = Column("TASK", 0)
BACKEND = Column("BACKEND", 8)
QUEUE = Column("QUEUE", 10)
ATTEMPTS = Column("ATT", 3, right=True)
ENQUEUED = Column("ENQUEUED", 14)
DURATION = Column("DURATION", 8, right=True)
PROGRESS = Column("PROGRESS", PROGRESS_BAR_WIDTH + 5)
COLUMNS = (STATUS, TASK, BACKEND, QUEUE, ATTEMPTS, ENQUEUED, DURATION, PROGRESS)
TASK_MIN_WIDTH = 16


def widths(total_width: int) -> list[int]:
    """Each column's width for a list `total_width` cells wide (the task column flexes)."""
    fixed = sum(c.width for c in COLUMNS) + len(GAP) * (len(COLUMNS) - 1)
    return [c.width or max(TASK_MIN_WIDTH, total_width - fixed) for c in COLUMNS]


def fit(text: str, width: int, *, right: bool = False, keep_end: bool = False) -> str:
    """`text` padded or cut to exactly `width` cells; a cut is marked with "…"."""
    if cell_len(text) > width:
        if keep_end:
            tail = text[-(width - 1) :] if width > 1 else ""
            return set_cell_size("…" + tail, width)
        return set_cell_size(text, width - 1) + "…"
    pad = " " * (width - cell_len(text))
    return pad + text if right else text + pad


def format_duration(seconds: float) -> str:
    """A short duration: 0.4s, 12.3s, 4m05s, 2h03m, 3d04h."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def duration(row: ExecutionRow, now: datetime) -> str:
    """Run time so far (running) or in all (finished); blank before the first start."""
    if row.started_at is None:
        return ""
    end = row.finished_at or now
    return format_duration(max(0.0, (end - row.started_at).total_seconds()))


def progress(done: int | None, total: int | None) -> str:
    """A bar and a percentage (`█████░░░  62%`), a bare count without a total, else blank."""
    if done is None:
        return ""
    if not total:
        return f"{done:,}"
    ratio = max(0.0, min(1.0, done / total))
    filled = round(ratio * PROGRESS_BAR_WIDTH)
    return "█" * filled + "░" * (PROGRESS_BAR_WIDTH - filled) + f" {ratio:4.0%}"


def enqueued(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%m-%d %H:%M:%S")


_DIM = Style(dim=True)
_PLAIN = Style()
_PROGRESS = Style(color="blue")


def _cells(row: ExecutionRow, now: datetime) -> list[tuple[str, Style]]:
    label = label_for(row.status, row.cancelled)
    return [
        (label.text, Style.parse(label.style) if label.style else _PLAIN),
        (row.task_name, _PLAIN),
        (row.backend, _DIM),
        (row.queue, _DIM),
        (str(row.attempt_count), _PLAIN),
        (enqueued(row.enqueued_at), _DIM),
        (duration(row, now), _PLAIN),
        (progress(row.progress_done, row.progress_total), _PROGRESS),
    ]


def row_segments(
    row: ExecutionRow, total_width: int, now: datetime, base: Style | None = None
) -> list[Segment]:
    """One list line, exactly `total_width` cells wide (or the columns' minimum)."""
    return _line(_cells(row, now), total_width, base)


def header_segments(total_width: int, style: Style | None = None) -> list[Segment]:
    """The column titles, aligned with `row_segments`."""
    plain = style or Style(bold=True)
    return _line([(c.title, plain) for c in COLUMNS], total_width, None)


def _line(cells: list[tuple[str, Style]], total_width: int, base: Style | None) -> list[Segment]:
    segments: list[Segment] = []
    gap = Segment(GAP, base or _PLAIN)
    for index, (column, width, (text, style)) in enumerate(
        zip(COLUMNS, widths(total_width), cells, strict=True)
    ):
        if index:
            segments.append(gap)
        cell = fit(text, width, right=column.right, keep_end=column is TASK)
        if not text:
            style = _PLAIN  # a blank cell must not turn into a coloured block under the cursor
        segments.append(Segment(cell, base + style if base else style))
    used = sum(cell_len(s.text) for s in segments)
    if used < total_width:
        segments.append(Segment(" " * (total_width - used), base or _PLAIN))
    return segments


def row_text(row: ExecutionRow, total_width: int, now: datetime) -> str:
    """A list line as plain text."""
    return "".join(s.text for s in row_segments(row, total_width, now))
