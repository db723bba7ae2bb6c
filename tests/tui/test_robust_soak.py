"""Issue 10 item 12 (soak): the monitor's tables, updated every sample, keep their render caches
bounded. Textual's DataTable caches every rendered cell keyed by its update count (10,000
cells); a table updated each sample filled it with dead entries for most of an hour (the soak's
RSS growth, bench/soak_bench.py). Here with small bounds, so a few frames show it."""

from __future__ import annotations

import dataclasses

from tui.widgets import table_caches
from tui.widgets.monitor_tables import KeyedTable

from .monitor_support import MonitorHarness, T0, sim


async def test_tables_updated_every_sample_keep_their_render_caches_bounded(monkeypatch):
    monkeypatch.setattr(table_caches, "CELLS", 60)
    monkeypatch.setattr(table_caches, "LINES", 12)
    backend = sim(8)
    app = MonitorHarness()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.monitor_pane
        for i in range(12):
            pane.update_sample(dataclasses.replace(backend.sample(), timestamp=T0 + i))
            await pilot.pause()  # a frame: the tables render what changed
        tables = list(app.query(KeyedTable))
        procs = next(t for t in tables if t.id == "mon-procs")
        assert procs.row_count >= 4 and procs.cells_updated > 60  # the cache saw more than its bound
        for t in tables:
            assert len(t._cell_render_cache) <= 60
            assert max(len(t._row_render_cache), len(t._line_cache), len(t._row_renderable_cache)) <= 12
