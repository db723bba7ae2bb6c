"""A DataTable whose drawn lines never outlive a change of its column widths.

Textual 8.2.8's DataTable sizes its columns at idle time (`_update_dimensions`, after `add_row` or
`update_cell(update_width=True)`) but keys its line and row render caches by an update count that
this sizing does not bump. A frame drawn between `add_row` and the table's next idle (a loaded
machine, a screen refresh that comes first) caches the header at the old widths, and it stays so
while the rows below are drawn at the new ones: the Sessions diff showed `input  A  B` above rows
25 columns wide in about 1 of 12 loaded runs (reproduced in tests/tui/test_fresh_table.py).

Here a width change at idle bumps the count, so every cached line is drawn again. It costs a
redraw only when a width really changes. Relies on DataTable's private `_update_dimensions` and
`_update_count` (textual is pinned exactly in pyproject.toml).
"""

from __future__ import annotations

from typing import Iterable

from textual.widgets import DataTable


class FreshDataTable(DataTable):
    _drawn_widths: tuple[int, ...] = ()

    def _render_widths(self) -> tuple[int, ...]:
        return (self._row_label_column_width,
                *(column.get_render_width(self) for column in self.ordered_columns))

    def _update_dimensions(self, new_rows: Iterable) -> None:
        super()._update_dimensions(new_rows)
        widths = self._render_widths()
        if widths != self._drawn_widths:
            self._drawn_widths = widths
            self._update_count += 1  # the key of every render cache: lines drawn before are dropped
            self.refresh()


__all__ = ["FreshDataTable"]
