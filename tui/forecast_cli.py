"""`gpuplan forecast`: demand history -> forecast with intervals, components, backtest accuracy,
guardrails, repairs and (with a session) replicas, GPUs and cost over the horizon.

Headless and lazy: nothing here imports pandas/statsmodels until a forecast is asked for.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .figures import or_na as _fmt

MAX_HORIZON_S = 26 * 7 * 86400.0


def add_parser(sub: Any) -> None:
    fc = sub.add_parser(
        "forecast",
        help="forecast demand from history (CSV, Prometheus, a trace) and the capacity it needs",
        description="Forecast demand from history and size replicas and GPUs for it. HISTORY is a CSV "
        "(timestamp,value), a saved Prometheus query_range JSON, or a `gpuplan watch --record` trace.",
    )
    fc.add_argument("history", type=Path, nargs="?", metavar="HISTORY",
                    help="a timestamp,value CSV, a saved Prometheus query_range JSON or a watch --record trace")
    fc.add_argument("--prometheus", metavar="URL", help="Prometheus base URL (instead of HISTORY)")
    fc.add_argument("--query", metavar="PROMQL", help="PromQL for --prometheus, e.g. sum(rate(vllm:request_success_total[5m]))")
    fc.add_argument("--range", dest="range_", metavar="DURATION", help="history to ask for (default 8w)")
    fc.add_argument("--step", metavar="DURATION", help="query_range step (default 1h)")
    fc.add_argument("--sum", action="store_true", default=None, help="add up several series instead of refusing them")
    fc.add_argument("--series", type=_labels_arg, metavar="LABEL=VALUE[,...]",
                    help="pick the series carrying these labels from a multi-series answer")
    fc.add_argument("--column", metavar="NAME", help="the CSV value column, when there are several")
    fc.add_argument("--timezone", metavar="TZ", help="IANA zone for CSV timestamps without an offset (default UTC)")
    fc.add_argument("--horizon", metavar="DURATION", help="how far ahead (default 14d)")
    fc.add_argument("--metric", choices=("requests_per_s", "output_tokens_per_s", "busy_gpus"),
                    help="what the history counts, for capacity (default requests_per_s; busy_gpus for traces)")
    fc.add_argument("--quantile", choices=("mean", "p80", "p95"), help="planning quantile (default p80)")
    fc.add_argument("--scenario", choices=("base", "optimistic", "pessimistic", "spike"),
                    help="demand scenario for the capacity timeline (default base)")
    fc.add_argument("--growth-cap", type=float, metavar="FRACTION", help="most growth per week (default 0.25)")
    fc.add_argument("--session", type=Path, metavar="FILE", help="size capacity with this session's plan")
    fc.add_argument("--format", choices=("text", "json", "csv"), default="text",
                    help="text (default), json (points, components, backtest, guardrails, repairs, capacity) or csv")


def _labels_arg(text: str) -> dict[str, str]:
    """`replica=a,pod=x` -> {"replica": "a", "pod": "x"} (argparse exits 2 on anything else)."""
    import re

    out: dict[str, str] = {}
    for part in text.split(","):
        name, eq, value = part.partition("=")
        name, value = name.strip(), value.strip().strip('"')
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise argparse.ArgumentTypeError(f"expected LABEL=VALUE[,LABEL=VALUE], got {text!r}")
        out[name] = value
    return out


def _bad(message: str) -> Exception:
    """Bad input: `gpuplan` exits 2 with this message; the Forecast tab shows it."""
    from engine.forecast.errors import ForecastInputError

    return ForecastInputError(message)


def plan_session(text: str, filename: str) -> Any:
    """The session's plan (for per-replica capacity); bad sessions are bad input."""
    from catalogs.loader import CatalogError, load_catalog
    from engine.plan import plan
    from sessions.io import SessionError, parse_session
    from sessions.resolve import to_plan_inputs

    try:
        session = parse_session(text, filename)
        return plan(to_plan_inputs(session, load_catalog(), file=filename, text=text))
    except (SessionError, CatalogError) as exc:
        raise _bad(str(exc)) from None


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_settings() -> dict[str, Any]:
    """The forecast settings when neither flags nor a session's [forecast] table say otherwise."""
    return {
        "history": None, "column": None, "timezone": None, "prometheus": None, "query": None,
        "range": "8w", "step": "1h", "sum": False, "series": None, "metric": None, "horizon": "14d",
        "quantile": "p80", "scenario": "base", "growth_cap": 0.25,
    }


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], Any, Path | None]:
    """CLI flags over the session's [forecast] over the defaults; the plan when a session is given."""
    merged = default_settings()
    plan = None
    base_dir = None
    if args.session is not None:
        from sessions.io import SessionError, parse_session

        try:
            text = args.session.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _bad(f"{args.session}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise _bad(f"{args.session}: cannot read: {exc}") from None
        try:
            session = parse_session(text, str(args.session))
        except SessionError as exc:
            raise _bad(str(exc)) from None
        plan = plan_session(text, str(args.session))
        base_dir = args.session.resolve().parent
        if session.forecast is not None:
            merged.update(session.forecast.model_dump())
            if merged["history"]:
                merged["history"] = str((base_dir / merged["history"]))
    flags = {
        "column": args.column, "timezone": args.timezone, "range": args.range_, "step": args.step,
        "sum": args.sum, "series": args.series, "metric": args.metric, "horizon": args.horizon, "quantile": args.quantile,
        "scenario": args.scenario, "growth_cap": args.growth_cap,
    }
    merged.update({k: v for k, v in flags.items() if v is not None})
    if args.history is not None or args.prometheus is not None:
        merged["history"] = str(args.history) if args.history is not None else None
        merged["prometheus"], merged["query"] = args.prometheus, args.query
    if args.history is not None and args.prometheus is not None:
        raise _bad("give either HISTORY or --prometheus URL --query Q, not both")
    if merged["prometheus"] and not merged["query"]:
        raise _bad("--prometheus needs --query PROMQL")
    if not merged["history"] and not merged["prometheus"]:
        raise _bad("no history: give HISTORY (a CSV, a Prometheus export or a trace), --prometheus URL --query Q,"
                   " or a --session whose [forecast] names one")
    if merged["growth_cap"] is not None and not (0 < merged["growth_cap"] <= 10):
        raise _bad(f"--growth-cap {merged['growth_cap']}: expected a fraction above 0 (0.25 = +25 %/week)")
    return merged, plan, base_dir


def load_raw(settings: dict[str, Any]):
    from engine.forecast.history import parse_duration
    from engine.forecast.readers import read_history_file

    if settings["prometheus"]:
        from engine.forecast.readers.prometheus import query_range

        try:
            range_s = parse_duration(settings["range"], "--range")
            step_s = parse_duration(settings["step"], "--step")
        except ValueError as exc:
            raise _bad(str(exc)) from None
        return query_range(settings["prometheus"], settings["query"], range_s=range_s, step_s=step_s,
                           sum_series=bool(settings["sum"]), select=settings.get("series"))
    return read_history_file(settings["history"], column=settings["column"], timezone=settings["timezone"],
                             sum_series=bool(settings["sum"]), select=settings.get("series"))


def build_report(settings: dict[str, Any], plan: Any, *, strict: bool = True) -> dict[str, Any]:
    """Run the whole forecast and return the JSON-ready report (what every format renders).
    Keys starting with "_" are for the app, not the report. With `strict`, a plan that cannot
    size capacity is an error; without, the forecast is kept and `capacity_error` says why."""
    from engine.forecast.capacity import basis_from_plan, capacity_timeline
    from engine.forecast.history import parse_duration
    from engine.forecast.model import ForecastSettings, forecast_history

    try:
        horizon_s = parse_duration(settings["horizon"], "--horizon")
    except ValueError as exc:
        raise _bad(str(exc)) from None
    if not 3600 <= horizon_s <= MAX_HORIZON_S:
        raise _bad(f"--horizon {settings['horizon']}: expected between 1h and 26w")
    raw = load_raw(settings)
    metric = settings["metric"] or raw.metric or "requests_per_s"
    result = forecast_history(raw, ForecastSettings(horizon_s=horizon_s, growth_cap=settings["growth_cap"]))
    score = result.backtest
    report: dict[str, Any] = {
        "source": result.source,
        "unit": result.unit,
        "metric": metric,
        "step_s": result.step_s,
        "horizon_hours": horizon_s / 3600.0,
        "peak_factor": result.peak_factor,
        "models": result.models,
        "weights": result.weights,
        "points": [
            {"t": _iso(p.t), "mean": p.mean, "p80_low": p.p80_low, "p80_high": p.p80_high,
             "p95_low": p.p95_low, "p95_high": p.p95_high}
            for p in result.points
        ],
        "components": result.components.as_dict(),
        "backtest": {
            "mase": score.mase, "mase_seasonal_naive": score.mase_seasonal_naive,
            "coverage_p80": score.coverage_p80, "coverage_p95": score.coverage_p95,
            "origins": score.origins, "lead_steps": score.lead_steps,
        },
        "guardrails": [g.as_dict() for g in result.guardrails],
        "repairs": [r.as_dict() for r in result.repairs],
        "capacity": None,
    }
    report["_history_tail"] = [float(v) for v in result.history[-int(7 * 86400 / result.step_s):]]
    if plan is not None:
        from engine.forecast.errors import ForecastInputError

        try:
            basis = basis_from_plan(plan, metric)
        except ForecastInputError as exc:
            if strict:
                raise
            report["capacity_error"] = str(exc)
            return report
        timeline = capacity_timeline(result.points, result.step_s, result.peak_factor, basis, settings["quantile"])
        times = [p.t for p in result.points]
        chosen = timeline[settings["scenario"]]
        report["capacity"] = {
            "quantile": settings["quantile"],
            "scenario": settings["scenario"],
            "planning_scenario": basis.planning_scenario,
            "per_replica": basis.per_replica,
            "per_replica_unit": report["unit"] or metric,
            "target_utilization": basis.target_utilization,
            "redundancy": basis.redundancy,
            "gpus_per_replica": basis.gpus_per_replica,
            "today_gpus": basis.today_gpus,
            "today_replicas": basis.today_replicas,
            "price_per_gpu_hour": basis.price_per_gpu_hour,
            "timeline": [{"t": _iso(t), "replicas": r, "gpus": g} for t, r, g in zip(times, chosen.replicas, chosen.gpus)],
            "scenarios": {
                name: {**sc.as_dict(times), "first_more_gpus": _iso(sc.first_more_gpus_t)}
                for name, sc in timeline.items()
            },
        }
        for sc in report["capacity"]["scenarios"].values():
            sc.pop("first_more_gpus_t", None)
    report["_result"] = result
    return report


def render_text(report: dict[str, Any]) -> str:
    bt, lines = report["backtest"], []
    unit = report["unit"] or report["metric"]
    lines.append(f"Forecast of {report['source']} ({unit}), {report['horizon_hours'] / 24:g} days ahead")
    lines.append("Models: " + ", ".join(f"{report['models'][k]} {w * 100:.0f}%" for k, w in report["weights"].items()))
    lines.append(
        f"Backtest ({bt['origins']} origins, {bt['lead_steps']} steps each): MASE {_fmt(bt['mase'])}"
        f" (weekly seasonal naive {_fmt(bt['mase_seasonal_naive'])}), P80 coverage {_fmt(bt['coverage_p80'])},"
        f" P95 coverage {_fmt(bt['coverage_p95'])}"
    )
    for key in ("trend", "daily", "weekly", "residual"):
        text = report["components"][key]["explanation"]
        if text:
            lines.append(f"  {key:<8} {text}")
    if report["peak_factor"] > 1.0:
        lines.append(f"  peak     within-hour peaks run {report['peak_factor']:.2f}x the hourly mean")
    for g in report["guardrails"]:
        lines.append(f"Guardrail {g['kind']}: {g['detail']}")
    for r in report["repairs"]:
        lines.append(f"Repair {r['kind']}: {r['detail']}")
    lines.append("")
    lines.append(f"{'day (UTC)':<12}{'mean':>10}{'P80 high':>10}{'P95 high':>10}   daily peak")
    by_day: dict[str, list[dict]] = {}
    for p in report["points"]:
        by_day.setdefault(p["t"][:10], []).append(p)
    for day, pts in by_day.items():
        top = max(pts, key=lambda p: p["mean"])
        lines.append(f"{day:<12}{top['mean']:>10.2f}{top['p80_high']:>10.2f}{top['p95_high']:>10.2f}   {top['t'][11:16]}")
    cap = report["capacity"]
    if cap:
        lines.append("")
        lines.append(
            f"Capacity at {cap['quantile']} demand: {cap['per_replica']:.2f} {cap['per_replica_unit']} per replica"
            f" at {cap['target_utilization'] * 100:.0f}% target, N+{cap['redundancy']}, {cap['gpus_per_replica']}"
            f" GPU(s) per replica; today's plan ({cap['planning_scenario']}): {cap['today_gpus']} GPUs"
        )
        for name, sc in cap["scenarios"].items():
            when = f"more than today from {sc['first_more_gpus']}" if sc["first_more_gpus"] else "within today's plan"
            cost = "cost unknown (no price)" if sc["cost"] is None else f"${sc['cost']:,.0f} over the horizon"
            lines.append(f"  {name:<12} peak {sc['peak_gpus']:>4} GPUs, {when}; {cost}")
    return "\n".join(lines) + "\n"


def render_csv(report: dict[str, Any]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cap = report["capacity"]
    header = ["t", "mean", "p80_low", "p80_high", "p95_low", "p95_high"] + (["replicas", "gpus"] if cap else [])
    w.writerow(header)
    for i, p in enumerate(report["points"]):
        row = [p["t"]] + [f"{p[k]:.6g}" for k in header[1:6]]
        if cap:
            row += [cap["timeline"][i]["replicas"], cap["timeline"][i]["gpus"]]
        w.writerow(row)
    return buf.getvalue()


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        clean = {k: v for k, v in report.items() if not k.startswith("_")}
        return json.dumps(clean, indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        return render_csv(report)
    return render_text(report)


def cmd_forecast(args: argparse.Namespace) -> int:
    from engine.forecast import EXTRA_HINT, available

    if not available():
        raise _bad(f"forecasting needs statsmodels and pandas: {EXTRA_HINT}")
    settings, plan, _ = _settings(args)
    report = build_report(settings, plan)  # ForecastInputError: the caller exits 2 with its message
    sys.stdout.write(render(report, args.format))
    return 0
