"""Demand scenarios over the forecast: base, optimistic (0.85x), pessimistic (1.15x) and a spike
(2.5x by default over a window, by default the 24 hours around the base forecast's peak)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

Quantile = Literal["mean", "p80", "p95"]
ScenarioName = Literal["base", "optimistic", "pessimistic", "spike"]
MULTIPLIERS: dict[str, float] = {"base": 1.0, "optimistic": 0.85, "pessimistic": 1.15}
SCENARIO_NAMES: tuple[str, ...] = ("base", "optimistic", "pessimistic", "spike")
QUANTILE_FIELD = {"mean": "mean", "p80": "p80_high", "p95": "p95_high"}


@dataclass(frozen=True, slots=True)
class Spike:
    factor: float = 2.5  # 2-3x is what launches and incidents bring
    start: int | None = None  # step index into the horizon; None: centred on the base peak
    steps: int = 24


def demand_at(points: Sequence[object], quantile: Quantile) -> list[float]:
    key = QUANTILE_FIELD[quantile]
    return [float(getattr(p, key)) for p in points]


def spike_window(base: Sequence[float], spike: Spike) -> range:
    n = len(base)
    if spike.start is None:
        peak = max(range(n), key=base.__getitem__) if n else 0
        start = max(0, min(n - spike.steps, peak - spike.steps // 2))
    else:
        start = max(0, min(n, spike.start))
    return range(start, min(n, start + spike.steps))


def scenario_demand(points: Sequence[object], quantile: Quantile, spike: Spike = Spike()) -> dict[str, list[float]]:
    """Demand per step at the planning quantile, for every scenario."""
    base = demand_at(points, quantile)
    out = {name: [v * m for v in base] for name, m in MULTIPLIERS.items()}
    window = spike_window(base, spike)
    out["spike"] = [v * spike.factor if i in window else v for i, v in enumerate(base)]
    return out
