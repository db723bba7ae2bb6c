"""Serving, Training and Forecast tabs. Other issues fill them; until then they show the plan's
figures that already exist and say what is coming."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..report import fmt


def _kv_table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column(justify="right")
    for k, v in rows:
        table.add_row(k, v)
    return table


class _FiguresPane(VerticalScroll):
    """A tab that shows the plan's figures of its kind, and what is coming to it."""

    COMING = ""
    FIGURES_ID = ""
    ready = False

    def compose(self) -> ComposeResult:
        yield Static("calculating...", id=self.FIGURES_ID)
        yield Static(self.COMING, classes="coming", markup=False)

    def on_mount(self) -> None:
        self.ready = True
        if getattr(self.app, "report", None) is not None:
            self.show(self.app.report)

    def show(self, report: dict[str, Any]) -> None:
        if self.ready:
            self.render_figures(report, self.query_one(f"#{self.FIGURES_ID}", Static))

    def render_figures(self, report: dict[str, Any], out: Static) -> None:
        raise NotImplementedError


class ServingPane(_FiguresPane):
    FIGURES_ID = "serving-figures"
    COMING = (
        "Coming here: latency and throughput against batch size and context, the SLA-bounded batch, "
        "replicas for the request rate, and a search for the cheapest configuration that meets the SLA."
    )

    def render_figures(self, report: dict[str, Any], out: Static) -> None:
        inf = report["inference"]
        if not inf["known"]:
            out.update(Text(f"Serving speed unknown: {inf['reason'] or 'no estimate'}", style="dim"))
            return
        ms = lambda v: f"{v:,.1f} ms"  # noqa: E731
        sla = {True: "meets the SLA", False: "misses the SLA", None: "no SLA"}[inf["meets_sla"]]
        rows = [
            ("time to first token", fmt(inf["ttft_ms"], ms)),
            ("inter-token latency, batch 1", fmt(inf["itl_ms_bs1"], ms)),
            (f"inter-token latency, batch {inf['batch']}", fmt(inf["itl_ms"], ms)),
            ("output tokens/s per replica", fmt(inf["tokens_per_s_replica"], lambda v: f"{v:,.0f}")),
            ("requests/s per replica", fmt(inf["requests_per_s_replica"], lambda v: f"{v:,.2f}")),
            ("SLA", sla),
        ]
        grid = Table.grid()
        grid.add_row(Text("Serving speed (estimate, per replica)", style="bold"))
        grid.add_row(_kv_table(rows))
        out.update(grid)


from .training import TrainingPane  # noqa: E402  (the Training tab has its own module)


class ForecastPane(VerticalScroll):
    TEXT = (
        "Forecast: where demand is heading.\n\n"
        "Coming here: load a request-rate or token history (CSV or the recorded traces), fit a trend with "
        "seasonality, and see when the recommended scenario runs out: the date each scenario's capacity "
        "is reached, and the nodes, power and cost needed a quarter and a year ahead."
    )

    def compose(self) -> ComposeResult:
        yield Static(self.TEXT, classes="coming", markup=False)
