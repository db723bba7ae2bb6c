"""The Sizing tab: verdict line, memory bar and table per GPU, scenario table, warnings.

Panes never compute: every figure comes from the plan's JSON report (`Plan.to_dict()`), through
the same row helpers as the headless report (`tui.report.memory_rows`, `SCENARIO_ROWS`).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from ..css import tcss
from ..report import SCENARIO_ROWS, advice_rows, billing_note, fmt, memory_rows, sessions_text
from .fresh_table import FreshDataTable
from .static_update import refresh_content, update_static

SEVERITY_ICON = {"error": "✖", "warning": "▲", "info": "•"}


class _Bar(Widget):
    """The bar itself: exactly one line as wide as the widget."""

    DEFAULT_CSS = "_Bar { height: 1; }"

    def render(self) -> Text:
        owner = self.parent
        assert isinstance(owner, MemoryBar)
        width = max(10, self.size.width)
        parts = owner.parts()
        if not parts:
            return Text("")
        scale = max(sum(v for _, v, _ in parts), 1e-9)
        # Largest-remainder apportioning so the bar is always exactly `width` cells.
        raw = [v / scale * width for _, v, _ in parts]
        cells = [int(r) for r in raw]
        for i in sorted(range(len(raw)), key=lambda i: raw[i] - cells[i], reverse=True)[: width - sum(cells)]:
            cells[i] += 1
        bar = Text(no_wrap=True, overflow="crop")
        for (_, _, cls), n in zip(parts, cells):
            if n > 0:
                char = {"memory-bar--free": "░", "memory-bar--over": "▒"}.get(cls, "█")
                bar.append(char * n, style=owner.get_component_rich_style(cls))
        return bar


class _Legend(Widget):
    """The parts of the bar and their GiB, wrapped between items (never inside one)."""

    DEFAULT_CSS = "_Legend { height: auto; }"

    def lines(self, width: int) -> list[Text]:
        owner = self.parent
        assert isinstance(owner, MemoryBar)
        items = owner.legend_items()
        lines: list[Text] = [Text()]
        for item in items:
            if lines[-1] and len(lines[-1]) + 2 + len(item) > width:
                lines.append(Text())
            if lines[-1]:
                lines[-1].append("  ")
            lines[-1].append_text(item)
        return lines

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.lines(max(1, width)))

    def render(self) -> Text:
        return Text("\n").join(self.lines(max(1, self.size.width)))


class MemoryBar(Vertical):
    """One GPU's memory as a stacked bar: weights, activation peak, overhead, KV pool, and what
    the engine leaves outside its budget (or how far over it is). A legend below names the parts
    in GiB; it wraps between items."""

    COMPONENT_CLASSES = {
        "memory-bar--weights",
        "memory-bar--activation",
        "memory-bar--overhead",
        "memory-bar--kv",
        "memory-bar--free",
        "memory-bar--over",
    }
    DEFAULT_CSS = """
    MemoryBar { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._memory: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield _Bar()
        yield _Legend()

    def show(self, memory: dict[str, Any] | None) -> None:
        self._memory = memory
        for child in self.children:
            if isinstance(child, _Legend):
                refresh_content(child)  # the legend may wrap to more lines
            else:
                child.refresh()

    def parts(self) -> list[tuple[str, float, str]]:
        m = self._memory
        if not m:
            return []
        total = m.get("gpu_total_gib") or 0.0
        used = [
            ("weights", m.get("weights_gib") or 0.0, "memory-bar--weights"),
            ("activation", m.get("activation_gib") or 0.0, "memory-bar--activation"),
            ("overhead", m.get("overhead_gib") or 0.0, "memory-bar--overhead"),
            ("KV pool", max(0.0, m.get("kv_pool_gib") or 0.0), "memory-bar--kv"),
        ]
        rest = total - sum(v for _, v, _ in used)
        if rest >= 0:
            used.append(("outside budget", rest, "memory-bar--free"))
        else:
            used.append(("over by", -rest, "memory-bar--over"))
        return used

    def legend_items(self) -> list[Text]:
        m = self._memory
        if not m:
            return [Text("calculating...", style="dim")]
        items = []
        for name, value, cls in self.parts():
            if value <= 0 and cls != "memory-bar--kv":
                continue
            item = Text()
            item.append("■ ", style=self.get_component_rich_style(cls))
            item.append(f"{name} {value:.1f}")
            items.append(item)
        items.append(Text(f"of {m.get('gpu_total_gib') or 0:.1f} GiB", style="dim"))
        return items


class WarningsList(Static):
    """The plan's warnings, most severe first."""

    def show(self, warnings: list[dict[str, Any]]) -> None:
        if not warnings:
            update_static(self, Text("No warnings.", style="dim"))
            return
        order = {"error": 0, "warning": 1, "info": 2}
        text = Text()
        for w in sorted(warnings, key=lambda w: order.get(w["severity"], 3)):
            if text:
                text.append("\n")
            sev = w["severity"]
            text.append(f"{SEVERITY_ICON.get(sev, '•')} ", style=self.get_component_rich_style(f"warnings--{sev}"))
            text.append(w["message"])
            if w.get("field"):
                text.append(f"  [{w['field']}]", style=self.get_component_rich_style("warnings--field"))
        update_static(self, text)

    COMPONENT_CLASSES = {"warnings--error", "warnings--warning", "warnings--info", "warnings--field"}


def _table(id: str) -> DataTable:
    table: DataTable = FreshDataTable(id=id, cursor_type="none", zebra_stripes=True, show_cursor=False)
    return table


class SizingPane(VerticalScroll):
    """Everything in the Sizing tab; `show(report)` renders one plan."""

    DEFAULT_CSS = tcss("sizing.tcss")
    SCOPED_CSS = False

    def compose(self) -> ComposeResult:
        yield Static("calculating...", id="verdict")
        yield Static("", id="kpis")
        yield MemoryBar(id="memory-bar")
        with Horizontal(id="sizing-tables"):
            with Vertical(id="memory-box", classes="box"):
                yield _table("memory-table")
            with Vertical(id="scenario-box", classes="box"):
                yield _table("scenario-table")
                yield Static("", id="billing", classes="sizing-note")
        with Vertical(id="warnings-box", classes="box"):
            yield WarningsList(id="warnings")

    ready = False  # set up (the app may hand it a plan between its mount and its on_mount)

    def on_mount(self) -> None:
        self._verdict = self.query_one("#verdict", Static)
        self._kpis = self.query_one("#kpis", Static)
        self._bar = self.query_one("#memory-bar", MemoryBar)
        self._memory_table = self.query_one("#memory-table", DataTable)
        self._scenario_table = self.query_one("#scenario-table", DataTable)
        self._warnings = self.query_one("#warnings", WarningsList)
        self.query_one("#memory-box").border_title = "Memory per GPU (GiB = 2^30 B)"
        self.query_one("#scenario-box").border_title = "Scenarios"
        self.query_one("#warnings-box").border_title = "Warnings"
        memory = self.query_one("#memory-table", DataTable)
        memory.add_column("item", key="item")
        memory.add_column("value", key="value")
        memory.show_header = False
        scen = self.query_one("#scenario-table", DataTable)
        scen.add_column("", key="label")
        for name in ("minimum", "recommended", "ideal"):
            scen.add_column(Text(name, justify="right"), key=name)
        self.ready = True
        report = getattr(self.app, "report", None)  # mounted after the first plan arrived
        if report is not None:
            self.show(report)

    def show(self, report: dict[str, Any]) -> None:
        if not self.ready:
            return  # on_mount shows the app's current plan
        m = report["memory"]
        verdict = self._verdict
        hw, mo = report["hardware"], report["model"]
        text = Text()
        if m["fits"]:
            text.append(" FITS ", style="bold reverse " + _style(self, "sizing--ok"))
        else:
            text.append(" DOES NOT FIT ", style="bold reverse " + _style(self, "sizing--bad"))
        text.append(f" {mo['name']} {mo['weights']} on {hw['gpu_name']}, TP {hw['tensor_parallel']}"
                    f" x PP {hw['pipeline_parallel']}, {m['engine']} {m['memory_fraction']:.0%}")
        if not m["fits"] and m.get("reason"):
            text.append(f"\n{m['reason']}", style=_style(self, "sizing--bad"))
        for line in advice_rows(report):  # what would fit, cheapest first (engine/advice.py)
            text.append("\n→ ", style=_style(self, "sizing--ok"))
            text.append(line)
        update_static(verdict, text)
        kpis = Text()
        kpis.append("KV ", style="dim")
        kpis.append(f"{m['kv_capacity_tokens']:,} tokens")
        kpis.append(" · ", style="dim")
        kpis.append(sessions_text(m["sessions_per_gpu"]))
        kpis.append(" sessions/GPU · ", style="dim")
        kpis.append(f"{m['max_concurrency']:.1f}x")
        kpis.append(f" at {m['max_model_len']:,} context", style="dim")
        update_static(self._kpis, kpis)
        self._bar.show(m)

        _fill(self._memory_table,
              [(k, (k, Text(v, justify="right"))) for k, v in memory_rows(report)])
        names = [n for n in ("minimum", "recommended", "ideal") if n in report["scenarios"]]
        _fill(self._scenario_table, [
            (key, (label, *(Text(fmt(report["scenarios"][n][key], f), justify="right") for n in names)))
            for label, key, f in SCENARIO_ROWS
        ])
        self._warnings.show(report["warnings"])
        billing = self.query_one("#billing", Static)
        note = billing_note(report)
        update_static(billing, Text(note or "", style="dim"))
        billing.display = note is not None

    COMPONENT_CLASSES = {"sizing--ok", "sizing--bad"}


def _fill(table: DataTable, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Show `rows` ((key, cells)); cells that changed are updated in place when the rows are the
    same as before (no flicker, no re-layout), else the table is rebuilt."""
    keys = [key for key, _ in rows]
    if [k.value for k in table.rows] != keys:
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        _fit_rows(table)
        return
    columns = list(table.columns)
    for key, cells in rows:
        old = table.get_row(key)
        for col, (before, after) in enumerate(zip(old, cells)):
            if str(before) != str(after):
                table.update_cell(key, columns[col], after, update_width=True)


def _fit_rows(table: DataTable) -> None:
    """As tall as its rows (one line each) and header: sized here, with the rows, instead of by
    the table's own idle-time measuring, which left the scenario table 3 rows tall in a few
    snapshot runs on a loaded machine."""
    rows = table.row_count + (1 if table.show_header else 0)
    if table.styles.height is None or table.styles.height.value != rows:
        table.styles.height = rows


def _style(widget: Widget, cls: str) -> str:
    style = widget.get_component_rich_style(cls)
    return str(style.color.name) if style.color else ""


def scenario_cells(table: DataTable) -> list[list[str]]:
    """The scenario table as plain text rows (tests, bench)."""
    rows = []
    for row_key in table.rows:
        rows.append([str(c) for c in table.get_row(row_key)])
    return rows
