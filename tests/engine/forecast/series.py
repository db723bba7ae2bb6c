"""Synthetic demand series with known trend and seasonality, and writers for the history formats."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

# Monday 2024-01-01 00:00 UTC: hours line up with weekdays, so known peaks are easy to state
START = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()


def synthetic(
    weeks: float = 4,
    *,
    step_s: float = 3600,
    level: float = 100.0,
    growth_per_week: float = 0.03,
    daily_amp: float = 0.4,
    daily_peak_hour: int = 14,
    weekly_amp: float = 0.15,
    weekly_peak_day: int = 1,  # Tuesday
    noise: float = 0.03,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds, values): level · (1+g)^weeks · exp(daily + weekly + noise)."""
    n = int(weeks * 7 * 86400 / step_s)
    t = START + np.arange(n) * step_s
    hours = (t - START) / 3600.0
    daily = daily_amp * np.cos(2 * np.pi * (hours - daily_peak_hour) / 24)
    weekly = weekly_amp * np.cos(2 * np.pi * (hours - 24 * weekly_peak_day - daily_peak_hour) / 168)
    trend = np.log1p(growth_per_week) * hours / 168
    rng = np.random.default_rng(seed)
    values = level * np.exp(trend + daily + weekly + rng.normal(0, noise, n))
    return t, values


def write_csv(path: Path, t, values, header: str = "timestamp,value", fmt=None) -> Path:
    lines = [header]
    for ti, v in zip(t, values):
        stamp = fmt(ti) if fmt else datetime.fromtimestamp(float(ti), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{stamp},{v:.4f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def weekly_growth(values: np.ndarray, step_s: float = 3600) -> float:
    per_week = int(7 * 86400 / step_s)
    first, last = values[:per_week].mean(), values[-per_week:].mean()
    weeks = (len(values) - per_week) / per_week
    return math.exp(math.log(last / first) / weeks) - 1
