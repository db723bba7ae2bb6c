"""A virtual table for the Fleet tab: only the rows in view are ever turned into cells and drawn.

Textual's DataTable measures every cell of every row it is given; at 1,000 hosts that costs
seconds on each refresh and on each expand. Here a row is a reference (a host, or a host's GPU)
and `cells(row)` formats it when, and only when, it scrolls into view; drawn lines are cached
until the rows change. A fixed header line stays on top; the cursor moves with the usual keys.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


class FleetTable(ScrollView, can_focus=True):
    """Rows are `(key, payload)`; `cells(payload) -> list[Text]` formats one row for drawing."""

    COMPONENT_CLASSES = {"fleet-table--header", "fleet-table--cursor"}
    DEFAULT_CSS = """
    FleetTable { height: 1fr; width: 1fr; }
    FleetTable > .fleet-table--header { text-style: bold; background: $panel; }
    FleetTable > .fleet-table--cursor { background: $accent 40%; }
    FleetTable:focus > .fleet-table--cursor { background: $accent; color: $text; }
    """

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First", show=False),
        Binding("end,ctrl+end", "last", "Last", show=False),
        Binding("enter", "select", "Expand", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Selected(Message):
        """Enter (or a click on the current row) on a row."""

        def __init__(self, key: Hashable) -> None:
            super().__init__()
            self.key = key

    def __init__(self, columns: Sequence[tuple[str, int]], cells: Callable[[Any], list[Text]], *,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = tuple(columns)
        self.cells = cells
        self.rows: list[tuple[Hashable, Any]] = []
        self._index: dict[Hashable, int] = {}
        self._cache: dict[tuple[int, bool], Strip] = {}
        self._line_width = sum(w for _, w in self.columns) + len(self.columns)

    # ---- data ------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def cursor_key(self) -> Hashable | None:
        return self.rows[self.cursor][0] if self.rows else None

    def set_rows(self, rows: Sequence[tuple[Hashable, Any]], keep: Hashable | None = None) -> None:
        """Replace the rows; the cursor stays on `keep` (default: the key it is on) if it is still there."""
        keep = self.cursor_key if keep is None else keep
        self.rows = list(rows)
        self._index = {k: i for i, (k, _) in enumerate(self.rows)}
        self._cache.clear()
        self.virtual_size = Size(self._line_width, len(self.rows) + 1)
        target = self._index.get(keep, min(self.cursor, max(0, len(self.rows) - 1))) if keep is not None else 0
        self.cursor = target
        self.refresh()

    def row_index(self, key: Hashable) -> int | None:
        return self._index.get(key)

    def row_text(self, index: int) -> list[str]:
        """The plain text of a row's cells (tests, copy)."""
        return [c.plain for c in self.cells(self.rows[index][1])]

    # ---- cursor ----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        if not self.rows:
            return
        if new != max(0, min(new, len(self.rows) - 1)):
            self.cursor = max(0, min(new, len(self.rows) - 1))
            return
        for i in (old, new):
            self._cache.pop((i, True), None)
            self._cache.pop((i, False), None)
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + visible:
            self.scroll_to(y=new - visible + 1, animate=False, immediate=True)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * max(1, self.size.height - 2)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self.rows) - 1)

    def action_select(self) -> None:
        if self.rows:
            self.post_message(self.Selected(self.rows[self.cursor][0]))

    def on_click(self, event: Click) -> None:
        if event.y < 1:
            return
        index = int(self.scroll_offset.y) + event.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor:
                self.action_select()
            self.cursor = index

    def on_focus(self) -> None:
        self._cache.clear()  # the cursor's style depends on focus
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()

    # ---- drawing ---------------------------------------------------------------------------

    def _line(self, cells: Sequence[Text | str], style: Style) -> Strip:
        line = Text(no_wrap=True, overflow="ellipsis")
        for (_, width), cell in zip(self.columns, cells):
            t = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            t.truncate(width, overflow="ellipsis", pad=True)
            line.append_text(t)
            line.append(" ")
        return Strip(list(line.render(self.app.console)), self._line_width).apply_style(style)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header = self._line([Text(label) for label, _ in self.columns],
                                base + self.get_component_rich_style("fleet-table--header"))
            return header.crop_extend(scroll_x, scroll_x + width, base)
        index = int(scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        on_cursor = index == self.cursor
        strip = self._cache.get((index, on_cursor))
        if strip is None:
            style = base + self.get_component_rich_style("fleet-table--cursor") if on_cursor else base
            strip = self._line(self.cells(self.rows[index][1]), style)
            self._cache[(index, on_cursor)] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base)
