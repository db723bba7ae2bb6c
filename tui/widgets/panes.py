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


class TrainingPane(_FiguresPane):
    FIGURES_ID = "training-figures"
    COMING = (
        "Coming here: fine-tuning and training memory per GPU by ZeRO stage, LoRA/QLoRA adapters, "
        "activation recompute, tokens/s, duration and cost, with the knobs to tune them."
    )

    def render_figures(self, report: dict[str, Any], out: Static) -> None:
        tr = report["training"]
        if tr is None:
            out.update(Text("No [training] section in this session: add one to the session file to size a "
                            "fine-tuning run (method, optimizer, sequence length, GPUs, dataset tokens).", style="dim"))
            return
        gib = lambda v: f"{v:,.2f} GiB"  # noqa: E731
        rows = [
            ("method", str(tr["method"])),
            ("trainable parameters", f"{tr['trainable_params']:,}"),
            ("weights", fmt(tr["weights_gib"], gib)),
            ("gradients", fmt(tr["gradients_gib"], gib)),
            ("optimizer states", fmt(tr["optimizer_gib"], gib)),
            ("activations", fmt(tr["activations_gib"], gib)),
            ("overhead", fmt(tr["overhead_gib"], gib)),
            ("total per GPU", fmt(tr["total_gib"], gib)),
            ("fits", "yes" if tr["fits"] else f"no: {tr['reason']}"),
            ("data parallel", fmt(tr["data_parallel"], str)),
            ("duration", fmt(tr["hours"], lambda v: f"{v:,.1f} h")),
            ("GPU hours", fmt(tr["gpu_hours"], lambda v: f"{v:,.0f}")),
            ("cost", fmt(tr["cost"], lambda v: f"${v:,.0f}")),
        ]
        grid = Table.grid()
        grid.add_row(Text("Training (estimate; sizes in GiB = 2^30 bytes)", style="bold"))
        grid.add_row(_kv_table(rows))
        out.update(grid)


class ForecastPane(VerticalScroll):
    TEXT = (
        "Forecast: where demand is heading.\n\n"
        "Coming here: load a request-rate or token history (CSV or the recorded traces), fit a trend with "
        "seasonality, and see when the recommended scenario runs out: the date each scenario's capacity "
        "is reached, and the nodes, power and cost needed a quarter and a year ahead."
    )

    def compose(self) -> ComposeResult:
        yield Static(self.TEXT, classes="coming", markup=False)
