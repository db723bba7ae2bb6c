"""What would make a plan fit (issue 7 item 11): the nearest changes to the inputs, each checked
through the same memory model and layout rules `plan()` uses, cheapest first.

Pure and fast (well under 5 ms: each check is one `inference_memory` call, ~30 us). A suggestion
is a small set of changes (`changes`: PlanInputs field -> value); `apply()` makes the inputs it
describes, and planning those inputs fits: that is what `advise()` checked, so the advice never
names a change that would not fit.

Candidates: tensor parallel 1/2/4/8; fp8 / int8 / int4 weights (only formats smaller than the
current one); an fp8 KV cache; the largest shorter context that fits (never below one session's
prompt + output); a catalog GPU with more memory (at the current TP or less); and, when no single
change fits, pairs of them (TP with a weight format, KV format or context; a larger GPU with fp8
weights; TP 8 x PP 2). Of each kind only the mildest that fits is kept (TP 2 hides TP 4).

Order, cheapest first: the GPU memory one replica provisions (GPUs x GiB, a proxy for its price),
then what the change costs in quality (none for more or larger GPUs, a little for an fp8 KV cache
or a shorter context, more for fp8 weights, most for 4-bit), then the message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .hardware import GIB, GpuSpec
from .inference import layout_problems
from .inputs import PlanInputs
from .memory import WEIGHT_BITS, MemoryBreakdown, inference_memory, weight_bytes_per_gpu
from .model import ParamCounts, check_parallelism, count_params

TP_CHOICES = (1, 2, 4, 8)
WEIGHT_CHOICES = ("fp8", "int8", "int4")  # the usual serving quantisations, mildest first
CONTEXT_FLOOR = 1024  # a context below this is not a serving configuration anyone would suggest
DEFAULT_CONTEXT = 4096  # plan()'s assumption when neither the session nor the model gives one
MAX_SUGGESTIONS = 6
# What a change costs in output quality, in rank order (0: none; more or larger GPUs).
QUALITY_COST = {"tensor_parallel": 0, "pipeline_parallel": 0, "gpu": 0, "kv_cache": 1, "max_model_len": 1,
                "weights:fp8": 2, "weights:int8": 2, "weights:int4": 3}


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One change (or pair of changes) that makes the plan fit, with what it then gives."""

    changes: tuple[tuple[str, Any], ...]  # (PlanInputs field, value); "gpu" holds a GpuSpec
    message: str  # "fits with TP 2", "fits on NVIDIA H200 SXM 141GB at TP 1"
    gpus_per_replica: int
    gpu_id: str
    replica_memory_gib: float  # GPU memory one replica provisions (GPUs x GiB)
    kv_pool_gib: float  # per GPU, after the change
    sessions_per_replica: int
    quality_cost: int
    gpus_per_node: int = 8  # of the node after the change (a new GPU leaves the old server)

    @property
    def edits(self) -> dict[str, Any]:
        """The session fields (dotted paths, DESIGN section 3) that make this change."""
        out: dict[str, Any] = {}
        for name, value in self.changes:
            if name == "gpu":  # the old server does not hold it (sessions/resolve.py rule): none, same node size
                out.update({"hardware.gpu": value.id, "hardware.gpu_spec": None, "hardware.server": None,
                            "hardware.gpus_per_node": self.gpus_per_node})
            elif name in ("tensor_parallel", "pipeline_parallel"):
                out[f"hardware.{name}"] = value
            elif name in ("weights", "kv_cache"):
                out[f"model.{name}"] = value
            elif name == "max_model_len":
                out["serving.max_model_len"] = value
        return out


def apply(inputs: PlanInputs, changes: tuple[tuple[str, Any], ...]) -> PlanInputs:
    """The inputs with `changes` made. A new GPU drops a server that does not hold it (keeping the
    node's GPU count), as the app and the session rule do."""
    out = inputs
    for name, value in changes:
        if name == "max_model_len":
            out = replace(out, serving=replace(out.serving, max_model_len=value))
        elif name == "gpu":
            server = out.server if out.server is not None and out.server.gpu == value.id else None
            out = replace(out, gpu=value, server=server, gpus_per_node=out.node_gpus, prices=())
        else:
            out = replace(out, **{name: value})
    return out


def context_of(inputs: PlanInputs) -> int:
    """The context plan() resolves (engine/plan.py _resolve_context, without its warnings)."""
    wanted, limit = inputs.serving.max_model_len, inputs.model.max_context
    if wanted is None:
        return limit or DEFAULT_CONTEXT
    return min(wanted, limit) if limit else wanted


def check(inputs: PlanInputs, params: ParamCounts | None = None) -> MemoryBreakdown | None:
    """The memory of `inputs` when it fits as plan() decides it (memory, then the layouts the
    engines refuse); None when it does not."""
    spec = inputs.model
    tp, pp = inputs.tensor_parallel, inputs.pipeline_parallel
    if check_parallelism(spec, tp, pp) or layout_problems(spec, inputs.weights, tp, inputs.expert_parallel,
                                                          inputs.dp_attention):
        return None
    memory = inference_memory(spec, inputs.gpu, inputs.serving, weights=inputs.weights, kv_cache=inputs.kv_cache,
                              tensor_parallel=tp, pipeline_parallel=pp, max_model_len=context_of(inputs),
                              params=params)
    return memory if memory.fits else None


def _describe(inputs: PlanInputs, changes: tuple[tuple[str, Any], ...]) -> str:
    parts = []
    gpu = next((v for k, v in changes if k == "gpu"), None)
    tp = next((v for k, v in changes if k == "tensor_parallel"), inputs.tensor_parallel)
    pp = next((v for k, v in changes if k == "pipeline_parallel"), None)
    for name, value in changes:
        if name == "tensor_parallel" and gpu is None:
            parts.append(f"TP {value}" + (f" x PP {pp}" if pp else ""))
        elif name == "weights":
            parts.append(f"{value} weights")
        elif name == "kv_cache":
            parts.append(f"an {value} KV cache")
        elif name == "max_model_len":
            parts.append(f"max_model_len {value:,} (now {context_of(inputs):,})")
    text = "fits"
    if gpu is not None:
        text += f" on {gpu.label} ({gpu.memory_gib:.0f} GiB) at TP {tp}"
    if parts:
        text += (" with " if gpu is None else ", with ") + " and ".join(parts)
    return text


def _quality(changes: tuple[tuple[str, Any], ...]) -> int:
    return sum(QUALITY_COST.get(f"{k}:{v}" if k == "weights" else k, 0) for k, v in changes)


def _suggest(inputs: PlanInputs, changes: tuple[tuple[str, Any], ...], params: ParamCounts) -> Suggestion | None:
    changed = apply(inputs, changes)
    memory = check(changed, params)
    if memory is None:
        return None
    gpus = changed.gpus_per_replica
    message = _describe(inputs, changes)
    if gpus > changed.node_gpus:
        message += f" (a replica of {gpus} GPUs spans nodes of {changed.node_gpus})"
    return Suggestion(changes=changes, message=message, gpus_per_replica=gpus, gpu_id=changed.gpu.id,
                      replica_memory_gib=round(gpus * changed.gpu.memory_gib, 1),
                      kv_pool_gib=round(memory.kv_pool_bytes / GIB, 2),
                      sessions_per_replica=memory.sessions_per_replica, quality_cost=_quality(changes),
                      gpus_per_node=changed.node_gpus)


def _first(inputs: PlanInputs, options: list[tuple[tuple[str, Any], ...]], params: ParamCounts) -> Suggestion | None:
    """The first of `options` (mildest first) that fits."""
    for changes in options:
        found = _suggest(inputs, changes, params)
        if found is not None:
            return found
    return None


def _tp_options(inputs: PlanInputs) -> list[int]:
    return [t for t in TP_CHOICES if t != inputs.tensor_parallel]


def _weight_options(inputs: PlanInputs) -> list[str]:
    bits = WEIGHT_BITS.get(inputs.weights, 16.0)
    return [w for w in WEIGHT_CHOICES if WEIGHT_BITS[w] < bits - 0.5]


def _context_options(inputs: PlanInputs, params: ParamCounts | None = None) -> list[int]:
    """Shorter contexts, longest first: what the KV pool holds now rounded to 1,024 tokens, then
    halvings; never below one session (prompt + output) or CONTEXT_FLOOR."""
    now = context_of(inputs)
    floor = max(CONTEXT_FLOOR, inputs.serving.prompt_tokens + inputs.serving.output_tokens)
    options = []
    memory = inference_memory(inputs.model, inputs.gpu, inputs.serving, weights=inputs.weights,
                              kv_cache=inputs.kv_cache, tensor_parallel=inputs.tensor_parallel,
                              pipeline_parallel=inputs.pipeline_parallel, max_model_len=now, params=params)
    held = memory.kv_capacity_tokens // 1024 * 1024
    if held < floor:
        return []  # the pool does not hold one shortest context: no shorter context helps
    if floor <= held < now:
        options.append(held)
    length = 1 << ((now - 1).bit_length() - 1) if now > 1 else 0  # the power of two below `now`
    while length >= floor:
        if length < now and length not in options:
            options.append(length)
        length //= 2
    return sorted(options, reverse=True)


def _larger_gpus(inputs: PlanInputs) -> list[GpuSpec]:
    seen = {inputs.gpu.id}
    out = []
    choices = inputs.gpu_choices() if callable(inputs.gpu_choices) else inputs.gpu_choices
    for g in sorted(choices, key=lambda g: (g.memory_gib, g.id)):
        if g.id not in seen and g.memory_gib > inputs.gpu.memory_gib:
            seen.add(g.id)
            out.append(g)
    return out


def _gpu_layouts(inputs: PlanInputs, params: ParamCounts, weights: str | None = None) -> list[tuple[GpuSpec, int]]:
    """(larger GPU, TP at most the current one), smallest GPU first, leaving out the GPUs whose
    memory the weights alone fill at that TP (a quick bound before the full check)."""
    fmt = weights or inputs.weights
    tps = [t for t in TP_CHOICES if t <= inputs.tensor_parallel]
    need = {t: weight_bytes_per_gpu(inputs.model, params, fmt, t, inputs.pipeline_parallel) for t in tps}
    return [(g, t) for g in _larger_gpus(inputs) for t in tps if need[t] < g.memory_bytes]


def advise(inputs: PlanInputs, params: ParamCounts | None = None, limit: int = MAX_SUGGESTIONS) -> tuple[Suggestion, ...]:
    """The changes that would make `inputs` fit, cheapest first (see the module docstring).
    Empty when it fits already, or when nothing tried fits."""
    params = params or count_params(inputs.model)
    if check(inputs, params) is not None:
        return ()
    tps = _tp_options(inputs)
    weights = _weight_options(inputs)
    found: list[Suggestion | None] = [
        _first(inputs, [(("tensor_parallel", t),) for t in tps], params),
        _first(inputs, [(("weights", w),) for w in weights], params),
        _first(inputs, [(("kv_cache", "fp8"),)] if inputs.kv_cache != "fp8" else [], params),
        _first(inputs, [(("max_model_len", n),) for n in _context_options(inputs, params=params)], params),
        _first(inputs, [(("gpu", g), ("tensor_parallel", t)) for g, t in _gpu_layouts(inputs, params)], params),
    ]
    singles = [s for s in found if s is not None]
    if not singles:  # pairs, only when no single change is enough
        pairs: list[Suggestion | None] = [
            _first(inputs, [(("tensor_parallel", t), ("weights", w)) for t in tps for w in weights], params),
            _first(inputs, [(("tensor_parallel", t), ("kv_cache", "fp8")) for t in tps]
                   if inputs.kv_cache != "fp8" else [], params),
            _first(inputs, [(("gpu", g), ("tensor_parallel", t), ("weights", w)) for w in weights[:1]
                            for g, t in _gpu_layouts(inputs, params, w)], params),
            _first(inputs, [(("tensor_parallel", 8), ("pipeline_parallel", 2))]
                   if inputs.pipeline_parallel < 2 else [], params),
        ]
        for t in tps:  # TP with the longest context that then fits
            wider = apply(inputs, (("tensor_parallel", t),))
            pair = _first(inputs, [(("tensor_parallel", t), ("max_model_len", n))
                                   for n in _context_options(wider, params=params)], params)
            if pair is not None:
                pairs.append(pair)
                break
        singles = [s for s in pairs if s is not None]
    singles.sort(key=lambda s: (s.replica_memory_gib, s.quality_cost, s.message))
    return tuple(singles[:limit])


def advice_dict(s: Suggestion) -> dict[str, Any]:
    """One suggestion in the JSON report's `advice` list."""
    return {
        "message": s.message,
        "edits": s.edits,
        "gpu": s.gpu_id,
        "gpus_per_replica": s.gpus_per_replica,
        "replica_memory_gib": s.replica_memory_gib,
        "kv_pool_gib": s.kv_pool_gib,
        "sessions_per_replica": s.sessions_per_replica,
    }
