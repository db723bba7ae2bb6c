"""Plain-language components of a decomposition (computed in logs, so seasonal effects are
multipliers): the trend's growth per week, the daily and weekly peaks, and how much is noise."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from engine.forecast.decompose import Decomposition

DAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


@dataclass(frozen=True, slots=True)
class Components:
    trend_per_week: float | None  # fractional growth per week (0.031 = +3.1 %/week)
    daily_profile: tuple[float, ...]  # 24 multipliers by hour of day (UTC), mean 1
    weekly_profile: tuple[float, ...]  # 7 multipliers by weekday (Monday first), mean 1
    weekly_peak: str | None  # "Tuesdays 14:00 UTC"
    residual_share: float | None  # share of the variation (beyond trend) the seasons leave
    explanations: dict[str, str]

    def as_dict(self) -> dict:
        return {
            "trend": {"per_week": self.trend_per_week, "explanation": self.explanations.get("trend", "")},
            "daily": {"profile": list(self.daily_profile), "explanation": self.explanations.get("daily", "")},
            "weekly": {
                "profile": list(self.weekly_profile),
                "peak": self.weekly_peak,
                "explanation": self.explanations.get("weekly", ""),
            },
            "residual": {"share": self.residual_share, "explanation": self.explanations.get("residual", "")},
        }


def _profile(values: np.ndarray, keys: np.ndarray, size: int) -> tuple[float, ...]:
    out = []
    for k in range(size):
        sel = values[keys == k]
        out.append(float(np.mean(sel)) if len(sel) else 0.0)
    arr = np.exp(np.asarray(out))
    return tuple(float(v) for v in arr / arr.mean())


def describe_components(dec: Decomposition, t: np.ndarray, step_s: float, offset: float) -> Components:
    hourly = step_s < 86400
    dt = [datetime.fromtimestamp(float(s), tz=timezone.utc) for s in t]
    hours = np.array([d.hour for d in dt])
    weekdays = np.array([d.weekday() for d in dt])
    explanations: dict[str, str] = {}

    # trend: slope of the (log) trend over its last two weeks, per week
    span = min(len(dec.trend), int(round(14 * 86400 / step_s)))
    trend_per_week = None
    if span >= 3:
        tail = dec.trend[-span:]
        slope = float(np.polyfit(np.arange(span), tail, 1)[0])  # log units per step
        trend_per_week = math.expm1(slope * 7 * 86400 / step_s)
        direction = "growing" if trend_per_week > 0.005 else "shrinking" if trend_per_week < -0.005 else "flat"
        explanations["trend"] = f"{trend_per_week * 100:+.1f} %/week trend over the last {span * step_s / 86400:.0f} days ({direction})"

    daily = np.zeros(24)
    daily_profile: tuple[float, ...] = ()
    if hourly and 24 in dec.seasonal:
        daily_profile = _profile(dec.seasonal[24], hours, 24)
        peak, trough = int(np.argmax(daily_profile)), int(np.argmin(daily_profile))
        daily = np.log(np.asarray(daily_profile))
        swing = daily_profile[peak] / max(daily_profile[trough], 1e-9)
        explanations["daily"] = (
            f"daily peak at {peak:02d}:00 UTC, {swing:.1f}x the {trough:02d}:00 trough"
        )
    weekly_profile: tuple[float, ...] = ()
    weekly_peak = None
    week_period = 168 if hourly else 7
    if week_period in dec.seasonal:
        weekly_profile = _profile(dec.seasonal[week_period], weekdays, 7)
        busiest, quietest = int(np.argmax(weekly_profile)), int(np.argmin(weekly_profile))
        # peak hour of the week: daily plus weekly seasonality over the last full week
        last_week = dec.seasonal[week_period][-week_period:] + (dec.seasonal.get(24, np.zeros(len(dec.trend)))[-week_period:])
        at = int(np.argmax(last_week))
        when = dt[len(dt) - week_period + at]
        weekly_peak = f"{DAYS[when.weekday()]} {when.hour:02d}:00 UTC" if hourly else DAYS[when.weekday()]
        ratio = weekly_profile[busiest] / max(weekly_profile[quietest], 1e-9)
        explanations["weekly"] = (
            f"weekly peak on {weekly_peak}; {DAYS[busiest]} carry {ratio:.1f}x the traffic of {DAYS[quietest]}"
            if ratio >= 1.05
            else f"no clear weekly pattern (busiest and quietest days within {(ratio - 1) * 100:.0f} %)"
        )
    residual_share = None
    detrended = np.var(dec.seasonal_sum + dec.resid)
    if detrended > 0:
        residual_share = float(np.var(dec.resid) / detrended)
        explanations["residual"] = (
            f"{residual_share * 100:.{0 if residual_share >= 0.1 else 1}f} % of the variation around the trend is"
            " irregular (not daily or weekly)"
        )
    del daily, offset
    return Components(trend_per_week, daily_profile, weekly_profile, weekly_peak, residual_share, explanations)
