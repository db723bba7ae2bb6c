"""What one engine step of one serving replica costs: the per-step roofline behind every serving
figure.

A step of a continuous-batching engine runs one forward pass over `decode` running sequences
(one token each, attending over their context) and, with chunked prefill, `prefill` prompt
tokens. Its time on the busiest GPU of the replica is

    step = max(memory time, compute time) + collectives + per-layer and per-step overheads

- memory time: the weights the step touches (every dense weight; for MoE only the experts its
  tokens route to, E * (1 - (1 - k/E)^T) of them for T tokens under uniform routing) plus every
  running sequence's KV cache, at the achieved HBM bandwidth;
- compute time: 2 FLOPs per active parameter per token (Kaplan et al. 2020) split by what runs at
  which precision (MoE experts at the checkpoint's precision, the rest at the activation
  precision), plus attention over the context: 4 * heads * head_dim per context token for
  MHA/GQA (QK^T and PV), and for MLA decode the absorbed form, 2 * heads * (kv_lora_rank +
  rope_dim) + 2 * heads * kv_lora_rank (DeepSeek-V2 paper, sec. 2.1.2 / appendix on weight
  absorption), at the achieved fraction of the dense tensor peak;
- collectives: two all-reduces per layer under tensor parallelism (Megatron-LM, Shoeybi et al.
  2019, sec. 3), ring cost 2 (n-1)/n of the message per GPU (Patarasuk & Yuan 2009); with expert
  parallelism and data-parallel attention, one dispatch and one combine all-to-all per MoE layer
  (DeepSeek-V3 report sec. 3.4) instead;
- MoE experts: grouped GEMMs over a few tokens per expert, with expert widths sliced by TP,
  reach a lower share of the peak than dense GEMMs, and their scattered weight tiles stream below
  the dense GEMV rate: two global factors (moe_flops, moe_bandwidth) scale the expert terms;
- overheads: a fixed cost per decoder layer (the small kernels a layer launches even inside a
  CUDA graph: norms, rotary, routing, quantisation) and per step (scheduler, sampler, host
  synchronisation), fitted per engine in engine/calibration.py.

`replica_profile(...)` folds the model, GPU, formats, layout and engine into a `ReplicaProfile`
once (cached); `step_seconds(profile, ...)` is then a few dozen float operations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from .calibration import ServingEfficiency, serving_efficiency
from .hardware import GpuSpec
from .memory import WEIGHT_BITS, kv_dtype_bytes
from .model import KvFootprint, ModelSpec, count_params, kv_footprint

# Formats whose checkpoints quantise only the routed experts (gpt-oss MXFP4; NVFP4/MXFP4
# re-quantisations of DeepSeek-R1 keep attention and dense layers in their native format).
_EXPERTS_ONLY = {"mxfp4"}
_WEIGHT_ONLY_4BIT = {"int4", "awq", "gptq", "nf4"}
PCIE_GBS = 64.0  # PCIe Gen5 x16 bidirectional, when the GPU has no link figure
ACTIVATION_BYTES = 2.0  # bf16 activations on the wire


def gpu_generation(gpu: GpuSpec) -> str:
    """The architecture generation the efficiency tables are keyed by, read from the catalog id
    and name (inline GPUs without a recognisable name fall back to 'other')."""
    key = f"{gpu.id} {gpu.name}".lower()
    if gpu.vendor == "amd" or "mi3" in key or "instinct" in key:
        return "cdna4" if ("mi355" in key or "mi350" in key) else "cdna3"
    for marks, gen in (
        (("b300", "gb300", "b200", "gb200", "b100", "blackwell", "rtx-50", "rtx 50"), "blackwell"),
        (("h100", "h200", "h800", "h20", "gh200", "hopper"), "hopper"),
        (("l40", "l4", "rtx-40", "rtx 40", "ada"), "ada"),
        (("a100", "a10", "a30", "a40", "rtx-30", "rtx 30", "ampere"), "ampere"),
    ):
        if any(m in key for m in marks):
            return gen
    return "other"


def link_kind(gpu: GpuSpec) -> str:
    text = (gpu.interconnect or "").lower()
    if "nvlink" in text:
        return "nvlink"
    if "infinity" in text:
        return "infinity-fabric"
    return "pcie"


def compute_precision(gpu: GpuSpec, weights: str, part: str, native_quant: str | None) -> str:
    """Tensor-core path a GEMM runs on: 'fp4', 'fp8', 'bf16', or 'w4a16' / 'w8a16' (weight-only:
    weights dequantised to 16-bit inside the kernel, Marlin/Machete/Triton, at 16-bit peak).

    `part` is 'experts' or 'dense'. FP8 checkpoints run W8A8 where the GPU has FP8 tensor cores,
    else weight-only; MXFP4/NVFP4 experts run at FP4 rate only on parts with FP4 tensor cores
    (Blackwell, CDNA4), else weight-only (Hopper, CDNA3: vLLM's gpt-oss Marlin/Triton path).
    AWQ/GPTQ/NF4 and GPTQ-int8 are weight-only formats."""
    if weights in _EXPERTS_ONLY and part == "dense":
        weights = native_quant if native_quant == "fp8" else "bf16"
    if weights == "mxfp4":
        return "fp4" if gpu.fp4_tflops else "w4a16"
    if weights == "fp8":
        return "fp8" if gpu.fp8_tflops else "w8a16"
    if weights in _WEIGHT_ONLY_4BIT:
        return "w4a16"
    if weights == "int8":
        return "w8a16"
    return "bf16"


def _peak_tflops(gpu: GpuSpec, precision: str) -> float | None:
    if precision in ("w4a16", "w8a16"):
        return gpu.bf16_tflops
    if precision == "fp4":
        return gpu.fp4_tflops or gpu.fp8_tflops or gpu.bf16_tflops
    if precision == "fp8":
        return gpu.fp8_tflops or gpu.bf16_tflops
    return gpu.bf16_tflops


@dataclass(frozen=True, slots=True)
class ReplicaProfile:
    """Per-step constants of one replica on its busiest GPU (bytes, FLOPs and seconds)."""

    gpus: int
    tensor_parallel: int
    expert_parallel: int
    attention_dp: int  # data-parallel attention ranks (1: attention split by TP)
    layers: int
    moe_layers: int
    num_experts: int
    experts_per_token: int
    dense_bytes: float  # weights read every step, per GPU
    expert_bytes: float  # all routed experts this GPU holds
    kv: KvFootprint  # per GPU, one sequence
    dense_flops_per_token: float  # per GPU
    expert_flops_per_token: float  # per GPU
    head_flops_per_token: float  # LM head, decode tokens only, per GPU
    decode_attn_flops: float  # per decode token per context token, per GPU
    prefill_attn_flops: float  # per prefill token per context token, per GPU
    bandwidth: float  # achieved bytes/s
    dense_rate: float  # achieved FLOP/s
    expert_rate: float
    attn_rate: float
    allreduces_per_step: int
    alltoalls_per_step: int
    link_bytes_per_s: float  # one direction
    collective_latency_s: float
    layer_overhead_s: float
    step_overhead_s: float
    ttft_overhead_s: float
    ttft_wave: float
    hidden_size: int
    mixed_prefill: bool  # prefill chunks ride in decode steps (vLLM, TensorRT-LLM) or stall them
    known: bool = True
    reason: str = ""
    # Datasheet peaks the achieved figures above came from (apply_efficiency recomputes them).
    peak_bandwidth: float = 0.0
    peak_expert_bytes: float = 0.0
    peak_bf16: float = 0.0
    peak_fp8: float = 0.0
    peak_flops: tuple[tuple[str, float], ...] = ()  # (precision, FLOP/s) of dense, expert, attention GEMMs
    link: str = "pcie"


def _unknown(reason: str) -> ReplicaProfile:
    kv = KvFootprint(0.0, 0, 0, 0, 0.0, 0.0, None)
    return ReplicaProfile(1, 1, 1, 1, 1, 0, 0, 0, 0.0, 0.0, kv, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0,
                          0, 0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1, False, False, reason)


def replica_profile(
    spec: ModelSpec,
    gpu: GpuSpec,
    weights: str,
    kv_cache: str = "auto",
    tensor_parallel: int = 1,
    expert_parallel: int = 1,
    engine: str = "vllm",
    dp_attention: bool = False,
    efficiency: ServingEfficiency | None = None,
) -> ReplicaProfile:
    """Fold everything a step's cost depends on but the batch. `efficiency` overrides the
    calibrated factors (the fitting script in bench/ passes candidates)."""
    raw = raw_profile(spec, gpu, weights, kv_cache, tensor_parallel, expert_parallel, engine, dp_attention)
    if efficiency is None:
        return _calibrated(raw, gpu_generation(gpu), engine, gpu.vendor)
    return apply_efficiency(raw, efficiency)


@lru_cache(maxsize=4096)
def _calibrated(raw: ReplicaProfile, generation: str, engine: str, vendor: str) -> ReplicaProfile:
    return apply_efficiency(raw, serving_efficiency(generation, engine, vendor))


def apply_efficiency(raw: ReplicaProfile, eff: ServingEfficiency) -> ReplicaProfile:
    """The profile with achieved bandwidth, FLOP rates and overheads from `eff`."""
    if not raw.known:
        return raw
    # Expert weights stream in scattered per-expert tiles: their bytes move at moe_bandwidth of
    # the dense rate, which is folded into the bytes so the step keeps one bandwidth.
    raw = replace(raw, expert_bytes=raw.peak_expert_bytes / eff.moe_bandwidth)
    (dp_, dense), (ep_, expert), (ap_, attn) = raw.peak_flops

    def achieved(precision: str, peak: float) -> float:
        # A faster format is never run slower than the 16-bit path the engine could fall back to.
        rate = peak * eff.flops_fraction(precision)
        if precision in ("fp8", "fp4"):
            rate = max(rate, raw.peak_bf16 * eff.flops_fraction("bf16"))
        if precision == "fp4":
            rate = max(rate, raw.peak_fp8 * eff.flops_fraction("fp8"))
        return rate

    return replace(
        raw,
        bandwidth=raw.peak_bandwidth * eff.bandwidth,
        dense_rate=achieved(dp_, dense),
        expert_rate=achieved(ep_, expert) * eff.moe_flops,
        attn_rate=achieved(ap_, attn),
        collective_latency_s=eff.collective_latency(raw.link),
        layer_overhead_s=eff.layer_overhead_s,
        step_overhead_s=eff.step_overhead_s,
        ttft_overhead_s=eff.ttft_overhead_s,
        ttft_wave=eff.ttft_wave,
    )


@lru_cache(maxsize=4096)
def raw_profile(
    spec: ModelSpec,
    gpu: GpuSpec,
    weights: str,
    kv_cache: str = "auto",
    tensor_parallel: int = 1,
    expert_parallel: int = 1,
    engine: str = "vllm",
    dp_attention: bool = False,
) -> ReplicaProfile:
    """The profile at datasheet peaks (efficiency 1, no overheads), cached per layout."""
    if not gpu.bandwidth_tbs:
        return _unknown(f"{gpu.label}: memory bandwidth unknown")
    if not gpu.bf16_tflops and not gpu.fp8_tflops:
        return _unknown(f"{gpu.label}: tensor FLOPS unknown")
    params = count_params(spec)
    tp = max(1, tensor_parallel)
    dp = tp if dp_attention else 1
    ep = max(1, expert_parallel)
    bits = WEIGHT_BITS[weights]
    experts_only = weights in _EXPERTS_ONLY and spec.is_moe
    dense_bits = (8.0 if spec.native_quant == "fp8" else 16.0) if experts_only else bits
    expert_params = params.experts
    attention, other_dense = params.attention, params.block_linear - params.experts - params.attention
    # Attention weights: split by TP, or whole on every rank under data-parallel attention.
    attn_share = 1.0 if dp_attention else 1.0 / tp
    dense_bytes = (
        attention * attn_share * dense_bits / 8
        + other_dense / tp * dense_bits / 8
        + (params.lm_head or params.embedding) * 2.0 / tp
        + params.norms * 2.0
    )
    # Experts are split over every GPU of the replica either way (TP slices each expert, EP
    # places whole experts), so a GPU holds 1/tp of them.
    expert_bytes = expert_params * bits / 8 / tp

    kv = kv_footprint(spec, kv_dtype_bytes(spec, kv_cache, weights), 1 if dp_attention else tp)

    idle = spec.num_experts - spec.experts_per_token if spec.is_moe else 0
    moe_layers = sum(spec.moe_layers) if spec.moe_layers else 0
    active_expert_params = expert_params - (expert_params * idle / spec.num_experts if spec.is_moe else 0)
    dense_active = params.active - params.embedding - params.lm_head - active_expert_params - params.norms
    dense_flops = 2.0 * dense_active / tp
    expert_flops = 2.0 * active_expert_params / tp
    head_flops = 2.0 * (params.lm_head or params.embedding) / tp
    if spec.is_mla:
        r = spec.kv_lora_rank + spec.qk_rope_head_dim
        decode_attn = 2.0 * spec.num_heads * (r + spec.kv_lora_rank)
        prefill_attn = 2.0 * spec.num_heads * (spec.qk_nope_head_dim + spec.qk_rope_head_dim + spec.v_head_dim)
    else:
        decode_attn = prefill_attn = 4.0 * spec.num_heads * spec.head_dim
    attn_layers = kv.full_layers + kv.sliding_layers
    decode_attn *= attn_layers / tp
    prefill_attn *= attn_layers / tp

    dense_prec = compute_precision(gpu, weights, "dense", spec.native_quant)
    expert_prec = compute_precision(gpu, weights, "experts", spec.native_quant)
    kv_prec = "fp8" if kv_cache == "fp8" and gpu.fp8_tflops else "bf16"

    def rate(precision: str) -> float:
        return (_peak_tflops(gpu, precision) or gpu.fp8_tflops or 1.0) * 1e12

    uses_a2a = spec.is_moe and ep > 1 and dp_attention
    allreduces = 0 if tp == 1 else (spec.num_layers * 2 if not uses_a2a else (spec.num_layers - moe_layers) * 2)
    alltoalls = 2 * moe_layers if uses_a2a else 0
    link = (gpu.interconnect_gbs or PCIE_GBS) / 2 * 1e9
    return ReplicaProfile(
        gpus=tp,
        tensor_parallel=tp,
        expert_parallel=ep,
        attention_dp=dp,
        layers=spec.num_layers,
        moe_layers=moe_layers,
        num_experts=spec.num_experts,
        experts_per_token=spec.experts_per_token,
        dense_bytes=dense_bytes,
        expert_bytes=expert_bytes,
        kv=kv,
        dense_flops_per_token=dense_flops,
        expert_flops_per_token=expert_flops,
        head_flops_per_token=head_flops,
        decode_attn_flops=decode_attn,
        prefill_attn_flops=prefill_attn,
        bandwidth=gpu.bandwidth_tbs * 1e12,
        dense_rate=rate(dense_prec),
        expert_rate=rate(expert_prec),
        attn_rate=rate(kv_prec),
        allreduces_per_step=allreduces,
        alltoalls_per_step=alltoalls,
        link_bytes_per_s=link,
        collective_latency_s=0.0,
        layer_overhead_s=0.0,
        step_overhead_s=0.0,
        ttft_overhead_s=0.0,
        ttft_wave=0.0,
        hidden_size=spec.hidden_size,
        mixed_prefill=engine != "sglang",
        peak_bandwidth=gpu.bandwidth_tbs * 1e12,
        peak_expert_bytes=expert_bytes,
        peak_bf16=rate("bf16"),
        peak_fp8=rate("fp8"),
        peak_flops=((dense_prec, rate(dense_prec)), (expert_prec, rate(expert_prec)), (kv_prec, rate(kv_prec))),
        link=link_kind(gpu),
    )


def experts_touched_fraction(profile: ReplicaProfile, tokens: float) -> float:
    """Share of the experts a step reads when `tokens` tokens each route to k of E experts,
    uniformly: 1 - (1 - k/E)^T (the expected distinct experts over E)."""
    if not profile.num_experts or tokens <= 0:
        return 0.0
    return 1.0 - (1.0 - profile.experts_per_token / profile.num_experts) ** tokens


def step_seconds(
    p: ReplicaProfile,
    decode: float,
    context: float,
    prefill: float = 0.0,
    prefill_context: float = 0.0,
    tokens_per_sequence: float = 1.0,
) -> float:
    """Time of one step on the busiest GPU: `decode` running sequences at average `context`
    tokens each (`tokens_per_sequence` > 1 when speculative decoding verifies drafts) and
    `prefill` prompt tokens attending over `prefill_context` tokens on average. The replica's
    sequences are spread over the data-parallel attention ranks."""
    dec_tokens = decode * tokens_per_sequence
    tokens = dec_tokens + prefill
    dp = p.attention_dp
    # Memory: dense weights, touched experts, every local sequence's cache.
    kv_bytes = (decode / dp) * p.kv.sequence_bytes(int(context)) if decode > 0 else 0.0
    mem = (p.dense_bytes + p.expert_bytes * experts_touched_fraction(p, tokens) + kv_bytes) / p.bandwidth
    # Compute: linear layers, LM head on decode tokens, attention over the context.
    comp = (
        p.dense_flops_per_token * tokens / p.dense_rate
        + p.expert_flops_per_token * tokens / p.expert_rate
        + p.head_flops_per_token * dec_tokens / p.dense_rate
        + (p.decode_attn_flops * dec_tokens * context + p.prefill_attn_flops * prefill * prefill_context) / p.attn_rate
    )
    comm = 0.0
    if p.allreduces_per_step:
        n = p.tensor_parallel
        message = tokens / dp * p.hidden_size * ACTIVATION_BYTES
        comm += p.allreduces_per_step * (p.collective_latency_s + 2 * (n - 1) / n * message / p.link_bytes_per_s)
    if p.alltoalls_per_step:
        n = p.expert_parallel
        # dispatch (fp8) + combine (bf16) of k copies of each local token, averaged per all-to-all
        message = tokens / dp * p.experts_per_token * p.hidden_size * 1.5
        comm += p.alltoalls_per_step * (p.collective_latency_s + (n - 1) / n * message / p.link_bytes_per_s)
    return max(mem, comp) + comm + p.layers * p.layer_overhead_s + p.step_overhead_s
