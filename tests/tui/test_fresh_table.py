"""A frame drawn between `add_row` and the table's idle-time sizing must not leave a stale header.

The race, made deterministic: rows are added and a line is drawn at once (what a screen refresh
that comes before the table's idle does on a loaded machine), then the table sizes its columns.
"""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import DataTable

from tui.widgets.fresh_table import FreshDataTable

from .monitor_support import screen_lines


class _TableApp(App):
    def __init__(self, table_class: type[DataTable]) -> None:
        super().__init__()
        self.table_class = table_class

    def compose(self):
        yield self.table_class(id="t", cursor_type="none", show_cursor=False)


async def _after_the_race(table_class: type[DataTable], via: str) -> tuple[str, str]:
    """The header and first row on screen after a column grows at idle time with a frame drawn
    in between; `via` is how it grows: new rows, or `update_cell(update_width=True)`."""
    app = _TableApp(table_class)
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one("#t", DataTable)
        columns = table.add_columns("input", "A", "B")
        if via == "update_cell":
            table.add_row("tp", "4", "8", key="r")
        await pilot.pause()
        if via == "update_cell":
            table.update_cell("r", columns[1], "4,096,000", update_width=True)
        else:
            table.add_row("hardware.tensor_parallel", "4", "8")
        table.render_line(0)  # a frame before the table's idle: the header at the old widths
        await pilot.pause()
        await pilot.pause()
        lines = screen_lines(app)
        return lines[0], lines[1]


def _aligned(header: str, row: str) -> bool:
    """The header's last label sits over the first row's last cell."""
    return header.rstrip().endswith("B") and len(header.rstrip()) == len(row.rstrip())


@pytest.mark.parametrize("via", ["add_row", "update_cell"])
async def test_the_header_is_drawn_again_at_the_new_widths(via) -> None:
    header, row = await _after_the_race(FreshDataTable, via)
    assert _aligned(header, row), (header, row)


@pytest.mark.parametrize("via", ["add_row", "update_cell"])
async def test_textuals_own_table_still_keeps_the_stale_header(via) -> None:
    """The bug FreshDataTable works around, in the pinned Textual. When this fails, Textual has
    fixed it and FreshDataTable can go."""
    header, row = await _after_the_race(DataTable, via)
    assert header.startswith(" input  A  B ") and not _aligned(header, row), (header, row)
