"""The `forecast` block of `gpuplan plan`'s report (issue 12): when the session has a [forecast]
table, the same forecast `gpuplan forecast --session FILE` runs, summarised for the plan report
(horizon, peak demand at the mean / P80 / P95, backtest, guardrails, repairs, components, and the
capacity: replicas and GPUs as steps over time, the first date each scenario needs more GPUs than
today's plan, cost).

Lazy: a session without [forecast] costs one parse and imports nothing of the forecast engine;
the forecasting libraries load only when a forecast runs. Without the `forecast` extra the
block says how to install it. A history the forecast cannot use is bad input (exit 2), named by
the session file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import BadInput


class PlanWithForecast:
    """A Plan whose report dictionary also carries `forecast`: every report renderer reads
    `plan.to_dict()`, so text, markdown, JSON and CSV all get the block; anything else is the
    plan's own attribute."""

    __slots__ = ("_plan", "forecast")

    def __init__(self, plan: Any, forecast: dict[str, Any]) -> None:
        self._plan, self.forecast = plan, forecast

    def __getattr__(self, name: str) -> Any:
        return getattr(self._plan, name)

    def to_dict(self) -> dict[str, Any]:
        return {**self._plan.to_dict(), "forecast": self.forecast}


def with_forecast(plan: Any, text: str, filename: str) -> Any:
    """`plan` itself when the session has no [forecast] table, else a PlanWithForecast."""
    from sessions.io import SessionError, parse_session

    try:
        session = parse_session(text, filename)
    except SessionError as exc:  # pragma: no cover - the plan was made from this same text
        raise BadInput(str(exc)) from None
    if session.forecast is None:
        return plan
    return PlanWithForecast(plan, forecast_block(session.forecast, plan, text, filename))


def _field_of(table: Any, message: str) -> str:
    if table.prometheus is None:
        return "forecast.history"
    return "forecast.query" if "bad_data" in message or "series" in message else "forecast.prometheus"


def _bad(text: str, filename: str, field: str, message: str) -> BadInput:
    from sessions.errors import SessionError
    from sessions.locate import locate

    line, col = locate(text, field)
    return BadInput(str(SessionError(filename, line, col, field, message)))


def settings_for(table: Any, filename: str) -> dict[str, Any]:
    """The forecast settings of a [forecast] table, its history path made relative to the
    session file's folder (as `gpuplan forecast --session` reads it)."""
    from .forecast_cli import default_settings

    settings = default_settings()
    settings.update(table.model_dump())
    if settings["history"]:
        path = Path(settings["history"]).expanduser()
        if not path.is_absolute() and not filename.startswith("<"):
            path = Path(filename).resolve().parent / path
        settings["history"] = str(path)
    return settings


def forecast_block(table: Any, plan: Any, text: str, filename: str) -> dict[str, Any]:
    from engine.forecast import EXTRA_HINT, available

    if table.history is None and table.prometheus is None:
        return {"status": "no_history",
                "message": "[forecast] names no history: set history = FILE, or prometheus = URL with query = PROMQL"}
    if not available():
        return {"status": "unavailable", "message": f"forecasting needs statsmodels and pandas: {EXTRA_HINT}"}
    from engine.forecast.errors import ForecastInputError

    from .forecast_cli import build_report

    try:
        report = build_report(settings_for(table, filename), plan, strict=False)
    except ForecastInputError as exc:
        if exc.series_choices:  # say it in the session's words, not the CLI's
            raise _bad(text, filename, "forecast.series",
                       f"{exc}; in [forecast]: series = {{ label = \"value\" }} picks one, sum = true adds them up") from None
        raise _bad(text, filename, _field_of(table, str(exc)), str(exc)) from None
    return summarise(report)


def _steps(times: list[str], **series: list[int]) -> list[dict[str, Any]]:
    """Run-length form of hourly values: one entry where any of them changes (a step plot)."""
    out: list[dict[str, Any]] = []
    last: tuple[int, ...] | None = None
    for i, t in enumerate(times):
        now = tuple(v[i] for v in series.values())
        if now != last:
            out.append({"t": t, **dict(zip(series, now))})
            last = now
    return out


def _peak(points: list[dict[str, Any]], key: str) -> dict[str, Any]:
    top = max(points, key=lambda p: p[key])
    return {"value": top[key], "t": top["t"]}


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """The forecast report of `gpuplan forecast --format json`, with its hourly points and
    timelines summarised: daily peaks, the horizon's peaks, and steps where capacity changes."""
    points = report["points"]
    daily: dict[str, dict[str, Any]] = {}
    for p in points:
        day = daily.get(p["t"][:10])
        if day is None or p["mean"] > day["mean"]:
            daily[p["t"][:10]] = {"date": p["t"][:10], "t": p["t"], "mean": p["mean"], "p80_high": p["p80_high"],
                                  "p95_high": p["p95_high"]}
    block: dict[str, Any] = {
        "status": "ok",
        "source": report["source"],
        "unit": report["unit"],
        "metric": report["metric"],
        "horizon_hours": report["horizon_hours"],
        "step_s": report["step_s"],
        "start": points[0]["t"] if points else None,
        "end": points[-1]["t"] if points else None,
        "peak": {key: _peak(points, key) for key in ("mean", "p80_high", "p95_high")} if points else None,
        "daily_peaks": list(daily.values()),
        "peak_factor": report["peak_factor"],
        "models": report["models"],
        "weights": report["weights"],
        "components": {k: v["explanation"] for k, v in report["components"].items()},
        "trend_per_week": report["components"]["trend"]["per_week"],
        "backtest": report["backtest"],
        "guardrails": report["guardrails"],
        "repairs": report["repairs"],
        "capacity": None,
    }
    if report.get("capacity_error"):
        block["capacity_error"] = report["capacity_error"]
    cap = report.get("capacity")
    if cap:
        times = [p["t"] for p in points]
        summary = {k: v for k, v in cap.items() if k not in ("timeline", "scenarios")}
        summary["timeline"] = _steps(times, replicas=[r["replicas"] for r in cap["timeline"]],
                                     gpus=[r["gpus"] for r in cap["timeline"]])
        summary["scenarios"] = {
            name: {**{k: v for k, v in sc.items() if k not in ("replicas", "gpus")},
                   "steps": _steps(times, replicas=sc["replicas"], gpus=sc["gpus"])}
            for name, sc in cap["scenarios"].items()
        }
        block["capacity"] = summary
    return block


def with_fitted_forecast(app: Any, plan: Any) -> Any:
    """The app's export: the plan with the Forecast tab's last fit as its `forecast` block (the
    fit's capacity is from the plan it was fitted with); the plan itself when nothing is fitted."""
    pane = app.pane("forecast-pane") if hasattr(app, "pane") else None
    report = getattr(pane, "report", None)
    if report is None or getattr(pane, "state", None) != "ready":
        return plan
    return PlanWithForecast(plan, summarise(report))
