"""The forecast: logs -> MSTL -> model pool on the adjusted series -> backtested ensemble ->
calibrated intervals -> guardrails -> back to demand units.

Entry point: :func:`forecast_series` (a prepared series) and :func:`forecast_history` (a raw one).
Pure: numbers in, a :class:`ForecastResult` out; nothing printed, nothing read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from engine.forecast import backtest as bt
from engine.forecast.candidates import ARIMA_ORDERS, ETS_KINDS, Fitted, best, fit_arima, fit_ets, seasonal_naive
from engine.forecast.components import Components, describe_components
from engine.forecast.decompose import Decomposition, decompose, periods_for
from engine.forecast.errors import ForecastInputError
from engine.forecast.history import RawHistory, Repair
from engine.forecast.prepare import Prepared, epoch_seconds, prepare

WEEK_S = 7 * 86400.0
LOG_OFFSET_SHARE = 0.05  # log(x + c) with c = 5 % of the median non-zero value: zeros stay finite
RUNAWAY_MAX_RATIO = 10.0  # a forecast above 10x the largest value ever seen is a runaway
RUNAWAY_CAP_MULTIPLE = 3.0  # ... as is a projected weekly growth 3x beyond the cap


@dataclass(frozen=True, slots=True)
class ForecastSettings:
    horizon_s: float = 14 * 86400.0
    growth_cap: float = 0.25  # the most the level may grow (or shrink, as 1/(1+cap)) per week
    backtest_origins: int = 6
    backtest_lead_s: float = WEEK_S  # each origin forecasts at most this far (capped by horizon)
    max_history_s: float = 12 * WEEK_S  # older history is left out: it bounds the fit time, and
    # a two-week forecast rests on the recent level, trend and seasons


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    t: float  # epoch seconds, UTC, start of the step
    mean: float
    p80_low: float
    p80_high: float
    p95_low: float
    p95_high: float


@dataclass(frozen=True, slots=True)
class Guardrail:
    kind: str  # damped_trend | growth_cap | runaway | no_backtest | short_history
    detail: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "detail": self.detail}


@dataclass(slots=True)
class ForecastResult:
    source: str
    unit: str
    metric: str
    step_s: float
    peak_factor: float
    history_t: np.ndarray  # epoch seconds
    history: np.ndarray
    points: list[ForecastPoint]
    components: Components
    backtest: bt.BacktestScore
    weights: dict[str, float]
    models: dict[str, str]  # pool name -> label
    guardrails: list[Guardrail] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)


def forecast_history(raw: RawHistory, settings: ForecastSettings = ForecastSettings()) -> ForecastResult:
    return forecast_series(prepare(raw), settings)


def _origins(n: int, lead: int, count: int, min_train: int) -> list[int]:
    """Origins n-lead, n-lead-step, ... (step = half a lead, so windows overlap by half)."""
    step = max(1, lead // 2)
    out = []
    for k in range(count):
        o = n - lead - k * step
        if o < min_train:
            break
        out.append(o)
    return sorted(out)


def forecast_series(prep: Prepared, settings: ForecastSettings = ForecastSettings()) -> ForecastResult:
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the matrices are tiny and OpenBLAS' thread pool costs more than it saves
    with threadpool_limits(limits=1, user_api="blas"):
        return _forecast_series(prep, settings)


def _forecast_series(prep: Prepared, settings: ForecastSettings) -> ForecastResult:
    keep = int(settings.max_history_s / prep.step_s)
    repairs = list(prep.repairs)
    if len(prep.values) > keep:
        repairs.append(
            Repair("trimmed", len(prep.values) - keep, f"only the last {settings.max_history_s / WEEK_S:g} weeks"
                   f" of {len(prep.values) * prep.step_s / WEEK_S:.1f} are fitted")
        )
        prep = replace(prep, index=prep.index[-keep:], values=prep.values[-keep:])
    x = prep.values
    n = len(x)
    steps_per_day = int(round(86400.0 / prep.step_s))
    if n < 2 * steps_per_day:
        raise ForecastInputError(
            f"{prep.source}: {n} {'hours' if steps_per_day == 24 else 'days'} of history after resampling;"
            " a forecast needs at least 2 days (2 weeks for a weekly pattern)"
        )
    if not np.any(x > 0):
        raise ForecastInputError(f"{prep.source}: every value is zero; there is no demand to forecast")
    horizon = max(1, int(math.ceil(settings.horizon_s / prep.step_s)))
    guardrails: list[Guardrail] = []

    offset = LOG_OFFSET_SHARE * float(np.median(x[x > 0]))
    y = np.log(x + offset)
    periods = periods_for(n, prep.step_s)
    week = prep.season_steps
    season = week if n >= week + steps_per_day else min(steps_per_day, n)
    if season != week and prep.step_s < 86400:
        guardrails.append(
            Guardrail("short_history", f"{n / steps_per_day:.1f} days of history: no weekly pattern (needs 2 weeks); "
                      "seasonal naive repeats the last day")
        )
    dec = decompose(y, periods)
    adj = y - dec.seasonal_sum

    # ---- the pool, each family's best by AICc -------------------------------------------------
    ets_all = {k: fit_ets(adj, k) for k in ETS_KINDS}
    ets = best(list(ets_all.values()))
    min_train = max(2 * max(periods, default=steps_per_day), 2 * steps_per_day) + 1
    # each origin forecasts a week (or the horizon); short histories get shorter leads, down to a day
    lead = max(1, min(horizon, int(round(settings.backtest_lead_s / prep.step_s))))
    lead = max(min(lead, steps_per_day, horizon), min(lead, (n - min_train) // 2))
    if ets is not None and ets.kind == "AAN" and horizon > lead and ets_all.get("AAdN") is not None:
        damped = ets_all["AAdN"]
        guardrails.append(
            Guardrail(
                "damped_trend",
                f"ETS(A,A,N) won on AICc but a straight-line trend is only checked {lead} steps ahead;"
                f" the forecast uses its damped form {damped.label}",
            )
        )
        ets = damped
    arima = best([fit_arima(adj, order) for order in ARIMA_ORDERS])
    pool: dict[str, Fitted] = {f.name: f for f in (ets, arima) if f is not None}
    names = list(pool) + ["seasonal_naive"]
    models = {name: f.label for name, f in pool.items()}
    models["seasonal_naive"] = "seasonal naive (weekly)" if season == week else "seasonal naive (daily)"

    # ---- rolling-origin backtest --------------------------------------------------------------
    runs: list[bt.OriginRun] = []
    for o in _origins(n, lead, settings.backtest_origins, min_train):
        y_k = y[:o]
        dec_k = decompose(y_k, periods, iterate=1)
        adj_k = y_k - dec_k.seasonal_sum
        seas = dec_k.extend(lead)
        fc = {name: f.refit_forecast(adj_k, lead) + seas for name, f in pool.items()}
        fc["seasonal_naive"] = seasonal_naive(y_k, lead, season)
        xs = x[:o]
        scale = float(np.mean(np.abs(xs[season:] - xs[:-season]))) if o > season else float("nan")
        runs.append(bt.OriginRun(fc, y[o : o + lead], x[o : o + lead], scale))
    if len(runs) >= 2:
        weights = bt.inverse_mse_weights(runs, names)
        cal = bt.calibrate([r.actual_log - bt.combine(r.forecasts, weights) for r in runs])
        cal_naive = bt.calibrate([r.actual_log - r.forecasts["seasonal_naive"] for r in runs])
    else:
        weights = {name: 1.0 / len(names) for name in names}
        resid = dec.resid[np.isfinite(dec.resid)]
        var = float(np.var(resid)) if len(resid) else 0.01
        cal = cal_naive = bt.Calibration(a=var, b=var / max(steps_per_day, 1), z80=1.2816, z95=1.96)
        guardrails.append(
            Guardrail("no_backtest", f"too little history for two backtest origins; equal weights and"
                      " uncalibrated normal intervals from the decomposition's residual")
        )
    score = bt.cross_validate(runs, names, offset, "seasonal_naive")

    # ---- the forecast -------------------------------------------------------------------------
    seas = dec.extend(horizon)
    fc = {name: f.forecast(adj, horizon) + seas for name, f in pool.items()}
    fc["seasonal_naive"] = seasonal_naive(y, horizon, season)
    mu = bt.combine(fc, weights)
    level0 = float(np.mean(adj[-steps_per_day:]))
    mu, cal, used_naive = _guard(mu, seas, level0, fc["seasonal_naive"], cal, cal_naive, x, prep.step_s,
                                 settings.growth_cap, guardrails)
    if used_naive:
        weights = {name: (1.0 if name == "seasonal_naive" else 0.0) for name in names}

    width = cal.width(horizon)
    mean = bt.back_transform(mu, width**2, offset)
    lo80, hi80 = bt.interval(mu, width, cal.z80, offset)
    lo95, hi95 = bt.interval(mu, width, cal.z95, offset)
    t0 = prep.index[-1].timestamp() + prep.step_s
    points = [
        ForecastPoint(t0 + i * prep.step_s, float(mean[i]), float(lo80[i]), float(hi80[i]), float(lo95[i]), float(hi95[i]))
        for i in range(horizon)
    ]
    history_t = epoch_seconds(prep.index)
    return ForecastResult(
        source=prep.source,
        unit=prep.unit,
        metric=prep.metric,
        step_s=prep.step_s,
        peak_factor=prep.peak_factor,
        history_t=history_t,
        history=x,
        points=points,
        components=describe_components(dec, history_t, prep.step_s, offset),
        backtest=score,
        weights=weights,
        models=models,
        guardrails=guardrails,
        repairs=repairs,
    )


def _guard(
    mu: np.ndarray,
    seas: np.ndarray,
    level0: float,
    naive: np.ndarray,
    cal: bt.Calibration,
    cal_naive: bt.Calibration,
    x: np.ndarray,
    step_s: float,
    growth_cap: float,
    guardrails: list[Guardrail],
) -> tuple[np.ndarray, bt.Calibration, bool]:
    """Runaway -> seasonal naive; else cap the level's growth per week (both ways, in logs)."""
    weeks = np.arange(1, len(mu) + 1) * step_s / WEEK_S
    level = mu - seas
    cap_log = math.log1p(growth_cap)
    with np.errstate(over="ignore", invalid="ignore"):
        weekly = float((level[-1] - level0) / weeks[-1]) if len(mu) else 0.0
        peak = float(np.exp(np.max(mu))) if np.all(np.isfinite(mu)) else math.inf
    history_max = float(np.max(x))
    finite = bool(np.all(np.isfinite(mu)))
    too_high = peak > RUNAWAY_MAX_RATIO * max(history_max, 1e-12)
    too_fast = abs(weekly) > RUNAWAY_CAP_MULTIPLE * cap_log
    if not finite or too_high or too_fast:
        why = (
            "it was not finite" if not finite
            else f"it reached {peak / max(history_max, 1e-12):.0f}x the largest value seen" if too_high
            else f"it projected {math.expm1(weekly) * 100:+.0f} %/week"
        )
        guardrails.append(
            Guardrail("runaway", f"the ensemble ran away ({why}); the forecast falls back to the seasonal-naive forecast")
        )
        return naive, cal_naive, True
    # within the first week, up to one week's cap: day-to-day noise is not growth
    allowed = np.maximum(weeks, 1.0) * cap_log
    excess_up = np.maximum(level - level0 - allowed, 0.0)
    excess_down = np.maximum(level0 - allowed - level, 0.0)
    if np.any(excess_up > 1e-9) or np.any(excess_down > 1e-9):
        guardrails.append(
            Guardrail(
                "growth_cap",
                f"the models projected {math.expm1(weekly) * 100:+.1f} %/week; the level is held within"
                f" {growth_cap * 100:.0f} %/week (growth_cap)",
            )
        )
        mu = mu - excess_up + excess_down
    return mu, cal, False
