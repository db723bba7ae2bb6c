"""The Monitor tab's tables: GPU processes keyed by PID and the alert list keyed by alert id.

Both are diffed against what they show: rows are added or removed only when processes or
alerts come and go, changed cells are updated in place, and the cursor stays on the same key
(the same PID, the same alert) across refreshes.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets._data_table import RowKey

from engine.telemetry.health import AlertEntry
from engine.telemetry.samples import GpuSample

from .monitor_format import BAD, DIM, WARN, clock_text, gib


class KeyedTable(DataTable):
    """A DataTable whose rows are identified by a string key and updated in place."""

    COLUMNS: Sequence[tuple[str, str, int | None]] = ()  # (key, label, width or None for auto)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._shown: dict[str, tuple] = {}
        # operations since mount, for tests and the bench: rows added/removed, cells updated
        self.rows_added = 0
        self.rows_removed = 0
        self.cells_updated = 0

    def on_mount(self) -> None:
        for key, label, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)

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
        col_keys = [c[0] for c in self.COLUMNS]
        changed = False
        structural = False
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
                        self.update_cell(key, col, new_v)
                        self.cells_updated += 1
                self._shown[key] = values
                changed = True
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

    def _reorder(self, rank: dict[str, int]) -> None:
        # DataTable.sort orders by cell values; we order by row key, doing what sort() does
        # (textual is pinned, see pyproject).
        from textual._two_way_dict import TwoWayDict

        ordered = sorted(self._row_locations, key=lambda rk: rank.get(rk.value, 1 << 30))
        self._row_locations = TwoWayDict({rk: n for n, rk in enumerate(ordered)})
        self._update_count += 1
        self.refresh()


def _right(text: str, style: str = "") -> Text:
    return Text(text, style=style, justify="right")


class ProcessTable(KeyedTable):
    """Processes on the GPUs, one row per PID (a process on several GPUs lists them all)."""

    COLUMNS = (
        ("pid", "PID", 8),
        ("user", "USER", 8),
        ("gpu", "GPU", 5),
        ("kind", "T", 1),
        ("mem", "GPU MEM", 9),
        ("command", "COMMAND", None),
    )

    def show(self, gpus: Sequence[GpuSample]) -> tuple[int, list[int]]:
        """Show the processes of the GPUs that answer; returns (rows, GPUs whose list is N/A)."""
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
                    merged[p.pid] = [p, [g.index], p.used_memory_bytes]
                else:
                    m[1].append(g.index)
                    if p.used_memory_bytes is not None:
                        m[2] = (m[2] or 0) + p.used_memory_bytes
        rows: dict[str, tuple] = {}
        for pid, (p, idxs, mem) in merged.items():
            gpu_text = ",".join(str(i) for i in idxs)
            rows[str(pid)] = (
                _right(str(pid)),
                Text(p.user or "?", style="" if p.user else DIM),
                Text(gpu_text if len(gpu_text) <= 5 else f"{len(idxs)}gpu"),
                Text("G" if p.kind == "graphics" else "C"),
                _right(gib(mem, 2) + "G" if mem is not None else "N/A"),
                Text(p.command or "?", style="" if p.command else DIM, no_wrap=True, overflow="ellipsis"),
            )
        order = sorted(rows, key=lambda k: (merged[int(k)][1][0], int(k)))
        self.sync_rows(rows, order)
        return len(rows), unknown


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


class AlertTable(KeyedTable):
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

    def selected_entry(self) -> AlertEntry | None:
        key = self.selected_key
        return None if key is None else self.entries.get(key)


def row_key_value(key: RowKey | None) -> str | None:
    return None if key is None else key.value
