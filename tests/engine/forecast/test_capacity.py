"""Capacity over the horizon: the replica formula, scenarios, the first date, cost, and the one
adapter from a real Plan."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from engine.forecast.capacity import CapacityBasis, basis_from_plan, capacity_timeline, replicas_for
from engine.forecast.errors import ForecastInputError
from engine.forecast.scenarios import Spike, scenario_demand


@dataclass
class P:
    t: float
    mean: float
    p80_high: float
    p95_high: float


BASIS = CapacityBasis(
    metric="requests_per_s", per_replica=10.0, gpus_per_replica=2, target_utilization=0.8, redundancy=1,
    min_replicas=1, today_replicas=4, today_gpus=8, price_per_gpu_hour=2.0, planning_scenario="recommended",
)


def test_replicas_formula():
    # ceil(20 * 1.2 / (10 * 0.8)) = ceil(3.0) = 3, plus N+1
    assert replicas_for(20.0, 1.2, BASIS) == 4
    assert replicas_for(20.1, 1.2, BASIS) == 5
    assert replicas_for(0.0, 1.0, BASIS) == 2  # the floor of one replica, plus N+1


def test_timeline_scenarios_first_date_and_cost():
    points = [P(t=3600.0 * i, mean=10.0 + i, p80_high=12.0 + i, p95_high=14.0 + i) for i in range(48)]
    tl = capacity_timeline(points, 3600.0, 1.0, BASIS, quantile="p80", spike=Spike(factor=3.0, start=10, steps=5))
    base = tl["base"]
    expected = [(math.ceil((12.0 + i) / 8.0 - 1e-9) + 1) * 2 for i in range(48)]
    assert list(base.gpus) == expected
    first = next(i for i, g in enumerate(expected) if g > 8)
    assert base.first_more_gpus_t == points[first].t
    assert base.gpu_hours == sum(expected) and base.cost == 2.0 * sum(expected)
    assert tl["optimistic"].gpu_hours <= base.gpu_hours <= tl["pessimistic"].gpu_hours
    assert tl["spike"].gpus[10] > base.gpus[10] and tl["spike"].gpus[20] == base.gpus[20]


def test_spike_window_defaults_to_the_peak():
    points = [P(t=float(i), mean=1.0, p80_high=1.0 if i != 30 else 5.0, p95_high=1.0) for i in range(60)]
    spiked = scenario_demand(points, "p80", Spike(factor=2.0, steps=10))["spike"]
    assert [i for i, v in enumerate(spiked) if v >= 2.0] == list(range(25, 35))


def test_basis_from_a_real_plan():
    from catalogs.loader import load_catalog
    from engine.plan import plan
    from sessions.examples import default_session_text
    from sessions.io import parse_session
    from sessions.resolve import to_plan_inputs

    text = default_session_text()
    result = plan(to_plan_inputs(parse_session(text, "default"), load_catalog(), file="default", text=text))
    basis = basis_from_plan(result, "requests_per_s")
    assert basis.per_replica == pytest.approx(result.inference.requests_per_s_replica)
    assert basis.today_gpus == result.scenarios["recommended"].sizing.gpus
    assert basis.gpus_per_replica == result.inputs.tensor_parallel * result.inputs.pipeline_parallel
    tokens = basis_from_plan(result, "output_tokens_per_s")
    assert tokens.per_replica == pytest.approx(result.inference.tokens_per_s_replica)
    with pytest.raises(ForecastInputError, match="metric 'watts'"):
        basis_from_plan(result, "watts")
