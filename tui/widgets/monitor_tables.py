"""The Monitor tab's tables: GPU processes keyed by PID and the alert list keyed by alert id.

Both are diffed against what they show: rows are added or removed only when processes or
alerts come and go, changed cells are updated in place, and the cursor stays on the same key
(the same PID, the same alert) across refreshes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets._data_table import CellDoesNotExist, ColumnKey, RowKey

from engine.telemetry.health import AlertEntry
from engine.telemetry.samples import GpuProcess, GpuSample

from .kept_render import KeptRender
from .monitor_format import BAD, DIM, WARN, clock_text, gib
from .table_caches import bound_render_caches
from .table_rows import CachedRowsTable


class KeyedTable(CachedRowsTable):
    """A DataTable whose rows are identified by a string key and updated in place (plain rows
    drawn from cached cell segments, see table_rows.py)."""

    COLUMNS: Sequence[tuple[str, str, int | None]] = ()  # (key, label, width or None for auto)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        bound_render_caches(self)  # updated each sample: Textual's caches would fill with dead cells
        self._shown: dict[str, tuple] = {}
        # operations since mount, for tests and the bench: rows added/removed, cells updated
        self.rows_added = 0
        self.rows_removed = 0
        self.cells_updated = 0

    def on_mount(self) -> None:
        self.visible_columns = tuple(self.COLUMNS)
        for key, label, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)

    visible_columns: Sequence[tuple[str, str, int | None]] = ()

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor (None when the table is empty)."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - cursor outside the rows while they change
            return None
        return key.value

    def select_key(self, key: str) -> bool:
        if key not in self._shown:
            return False
        self.move_cursor(row=self.get_row_index(key), animate=False)
        return True

    def keys(self) -> list[str]:
        """Row keys in display order."""
        return [row.key.value for row in self.ordered_rows if row.key.value is not None]

    # Newest-first lists keep the cursor on the top row while it is there (following the newest
    # entry); otherwise the cursor follows its row's key.
    FOLLOW_TOP = False

    def sync_rows(self, rows: dict[str, tuple], order: Iterable[str]) -> bool:
        """Make the table show `rows` (key -> cell values, one per column) in `order`.
        Returns True if anything changed."""
        selected = self.selected_key
        cursor_row = self.cursor_row
        if self.FOLLOW_TOP and cursor_row == 0:
            selected = None
        col_keys = [c[0] for c in self.visible_columns]
        changed = False
        structural = False
        changes: list[tuple[str, str, object]] = []
        for key in [k for k in self._shown if k not in rows]:
            self.remove_row(key)
            del self._shown[key]
            self.rows_removed += 1
            structural = True
        for key, values in rows.items():
            old = self._shown.get(key)
            if old is None:
                self.add_row(*values, key=key)
                self._shown[key] = values
                self.rows_added += 1
                structural = True
                continue
            if old != values:
                for col, new_v, old_v in zip(col_keys, values, old):
                    if new_v != old_v:
                        changes.append((key, col, new_v))
                self._shown[key] = values
                changed = True
        self.update_cells(changes)  # one pass over the render caches for all changed cells
        self.cells_updated += len(changes)
        order = list(order)
        if structural or self.keys() != order:
            rank = {k: n for n, k in enumerate(order)}
            self._reorder(rank)
            changed = True
            if selected is not None and selected in self._shown:
                self.select_key(selected)
            elif self.row_count:
                self.move_cursor(row=min(cursor_row, self.row_count - 1), animate=False)
                self.cursor_coordinate = self.cursor_coordinate  # re-announce the row under it
        return changed

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: object, *,
                    update_width: bool = False) -> None:
        """Put `value` in one cell and render only that cell again (see `update_cells`)."""
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        self.update_cells([(row_key, column_key, value)])

    def update_cells(self, changes: Sequence[tuple[RowKey | str, ColumnKey | str, object]]) -> None:
        """Put new values in cells and render only those cells again.

        DataTable.update_cell bumps the table-wide `_update_count` that keys every one of its
        render caches, so one changed figure re-renders every cell of every visible row and the
        header through Rich (a third of a millisecond each: most of the Monitor's CPU at 1 Hz).
        Here the caches drop only what holds a changed cell (the cell, its row's renders, the
        assembled lines; entries of an older `_update_count` are dead and go too, which keeps
        the scans short) and only the changed rows are repainted. Column widths stay as they
        are, as with update_width=False. Relies on DataTable's private caches (textual is
        pinned, see pyproject)."""
        if not changes:
            return
        cells: set[tuple[RowKey, ColumnKey]] = set()
        for row_key, column_key, value in changes:
            rk = RowKey(row_key) if isinstance(row_key, str) else row_key
            ck = ColumnKey(column_key) if isinstance(column_key, str) else column_key
            if rk not in self._row_locations or ck not in self._column_locations:
                raise CellDoesNotExist(f"No cell exists for row_key={rk!r}, column_key={ck!r}.")
            self._data[rk][ck] = value
            cells.add((rk, ck))
        rows = {rk for rk, _ck in cells}
        indices = {self._row_locations.get(rk) for rk in rows}
        now = self._update_count
        # key layouts: cell (row_key, column_key, ..., update_count at 6, ...),
        # row (row_key, ..., update_count at 8, ...), renderables (update_count, row_index)
        _forget(self._cell_render_cache, lambda k: k[6] != now or (k[0], k[1]) in cells)
        _forget(self._row_render_cache, lambda k: k[8] != now or k[0] in rows)
        _forget(self._row_renderable_cache, lambda k: k[0] != now or k[1] in indices)
        self._line_cache.clear()  # a line only joins its row's cached segments: cheap to rebuild
        for index in sorted(indices):
            self.refresh_row(index)

    def _reorder(self, rank: dict[str, int]) -> None:
        # DataTable.sort orders by cell values; we order by row key, doing what sort() does
        # (textual is pinned, see pyproject).
        from textual._two_way_dict import TwoWayDict

        ordered = sorted(self._row_locations, key=lambda rk: rank.get(rk.value, 1 << 30))
        self._row_locations = TwoWayDict({rk: n for n, rk in enumerate(ordered)})
        self._update_count += 1
        self.refresh()


def _forget(cache, stale) -> None:  # noqa: ANN001 - a textual.cache.LRUCache
    for key in [k for k in cache.keys() if stale(k)]:
        cache.discard(key)


def _right(text: str, style: str = "") -> Text:
    return Text(text, style=style, justify="right")


def elapsed_text(seconds: float | None) -> str:
    """nvitop-style elapsed time: '42:07', '3:12:05', '5-03:12' (days-hours:minutes)."""
    if seconds is None or seconds < 0:
        return "-"
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{s:02d}"
    return f"{minutes:02d}:{s:02d}"


def _pct(v: float | int | None, digits: int = 0) -> Text:
    return _right("-" if v is None else f"{v:.{digits}f}", "" if v is not None else DIM)


@dataclass(frozen=True, slots=True)
class ProcessRow:
    """One PID across the GPUs it uses (what a row of the table shows)."""

    process: GpuProcess
    gpus: tuple[int, ...]
    gpu_memory_bytes: int | None
    sm_util_pct: int | None
    mem_bw_util_pct: int | None
    elapsed_s: float | None

    @property
    def visible(self) -> bool:
        return self.process.in_namespace is not False

    def matches(self, terms: Sequence[tuple[str, str]]) -> bool:
        p = self.process
        for field, value in terms:
            if field == "user":
                if (p.user or "").lower() != value:
                    return False
            elif field == "gpu":
                if not value.isdigit() or int(value) not in self.gpus:
                    return False
            elif field == "pid":
                if str(p.pid) != value:
                    return False
            elif value not in f"{p.pid} {p.user or ''} {p.command or ''}".lower():
                return False
        return True


def parse_filter(text: str) -> list[tuple[str, str]]:
    """'user:alice gpu:3 vllm' -> [('user', 'alice'), ('gpu', '3'), ('', 'vllm')]."""
    terms: list[tuple[str, str]] = []
    for word in text.lower().split():
        field, sep, value = word.partition(":")
        if sep and field in ("user", "gpu", "pid") and value:
            terms.append((field, value))
        else:
            terms.append(("", word))
    return terms


# sort key per column; numeric columns sort largest first when picked
def _num(v: float | int | None) -> float:
    return -1.0 if v is None else float(v)


SORT_KEYS = {
    "pid": (lambda r: r.process.pid, False),
    "user": (lambda r: (r.process.user or "~").lower(), False),
    "gpu": (lambda r: (r.gpus[0], r.process.pid), False),
    "kind": (lambda r: r.process.kind, False),
    "sm": (lambda r: _num(r.sm_util_pct), True),
    "mbw": (lambda r: _num(r.mem_bw_util_pct), True),
    "mem": (lambda r: _num(r.gpu_memory_bytes), True),
    "cpu": (lambda r: _num(r.process.cpu_pct), True),
    "hmem": (lambda r: _num(r.process.host_mem_pct), True),
    "time": (lambda r: _num(r.elapsed_s), True),
    "command": (lambda r: (r.process.command or "~").lower(), False),
}


def merge_processes(gpus: Sequence[GpuSample], now: float | None) -> tuple[dict[int, ProcessRow], list[int]]:
    """One row per PID over the GPUs that answer; returns (rows, GPUs whose list is N/A)."""
    merged: dict[int, list] = {}
    unknown: list[int] = []
    for g in gpus:
        if g.state != "ok":
            continue
        if g.processes is None:
            unknown.append(g.index)
            continue
        for p in g.processes:
            m = merged.get(p.pid)
            if m is None:
                merged[p.pid] = [p, [g.index], p.used_memory_bytes, p.sm_util_pct, p.mem_bw_util_pct]
            else:
                m[1].append(g.index)
                if p.used_memory_bytes is not None:
                    m[2] = (m[2] or 0) + p.used_memory_bytes
                if p.sm_util_pct is not None:
                    m[3] = max(m[3] or 0, p.sm_util_pct)
                if p.mem_bw_util_pct is not None:
                    m[4] = max(m[4] or 0, p.mem_bw_util_pct)
    rows = {}
    for pid, (p, idxs, mem, sm, bw) in merged.items():
        elapsed = None if p.started_at is None or now is None else max(0.0, now - p.started_at)
        rows[pid] = ProcessRow(p, tuple(idxs), mem, sm, bw, elapsed)
    return rows, unknown


def _time_cell(r: ProcessRow) -> Text:
    return _right(elapsed_text(r.elapsed_s), "" if r.elapsed_s is not None else DIM)


class ProcessTable(KeyedTable):
    """Processes on the GPUs as nvitop shows them, one row per PID (a process on several GPUs
    lists them all): sortable by any column (`sort_by`), filtered (`filter_text`), the cursor
    staying on its PID across refreshes, sorts and filters. Read-only: it sends no signals."""

    COLUMNS = (
        ("pid", "PID", 7),
        ("user", "USER", 8),
        ("gpu", "GPU", 5),
        ("kind", "T", 1),
        ("sm", "%SM", 3),
        ("mbw", "%MBW", 4),
        ("mem", "GPU MEM", 7),
        ("cpu", "%CPU", 5),
        ("hmem", "%MEM", 4),
        ("time", "TIME", 8),
        ("command", "COMMAND", None),
    )
    SORTABLE = tuple(k for k, _l, _w in COLUMNS)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sort_key = "gpu"
        self.sort_reverse = False
        self.filter_text = ""
        self.rows_by_key: dict[str, ProcessRow] = {}
        self.total = 0  # processes before the filter
        self._last: tuple = ((), None)

    def on_mount(self) -> None:  # after KeyedTable.on_mount (Textual calls each class's handler)
        self._label_sort()

    # columns dropped first when the table is narrow (nvitop drops columns the same way)
    DROP_ORDER = ("kind", "hmem", "mbw", "time", "user", "cpu")

    def columns_for(self, width: int) -> tuple[tuple[str, str, int | None], ...]:
        """The columns that leave the command at least 16 cells at `width`."""
        cols = list(self.COLUMNS)
        need = lambda cs: sum((w or 0) + 2 * self.cell_padding for _k, _l, w in cs) + 16  # noqa: E731
        for key in self.DROP_ORDER:
            if need(cols) <= width:
                break
            cols = [c for c in cols if c[0] != key]
        return tuple(cols)

    def on_resize(self) -> None:
        cols = self.columns_for(self.size.width)
        if cols == tuple(self.visible_columns) or not self.size.width:
            return
        self.visible_columns = cols
        self.clear(columns=True)
        self._shown = {}
        for key, label, width in cols:
            self.add_column(label, key=key, width=width)
        self._label_sort()
        self.show(*self._last)

    def sort_by(self, key: str, reverse: bool | None = None) -> None:
        if key not in SORT_KEYS:
            raise KeyError(key)
        if reverse is None:
            reverse = SORT_KEYS[key][1] if key != self.sort_key else self.sort_reverse
        self.sort_key, self.sort_reverse = key, reverse
        self._label_sort()
        self.show(*self._last)

    def sort_next(self) -> str:
        keys = self.SORTABLE
        self.sort_by(keys[(keys.index(self.sort_key) + 1) % len(keys)])
        return self.sort_key

    def reverse_sort(self) -> None:
        self.sort_by(self.sort_key, not self.sort_reverse)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.show(*self._last)

    def _label_sort(self) -> None:
        if not self.is_mounted:
            return
        for key, label, _w in self.visible_columns:
            col = self.columns.get(ColumnKey(key))
            if col is None:
                continue
            mark = ("▼" if self.sort_reverse else "▲") if key == self.sort_key else ""
            text = Text(label + mark, style="bold" if mark else "")
            if col.label != text:
                col.label = text
        self._update_count += 1
        self.refresh()

    def show(self, gpus: Sequence[GpuSample], now: float | None = None) -> tuple[int, list[int]]:
        """Show the processes of the GPUs that answer; returns (rows shown, GPUs whose list is N/A)."""
        self._last = (tuple(gpus), now)
        merged, unknown = merge_processes(gpus, now)
        self.total = len(merged)
        terms = parse_filter(self.filter_text)
        rows: dict[str, tuple] = {}
        self.rows_by_key = {}
        # a process's cells but its TIME are kept while what they show is the same (most
        # processes, most samples): TIME alone is formatted afresh
        memo: dict[tuple, dict[str, Text]] = self.__dict__.setdefault("_cells_memo", {})
        if len(memo) > 4 * len(merged) + 16:
            memo.clear()
        for pid, r in merged.items():
            if terms and not r.matches(terms):
                continue
            key = str(pid)
            self.rows_by_key[key] = r
            shown = (r.process, r.gpus, r.gpu_memory_bytes, r.sm_util_pct, r.mem_bw_util_pct)
            cells = memo.get(shown)
            if cells is None:
                cells = memo[shown] = self._cells(r)
            rows[key] = tuple(_time_cell(r) if k == "time" else cells[k] for k, _l, _w in self.visible_columns)
        fn, _ = SORT_KEYS[self.sort_key]
        order = sorted(rows, key=lambda k: (fn(self.rows_by_key[k]), int(k)), reverse=self.sort_reverse)
        self.sync_rows(rows, order)
        return len(rows), unknown

    @staticmethod
    def _cells(r: ProcessRow) -> dict[str, Text]:
        p = r.process
        gpu_text = ",".join(str(i) for i in r.gpus)
        mem = r.gpu_memory_bytes
        if r.visible:
            command = Text(p.command or "?", style="" if p.command else DIM, no_wrap=True, overflow="ellipsis")
        else:  # NVML's name for it; the host cannot see this PID (another container, or it exited)
            command = Text(p.command or "?", no_wrap=True, overflow="ellipsis")
            command.append("  (not in this PID namespace)", style=DIM)
        return {
            "pid": _right(str(p.pid)),
            "user": Text(p.user or "?", style="" if p.user else DIM),
            "gpu": Text(gpu_text if len(gpu_text) <= 5 else f"{len(r.gpus)}gpu"),
            "kind": Text("G" if p.kind == "graphics" else "C"),
            "sm": _pct(r.sm_util_pct),
            "mbw": _pct(r.mem_bw_util_pct),
            "mem": _right(gib(mem, 2) + "G" if mem is not None else "N/A"),
            "cpu": _pct(p.cpu_pct, 1),
            "hmem": _pct(p.host_mem_pct, 1),
            "time": _time_cell(r),
            "command": command,
        }

    def selected_row(self) -> ProcessRow | None:
        key = self.selected_key
        return None if key is None else self.rows_by_key.get(key)


RULE_WORDS = {
    "gpu_lost": "GPU lost",
    "temperature_near_slowdown": "temp near slowdown",
    "temperature_slowdown": "temp at slowdown",
    "hw_slowdown": "HW slowdown",
    "thermal_throttle": "thermal throttle",
    "power_brake_throttle": "power brake",
    "ecc_uncorrected": "uncorrected ECC",
    "row_remap_failure": "row remap failed",
    "row_remap_pending": "row remap pending",
    "page_retirement_pending": "page retire pending",
    "xid_critical": "Xid (critical)",
    "xid": "Xid",
    "ecc_double_bit_event": "double-bit ECC",
    "memory_high": "memory high",
    "pcie_replay": "PCIe replays",
}


def alert_value(entry: AlertEntry) -> str:
    v = entry.value
    rule = entry.rule
    if v is None:
        return ""
    if rule in ("temperature_near_slowdown", "temperature_slowdown"):
        return f"{v} °C"
    if rule == "memory_high":
        return f"{v}%"
    if rule in ("xid", "xid_critical"):
        return f"Xid {v}"
    if rule in ("hw_slowdown", "power_brake_throttle", "row_remap_failure", "row_remap_pending",
                "page_retirement_pending"):
        return "yes" if v in (1, True) else str(v).replace("_", " ")
    if rule == "thermal_throttle":
        return str(v).replace("_thermal_slowdown", "").replace(",", "+").upper()
    return str(v)


def alert_state(entry: AlertEntry) -> Text:
    if entry.acknowledged:
        return Text("ack", style=DIM)
    if entry.resolved:
        return Text("cleared", style=DIM)
    if entry.severity == "critical":
        return Text("CRIT", style=BAD)
    return Text("WARN", style=WARN)


class AlertTable(KeptRender, KeyedTable):
    """Alerts: time raised, GPU, rule (coloured by severity), value, state, repeat count; active
    critical first, then active warnings, then acknowledged/cleared, newest first in each."""

    COLUMNS = (
        ("time", "TIME", 8),
        ("gpu", "GPU", 3),
        ("rule", "RULE", 18),
        ("value", "VALUE", 8),
        ("state", "STATE", 7),
        ("count", "×", 3),
    )

    FOLLOW_TOP = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entries: dict[str, AlertEntry] = {}

    def show(self, entries: Sequence[AlertEntry]) -> bool:
        rows: dict[str, tuple] = {}
        self.entries = {}
        for e in entries:
            key = str(e.id)
            self.entries[key] = e
            quiet = not e.active
            sev_style = DIM if quiet else (BAD if e.severity == "critical" else WARN)
            rows[key] = (
                Text(clock_text(e.first_time), style=DIM if quiet else ""),
                _right("-" if e.gpu_index is None else str(e.gpu_index)),
                Text(RULE_WORDS.get(e.rule, e.rule), style=sev_style),
                Text(alert_value(e), style=DIM if quiet else ""),
                alert_state(e),
                _right(str(e.count), style=DIM),
            )
        # what needs attention on top: active critical, active warnings, then the rest; newest
        # first within each
        order = [str(e.id) for e in sorted(entries, key=lambda e: (not e.active, e.severity != "critical", -e.id))]
        return self.sync_rows(rows, order)

    def on_resize(self) -> None:
        # one line tall (80x24 under 8 GPUs): the top alert's row, not the column names
        show = self.size.height > 1
        if show != self.show_header:
            self.show_header = show

    def selected_entry(self) -> AlertEntry | None:
        key = self.selected_key
        return None if key is None else self.entries.get(key)


def row_key_value(key: RowKey | None) -> str | None:
    return None if key is None else key.value
