"""The forecast rows of the plan report (tui/report.py's forecast section): `Plan.to_dict()
["forecast"]` (tui/plan_forecast.py's block) as labelled figures. Plain Python."""

from __future__ import annotations

from typing import Any

from .figures import or_na as _n


def _when(t: str | None) -> str:
    return "n/a" if not t else f"{t[:10]} {t[11:16]} UTC"


def forecast_rows(fc: dict[str, Any]) -> list[tuple[str, str]]:
    unit = fc["unit"] or fc["metric"]
    bt = fc["backtest"]
    rows = [("history", f"{fc['source']} ({unit})"),
            ("horizon", f"{fc['horizon_hours'] / 24:g} days, {_when(fc['start'])} to {_when(fc['end'])}")]
    peak = fc["peak"]
    if peak:
        rows.append(("peak demand: mean / P80 / P95",
                     f"{peak['mean']['value']:,.2f} / {peak['p80_high']['value']:,.2f} / "
                     f"{peak['p95_high']['value']:,.2f} {unit} (mean peak {_when(peak['mean']['t'])})"))
    rows.append(("models", ", ".join(f"{fc['models'][k]} {w * 100:.0f}%" for k, w in fc["weights"].items())))
    rows.append(("backtest MASE (seasonal naive)", f"{_n(bt['mase'])} ({_n(bt['mase_seasonal_naive'])})"))
    rows.append(("backtest coverage P80 / P95", f"{_n(bt['coverage_p80'])} / {_n(bt['coverage_p95'])}"
                                                f" over {bt['origins']} origins"))
    rows += [(key, text) for key, text in fc["components"].items() if text]
    cap = fc.get("capacity")
    if cap:
        rows.append((f"capacity at {cap['quantile']} demand",
                     f"{cap['per_replica']:,.2f} {cap['per_replica_unit']} per replica at "
                     f"{cap['target_utilization'] * 100:.0f}% target, N+{cap['redundancy']}, "
                     f"{cap['gpus_per_replica']} GPU(s) per replica"))
        rows.append((f"today's plan ({cap['planning_scenario']})", f"{cap['today_gpus']:,} GPUs"))
        for name, sc in cap["scenarios"].items():
            when = f"more GPUs from {_when(sc['first_more_gpus'])}" if sc["first_more_gpus"] else "within today's plan"
            cost = "cost n/a (no price)" if sc["cost"] is None else f"${sc['cost']:,.0f} over the horizon"
            rows.append((f"  {name}", f"peak {sc['peak_gpus']:,} GPUs, {when}; {cost}"))
    return rows


def forecast_notes(fc: dict[str, Any]) -> list[tuple[str, str]]:
    notes = [("guardrail", g["detail"]) for g in fc["guardrails"]]
    notes += [("repair", r["detail"]) for r in fc["repairs"]]
    if fc.get("capacity_error"):
        notes.append(("capacity", fc["capacity_error"]))
    return notes
