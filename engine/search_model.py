"""The configuration search's one door to the serving step model.

Everything `engine/search.py` needs from the speed model goes through these few functions, so
that moving the search to a new step model (the calibrated one of issue 13) is an edit of this
file alone. They must give exactly the figures `plan()` gives for the same configuration: a
winner written back into a session and planned again reproduces the search's numbers (a test
checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .hardware import GpuSpec
from .inference import InferenceEstimate, estimate_inference
from .inputs import ServingInputs
from .memory import MemoryBreakdown
from .model import ModelSpec, ParamCounts


@dataclass(frozen=True, slots=True)
class Speed:
    """What the search reads of one configuration's speed."""

    known: bool
    reason: str
    batch: int
    ttft_ms: float | None
    itl_ms: float | None
    tokens_per_s_replica: float | None
    requests_per_s_replica: float | None
    meets_sla: bool | None
    sla_notes: tuple[str, ...]
    curve: tuple[tuple[int, float, float], ...]  # (batch, itl_ms, output tokens/s per replica)


def speed(
    spec: ModelSpec,
    params: ParamCounts,
    memory: MemoryBreakdown,
    gpu: GpuSpec,
    serving: ServingInputs,
    weights: str,
    tensor_parallel: int,
    pipeline_parallel: int,
) -> Speed:
    est: InferenceEstimate = estimate_inference(spec, params, memory, gpu, serving, weights, tensor_parallel)
    return Speed(
        known=est.known,
        reason=est.reason,
        batch=est.batch,
        ttft_ms=est.ttft_ms,
        itl_ms=est.itl_ms,
        tokens_per_s_replica=est.tokens_per_s_replica,
        requests_per_s_replica=est.requests_per_s_replica,
        meets_sla=est.meets_sla,
        sla_notes=est.sla_notes,
        curve=tuple((p.batch, p.itl_ms, p.tokens_per_s) for p in est.curve),
    )


def speed_key(gpu_id: str, weights: str, kv_cache: str, tp: int, pp: int, engine: str, memory: MemoryBreakdown) -> tuple:
    """What `speed()` depends on beyond the model and workload: configurations with the same key
    share one estimate. This roofline reads the engine only through the batch the KV pool allows."""
    return (gpu_id, weights, kv_cache, tp, pp, memory.sessions_per_replica)


def replicas_for_rate(serving: ServingInputs, s: Speed) -> int:
    """Replicas the request rate alone needs (as plan() sizes the scenarios)."""
    if s.requests_per_s_replica and serving.requests_per_second > 0:
        return math.ceil(serving.requests_per_second / s.requests_per_s_replica)
    return 0


def served_tokens_per_s(serving: ServingInputs, s: Speed, replicas: int) -> float | None:
    """Output tokens/s the fleet produces: the stated demand, capped by what it can decode
    (plan()'s cost-per-token basis)."""
    capacity = (s.tokens_per_s_replica or 0.0) * replicas
    demand = serving.requests_per_second * serving.output_tokens
    served = min(demand, capacity) if demand > 0 else capacity
    return served or None
