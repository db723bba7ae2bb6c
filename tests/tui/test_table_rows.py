"""The Monitor's tables draw their plain rows from cached cell segments (tui/widgets/table_rows.py):
the lines must be DataTable's own, segment for segment, and a changed cell must reach the screen."""

from __future__ import annotations

import dataclasses

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from engine.telemetry.samples import GpuProcess
from tui.widgets.monitor_tables import AlertTable, ProcessTable
from tui.widgets.table_rows import CachedRowsTable

from .monitor_support import MonitorHarness, T0, samples, screen_lines, sim, with_gpu, widget_lines


def _datatable_line(table: DataTable, y: int):
    return list(DataTable.render_line(table, y))  # DataTable's own drawing of the line


def _assert_rows_match(table: CachedRowsTable) -> int:
    """Every row the table draws itself (the cursor's too) equals DataTable's line; returns how
    many it drew."""
    header = table.header_height if table.show_header else 0
    drawn = 0
    for y in range(header, header + table.row_count):
        fast = table._plain_row_line(y)
        assert fast is not None, y
        assert list(fast) == _datatable_line(table, y), y
        drawn += 1
    return drawn


def _odd_processes(sample):
    """Processes whose cells take every path: dim N/A figures, a long command cut with an
    ellipsis, a PID from another namespace, a user name longer than its column."""
    g = sample.gpus[0]
    procs = (
        GpuProcess(101, None, None, None, sm_util_pct=None, started_at=None),
        GpuProcess(202, "a-very-long-user-name", "python " + "x" * 300, 3 << 30, sm_util_pct=97,
                   cpu_pct=123.4, host_mem_pct=1.5, started_at=T0 - 90_000, in_namespace=True),
        GpuProcess(303, None, "nvml-name", 1 << 30, in_namespace=False),
    )
    return with_gpu(sample, g.index, processes=g.processes + procs)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_plain_process_rows_are_datatables_own_lines(size):
    feed = samples(sim(8), 3)
    feed[-1] = _odd_processes(feed[-1])
    app = MonitorHarness(feed)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.query_one(ProcessTable)
        assert table.row_count >= 4
        assert _assert_rows_match(table) == table.row_count
        table.focus()
        table.action_cursor_down()  # the cursor moves: both rows are drawn again, highlighted right
        await pilot.pause()
        assert _assert_rows_match(table) == table.row_count
        await pilot.hover(table, offset=(3, 3))  # the mouse over a row: its hover highlight
        await pilot.pause()
        assert table.hover_coordinate.row == 2 and table._show_hover_cursor
        assert _assert_rows_match(table) == table.row_count


async def test_plain_alert_rows_are_datatables_own_lines():
    backend = sim(8, thermal={1: (0, 30)}, lose_gpu_at={3: 2})
    app = MonitorHarness(samples(backend, 12))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        table = app.query_one(AlertTable)
        assert table.row_count >= 2
        assert _assert_rows_match(table) == table.row_count


async def test_a_changed_cell_reaches_the_screen_and_an_unchanged_row_keeps_its_cells():
    backend = sim(8)
    feed = samples(backend, 2)
    app = MonitorHarness(feed)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        table = app.query_one(ProcessTable)
        pid = table.keys()[-1]
        before = "\n".join(widget_lines(app, table))
        drawn = table.plain_rows_drawn
        nxt = backend.sample()  # a second later: every process's TIME moves on
        changed = dataclasses.replace(nxt, gpus=tuple(
            dataclasses.replace(g, processes=tuple(
                dataclasses.replace(p, cpu_pct=77.7) if str(p.pid) == pid else p for p in g.processes or ()))
            for g in nxt.gpus))
        app.monitor_pane.update_sample(changed)
        await pilot.pause()
        after = "\n".join(widget_lines(app, table))
        row = next(line for line in after.splitlines() if line.strip().startswith(pid))
        assert "77.7" in row and "77.7" not in before
        assert table.plain_rows_drawn > drawn  # drawn from the cache path, not by DataTable
        assert _assert_rows_match(table) == table.row_count
        # the same sample again: nothing changes, no row is drawn again
        drawn = table.plain_rows_drawn
        app.monitor_pane.update_sample(changed)
        await pilot.pause()
        assert table.plain_rows_drawn == drawn
        assert "\n".join(widget_lines(app, table)) == after


class _Wide(App):
    def compose(self) -> ComposeResult:
        yield CachedRowsTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(CachedRowsTable)
        table.add_column("A", width=30)
        table.add_column("B", width=40)
        table.add_column("C")  # auto width
        for n in range(4):
            table.add_row(Text("x" * 50, overflow="ellipsis"), Text(f"{n}", justify="right", style="dim"),
                          Text("tail", style="bold"), key=str(n))


async def test_a_table_wider_than_its_widget_is_cropped_like_datatable():
    app = _Wide()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(CachedRowsTable)
        assert _assert_rows_match(table) == 4
        assert any("…" in line for line in screen_lines(app))


async def test_rows_painted_together_are_datatables_own_lines():
    """A paint draws all its rows from one lookup of the table-wide values (columns, widths,
    styles): each row is still DataTable's line, the cursor's row and the rows after it too,
    and after the cursor moves and a cell changes."""
    feed = samples(sim(8), 3)
    feed[-1] = _odd_processes(feed[-1])
    app = MonitorHarness(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.query_one(ProcessTable)
        table.focus()
        await pilot.pause()
        drawn: dict[int, list] = {}
        original = table.render_line

        def recording(y: int):
            strip = original(y)
            drawn[y] = list(strip)
            return strip

        table.render_line = recording  # type: ignore[method-assign]
        header = table.header_height
        for move in range(3):
            drawn.clear()
            table._styles_cache.clear()
            table.render_lines(table.size.region)
            rows = [y for y in drawn if header <= y < header + table.row_count]
            assert len(rows) == table.row_count
            for y in rows:
                assert drawn[y] == _datatable_line(table, y), (move, y)
            await pilot.press("down")
            await pilot.pause()
