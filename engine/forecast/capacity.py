"""Replicas, GPUs and cost over the forecast horizon.

replicas(t) = max(floor, ceil(demand_q(t) · peak factor / (per-replica capacity · target
utilisation))) + k, with demand_q the forecast at the planning quantile, the peak factor the
within-hour peak over the hourly mean (from the history), per-replica capacity what one replica
serves within the SLA, the target utilisation the planning scenario's planned share, and N+k its
redundancy; GPUs(t) = replicas(t) · GPUs per replica.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from engine.forecast.errors import ForecastInputError
from engine.forecast.scenarios import Quantile, Spike, scenario_demand

METRICS = ("requests_per_s", "output_tokens_per_s", "busy_gpus")
METRIC_UNITS = {"requests_per_s": "requests/s", "output_tokens_per_s": "output tokens/s", "busy_gpus": "busy GPUs"}


@dataclass(frozen=True, slots=True)
class CapacityBasis:
    metric: str
    per_replica: float  # demand units one replica serves within the SLA
    gpus_per_replica: int
    target_utilization: float
    redundancy: int  # N+k
    min_replicas: int  # the floor
    today_replicas: int
    today_gpus: int
    price_per_gpu_hour: float | None
    planning_scenario: str


def basis_from_plan(plan: Any, metric: str, planning_scenario: str = "recommended") -> CapacityBasis:
    """The one adapter from a Plan to what capacity needs (the Plan's serving fields may change;
    only this function reads them)."""
    if metric not in METRICS:
        raise ForecastInputError(f"metric {metric!r}: expected one of {', '.join(METRICS)}")
    inputs = plan.inputs
    gpus_per_replica = inputs.tensor_parallel * inputs.pipeline_parallel
    inference = plan.inference
    if metric == "requests_per_s":
        per_replica = inference.requests_per_s_replica
    elif metric == "output_tokens_per_s":
        per_replica = inference.tokens_per_s_replica
    else:
        per_replica = float(gpus_per_replica)
    if not per_replica or per_replica <= 0:
        why = getattr(inference, "reason", "") or "the plan has no serving speed"
        raise ForecastInputError(f"the session's plan gives no per-replica {METRIC_UNITS[metric]}: {why}")
    scenario = plan.scenarios.get(planning_scenario)
    sizing = getattr(scenario, "sizing", None)
    knobs = inputs.scenarios.get(planning_scenario)
    return CapacityBasis(
        metric=metric,
        per_replica=float(per_replica),
        gpus_per_replica=gpus_per_replica,
        target_utilization=float(knobs.kv_share) if knobs else 0.85,
        redundancy=int(knobs.redundancy) if knobs else 0,
        min_replicas=1,
        today_replicas=int(sizing.replicas) if sizing else 0,
        today_gpus=int(sizing.gpus) if sizing else 0,
        price_per_gpu_hour=plan.price.per_gpu_hour,
        planning_scenario=planning_scenario,
    )


@dataclass(frozen=True, slots=True)
class ScenarioCapacity:
    name: str
    replicas: tuple[int, ...]
    gpus: tuple[int, ...]
    peak_gpus: int
    first_more_gpus_t: float | None  # first step needing more GPUs than today's plan
    gpu_hours: float
    cost: float | None

    def as_dict(self, times: Sequence[float]) -> dict:
        return {
            "peak_gpus": self.peak_gpus,
            "peak_replicas": max(self.replicas, default=0),
            "first_more_gpus_t": self.first_more_gpus_t,
            "gpu_hours": self.gpu_hours,
            "cost": self.cost,
            "replicas": list(self.replicas),
            "gpus": list(self.gpus),
        }


def replicas_for(demand: float, peak_factor: float, basis: CapacityBasis) -> int:
    need = math.ceil(demand * peak_factor / (basis.per_replica * basis.target_utilization) - 1e-9)
    return max(basis.min_replicas, need) + basis.redundancy


def capacity_timeline(
    points: Sequence[Any],
    step_s: float,
    peak_factor: float,
    basis: CapacityBasis,
    quantile: Quantile = "p80",
    spike: Spike = Spike(),
) -> dict[str, ScenarioCapacity]:
    hours = step_s / 3600.0
    out = {}
    for name, demand in scenario_demand(points, quantile, spike).items():
        replicas = tuple(replicas_for(d, peak_factor, basis) for d in demand)
        gpus = tuple(r * basis.gpus_per_replica for r in replicas)
        first = next((points[i].t for i, g in enumerate(gpus) if g > basis.today_gpus), None)
        gpu_hours = float(sum(gpus) * hours)
        cost = gpu_hours * basis.price_per_gpu_hour if basis.price_per_gpu_hour is not None else None
        out[name] = ScenarioCapacity(name, replicas, gpus, max(gpus, default=0), first, gpu_hours, cost)
    return out
