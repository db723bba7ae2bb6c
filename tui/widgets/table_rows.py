"""A DataTable that draws its plain rows from cached cell segments (the Monitor's tables).

DataTable draws a row again whole when one of its cells changes: a cache lookup per cell (keys
of row and column objects hashed for each), cursor and hover checks per cell, then the line's
join, crop and simplify — about a millisecond a row, and the Monitor's process table changes
every row every second (its TIME column). `CachedRowsTable.render_line` draws a row that is
neither under the cursor nor under a mouse-hover highlight from its cells' segments instead:
each cell rendered by Rich exactly as DataTable renders it (the cell padded, with the row's
style and the cell's row/column meta for clicks) and kept until that cell's value, style or
width changes; each cell's segments are simplified once (cells never merge with each other:
each carries its own row/column meta), so the joined row needs no simplify pass. The header,
the cursor's row, a hovered row, and any table with fixed rows or columns, row labels, zebra
stripes, rows taller than one line or a horizontal scroll are drawn by DataTable itself. tests/tui/test_table_rows.py checks that the lines are DataTable's own,
segment for segment. Reads DataTable's private row/column maps (textual is pinned, see
pyproject).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.renderables.styled import Styled
from textual.strip import Strip

from .fresh_table import FreshDataTable
from .text_lines import memo_rich_style


_NULL = Style.null()


def cell_segments(cell: Text, width: int, padding: int, pre: Style, post: Style, console: Console) -> list[Segment] | None:
    """The segments of a one-line DataTable cell `width` cells wide (padding included), as
    DataTable draws them (Styled(Padding(cell)) through Rich): Rich's no-wrap layout of the Text
    (justify left/right/default, overflow fold/crop/ellipsis), padded, under the row's `pre`
    style and the cursor's `post` style. None for what this does not lay out (newlines, tabs,
    centred or full justify): Rich renders those."""
    inner = width - 2 * padding
    plain = cell.plain
    justify = cell.justify or "default"
    if inner <= 0 or "\n" in plain or "\t" in plain or justify not in ("default", "left", "right"):
        return None
    overflow = cell.overflow or "fold"
    line = cell.copy()
    if justify == "left":
        line.truncate(inner, overflow=overflow, pad=True)
    elif justify == "right":
        line.rstrip()
        line.truncate(inner, overflow=overflow)
        line.pad_left(inner - cell_len(line.plain))
    line.truncate(inner, overflow=overflow)
    if line.style:  # as Text.join does, the line's own style becomes a span
        line = Text(line.plain, spans=[Span(0, len(line), line.style), *line.spans])
    used = cell_len(line.plain)
    if used > inner:
        return None
    out = [Segment(" " * padding)] if padding else []
    out.extend(line.render(console))
    if used < inner:
        out.append(Segment(" " * (inner - used)))
    if padding:
        out.append(Segment(" " * padding))
    styled = []
    for text, style, _control in out:
        style = pre + style if style else pre
        if post:
            style = style + post if style else post
        styled.append(Segment(text, style))
    return styled


class CachedRowsTable(FreshDataTable):
    """A DataTable whose plain one-line rows are joined from per-cell segment caches."""

    plain_rows_drawn = 0  # rows drawn here rather than by DataTable (tests and the bench)

    _painting = False  # inside render_lines
    _paint_context: tuple | None = None  # what every row of that render_lines call shares

    def render_lines(self, crop):  # noqa: ANN001, ANN201 - DataTable's signature
        # the table-wide values each row needs (columns, widths, styles, flags) are looked up
        # once per paint rather than once per row: nothing changes while the lines are drawn
        self._painting, self._paint_context = True, None
        try:
            return super().render_lines(crop)
        finally:
            self._painting, self._paint_context = False, None

    def render_line(self, y: int) -> Strip:
        strip = self._plain_row_line(y)
        return strip if strip is not None else super().render_line(y)

    def _row_context(self) -> tuple | None:
        if (self.cursor_type != "row" or self.fixed_rows or self.fixed_columns or self.zebra_stripes
                or (self.show_row_labels and self._labelled_row_exists)):
            return None
        scroll_x, scroll_y = self.scroll_offset
        header = self.header_height if self.show_header else 0
        columns = self.ordered_columns
        padding = self.cell_padding
        widths = [2 * padding + (c.content_width if c.auto_width else c.width) for c in columns]
        return (scroll_x, scroll_y, header, columns, widths, self.size.width, memo_rich_style(self),
                padding, self._row_label_column_width, self.app.console, {})

    def _cell_styles(self, hovered: bool, cursor: bool, styles: dict) -> tuple:
        """The cursor's and the mouse's highlight, as DataTable styles a cell and the row's end."""
        got = styles.get((hovered, cursor))
        if got is None:
            show_cursor, show_hover = self.show_cursor, self._show_hover_cursor
            component, post = self._get_styles_to_render_cell(
                False, False, False, hovered, cursor, show_cursor, show_hover,
                self.cursor_foreground_priority == "css", self.cursor_background_priority == "css",
            )
            end_component, _ = self._get_styles_to_render_cell(
                False, False, False, hovered, cursor, show_cursor, show_hover, False, False)
            got = styles[(hovered, cursor)] = (component, post, end_component)
        return got

    def _plain_row_line(self, y: int) -> Strip | None:
        context = self._paint_context
        if context is None:
            context = self._row_context()
            if context is None:
                return None
            if self._painting:
                self._paint_context = context
        (scroll_x, scroll_y, header, columns, widths, width, row_style, padding, label_width, console,
         styles) = context
        if scroll_x or y < header:
            return None
        row_index = y - header + scroll_y
        if row_index >= self.row_count:
            return None
        row_key = self._row_locations.get_key(row_index)
        row = None if row_key is None else self.rows.get(row_key)
        if row is None or row.height != 1:
            return None
        hovered = self.hover_coordinate.row == row_index
        cursor = self.cursor_coordinate.row == row_index
        data = self._data.get(row_key, {})
        cells = [data.get(column.key) for column in columns]
        if not all(isinstance(cell, Text) for cell in cells):
            return None  # strings (markup), numbers, other renderables: DataTable formats them
        component, post, end_component = self._cell_styles(hovered, cursor, styles)
        cache = self.__dict__.setdefault("_cell_segments", {})
        if len(cache) > 4 * (self.row_count + 1) * max(1, len(columns)):
            cache.clear()  # rows come and go: keep the cache about the table's size
        segments: list[Segment] = []
        table_width = label_width
        # wider than the widget (a long COMMAND): the cells past the edge are not drawn, the one
        # across it is cut, each cell's segments joined as DataTable's crop and simplify would
        # leave them (cells never merge: each carries its own row/column meta)
        clipped = label_width + sum(widths) > width and not label_width
        fits = label_width + sum(widths) <= width
        for ci, (column, cell) in enumerate(zip(columns, cells)):
            cell_width = widths[ci]
            if clipped and table_width >= width:
                break
            table_width += cell_width
            key = (row_style, row_index, component, post, cell_width, padding)
            entry = cache.get((row_key, ci))
            if entry is None or entry[0] is not cell or entry[1] != key:
                pre = row_style + Style.from_meta({"row": row_index, "column": ci}) + component
                cell_segs = cell_segments(cell, cell_width, padding, pre, post, console)
                if cell_segs is None:  # a layout cell_segments leaves to Rich
                    options = self.app.console_options.update_dimensions(cell_width, 1).update(no_wrap=True)
                    cell_segs = console.render_lines(
                        Styled(Padding(cell, (0, padding)), pre_style=pre, post_style=post), options)[0]
                entry = cache[(row_key, ci)] = (cell, key, cell_segs, {})
            if clipped or fits:
                room = min(cell_width, width - (table_width - cell_width))
                cut = entry[3].get(room)  # this cell's segments, simplified, cut to `room`
                if cut is None:
                    cut = entry[3][room] = list(Strip(entry[2]).crop(0, room).simplify())
                segments.extend(cut)
                continue
            segments.extend(entry[2])
        if clipped:
            self.plain_rows_drawn += 1
            return Strip(segments, width)
        extend = row_style + end_component + Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * max(0, width - table_width), extend))
        self.plain_rows_drawn += 1
        if fits:  # the extension fills the line exactly; the cells are simplified already
            return Strip(segments, width)
        if table_width <= width:
            return Strip(segments, width).simplify()
        return Strip(segments).crop(0, width).adjust_cell_length(width, row_style).simplify()


__all__ = ["CachedRowsTable"]
