"""Repairs: a 5-minute series in local time with gaps, duplicates, shuffled rows and a DST change
comes out hourly and regular, with every repair reported and the within-hour peak kept."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

pytest.importorskip("pandas", reason="the forecast extra (pandas) is not installed")

from engine.forecast.errors import ForecastInputError  # noqa: E402
from engine.forecast.history import RawHistory  # noqa: E402
from engine.forecast.prepare import epoch_seconds, prepare  # noqa: E402
from engine.forecast.readers import read_history_file  # noqa: E402


def test_five_minute_local_series_with_every_defect(tmp_path):
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 10, 20, tzinfo=timezone.utc).timestamp()  # a week before the autumn change
    t = start + np.arange(12 * 24 * 14) * 300.0  # two weeks every 5 minutes
    minute = (t % 3600) / 60
    values = 100 + 50 * (minute < 5)  # a burst in each hour's first 5 minutes: peak factor > 1
    rows = [(datetime.fromtimestamp(ti, tz=berlin).replace(tzinfo=None), v) for ti, v in zip(t, values)]
    keep = [r for i, r in enumerate(rows) if not (1008 <= i < 1056) and not (2000 <= i < 2004)]  # 4 h, 20 min gaps
    keep += keep[500:503]  # duplicates
    keep[10], keep[11] = keep[11], keep[10]  # rows out of order
    path = tmp_path / "5min.csv"
    path.write_text("timestamp,rps\n" + "\n".join(f"{w.isoformat(sep=' ')},{v}" for w, v in keep) + "\n")

    prep = prepare(read_history_file(path, timezone="Europe/Berlin"))
    kinds = {r.kind: r for r in prep.repairs}
    assert {"sorted", "duplicates", "dst", "gaps", "resampled", "timezone"} <= set(kinds)
    assert kinds["duplicates"].count == 3
    assert kinds["dst"].count == 12  # the repeated hour's twelve 5-minute samples
    assert kinds["gaps"].count == 4 and "longest 4" in kinds["gaps"].detail  # the 20-minute gap is inside an hour
    assert prep.step_s == 3600 and len(prep.values) == 14 * 24
    assert set(np.diff(epoch_seconds(prep.index))) == {3600.0}  # regular in UTC across the change
    assert np.isfinite(prep.values).all()
    mean_in_hour = (150 + 11 * 100) / 12
    assert prep.peak_factor == pytest.approx(150 / mean_in_hour, rel=0.01)


def test_long_gap_is_filled_from_the_week_before():
    t = 1_704_067_200 + np.arange(24 * 21) * 3600.0
    v = 10 + (np.arange(len(t)) % 24)  # hour of day, as a shape that interpolation would not give
    keep = np.ones(len(t), bool)
    keep[24 * 15 : 24 * 15 + 10] = False
    prep = prepare(RawHistory("x", list(t[keep]), list(v[keep])))
    assert np.allclose(prep.values, v)
    assert "copied from one season" in next(r.detail for r in prep.repairs if r.kind == "gaps")


def test_interval_limits():
    with pytest.raises(ForecastInputError, match="coarsest supported interval is 1 day"):
        prepare(RawHistory("weekly.csv", [0.0, 7 * 86400.0, 14 * 86400.0], [1.0, 2.0, 3.0]))
    daily = prepare(RawHistory("daily.csv", [86400.0 * i for i in range(60)], [1.0 + i for i in range(60)]))
    assert daily.step_s == 86400
