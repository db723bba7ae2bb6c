"""The Forecast tab: demand history and forecast with P80/P95 bands, the components, the backtest
accuracy, and the replica/GPU timeline the current plan needs for it.

The fit runs in a thread worker (the forecasting libraries are imported there, on first use) and
posts a typed message back; the pane shows a progress indicator meanwhile. Without the `forecast`
extra the tab says how to install it. The pane reads the app's current plan and the session's
[forecast] table when a fit starts; it never computes a plan.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, LoadingIndicator, Static

from ..css import tcss
from .forecast_format import summary_lines

WIDE = 150


def _session_forecast(app: Any) -> tuple[Any, Path | None]:
    """The session's [forecast] table and the folder its relative paths start from."""
    doc = getattr(app, "doc", None)
    session = getattr(doc, "session", None)
    path = getattr(doc, "path", None)
    return getattr(session, "forecast", None), (Path(path).parent if path else None)


def _stamp(path: str | None) -> tuple[float, int] | None:
    if not path:
        return None
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (st.st_mtime, st.st_size)


class ForecastPane(VerticalScroll):
    DEFAULT_CSS = tcss("forecast.tcss")

    class Fitted(Message):
        def __init__(self, report: dict[str, Any]) -> None:
            super().__init__()
            self.report = report

    class Failed(Message):
        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    class ChooseSeries(Message):
        """The history held several series and none was chosen: ask which (or their sum)."""

        def __init__(self, reason: str, choices: tuple[dict[str, str], ...]) -> None:
            super().__init__()
            self.reason, self.choices = reason, choices

    WATCH_EVERY_S = 2.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report: dict[str, Any] | None = None
        self.state = "idle"  # idle | fitting | ready | failed | unavailable
        self._settings: dict[str, Any] | None = None
        self._stamp: tuple[float, int] | None = None  # (mtime, size) of the fitted history file
        self._watch_timer: Any = None
        self._fitted_table: dict[str, Any] | None = None  # the [forecast] table the last fit started from
        self.answers = 0  # fits answered (ready, failed or asking which series): tests wait on it
        self._answered = asyncio.Event()

    def compose(self) -> ComposeResult:
        with Horizontal(id="fc-controls"):
            yield Input(placeholder="history: a CSV, a Prometheus export or a watch --record trace", id="fc-history")
            yield Input(value="14d", placeholder="horizon", id="fc-horizon")
            yield Button("Fit", id="fc-fit", variant="primary")
        yield Static("", id="fc-status", markup=False)
        with Vertical(id="fc-body"):
            with Vertical(id="fc-plots"):
                pass
            yield Static("", id="fc-summary", markup=False)

    def on_mount(self) -> None:
        from engine.forecast import EXTRA_HINT, available

        self.set_class(self.app.size.width >= WIDE, "-wide")
        if not available():
            self.state = "unavailable"
            self._status(f"Forecasting needs statsmodels and pandas: {EXTRA_HINT}", error=True)
            self.query_one("#fc-fit", Button).disabled = True
            return
        self._prefill()
        self._status("Name a history file (timestamp,value CSV, Prometheus query_range JSON or a trace) and press Fit.")
        if getattr(self.app, "plan", None) is not None:
            self.call_after_refresh(self.follow_plan, self.app.plan)

    def _prefill(self) -> None:
        """The inputs from the session's [forecast] table."""
        table, base = _session_forecast(self.app)
        if table is not None and table.history:
            path = Path(table.history)
            self.query_one("#fc-history", Input).value = str(base / path if base and not path.is_absolute() else path)
        if table is not None:
            self.query_one("#fc-horizon", Input).value = table.horizon

    def follow_plan(self, plan: Any) -> None:
        """Watch mode (`gpuplan open --watch`, `gpuplan watch FILE`): fit the session's [forecast]
        source as soon as there is a plan, and again when a reload changes the table; the
        history file itself is polled by `check_history`. Otherwise fits wait for Fit."""
        if getattr(self.app, "watch_path", None) is None or self.state in ("unavailable", "fitting", "choosing"):
            return
        table, _ = _session_forecast(self.app)
        if table is None or not (table.history or table.prometheus) or table.model_dump() == self._fitted_table:
            return
        self._prefill()
        self.fit()

    async def wait_for_answers(self, count: int) -> None:
        """Until `count` fits have been answered (the pane's own signal; never a clock)."""
        while self.answers < count:
            self._answered.clear()
            await self._answered.wait()

    def _answer(self) -> None:
        self.answers += 1
        self._answered.set()

    def on_resize(self) -> None:
        self.set_class(self.app.size.width >= WIDE, "-wide")

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#fc-status", Static)
        status.update(text)
        status.set_class(error, "error")

    # ---- fitting ---------------------------------------------------------------------------

    @on(Button.Pressed, "#fc-fit")
    @on(Input.Submitted)
    def fit(self) -> None:
        if self.state in ("unavailable", "fitting"):
            return
        from ..forecast_cli import default_settings

        settings = default_settings()
        table, base = _session_forecast(self.app)
        self._fitted_table = table.model_dump() if table is not None else None
        if table is not None:
            settings.update(table.model_dump())
            if settings["history"] and base is not None and not Path(settings["history"]).is_absolute():
                settings["history"] = str(base / settings["history"])
        history = self.query_one("#fc-history", Input).value.strip()
        if history:
            settings.update(history=str(Path(history).expanduser()), prometheus=None, query=None)
        settings["horizon"] = self.query_one("#fc-horizon", Input).value.strip() or "14d"
        if not settings["history"] and not settings["prometheus"]:
            self._status("Name a history file first.", error=True)
            return
        self._start(settings)

    def _start(self, settings: dict[str, Any]) -> None:
        self.state = "fitting"
        self._show_progress(True)
        self._settings = settings
        self._stamp = _stamp(settings["history"])
        self._status(f"fitting {settings['history'] or settings['prometheus']} ...")
        plan = getattr(self.app, "plan", None)
        self.run_worker(lambda: self._fit(settings, plan), thread=True, exclusive=True, group="forecast")

    def _show_progress(self, fitting: bool) -> None:
        """The progress dots, mounted only while a fit runs: a LoadingIndicator redraws 16
        times a second, and a hidden one still runs that timer (0.1-0.2 % of a core for as
        long as the app is up, measured beside the Monitor)."""
        self.set_class(fitting, "fitting")
        shown = self.query(LoadingIndicator)
        if fitting and not shown:
            self.mount(LoadingIndicator(), after="#fc-status")
        elif not fitting:
            shown.remove()

    def check_history(self) -> bool:
        """Refit when the fitted history file changed on disk (the tab watches its own input,
        as watch mode does the session); True when a refit started."""
        if self.state == "fitting" or self._settings is None or not self._settings.get("history"):
            return False
        stamp = _stamp(self._settings["history"])
        if stamp is None or stamp == self._stamp:
            return False
        self._start(self._settings)
        return True

    def _fit(self, settings: dict[str, Any], plan: Any) -> None:
        """In a thread: the whole forecast; the result goes back as a message."""
        try:
            from ..forecast_cli import build_report

            report = build_report(settings, plan, strict=False)
        except Exception as exc:  # noqa: BLE001 - every failure is shown, none crashes the app
            from engine.forecast.errors import ForecastInputError

            bad_input = isinstance(exc, ForecastInputError)
            if bad_input and exc.series_choices:
                self.post_message(self.ChooseSeries(str(exc), exc.series_choices))
                return
            if not bad_input:
                from ..logs import log_exception

                log_exception("forecast", exc)
            self.post_message(self.Failed(str(exc) if bad_input else f"{type(exc).__name__}: {exc}"))
            return
        report.pop("_result", None)  # the arrays stay in the worker; the pane needs the dict
        self.post_message(self.Fitted(report))

    def on_forecast_pane_fitted(self, message: Fitted) -> None:
        self.state = "ready"
        self._show_progress(False)
        self.show_forecast(message.report)
        if self._watch_timer is None and self._settings and self._settings.get("history"):
            self._watch_timer = self.set_interval(self.WATCH_EVERY_S, self.check_history, name="forecast-watch")
        self._answer()

    def on_forecast_pane_failed(self, message: Failed) -> None:
        self.state = "failed"
        self._show_progress(False)
        self._status(message.reason, error=True)
        self._answer()

    # ---- several series: ask which, remember the answer in the session ---------------------

    def on_forecast_pane_choose_series(self, message: ChooseSeries) -> None:
        from ..screens.series_dialog import SeriesScreen

        self.state = "choosing"
        self._show_progress(False)
        self._status(f"{len(message.choices)} series: choose one, or their sum")
        settings = self._settings or {}
        source = settings.get("prometheus") and f"{settings['prometheus']} {settings['query']}" or settings.get("history")
        self.app.push_screen(SeriesScreen(str(source), message.choices), self._series_chosen)
        self._answer()

    def _series_chosen(self, answer: dict[str, Any] | None) -> None:
        if answer is None or self._settings is None:
            self.state = "failed"
            self._status("Several series and none chosen: press Fit to choose one, or set sum = true in [forecast].",
                         error=True)
            return
        choice = {"series": answer.get("series"), "sum": bool(answer.get("sum"))}
        settings = {**self._settings, **choice}
        self._remember(settings)
        self._start(settings)

    def _remember(self, settings: dict[str, Any]) -> None:
        """Write the choice (and the source it is for) into the session's [forecast] table, as one
        edit the user saves like any other."""
        doc = getattr(self.app, "doc", None)
        apply = getattr(self.app, "apply_session", None)
        if doc is None or apply is None:
            return
        from sessions.errors import SessionError
        from sessions.io import update_session

        table, base = _session_forecast(self.app)
        changes: dict[str, Any] = {"forecast.series": settings["series"], "forecast.sum": settings["sum"]}
        if settings.get("prometheus"):
            if table is None or (table.prometheus, table.query) != (settings["prometheus"], settings["query"]):
                changes.update({"forecast.history": None, "forecast.prometheus": settings["prometheus"],
                                "forecast.query": settings["query"]})
        else:
            path = Path(settings["history"])
            named = Path(table.history) if table is not None and table.history else None
            if named is not None and base is not None and not named.is_absolute():
                named = base / named
            if named is None or named.resolve() != path.resolve():
                if base is not None and path.resolve().is_relative_to(base.resolve()):
                    path = path.resolve().relative_to(base.resolve())
                changes.update({"forecast.history": str(path), "forecast.prometheus": None, "forecast.query": None})
        try:
            edited = update_session(doc.session, changes)
            self._fitted_table = edited.forecast.model_dump() if edited.forecast else None  # no refit for it
            apply(edited)
        except SessionError as exc:
            self.app.notify(f"the choice of series is not kept: {exc}", severity="warning", timeout=6)

    # ---- rendering -------------------------------------------------------------------------

    def show_forecast(self, report: dict[str, Any]) -> None:
        self.report = report
        bt = report["backtest"]
        self._status(
            f"forecast ready: MASE {bt['mase']:.2f} vs {bt['mase_seasonal_naive']:.2f} for seasonal naive"
            if bt["mase"] is not None and bt["mase_seasonal_naive"] is not None
            else "forecast ready (too little history for a backtest)"
        )
        self.query_one("#fc-summary", Static).update("\n".join(summary_lines(report)))
        self._plots(report)

    def _plots(self, report: dict[str, Any]) -> None:
        from textual_plotext import PlotextPlot

        holder = self.query_one("#fc-plots", Vertical)
        plots = list(holder.query(PlotextPlot))
        if not plots:
            plots = [PlotextPlot(id="fc-demand-plot", classes="fc-plot"), PlotextPlot(id="fc-capacity-plot", classes="fc-plot")]
            holder.mount(*plots)
        demand, capacity = plots
        self._demand_plot(demand, report)
        if report.get("capacity"):
            capacity.remove_class("hidden")
            self._capacity_plot(capacity, report["capacity"], report["step_s"] / 86400.0)
        else:
            capacity.add_class("hidden")

    @staticmethod
    def _demand_plot(widget: Any, report: dict[str, Any]) -> None:
        plt = widget.plt
        plt.clear_figure()
        step_h = report["step_s"] / 3600.0
        hist = report.get("_history_tail") or []
        days = lambda i: i * step_h / 24.0  # noqa: E731
        if hist:
            plt.plot([days(i - len(hist) + 1) for i in range(len(hist))], hist, color="white", label="history")
        pts = report["points"]
        xs = [days(i + 1) for i in range(len(pts))]
        plt.plot(xs, [p["p95_high"] for p in pts], color="gray", label="P95")
        plt.plot(xs, [p["p80_high"] for p in pts], color="cyan", label="P80")
        plt.plot(xs, [p["mean"] for p in pts], color="green", label="mean")
        plt.plot(xs, [p["p80_low"] for p in pts], color="cyan")
        plt.plot(xs, [p["p95_low"] for p in pts], color="gray")
        plt.title(f"demand ({report['unit'] or report['metric']}); days from the last sample")
        widget.refresh()

    @staticmethod
    def _capacity_plot(widget: Any, cap: dict[str, Any], step_days: float) -> None:
        plt = widget.plt
        plt.clear_figure()
        for name, color in (("base", "green"), ("pessimistic", "orange"), ("spike", "red")):
            gpus = cap["scenarios"][name]["gpus"]
            xs, ys = [], []
            for i, g in enumerate(gpus):  # a step plot: each value held until the next
                xs += [i * step_days, (i + 1) * step_days]
                ys += [g, g]
            plt.plot(xs, ys, color=color, label=name)
        plt.hline(cap["today_gpus"], "blue")
        plt.title(f"GPUs needed ({cap['quantile']} demand); today's plan {cap['today_gpus']} (blue)")
        widget.refresh()
