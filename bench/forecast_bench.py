"""Forecast speed (issue 12 targets): 8 weeks of hourly history under 1 s, 4 weeks of 5-minute
history under 2 s, each the whole pipeline (repair and resample, MSTL, the model pool, the
rolling-origin backtest, intervals, guardrails) for a 14-day horizon, after a warm-up run that
pays the one-off imports (reported apart as forecast_import_s, in a fresh process)."""

from __future__ import annotations

import math
import random
import statistics
import subprocess
import sys
import time


def _series(weeks: float, step_s: float, seed: int = 0) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    n = int(weeks * 7 * 86400 / step_s)
    t0 = 1_704_067_200.0  # Monday 2024-01-01 00:00 UTC
    times, values = [], []
    for i in range(n):
        h = i * step_s / 3600
        level = 50 * 1.03 ** (h / 168)
        shape = math.exp(0.5 * math.cos(2 * math.pi * (h - 14) / 24) + 0.2 * math.cos(2 * math.pi * (h - 38) / 168))
        times.append(t0 + i * step_s)
        values.append(level * shape * math.exp(rng.gauss(0, 0.05)))
    return times, values


def _time_forecast(weeks: float, step_s: float, repeats: int) -> dict[str, float]:
    from engine.forecast.history import RawHistory
    from engine.forecast.model import ForecastSettings, forecast_history

    times, values = _series(weeks, step_s)
    settings = ForecastSettings(horizon_s=14 * 86400)
    forecast_history(RawHistory("bench", list(times), list(values)), settings)  # warm-up
    runs, cpu = [], []
    for _ in range(repeats):
        raw = RawHistory("bench", list(times), list(values))
        t, c = time.perf_counter(), time.process_time()
        forecast_history(raw, settings)
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"median": statistics.median(runs), "max": max(runs), "min": min(runs), "cpu": statistics.median(cpu)}


def _spread(name: str, r: dict[str, float]) -> dict[str, float]:
    """The worst-to-best spread of the runs, and the 1-minute load average (the machine is
    shared: a high load explains a wide spread)."""
    import os

    return {f"{name}_min": round(r["min"], 3), f"{name}_spread": round(r["max"] - r["min"], 3),
            f"{name}_load_avg_1m": round(os.getloadavg()[0], 2)}


def forecast_s_8w_hourly(repeats: int = 7) -> dict[str, float]:
    r = _time_forecast(8, 3600.0, repeats)
    return {"forecast_s_8w_hourly": round(r["median"], 3), "forecast_s_8w_hourly_max": round(r["max"], 3),
            "forecast_cpu_s_8w_hourly": round(r["cpu"], 3),  # CPU seconds: steadier on a busy machine
            **_spread("forecast_s_8w_hourly", r)}


def forecast_s_4w_5min(repeats: int = 7) -> dict[str, float]:
    r = _time_forecast(4, 300.0, repeats)
    return {"forecast_s_4w_5min": round(r["median"], 3), "forecast_s_4w_5min_max": round(r["max"], 3),
            "forecast_cpu_s_4w_5min": round(r["cpu"], 3), **_spread("forecast_s_4w_5min", r)}


def forecast_import_s() -> float:
    """statsmodels + pandas + the forecast engine, imported in a fresh process (paid once, in a
    worker, on the first forecast; never at start-up)."""
    code = "import time; t = time.perf_counter(); import engine.forecast.model; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> int:
    """`python -m bench.forecast_bench`: the forecast figures alone, as `python -m bench` prints them."""
    import json

    figures = {**forecast_s_8w_hourly(), **forecast_s_4w_5min(), "forecast_import_s": round(forecast_import_s(), 3)}
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
