"""Fine-tuning and training: memory per GPU, speed, duration, GPU count and cost of one run.

The pieces live beside this module: engine/training_memory.py (model states, adapters,
activations, logits, overhead per GPU; ZeRO, LoRA/QLoRA/DoRA, recompute, TP/PP/CP/EP) and
engine/training_speed.py (FLOPs per token, communication, step time, MFU). This module puts them
together for one run, picks the GPU count when the session leaves it open (the fewest that fit,
and finish by `deadline_hours`), finds the largest micro-batch and the longest sequence that fit,
and prices the run. A what-if table compares methods and ZeRO stages for the same run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .hardware import GIB, GpuSpec
from .inputs import TrainingInputs
from .model import ModelSpec, ParamCounts
from .training_memory import MemoryEstimate, layout, lora_params, memory_per_gpu, target_modules
from .training_speed import SpeedEstimate, estimate_speed

__all__ = [
    "TrainingEstimate", "WhatIfRow", "estimate_training", "lora_params", "target_modules", "what_if",
]


@dataclass(frozen=True, slots=True)
class TrainingEstimate:
    trainable_params: int
    weights_gib: float
    gradients_gib: float
    optimizer_gib: float
    activations_gib: float
    overhead_gib: float
    total_gib: float
    gpu_gib: float
    fits: bool
    data_parallel: int
    tokens: float
    flops: float
    hours: float | None
    gpu_hours: float | None
    cost: float | None
    tokens_per_s: float | None
    reason: str = ""
    # issue 8
    gpu_id: str = ""
    gpus: int = 0
    gpus_chosen: bool = False  # True: the planner picked the count
    breakdown_gib: dict[str, float] | None = None
    adapters_gib: float = 0.0
    logits_gib: float = 0.0
    max_micro_batch: int = 0
    max_sequence_length: int = 0
    tokens_per_s_per_gpu: float | None = None
    step_time_s: float | None = None
    mfu: float | None = None
    hfu: float | None = None
    mfu_source: str = "calibration"
    comm_exposed_s: float | None = None
    bubble_s: float | None = None
    meets_deadline: bool | None = None
    peak_phase: str = "backward"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WhatIfRow:
    method: str
    zero_stage: int
    gpus: int
    memory_per_gpu_gib: float
    fits: bool
    duration_hours: float | None
    gpu_hours: float | None
    cost: float | None


def _fits(mem: MemoryEstimate, gpu: GpuSpec) -> bool:
    return mem.total <= gpu.memory_bytes


def _replica(t: TrainingInputs) -> int:
    return t.tensor_parallel * t.pipeline_parallel * t.context_parallel


def _hfu(t: TrainingInputs, spec: ModelSpec, gpu: GpuSpec, params: ParamCounts) -> float | None:
    """A user-given MFU is converted to the kernel efficiency the speed model takes (HFU)."""
    if t.mfu is None:
        return None
    from .training_speed import flops_per_token

    f = flops_per_token(spec, params, t, t.sequence_length)
    return t.mfu * f.hardware_per_token / f.model_per_token


def _duration_hours(speed: SpeedEstimate, tokens: float, gpus: int) -> float | None:
    if speed.tokens_per_s_per_gpu <= 0 or not math.isfinite(speed.tokens_per_s_per_gpu):
        return None
    return tokens / (speed.tokens_per_s_per_gpu * gpus) / 3600


def _search_first(lo: int, hi: int, ok) -> int | None:
    """Smallest n in [lo, hi] with ok(n), for ok monotone (False ... True)."""
    if not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _search_last(lo: int, hi: int, ok) -> int:
    """Largest n in [lo, hi] with ok(n) (0 when none), for ok monotone (True ... False)."""
    if not ok(lo):
        return 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def choose_gpus(spec: ModelSpec, params: ParamCounts, gpu: GpuSpec, t: TrainingInputs, gpus_per_node: int) -> int | None:
    """The fewest GPUs (whole replicas) on which the run fits and, with a deadline, finishes in
    time. None when even `max_gpus` is not enough."""
    rep = _replica(t)
    top = max(1, t.max_gpus // rep)

    def fits(k: int) -> bool:
        return _fits(memory_per_gpu(spec, params, t, k * rep), gpu)

    # memory per GPU falls with more replicas only through sharding; walk doublings then bisect
    k = 1
    while k < top and not fits(k):
        k *= 2
    k = min(k, top)
    if not fits(k):
        return None
    first = _search_first(max(1, k // 2), k, fits) or k
    if t.deadline_hours is None:
        return first * rep
    hfu = _hfu(t, spec, gpu, params)
    tokens = t.dataset_tokens * t.epochs

    def in_time(k: int) -> bool:
        n = k * rep
        s = estimate_speed(spec, params, gpu, t, layout(t, n), gpus_per_node, hfu)
        h = _duration_hours(s, tokens, n)
        return h is not None and h <= t.deadline_hours

    k = first
    while k < top and not in_time(k):
        k *= 2
    k = min(k, top)
    if not in_time(k):
        return k * rep  # the best we can do; the estimate says it misses the deadline
    return (_search_first(max(first, k // 2), k, in_time) or k) * rep


def estimate_training(
    spec: ModelSpec, params: ParamCounts, gpu: GpuSpec, t: TrainingInputs, price_per_gpu_hour: float | None,
    gpus_per_node: int = 8, *, search_limits: bool = True,
) -> TrainingEstimate:
    notes: list[str] = []
    chosen = t.gpus is None
    gpus = t.gpus if t.gpus is not None else choose_gpus(spec, params, gpu, t, gpus_per_node)
    if gpus is None:
        gpus = max(_replica(t), (t.max_gpus // _replica(t)) * _replica(t))
        notes.append(f"does not fit on up to {gpus:,} GPUs with this layout")
    lay = layout(t, gpus)
    mem = memory_per_gpu(spec, params, t, gpus)
    fits = _fits(mem, gpu)
    total = mem.total
    reason = ""
    if not fits:
        reason = (f"needs {total / GIB:.1f} GiB per GPU on {gpus} GPU{'s' if gpus > 1 else ''}, "
                  f"the {gpu.label} has {gpu.memory_gib:.1f} GiB")
    hfu = _hfu(t, spec, gpu, params)
    speed = estimate_speed(spec, params, gpu, t, lay, gpus_per_node, hfu)
    tokens = t.dataset_tokens * t.epochs
    hours = _duration_hours(speed, tokens, gpus)
    gpu_hours = hours * gpus if hours is not None else None
    cost = gpu_hours * price_per_gpu_hour if gpu_hours is not None and price_per_gpu_hour else None
    max_mb = max_seq = 0
    if search_limits:
        max_mb = _search_last(1, 1 << 14, lambda b: _fits(memory_per_gpu(spec, params, t, gpus, micro_batch=b), gpu))
        limit = max(spec.max_context or 0, t.sequence_length, 1 << 17)
        max_seq = _search_last(1, limit, lambda s: _fits(memory_per_gpu(spec, params, t, gpus, seq=s), gpu))
    if t.gradient_accumulation and lay.micro_batches != t.gradient_accumulation:
        notes.append(f"global batch {t.global_batch_size} over {lay.dp} replicas at micro-batch "
                     f"{t.micro_batch_size} takes {lay.micro_batches} accumulation steps")
    meets = None if t.deadline_hours is None or hours is None else hours <= t.deadline_hours
    if meets is False:
        notes.append(f"takes {hours:,.1f} h, past the {t.deadline_hours:,.1f} h deadline")
    return TrainingEstimate(
        trainable_params=mem.trainable_params,
        weights_gib=mem.weights / GIB,
        gradients_gib=mem.gradients / GIB,
        optimizer_gib=mem.breakdown_gib()["optimizer"],
        activations_gib=mem.breakdown_gib()["activations"],
        overhead_gib=mem.overhead / GIB,
        total_gib=total / GIB,
        gpu_gib=gpu.memory_gib,
        fits=fits,
        data_parallel=lay.dp,
        tokens=tokens,
        flops=speed.model_flops_per_token * tokens,
        hours=hours,
        gpu_hours=gpu_hours,
        cost=cost,
        tokens_per_s=speed.tokens_per_s_per_gpu * gpus if hours is not None else None,
        reason=reason,
        gpu_id=gpu.id,
        gpus=gpus,
        gpus_chosen=chosen,
        breakdown_gib=mem.breakdown_gib(),
        adapters_gib=mem.adapters / GIB,
        logits_gib=mem.breakdown_gib()["logits"],
        max_micro_batch=max_mb,
        max_sequence_length=max_seq,
        tokens_per_s_per_gpu=speed.tokens_per_s_per_gpu if hours is not None else None,
        step_time_s=speed.step_time_s if hours is not None else None,
        mfu=speed.mfu if hours is not None else None,
        hfu=speed.hfu if hours is not None else None,
        mfu_source="session" if t.mfu is not None else "calibration",
        comm_exposed_s=speed.comm_exposed_s if hours is not None else None,
        bubble_s=speed.bubble_s if hours is not None else None,
        meets_deadline=meets,
        peak_phase=mem.peak_phase,
        notes=tuple(notes),
    )


WHAT_IF_METHODS = ("full", "lora", "qlora")


def what_if(
    spec: ModelSpec, params: ParamCounts, gpu: GpuSpec, t: TrainingInputs, price_per_gpu_hour: float | None,
    gpus_per_node: int = 8,
) -> tuple[WhatIfRow, ...]:
    """The same run under each method and ZeRO stage, at the session's GPU count (or the fewest
    that fit each variant), ranked: fitting rows by cost (GPU-hours without a price), then the rest."""
    rows = []
    for method in WHAT_IF_METHODS:
        for zero in (0, 1, 2, 3):
            v = replace(t, method=method, zero_stage=zero)
            e = estimate_training(spec, params, gpu, v, price_per_gpu_hour, gpus_per_node, search_limits=False)
            rows.append(WhatIfRow(method, zero, e.gpus, round(e.total_gib, 2), e.fits, e.hours, e.gpu_hours, e.cost))

    def key(r: WhatIfRow):
        money = r.cost if r.cost is not None else r.gpu_hours
        return (not r.fits, money if money is not None else math.inf, r.memory_per_gpu_gib)

    return tuple(sorted(rows, key=key))
