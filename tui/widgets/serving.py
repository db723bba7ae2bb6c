"""The Serving tab: throughput per GPU against tokens/s per user (the chart of InferenceMAX and
AIConfigurator) with the SLA as a line and the chosen batch marked, the figures at that batch
(TTFT, TPOT, end-to-end, replicas, cost) with the binding constraint in words, and the curve as a
table. It renders the report dict of the plan it is shown (`show(report)`), like every pane.

The plot is textual-plotext; this module is imported when the tab's pane mounts, after the first
frame, so plotting never slows start-up or `gpuplan plan`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ..report import CURVE_HEADER, curve_rows, fmt, serving_rows
from .static_update import update_static

NARROW_BELOW = 110


def _kv(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(justify="right")
    for k, v in rows:
        table.add_row(k, v)
    return table


def verdict_text(report: dict[str, Any]) -> Text:
    inf = report["inference"]
    if not inf["known"]:
        return Text(f"Serving speed unknown: {inf['reason'] or 'no estimate'}", style="dim")
    sla = inf.get("meets_sla")
    text = Text()
    style = {True: "bold green", False: "bold red", None: "bold"}[sla]
    word = {True: "meets the SLA", False: "MISSES the SLA", None: "no SLA set"}[sla]
    text.append(f"Batch {inf['batch']:,} per replica {word}", style=style)
    if inf.get("binding_reason"):
        text.append(f" — {inf['binding_reason']}")
    return text


class ServingPane(VerticalScroll):
    """Everything in the Serving tab; `show(report)` renders one plan."""

    DEFAULT_CSS = Path(__file__).with_name("serving.tcss").read_text(encoding="utf-8")
    SCOPED_CSS = False
    ready = False

    def compose(self) -> ComposeResult:
        yield Static("calculating...", id="serving-verdict")
        with Horizontal(id="serving-top"):
            with Vertical(id="serving-plot-box"):
                yield PlotextPlot(id="serving-plot")
            with Vertical(id="serving-figures-box"):
                yield Static("", id="serving-figures")
        with Vertical(id="serving-curve-box"):
            yield Static("", id="serving-curve")

    def on_mount(self) -> None:
        self.query_one("#serving-plot-box").border_title = "output tok/s per GPU vs tok/s per user"
        self.query_one("#serving-figures-box").border_title = "At the chosen batch (per replica)"
        self.query_one("#serving-curve-box").border_title = "Curve (closed loop, per replica)"
        self.ready = True
        if getattr(self.app, "report", None) is not None:
            self.show(self.app.report)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "-narrow")

    def show(self, report: dict[str, Any]) -> None:
        if not self.ready:
            return
        update_static(self.query_one("#serving-verdict", Static), verdict_text(report))
        inf = report["inference"]
        figures = self.query_one("#serving-figures", Static)
        curve = self.query_one("#serving-curve", Static)
        if not inf["known"]:
            update_static(figures, Text("no estimate", style="dim"))
            update_static(curve, "")
            self._plot(report)
            return
        update_static(figures, _kv(serving_rows(report)))
        table = Table(box=None, padding=(0, 2), show_edge=False)
        for h in CURVE_HEADER:
            table.add_column(h, justify="right", header_style="bold")
        chosen = inf["batch"]
        for row, point in zip(curve_rows(report), inf.get("curve", [])):
            table.add_row(*row, style="reverse" if point["batch"] == chosen else None)
        update_static(curve, table)
        self._plot(report)

    def _plot(self, report: dict[str, Any]) -> None:
        plot = self.query_one("#serving-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        inf = report["inference"]
        points = inf.get("curve") or []
        plt.xlabel("tokens/s per user")
        plt.ylabel("out tok/s/GPU")
        if inf["known"] and points:
            xs = [p["tokens_per_s_per_user"] or 0.0 for p in points]
            ys = [p["output_tokens_per_s_per_gpu"] or 0.0 for p in points]
            plt.plot(xs, ys, marker="braille", label="batch 1 ... cap")
            itl = inf.get("sla_itl_ms")
            if itl:
                plt.vline(1000.0 / itl, "red")
            chosen = [(x, y) for x, y, p in zip(xs, ys, points) if p["batch"] == inf["batch"]]
            if not chosen and inf.get("tokens_per_s_per_user"):
                chosen = [(inf["tokens_per_s_per_user"], inf.get("output_tokens_per_s_per_gpu") or 0.0)]
            if chosen:
                plt.scatter([chosen[0][0]], [chosen[0][1]], marker="●", color="green", label=f"batch {inf['batch']}")
        plot.refresh()


__all__ = ["ServingPane", "fmt", "verdict_text"]
