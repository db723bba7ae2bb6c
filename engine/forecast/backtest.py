"""Rolling-origin backtests (Tashman 2000, "Out-of-sample tests of forecasting accuracy"):
ensemble weights, interval calibration and the accuracy figures, all cross-validated by origin.

Each origin's forecasts are scored with weights and interval widths learnt from the OTHER origins
(leave one origin out), so the reported MASE and coverage are out-of-sample; the final forecast
uses weights and widths learnt from all of them.

Interval width in log space: the mean squared error grows with the lead h as v(h) = a + b·h (a
random-walk-like level plus a constant seasonal error), fitted by least squares on the backtest
errors; the P80/P95 multipliers are the 0.80/0.95 quantiles of |error| / sqrt(v(h)), so backtest
coverage matches nominal by construction on the calibration origins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class OriginRun:
    """One backtest origin: the model forecasts and the actuals (log space) over the lead."""

    forecasts: dict[str, np.ndarray]  # model name -> log forecast
    actual_log: np.ndarray
    actual: np.ndarray  # original units
    mase_scale: float  # mean |x_t - x_{t-m}| on the training part (Hyndman & Koehler 2006)


@dataclass(frozen=True, slots=True)
class Calibration:
    a: float
    b: float
    z80: float
    z95: float

    def width(self, steps: int) -> np.ndarray:
        """RMS log error at leads 1..steps."""
        h = np.arange(1, steps + 1, dtype=float)
        return np.sqrt(np.maximum(self.a + self.b * h, 1e-12))


def inverse_mse_weights(runs: list[OriginRun], names: list[str]) -> dict[str, float]:
    mse = {}
    for n in names:
        errs = np.concatenate([r.actual_log - r.forecasts[n] for r in runs])
        m = float(np.mean(errs**2))
        mse[n] = m if np.isfinite(m) and m > 0 else (1e-12 if m == 0 else np.inf)
    inv = {n: (0.0 if not np.isfinite(m) else 1.0 / m) for n, m in mse.items()}
    total = sum(inv.values())
    if total <= 0:
        return {n: 1.0 / len(names) for n in names}
    return {n: v / total for n, v in inv.items()}


def combine(forecasts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    return sum(w * forecasts[n] for n, w in weights.items() if w > 0)


def calibrate(errors: list[np.ndarray]) -> Calibration:
    """v(h) = a + b·h on the squared errors, then the coverage multipliers."""
    h = np.concatenate([np.arange(1, len(e) + 1, dtype=float) for e in errors])
    e = np.concatenate(errors)
    ok = np.isfinite(e)
    h, e = h[ok], e[ok]
    if len(e) < 2:
        return Calibration(a=0.01, b=0.0, z80=1.2816, z95=1.96)
    sq = e**2
    design = np.column_stack([np.ones_like(h), h])
    (a, b), *_ = np.linalg.lstsq(design, sq, rcond=None)
    if b < 0:
        a, b = float(np.mean(sq)), 0.0
    if a <= 0:
        a = max(float(np.mean(sq)) * 0.05, 1e-8)
        b = max(float(np.mean(sq - a) / np.mean(h)), 0.0)
    width = np.sqrt(np.maximum(a + b * h, 1e-12))
    ratio = np.abs(e) / width
    return Calibration(a=float(a), b=float(b), z80=float(np.quantile(ratio, 0.80)), z95=float(np.quantile(ratio, 0.95)))


@dataclass(frozen=True, slots=True)
class BacktestScore:
    origins: int
    lead_steps: int
    mase: float | None
    mase_seasonal_naive: float | None
    coverage_p80: float | None
    coverage_p95: float | None


MAX_MEAN_CORRECTION_VAR = 0.1  # the log-normal mean correction is capped at exp(0.05) = +5 %


def back_transform(mu: np.ndarray, var: np.ndarray, offset: float) -> np.ndarray:
    """The mean of a log-normal, back from log(x + offset): exp(mu + var/2). The correction is
    capped: where the backtests were wild (a tail that exploded) an uncapped exp(var/2) would
    turn wide intervals into a point forecast many times the history."""
    return np.clip(np.exp(mu + np.minimum(var, MAX_MEAN_CORRECTION_VAR) / 2.0) - offset, 0.0, None)


def interval(mu: np.ndarray, width: np.ndarray, z: float, offset: float) -> tuple[np.ndarray, np.ndarray]:
    lo = np.clip(np.exp(mu - z * width) - offset, 0.0, None)
    hi = np.clip(np.exp(mu + z * width) - offset, 0.0, None)
    return lo, hi


def cross_validate(runs: list[OriginRun], names: list[str], offset: float, naive: str) -> BacktestScore:
    """Leave-one-origin-out scores of the ensemble, and the seasonal-naive MASE beside it."""
    if len(runs) < 2:
        return BacktestScore(len(runs), len(runs[0].actual) if runs else 0, None, None, None, None)
    mase, mase_naive, in80, in95, count = [], [], 0, 0, 0
    for k, run in enumerate(runs):
        others = runs[:k] + runs[k + 1 :]
        weights = inverse_mse_weights(others, names)
        cal = calibrate([r.actual_log - combine(r.forecasts, weights) for r in others])
        mu = combine(run.forecasts, weights)
        width = cal.width(len(mu))
        mean = back_transform(mu, width**2, offset)
        lo80, hi80 = interval(mu, width, cal.z80, offset)
        lo95, hi95 = interval(mu, width, cal.z95, offset)
        x = run.actual
        in80 += int(np.count_nonzero((x >= lo80) & (x <= hi80)))
        in95 += int(np.count_nonzero((x >= lo95) & (x <= hi95)))
        count += len(x)
        scale = run.mase_scale if run.mase_scale > 0 else np.nan
        mase.append(float(np.mean(np.abs(x - mean))) / scale)
        naive_mean = np.clip(np.exp(run.forecasts[naive]) - offset, 0.0, None)
        mase_naive.append(float(np.mean(np.abs(x - naive_mean))) / scale)

    def avg(v: list[float]) -> float | None:
        arr = np.asarray(v, dtype=float)
        arr = arr[np.isfinite(arr)]
        return float(arr.mean()) if len(arr) else None

    return BacktestScore(
        origins=len(runs),
        lead_steps=len(runs[0].actual),
        mase=avg(mase),
        mase_seasonal_naive=avg(mase_naive),
        coverage_p80=in80 / count,
        coverage_p95=in95 / count,
    )
