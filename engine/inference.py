"""Serving speed for plan(): the batch a replica runs, its latency and throughput, the SLA verdict
and the curve, from the step model (engine/step_model.py) under continuous batching
(engine/serving.py), capped by what the memory model admits (KV pool, max_num_seqs).

`layout_problems` lists the layouts engines refuse to load, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from .hardware import GpuSpec
from .inputs import ServingInputs
from .memory import MemoryBreakdown
from .model import ModelSpec, ParamCounts
from .serving import BatchChoice, ServingPoint, Speculation, choose_batch, closed_loop, serving_curve
from .step_model import replica_profile

FP8_BLOCK = 128  # DeepSeek-V3-style block-quantised FP8 checkpoints: 128x128 weight blocks


@dataclass(frozen=True, slots=True)
class InferenceEstimate:
    known: bool
    reason: str
    ttft_ms: float | None = None  # at the chosen batch, queueing and prefill interleaving included
    itl_ms_bs1: float | None = None  # TPOT of a lone request
    batch: int = 0  # requests in flight per replica: pinned, or the largest meeting the SLA
    itl_ms: float | None = None  # TPOT at that batch
    tokens_per_s_replica: float | None = None  # output tokens/s of one replica
    requests_per_s_replica: float | None = None
    meets_sla: bool | None = None
    sla_notes: tuple[str, ...] = ()
    curve: tuple[ServingPoint, ...] = ()
    e2e_ms: float | None = None
    tokens_per_s_per_user: float | None = None
    output_tokens_per_s_per_gpu: float | None = None
    total_tokens_per_s_per_gpu: float | None = None
    total_tokens_per_s_replica: float | None = None
    binding_constraint: str = ""  # memory, ttft, itl, throughput or pinned
    binding_reason: str = ""  # the same in words
    running: int = 0  # sequences the engine runs at once at that batch
    max_running: int = 0  # the KV/max_num_seqs cap per replica
    decode_bound: str = ""  # "memory" or "compute"
    gpus_per_replica: int = 1
    speculative_tokens_per_step: float | None = None
    prefill_share: float = 0.0  # share of the replica's time on prompt tokens


def layout_problems(spec: ModelSpec, weights: str, tensor_parallel: int, expert_parallel: int,
                    dp_attention: bool = False) -> list[str]:
    """Reasons a layout fails to load in the serving engines (beyond heads dividing by TP)."""
    problems = []
    tp, ep = tensor_parallel, expert_parallel
    if ep > 1 and not spec.is_moe:
        problems.append(f"expert_parallel={ep} needs a mixture-of-experts model; {spec.label} is dense")
    if spec.is_moe and ep > 1:
        if spec.num_experts % ep:
            problems.append(f"{spec.num_experts} experts do not divide across expert_parallel={ep}")
        if tp % ep and ep % tp:
            problems.append(f"expert_parallel={ep} must divide or be a multiple of tensor_parallel={tp}")
    if dp_attention and tp <= 1:
        problems.append("data-parallel attention needs tensor_parallel > 1 (it replaces TP for attention)")
    if weights == "fp8" and spec.native_quant == "fp8" and tp > 1:
        # Block-quantised FP8 weights cannot be split inside a 128 block: every TP shard of an
        # output dimension must be a whole number of blocks (vLLM issue #25292, Qwen3-30B-A3B-FP8 at
        # TP4: moe_intermediate_size 768 / 4 = 192).
        if spec.is_moe and ep <= 1 and (spec.moe_intermediate_size // tp) % FP8_BLOCK:
            problems.append(
                f"FP8 block-quantised experts: moe_intermediate_size {spec.moe_intermediate_size} / "
                f"tensor_parallel {tp} = {spec.moe_intermediate_size / tp:g} is not a multiple of the "
                f"{FP8_BLOCK} block (vLLM refuses to load it, issue #25292): use expert_parallel or a smaller TP")
        if spec.intermediate_size and (not spec.is_moe or not all(spec.moe_layers or (True,))) \
                and (spec.intermediate_size // tp) % FP8_BLOCK:
            problems.append(
                f"FP8 block-quantised MLP: intermediate_size {spec.intermediate_size} / tensor_parallel {tp} "
                f"is not a multiple of the {FP8_BLOCK} block")
    return problems


def running_cap(memory: MemoryBreakdown, serving: ServingInputs) -> int:
    """Sequences one (attention) rank runs at once: paged KV is allocated as sequences grow, so in
    steady state a running sequence holds its prompt and half its output on average (the engine
    preempts the rare overflow), capped by max_num_seqs."""
    avg = memory.kv.sequence_bytes(serving.prompt_tokens + serving.output_tokens // 2)
    by_kv = int(memory.kv_pool_bytes // avg) if avg > 0 else serving.max_num_seqs
    return max(1, min(by_kv, serving.max_num_seqs))


_BINDING_WORDS = {
    "memory": "the KV cache (or max_num_seqs) caps the batch: more memory per replica would raise throughput",
    "ttft": "time to first token binds: a larger batch would queue prompts past the TTFT SLA",
    "itl": "inter-token latency binds: a larger batch would slow every token past the ITL SLA",
    "throughput": "throughput peaks here: a larger batch would not produce more tokens/s",
    "pinned": "the batch is pinned by [serving] batch",
}


def estimate_inference(
    spec: ModelSpec,
    params: ParamCounts,
    memory: MemoryBreakdown,
    gpu: GpuSpec,
    serving: ServingInputs,
    weights: str,
    tensor_parallel: int,
    *,
    kv_cache: str = "auto",
    expert_parallel: int = 1,
    dp_attention: bool = False,
    pipeline_parallel: int = 1,
) -> InferenceEstimate:
    if not memory.fits:
        return InferenceEstimate(known=False, reason="the model does not fit: no speed to estimate")
    profile = replica_profile(spec, gpu, weights, kv_cache, tensor_parallel, expert_parallel, serving.engine,
                              dp_attention)
    if not profile.known:
        return InferenceEstimate(known=False, reason=profile.reason)
    dp = tensor_parallel if dp_attention else 1
    cap = max(1, running_cap(memory, serving) * dp)
    spec_in = getattr(serving, "speculative", None)
    speculation = Speculation(spec_in.method, spec_in.tokens, spec_in.acceptance) if spec_in else None
    inp, out = serving.prompt_tokens, serving.output_tokens
    budget = serving.max_num_batched_tokens
    curve = serving_curve(profile, inp, out, budget, cap, speculation)
    pinned = getattr(serving, "batch", None)
    choice: BatchChoice = choose_batch(profile, curve, inp, out, serving.ttft_ms, serving.itl_ms, budget, cap,
                                       speculation, pinned)
    pt = choice.point
    if all(q.batch != pt.batch for q in curve):  # the chosen point is on the curve too
        curve = tuple(sorted((*curve, pt), key=lambda q: q.batch))
    bs1 = curve[0] if curve and curve[0].batch == 1 else closed_loop(profile, 1, inp, out, budget, cap, speculation)
    bound_pt = closed_loop(profile, pt.batch, inp, out, budget, cap, speculation, with_bound=True)
    gpus = tensor_parallel * pipeline_parallel
    scale = tensor_parallel / gpus  # pipeline stages multiply GPUs, not the replica's rate
    return InferenceEstimate(
        known=True,
        reason="",
        ttft_ms=pt.ttft_ms,
        itl_ms_bs1=bs1.tpot_ms,
        batch=pt.batch,
        itl_ms=pt.tpot_ms,
        tokens_per_s_replica=pt.output_tokens_per_s,
        requests_per_s_replica=pt.requests_per_s,
        meets_sla=choice.meets_sla,
        sla_notes=choice.notes,
        curve=curve,
        e2e_ms=pt.e2e_ms,
        tokens_per_s_per_user=pt.tokens_per_s_per_user,
        output_tokens_per_s_per_gpu=pt.output_tokens_per_s_per_gpu * scale,
        total_tokens_per_s_per_gpu=pt.total_tokens_per_s_per_gpu * scale,
        total_tokens_per_s_replica=pt.total_tokens_per_s,
        binding_constraint=choice.binding,
        binding_reason=_BINDING_WORDS.get(choice.binding, ""),
        running=pt.running,
        max_running=cap,
        decode_bound=bound_pt.bound,
        gpus_per_replica=gpus,
        speculative_tokens_per_step=speculation.tokens_per_step if speculation else None,
        prefill_share=pt.prefill_share,
    )
