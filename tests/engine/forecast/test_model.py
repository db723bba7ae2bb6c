"""The forecast on real and synthetic series: accuracy against the weekly seasonal-naive
forecast, calibrated intervals, recovered components, guardrails, zero stretches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")
pytest.importorskip("pandas", reason="the forecast extra (pandas) is not installed")

from engine.forecast.decompose import decompose  # noqa: E402
from engine.forecast.errors import ForecastInputError  # noqa: E402
from engine.forecast.history import RawHistory  # noqa: E402
from engine.forecast.model import ForecastSettings, forecast_history  # noqa: E402

from .series import START, synthetic  # noqa: E402


def _run(t, v, **settings):
    return forecast_history(RawHistory("test", list(t), list(v)), ForecastSettings(**settings))


def _elec_vic():
    """Half-hourly Victoria (Australia) electricity demand aggregated hourly, 2012-01-01 on (150
    days), and R's forecast::mstl decomposition of it: shipped inside statsmodels' package."""
    import statsmodels.tsa.stl.tests as shipped
    import pandas as pd

    results = Path(shipped.__file__).parent / "results"
    data, r = results / "mstl_elec_vic.csv", results / "mstl_test_results.csv"
    if not data.exists() or not r.exists():
        pytest.skip("this statsmodels build does not ship its test data (mstl_elec_vic.csv)")
    return pd.read_csv(data), pd.read_csv(r)


def test_mstl_components_match_r_on_victoria_electricity():
    data, r = _elec_vic()
    dec = decompose(data["y"].to_numpy(), (24, 168))  # our fast settings, not R's exact ones
    for name, ours in (("Trend", dec.trend), ("Seasonal24", dec.seasonal[24]), ("Seasonal168", dec.seasonal[168])):
        ref = r[name].to_numpy()
        rms = np.sqrt(np.mean((ours - ref) ** 2))
        assert rms / ref.std() < 0.05, name
        assert np.corrcoef(ours, ref)[0, 1] > 0.999, name


def test_victoria_electricity_beats_seasonal_naive_with_calibrated_intervals():
    data, _ = _elec_vic()
    import pandas as pd

    t = pd.to_datetime(data["ds"]).astype("datetime64[ns]").astype("int64").to_numpy() / 1e9
    res = _run(t, data["y"].to_numpy(), horizon_s=7 * 86400, max_history_s=8 * 7 * 86400)  # 8 weeks: fast
    bt = res.backtest
    assert bt.origins >= 4
    assert bt.mase <= bt.mase_seasonal_naive
    assert abs(bt.coverage_p80 - 0.80) <= 0.05
    assert abs(bt.coverage_p95 - 0.95) <= 0.05
    assert "daily peak at" in res.components.explanations["daily"]


def test_synthetic_trend_and_seasons_are_recovered():
    t, v = synthetic(weeks=5, growth_per_week=0.03, daily_peak_hour=14, weekly_peak_day=1, noise=0.02)
    res = _run(t, v, horizon_s=7 * 86400)
    c = res.components
    assert c.trend_per_week == pytest.approx(0.03, abs=0.012)
    assert int(np.argmax(c.daily_profile)) == 14
    assert int(np.argmax(c.weekly_profile)) == 1
    assert c.weekly_peak == "Tuesdays 14:00 UTC"
    assert "+3." in c.explanations["trend"] or "+2." in c.explanations["trend"] or "+4." in c.explanations["trend"]
    # the first forecast day against the noiseless truth
    t2, truth = synthetic(weeks=5 + 1 / 7, growth_per_week=0.03, noise=0.0)
    day = np.array([p.mean for p in res.points[:24]])
    assert np.abs(day / truth[-24:] - 1).max() < 0.08
    for p in res.points:
        assert p.p95_low <= p.p80_low <= p.mean <= p.p80_high <= p.p95_high
    assert res.points[0].t == t[-1] + 3600 and len(res.points) == 7 * 24
    assert res.backtest.mase <= res.backtest.mase_seasonal_naive * 1.05


def test_runaway_tail_falls_back_to_seasonal_naive():
    t, v = synthetic(weeks=3, growth_per_week=0.0, noise=0.02)
    v = v.copy()
    v[-24:] *= 1.2 ** np.arange(1, 25)  # the last day explodes 80-fold
    res = _run(t, v, horizon_s=14 * 86400)
    kinds = [g.kind for g in res.guardrails]
    assert "runaway" in kinds
    assert res.weights["seasonal_naive"] == 1.0
    assert max(p.mean for p in res.points) <= 1.1 * v.max()


def test_steep_growth_is_capped_per_week():
    t, v = synthetic(weeks=3, growth_per_week=1.0, noise=0.01)  # doubling every week
    res = _run(t, v, horizon_s=14 * 86400, growth_cap=0.25)
    assert "growth_cap" in [g.kind for g in res.guardrails]
    week1 = np.mean([p.mean for p in res.points[:168]])
    week2 = np.mean([p.mean for p in res.points[168:336]])
    assert week2 / week1 <= 1.25 * 1.05


def test_business_hours_only_traffic_keeps_logs_and_intervals_sane():
    """Zero outside 09-17 on weekdays: three quarters of the hours are exactly zero."""
    t, v = synthetic(weeks=3, growth_per_week=0.0, daily_amp=0.1, weekly_amp=0.0, noise=0.05)
    hours = ((t - START) / 3600).astype(int)
    open_ = ((hours % 24 >= 9) & (hours % 24 < 17)) & ((hours // 24) % 7 < 5)
    v = np.where(open_, v, 0.0)
    res = _run(t, v, horizon_s=7 * 86400)
    fields = np.array([[p.mean, p.p80_low, p.p80_high, p.p95_low, p.p95_high] for p in res.points])
    assert np.isfinite(fields).all() and (fields >= 0).all()
    fh = ((np.array([p.t for p in res.points]) - START) / 3600).astype(int)
    f_open = ((fh % 24 >= 9) & (fh % 24 < 17)) & ((fh // 24) % 7 < 5)
    means = fields[:, 0]
    assert means[~f_open].max() < 0.1 * means[f_open].mean()
    assert means[f_open].mean() == pytest.approx(v[open_].mean(), rel=0.15)
    assert 0.6 <= res.backtest.coverage_p80 <= 1.0


def test_too_little_or_no_demand_is_an_input_error():
    t, v = synthetic(weeks=1 / 7)
    with pytest.raises(ForecastInputError, match="at least 2 days"):
        _run(t[:30], v[:30])
    t, v = synthetic(weeks=1)
    with pytest.raises(ForecastInputError, match="every value is zero"):
        _run(t, np.zeros_like(v))


def test_short_history_without_a_weekly_pattern_says_so():
    t, v = synthetic(weeks=5 / 7)
    res = _run(t, v, horizon_s=2 * 86400)
    assert "short_history" in [g.kind for g in res.guardrails]
    assert res.models["seasonal_naive"] == "seasonal naive (daily)"


def test_the_same_history_gives_the_same_forecast_every_time():
    """(MSTL used to eat the shared STL settings on the first call, so the first forecast in a
    process differed from every later one.)"""
    t, v = synthetic(weeks=3, noise=0.05, seed=3)
    first, second = (_run(t, v, horizon_s=86400) for _ in range(2))
    assert first.models == second.models
    assert [p.mean for p in first.points] == [p.mean for p in second.points]
