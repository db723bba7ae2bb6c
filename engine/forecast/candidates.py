"""The model pool, fitted on the seasonally adjusted log series (seasonality stays in MSTL):
ETS A,N,N / A,A,N / A,Ad,N (Hyndman et al. 2008, "Forecasting with exponential smoothing") and a
small non-seasonal ARIMA(p,1,q) grid, each family's best chosen by AICc; the weekly seasonal-naive
forecast of the log series itself is always in the pool.

Every fit can be re-run with its parameters fixed on a shorter series (`refit_forecast`): that is
how the rolling-origin backtest evaluates it cheaply. The parameters were estimated on the whole
series, a small leak for models of one to three parameters; the decomposition, which carries most
of the signal, is re-estimated at every origin. The fixed-parameter recursions are written out
here (a few microseconds a step) because statsmodels' re-fit path costs ~70 ms a call.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

ETS_KINDS = {"ANN": (None, False), "AAN": ("add", False), "AAdN": ("add", True)}
ETS_LABELS = {"ANN": "ETS(A,N,N)", "AAN": "ETS(A,A,N)", "AAdN": "ETS(A,Ad,N)"}
ARIMA_ORDERS = ((0, 1, 1), (1, 1, 0), (1, 1, 1), (2, 1, 0))


@dataclass(slots=True)
class Fitted:
    name: str  # ets | arima
    label: str
    kind: Any
    aicc: float
    refit_forecast: Callable[[np.ndarray, int], np.ndarray]  # fixed parameters, any series

    def forecast(self, series: np.ndarray, steps: int) -> np.ndarray:
        return self.refit_forecast(series, steps)


def _aicc(sse: float, n: int, k: int) -> float:
    """AICc of a Gaussian model from its sum of squared one-step errors (Hurvich & Tsai 1989)."""
    if n - k - 1 <= 0 or sse <= 0:
        return math.inf
    aic = n * math.log(sse / n) + 2 * k
    return aic + 2 * k * (k + 1) / (n - k - 1)


# ---- ETS ------------------------------------------------------------------------------------


def _ets_state(y: np.ndarray, alpha: float, beta: float, phi: float, l0: float, b0: float, trend: bool):
    """Holt's recursions (Hyndman et al. 2008, table 2.1, additive error): final level, trend."""
    level, slope = l0, b0
    for value in y.tolist():
        prev = level
        if trend:
            level = alpha * value + (1 - alpha) * (prev + phi * slope)
            slope = beta * (level - prev) + (1 - beta) * phi * slope
        else:
            level = alpha * value + (1 - alpha) * prev
    return level, slope


def _ets_path(level: float, slope: float, phi: float, steps: int, trend: bool) -> np.ndarray:
    if not trend:
        return np.full(steps, level)
    h = np.arange(1, steps + 1)
    damp = h.astype(float) if phi >= 1.0 else phi * (1 - phi**h) / (1 - phi)
    return level + damp * slope


def fit_ets(adj: np.ndarray, kind: str) -> Fitted | None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    trend, damped = ETS_KINDS[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = ExponentialSmoothing(adj, trend=trend, damped_trend=damped, initialization_method="estimated").fit(
                use_brute=False
            )
        except Exception:  # noqa: BLE001 - a model that cannot be fitted leaves the pool
            return None
    if not math.isfinite(res.aicc):
        return None
    p = res.params
    alpha = float(p["smoothing_level"])
    beta = float(p.get("smoothing_trend") or 0.0) if trend else 0.0
    phi = float(p.get("damping_trend") or 1.0) if damped else 1.0
    l0 = float(p["initial_level"])
    b0 = float(p.get("initial_trend") or 0.0) if trend else 0.0
    has_trend = trend is not None

    def refit(series: np.ndarray, steps: int) -> np.ndarray:
        level, slope = _ets_state(series, alpha, beta, phi, l0, b0, has_trend)
        return _ets_path(level, slope, phi, steps, has_trend)

    label = ETS_LABELS[kind] + (f" phi={phi:.2f}" if damped else "")
    return Fitted("ets", label, kind, float(res.aicc), refit)


# ---- ARIMA(p,1,q) ---------------------------------------------------------------------------


def fit_arima(adj: np.ndarray, order: tuple[int, int, int]) -> Fitted | None:
    """ARMA(p,q) on the first differences, estimated by Hannan & Rissanen (1982) regressions;
    AICc from the conditional sum of squares. Non-stationary or non-invertible fits leave."""
    from scipy.signal import lfilter
    from statsmodels.tsa.arima.estimators.hannan_rissanen import hannan_rissanen

    p, d, q = order
    z = np.diff(adj)
    mean = float(np.mean(z))
    zc = z - mean
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est, _ = hannan_rissanen(zc, ar_order=p, ma_order=q, demean=False)
        except Exception:  # noqa: BLE001
            return None
    ar = np.asarray(est.ar_params if p else [], dtype=float)
    ma = np.asarray(est.ma_params if q else [], dtype=float)
    for coeffs in (ar, -ma):
        if len(coeffs) and np.any(np.abs(np.roots(np.r_[1.0, -coeffs])) >= 0.995):
            return None
    ar_poly, ma_poly = np.r_[1.0, -ar], np.r_[1.0, ma]
    resid = lfilter(ar_poly, ma_poly, zc)
    skip = max(p, q)
    aicc = _aicc(float(np.sum(resid[skip:] ** 2)), len(resid) - skip, p + q + 2)
    if not math.isfinite(aicc):
        return None

    def refit(series: np.ndarray, steps: int) -> np.ndarray:
        dz = np.diff(series) - mean
        e = lfilter(ar_poly, ma_poly, dz).tolist()
        past = dz.tolist()
        out = []
        for h in range(steps):
            value = sum(ar[i] * past[-1 - i] for i in range(p)) + sum(
                ma[j] * e[-1 - j] for j in range(q)
            )
            past.append(value)
            e.append(0.0)
            out.append(value)
        # the drift is the mean difference, damped away: an undamped drift is a straight line
        return series[-1] + np.cumsum(np.asarray(out) + mean * 0.98 ** np.arange(1, steps + 1))

    return Fitted("arima", f"ARIMA({p},{d},{q})", order, aicc, refit)


def best(fits: list[Fitted | None]) -> Fitted | None:
    ok = [f for f in fits if f is not None]
    return min(ok, key=lambda f: f.aicc) if ok else None


def seasonal_naive(y: np.ndarray, steps: int, season: int) -> np.ndarray:
    """y[t + h] = y[t + h - season * ceil(h / season)]: the last full season repeated."""
    season = min(season, len(y))
    last = y[-season:]
    return last[np.arange(steps) % season]
