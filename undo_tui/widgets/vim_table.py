"""Vim movement (j/k, g/G, ctrl+d/ctrl+u for half a screen) as remappable bindings: on tables,
on scrolling text panes and on the dashboard's log."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, RichLog


class VimDataTable(DataTable):
    """Row cursor, zebra stripes and vim keys; arrows, PgUp/PgDn, Home/End and the mouse still work."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="nav_down"),
        Binding("k", "cursor_up", "Up", show=False, id="nav_up"),
        Binding("g", "nav_top", "First row", show=False, id="nav_top"),
        Binding("G", "nav_bottom", "Last row", show=False, id="nav_bottom"),
        Binding("ctrl+d", "half_page_down", "Half page down", show=False, id="nav_half_down"),
        Binding("ctrl+u", "half_page_up", "Half page up", show=False, id="nav_half_up"),
    ]

    class EdgeRequested(Message):
        """g/G pressed: a paged table asks its screen for the first or last page."""

        def __init__(self, table: VimDataTable, edge: str) -> None:
            super().__init__()
            self.table, self.edge = table, edge

        @property
        def control(self) -> VimDataTable:
            return self.table

    class WidthChanged(Message):
        """The table got wider or narrower: its screen fits the columns again (widgets/fit)."""

        def __init__(self, table: VimDataTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> VimDataTable:
            return self.table

    def __init__(self, *args, paged: bool = False, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(*args, **kwargs)
        self.paged = paged
        self.column_spec: list[tuple[str, str, int]] = []
        self._width_seen = 0

    def on_resize(self, event) -> None:
        if event.size.width != self._width_seen:
            self._width_seen = event.size.width
            self.post_message(self.WidthChanged(self))

    def set_columns(self, spec: list[tuple[str, str, int]]) -> bool:
        """Show exactly these (label, key, width) columns. True when they changed: the rows were
        cleared with the old columns, and the caller adds them again."""
        if spec == self.column_spec:
            return False
        self.column_spec = list(spec)
        self.clear(columns=True)
        for label, key, width in spec:
            self.add_column(label, key=key, width=width)
        return True

    def _half(self) -> int:
        return max(1, (self.scrollable_content_region.height - 1) // 2)

    def action_nav_top(self) -> None:
        if self.paged:
            self.post_message(self.EdgeRequested(self, "top"))
        elif self.row_count:
            self.move_cursor(row=0, animate=False)

    def action_nav_bottom(self) -> None:
        if self.paged:
            self.post_message(self.EdgeRequested(self, "bottom"))
        elif self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def action_half_page_down(self) -> None:
        if self.row_count:
            self.move_cursor(row=min(self.row_count - 1, self.cursor_row + self._half()),
                             animate=False)

    def action_half_page_up(self) -> None:
        if self.row_count:
            self.move_cursor(row=max(0, self.cursor_row - self._half()), animate=False)


# One set for every text pane (same ids: a remapped key applies to all of them).
SCROLL_BINDINGS = [
    Binding("j", "scroll_down", "Scroll down", show=False, id="scroll_down"),
    Binding("k", "scroll_up", "Scroll up", show=False, id="scroll_up"),
    Binding("g", "scroll_home", "Top", show=False, id="scroll_top"),
    Binding("G", "scroll_end", "Bottom", show=False, id="scroll_bottom"),
    Binding("ctrl+d", "half_down", "Half page down", show=False, id="scroll_half_down"),
    Binding("ctrl+u", "half_up", "Half page up", show=False, id="scroll_half_up"),
]


class _HalfPages:
    def action_half_down(self) -> None:
        self.scroll_relative(y=max(1, self.scrollable_content_region.height // 2), animate=False)

    def action_half_up(self) -> None:
        self.scroll_relative(y=-max(1, self.scrollable_content_region.height // 2), animate=False)


class VimScroll(_HalfPages, VerticalScroll):
    """A focusable scrolling pane with the same vim keys (j/k, g/G, ctrl+d/ctrl+u)."""

    BINDINGS = SCROLL_BINDINGS


class VimLog(_HalfPages, RichLog):
    """A RichLog (the dashboard's log tail) with the text panes' vim keys."""

    BINDINGS = SCROLL_BINDINGS
