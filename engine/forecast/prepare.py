"""Repair a raw history and resample it to a regular hourly (or, for daily data, daily) series.

Repairs, each reported: rows out of order are sorted; repeated timestamps are averaged; samples
are averaged per hour, and the within-hour peak is kept as one peak factor (volume-weighted mean
of max/mean over hours with several samples) so capacity can be sized for the peak of the hour,
not its mean; missing hours are filled (short gaps of up to 3 steps by linear interpolation,
longer ones with the value one season earlier, else interpolation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.forecast.errors import ForecastInputError
from engine.forecast.history import RawHistory, Repair

HOUR, DAY = 3600.0, 86400.0
SHORT_GAP_STEPS = 3
MIN_INTERVAL_S = 50.0  # "1 minute" with jitter; finer data (traces) is fine too, it is averaged


@dataclass(slots=True)
class Prepared:
    index: pd.DatetimeIndex  # UTC, regular
    values: np.ndarray  # >= 0, no NaN
    step_s: float  # 3600 or 86400
    native_interval_s: float
    peak_factor: float  # >= 1: within-step peak over the step's mean
    source: str
    unit: str
    metric: str
    repairs: list[Repair] = field(default_factory=list)

    @property
    def season_steps(self) -> int:
        """The seasonal-naive lag: one week of steps."""
        return int(round(7 * DAY / self.step_s))


def epoch_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    """Seconds since the epoch, whatever the index's resolution (pandas 3 keeps s/us/ns)."""
    return index.as_unit("ns").asi8 / 1e9


def _fmt_interval(seconds: float) -> str:
    for unit, size in (("d", DAY), ("h", HOUR), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def prepare(raw: RawHistory, *, allow_fine: bool = True) -> Prepared:
    repairs = list(raw.repairs)
    if len(raw) < 2:
        raise ForecastInputError(f"{raw.source}: {len(raw)} sample(s); a forecast needs at least 2 days of history")
    times = np.asarray(raw.times, dtype=float)
    values = np.asarray(raw.values, dtype=float)
    out_of_order = int(np.count_nonzero(np.diff(times) < 0))
    if out_of_order:
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
        repairs.append(Repair("sorted", out_of_order, f"{out_of_order} rows were out of time order; sorted"))
    s = pd.Series(values, index=pd.to_datetime(times, unit="s", utc=True))
    dup = int(s.index.duplicated().sum())
    if dup:
        s = s.groupby(level=0).mean()
        repairs.append(Repair("duplicates", dup, f"{dup} repeated timestamps; their values averaged"))
    if len(s) < 2:
        raise ForecastInputError(f"{raw.source}: one distinct timestamp; a forecast needs at least 2 days of history")
    diffs = np.diff(epoch_seconds(s.index))
    native = float(np.median(diffs))
    if native < MIN_INTERVAL_S and not allow_fine:
        raise ForecastInputError(f"{raw.source}: samples every {_fmt_interval(native)}; the finest supported is 1 min")
    if native > DAY * 1.5:
        raise ForecastInputError(
            f"{raw.source}: samples every {_fmt_interval(native)}; the coarsest supported interval is 1 day"
        )
    step = HOUR if native <= HOUR * 1.01 else DAY
    rule = "h" if step == HOUR else "D"
    grouped = s.resample(rule)
    mean, peak, count = grouped.mean(), grouped.max(), grouped.count()
    peak_factor = 1.0
    several = count >= 2
    if several.any():
        m, p = mean[several], peak[several]
        busy = m > 0
        if busy.any():
            peak_factor = float((p[busy]).sum() / m[busy].sum())
    if native < step * 0.99:
        repairs.append(
            Repair(
                "resampled",
                int(len(s)),
                f"{len(s)} samples every {_fmt_interval(native)} averaged to {_fmt_interval(step)};"
                f" within-{'hour' if step == HOUR else 'day'} peak factor {peak_factor:.2f} kept for capacity",
            )
        )
    filled = _fill_gaps(mean, int(round(7 * DAY / step)), repairs, step)
    return Prepared(
        index=filled.index,
        values=np.clip(filled.to_numpy(dtype=float), 0.0, None),
        step_s=step,
        native_interval_s=native,
        peak_factor=max(1.0, peak_factor),
        source=raw.source,
        unit=raw.unit,
        metric=raw.metric,
        repairs=repairs,
    )


def _fill_gaps(mean: pd.Series, season: int, repairs: list[Repair], step: float) -> pd.Series:
    missing = mean.isna().to_numpy()
    n_missing = int(missing.sum())
    if not n_missing:
        return mean
    values = mean.to_numpy(dtype=float).copy()
    # runs of missing steps
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(values):
        if missing[i]:
            j = i
            while j < len(values) and missing[j]:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    short = long_seasonal = long_interp = 0
    daily = int(round(DAY / step))
    for a, b in runs:
        if b - a > SHORT_GAP_STEPS:
            for k in range(a, b):
                src = next((k - lag for lag in (season, daily) if k - lag >= 0 and not np.isnan(values[k - lag])), None)
                if src is not None:
                    values[k] = values[src]
                    long_seasonal += 1
    rest = pd.Series(values, index=mean.index)
    still = rest.isna()
    if still.any():
        for a, b in runs:
            gap = int(still.iloc[a:b].sum())
            if b - a <= SHORT_GAP_STEPS:
                short += gap
            else:
                long_interp += gap
        rest = rest.interpolate(method="time", limit_direction="both")
    unit = "hours" if step == HOUR else "days"
    parts = []
    if short:
        parts.append(f"{short} in short gaps interpolated")
    if long_seasonal:
        parts.append(f"{long_seasonal} in long gaps copied from one season (week or day) earlier")
    if long_interp:
        parts.append(f"{long_interp} in long gaps interpolated (no earlier season to copy)")
    longest = max(b - a for a, b in runs)
    repairs.append(
        Repair("gaps", n_missing, f"{n_missing} missing {unit} in {len(runs)} gap{'s' if len(runs) > 1 else ''} (longest {longest}): " + "; ".join(parts))
    )
    return rest

