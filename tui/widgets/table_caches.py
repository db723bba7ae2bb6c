"""Bounded render caches for DataTables that update many times a second (issue 10 item 12).

Textual's DataTable keeps LRU caches of rendered cells (10,000), rows, lines and row renderables
(1,000 each), all keyed by the table's update count: once a cell changes, every entry made
before is dead but stays until evicted. The monitor's process table updates each sample, so it
added ~77 dead cells a frame (7 rows x 11 columns) and the soak's RSS grew ~0.3 MB a minute for
most of an hour before the 10,000 cap was reached (~11 MB; tracemalloc and the cache sizes show
it). Only the current update count's entries are ever hit again, so a bound a few times what a
large terminal shows keeps every hit and levels the memory within the first minutes.
"""

from __future__ import annotations

from typing import Any

# A 200x50 terminal shows at most ~50 rows x 12 columns = 600 cells and 50 lines of one table;
# a very tall one (200 lines) still fits.
CELLS = 1500
LINES = 200


def bound_render_caches(table: Any, cells: int | None = None, lines: int | None = None) -> None:
    """Cap a DataTable's render caches (kept as is where a Textual version names them otherwise)."""
    cells = CELLS if cells is None else cells
    lines = LINES if lines is None else lines
    for name, size in (("_cell_render_cache", cells), ("_row_render_cache", lines),
                       ("_line_cache", lines), ("_row_renderable_cache", lines)):
        cache = getattr(table, name, None)
        if cache is not None and hasattr(cache, "maxsize"):
            cache.maxsize = min(cache.maxsize, size)


__all__ = ["CELLS", "LINES", "bound_render_caches"]
