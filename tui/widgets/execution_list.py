"""The executions list: a Line-API virtual list that paints only the visible rows.

It holds one window of rows (what is visible plus a margin either side) and the total length of
the filtered list; scrolling outside the window asks the app for another (`WindowNeeded`).
Columns have fixed widths, so nothing is ever re-measured, whatever the number of rows.
"""

from dataclasses import dataclass
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tasks_google import clock
from tui.columns import fit, header_segments, row_segments
from tui.execution_query import ExecutionRow

_CURSOR = Style(reverse=True)
_LOADING = Style(dim=True, italic=True)


class ColumnHeader(Widget):
    """The column titles above the list (its right padding matches the list's scrollbar)."""

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        return Strip(header_segments(width) if y == 0 else [], width)


class ExecutionList(ScrollView, can_focus=True):
    """Executions, newest first, one per line, with a cursor."""

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "Newest", show=False),
        Binding("end", "last", "Oldest", show=False),
    ]

    cursor: reactive[int] = reactive(0, repaint=False)

    @dataclass
    class WindowNeeded(Message):
        """The visible rows are not all loaded: the app should fetch `start`…`start+limit`."""

        start: int
        limit: int

    @dataclass
    class Selected(Message):
        """The cursor moved to another execution (None: nothing loaded there)."""

        execution_id: str | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.window_start = 0
        self.rows: list[ExecutionRow] = []
        self.total = 0
        self.selected_id: str | None = None
        self._now = clock.now()

    # ---------------------------------------------------------------- data in

    def show(self, start: int, rows: list[ExecutionRow], total: int, now: datetime) -> None:
        """Replace the window of rows (from a poll); the cursor stays on its execution."""
        self.window_start, self.rows, self.total, self._now = start, rows, total, now
        self.virtual_size = Size(self.scrollable_content_region.width, total)
        for offset, row in enumerate(rows):
            if row.id == self.selected_id:
                if start + offset != self.cursor:
                    self.set_reactive(ExecutionList.cursor, start + offset)
                break
        if total and self.cursor >= total:
            self.set_reactive(ExecutionList.cursor, total - 1)
        self._select_at_cursor()
        self.refresh()

    def row_at(self, index: int) -> ExecutionRow | None:
        """The loaded row at list position `index`, if it is in the window."""
        offset = index - self.window_start
        if 0 <= offset < len(self.rows):
            return self.rows[offset]
        return None

    @property
    def selected_row(self) -> ExecutionRow | None:
        """The loaded row under the cursor."""
        return self.row_at(self.cursor)

    def wanted_window(self) -> tuple[int, int]:
        """The window to load for what is visible: one screen of margin either side."""
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        start = max(0, top - height)
        return start, height * 3

    def covers_view(self) -> bool:
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        end = min(self.total, top + height)
        return self.window_start <= top and end <= self.window_start + len(self.rows)

    # ---------------------------------------------------------------- painting

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        if index >= self.total:
            return Strip.blank(width)
        row = self.row_at(index)
        if row is None:
            return Strip([Segment(fit("  loading…", width), _LOADING)], width)
        base = _CURSOR if index == self.cursor else None
        return Strip(row_segments(row, width, self._now, base), width)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self.covers_view():
            self.post_message(self.WindowNeeded(*self.wanted_window()))

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.total)
        if not self.covers_view():
            self.post_message(self.WindowNeeded(*self.wanted_window()))

    # ---------------------------------------------------------------- cursor

    def watch_cursor(self, old: int, new: int) -> None:
        self._select_at_cursor()
        top = int(self.scroll_offset.y)
        height = max(1, self.scrollable_content_region.height)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.refresh()

    def _select_at_cursor(self) -> None:
        row = self.row_at(self.cursor)
        execution_id = row.id if row else None
        if row is not None and execution_id != self.selected_id:
            self.selected_id = execution_id
            self.post_message(self.Selected(execution_id))

    def _move(self, delta: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def on_click(self, event: events.Click) -> None:
        """A click selects the row under the pointer."""
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < self.total:
            self.cursor = index
        self.focus()

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_page_up(self) -> None:
        self._move(-max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self._move(max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self._move(-self.total)

    def action_last(self) -> None:
        self._move(self.total)
