"""Text for the Forecast tab from the forecast report (the same dict `gpuplan forecast --format
json` prints): accuracy, components, guardrails, repairs, capacity. Pure: no widgets."""

from __future__ import annotations

from typing import Any

from ..figures import or_na as _num


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.0f} %"


def summary_lines(report: dict[str, Any]) -> list[str]:
    bt = report["backtest"]
    unit = report["unit"] or report["metric"]
    lines = [f"{report['source']} ({unit}), {report['horizon_hours'] / 24:g} days ahead"]
    lines.append(
        "accuracy  MASE " + _num(bt["mase"]) + f" (weekly seasonal naive {_num(bt['mase_seasonal_naive'])})"
    )
    lines.append(
        f"intervals P80 covered {_pct(bt['coverage_p80'])}, P95 {_pct(bt['coverage_p95'])}"
        f" of {bt['origins']} backtests"
    )
    lines.append("models    " + ", ".join(f"{report['models'][k]} {w * 100:.0f}%" for k, w in report["weights"].items()))
    for key in ("trend", "daily", "weekly", "residual"):
        text = report["components"][key]["explanation"]
        if text:
            lines.append(f"{key:<9} {text}")
    if report["peak_factor"] > 1.0:
        lines.append(f"peaks     within-hour peaks {report['peak_factor']:.2f}x the hourly mean")
    for g in report["guardrails"]:
        lines.append(f"guardrail {g['detail']}")
    for r in report["repairs"]:
        lines.append(f"repaired  {r['detail']}")
    cap = report.get("capacity")
    if cap:
        lines.append(
            f"capacity  {cap['per_replica']:.2f} {cap['per_replica_unit']}/replica at"
            f" {cap['target_utilization'] * 100:.0f} %, N+{cap['redundancy']}; today {cap['today_gpus']} GPUs"
        )
        for name, sc in cap["scenarios"].items():
            when = f"more from {sc['first_more_gpus'][:13].replace('T', ' ')}h" if sc["first_more_gpus"] else "fits today's plan"
            cost = "" if sc["cost"] is None else f", ${sc['cost']:,.0f}"
            lines.append(f"  {name:<11} peak {sc['peak_gpus']} GPUs, {when}{cost}")
    elif report.get("capacity_error"):
        lines.append(f"capacity  {report['capacity_error']}")
    return lines
