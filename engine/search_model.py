"""The configuration search's one door to the serving step model.

Everything `engine/search.py` needs from the speed model goes through these few functions, so
that moving the search to a new step model (the calibrated one of issue 13) is an edit of this
file alone. They must give exactly the figures `plan()` gives for the same configuration: a
winner written back into a session and planned again reproduces the search's numbers (a test
checks it: tests/engine/test_search_cli.py).

plan() sizes speed with engine/inference.py's estimate_inference (the calibrated step model of
engine/serving.py underneath), the scenarios with engine/scenarios.py's size_scenario (the SLA
batch caps a replica's sessions) and refuses the layouts engines refuse: so does this.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from .hardware import GpuSpec
from .inference import InferenceEstimate, estimate_inference, layout_problems
from .inputs import ScenarioKnobs, ServingInputs
from .memory import MemoryBreakdown
from .model import ModelSpec, ParamCounts
from .scenarios import ScenarioSizing, size_scenario
from .step_model import replica_profile


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
    output_tokens_per_s_per_gpu: float | None
    meets_sla: bool | None
    sla_notes: tuple[str, ...]
    curve: tuple[tuple[int, float, float], ...]  # (batch, itl_ms, output tokens/s per GPU)


def layout_refusals(spec: ModelSpec, weights: str, tensor_parallel: int) -> list[str]:
    """Layouts the serving engines refuse beyond heads dividing by TP (plan() checks the same);
    the search keeps expert parallelism and data-parallel attention off."""
    return layout_problems(spec, weights, tensor_parallel, 1, False)


def speed(
    spec: ModelSpec,
    params: ParamCounts,
    memory: MemoryBreakdown,
    gpu: GpuSpec,
    serving: ServingInputs,
    weights: str,
    kv_cache: str,
    tensor_parallel: int,
    pipeline_parallel: int,
) -> Speed:
    est: InferenceEstimate = estimate_inference(
        spec, params, memory, gpu, serving, weights, tensor_parallel,
        kv_cache=kv_cache, expert_parallel=1, dp_attention=False, pipeline_parallel=pipeline_parallel,
    )
    return Speed(
        known=est.known,
        reason=est.reason,
        batch=est.batch,
        ttft_ms=est.ttft_ms,
        itl_ms=est.itl_ms,
        tokens_per_s_replica=est.tokens_per_s_replica,
        requests_per_s_replica=est.requests_per_s_replica,
        output_tokens_per_s_per_gpu=est.output_tokens_per_s_per_gpu,
        meets_sla=est.meets_sla,
        sla_notes=est.sla_notes,
        curve=tuple((p.batch, p.tpot_ms, p.output_tokens_per_s / (tensor_parallel * pipeline_parallel))
                    for p in est.curve),
    )


# Speeds survive between searches (the app reruns the search on every keystroke, and most edits,
# e.g. the demand, leave every candidate's speed as it was). The key is everything
# estimate_inference reads, by value: the model, the GPU, the workload without its demand (the
# step model never reads concurrent_sessions or requests_per_second: the search sizes replicas
# from them), the formats, the layout and the candidate's whole memory breakdown. Threads share
# it (the app's search and Pareto workers), hence the lock; `clear_speed_cache()` empties it
# (the bench's cold figure, and any caller that changes the calibration at run time).
_SPEEDS: dict[tuple, Speed] = {}
_SPEEDS_LOCK = threading.Lock()
# ~4 KB each (the curve's points, the memory breakdown in the key; measured with tracemalloc):
# at most ~8 MB, more than an exhaustive full-catalog search's ~1,100 entries; emptied whole when
# full (a new model or workload fills it anew).
SPEED_CACHE_SIZE = 2048


def workload_key(serving: ServingInputs) -> ServingInputs:
    """The part of the serving inputs a configuration's speed depends on (the demand zeroed)."""
    return dataclasses.replace(serving, concurrent_sessions=0, requests_per_second=0.0)


def cached_speed(spec: ModelSpec, params: ParamCounts, memory: MemoryBreakdown, gpu: GpuSpec, serving: ServingInputs,
                 weights: str, kv_cache: str, tensor_parallel: int, pipeline_parallel: int,
                 workload: ServingInputs | None = None) -> Speed:
    """`speed()`, remembered across searches; `workload`: `workload_key(serving)`, if the caller
    has it already."""
    key = (spec, gpu, workload or workload_key(serving), weights, kv_cache, tensor_parallel, pipeline_parallel, memory)
    with _SPEEDS_LOCK:
        hit = _SPEEDS.get(key)
    if hit is not None:
        return hit
    s = speed(spec, params, memory, gpu, serving, weights, kv_cache, tensor_parallel, pipeline_parallel)
    with _SPEEDS_LOCK:
        if len(_SPEEDS) >= SPEED_CACHE_SIZE:
            _SPEEDS.clear()
        _SPEEDS[key] = s
    return s


def clear_speed_cache() -> None:
    with _SPEEDS_LOCK:
        _SPEEDS.clear()


def unknown_speed(spec: ModelSpec, gpu: GpuSpec, weights: str, engine: str) -> str | None:
    """Why the step model cannot time this GPU (its datasheet lacks bandwidth or tensor FLOPS),
    or None: asked once per GPU before any candidate is evaluated, so that such a GPU's
    candidates are listed as speed-unknown rather than pruned by a cost bound."""
    profile = replica_profile(spec, gpu, weights, "auto", 1, 1, engine, False)
    return None if profile.known else (profile.reason or "speed unknown")


def speed_key(gpu_id: str, weights: str, kv_cache: str, tp: int, pp: int, engine: str, memory: MemoryBreakdown) -> tuple:
    """What `speed()` depends on beyond the model and workload: configurations with the same key
    share one estimate (the step model has per-engine efficiencies and reads the KV pool)."""
    return (gpu_id, weights, kv_cache, tp, pp, engine, memory.kv_pool_bytes)


def size(name: str, knobs: ScenarioKnobs, memory: MemoryBreakdown, serving: ServingInputs, gpus_per_node: int,
         s: Speed) -> ScenarioSizing | None:
    """Replicas, GPUs and nodes of one scenario, as plan() sizes them."""
    return size_scenario(name, knobs, memory, serving.concurrent_sessions, serving.max_num_seqs, gpus_per_node,
                         requests_per_second=serving.requests_per_second,
                         requests_per_s_replica=s.requests_per_s_replica, batch_limit=_batch_limit(serving, s))


def _batch_limit(serving: ServingInputs, s: Speed) -> int | None:
    """plan()'s: the SLA's (or the pinned) batch caps the sessions a replica is planned for."""
    if not s.known:
        return None
    if getattr(serving, "batch", None) or serving.ttft_ms is not None or serving.itl_ms is not None:
        return s.batch
    return None


def served_tokens_per_s(serving: ServingInputs, s: Speed, replicas: int) -> float | None:
    """Output tokens/s the fleet produces: the stated demand, capped by what it can decode
    (plan()'s cost-per-token basis)."""
    capacity = (s.tokens_per_s_replica or 0.0) * replicas
    demand = serving.requests_per_second * serving.output_tokens
    served = min(demand, capacity) if demand > 0 else capacity
    return served or None
