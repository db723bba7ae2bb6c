"""Serving speed: a roofline per step with efficiency factors.

Decode is memory-bound at small batches: each step reads the weights a batch touches (for MoE,
only the experts its tokens route to) plus every sequence's KV cache; prefill is compute-bound.
Tensor parallelism adds two all-reduces per layer (Megatron-LM, Shoeybi et al. 2019, sec. 3).
"""

from __future__ import annotations

from dataclasses import dataclass

from .hardware import GpuSpec
from .inputs import ServingInputs
from .memory import WEIGHT_BITS, MemoryBreakdown
from .model import ModelSpec, ParamCounts

# Achievable fractions of the datasheet peaks (typical of vLLM/TensorRT-LLM kernels on Hopper;
# the bs=1 decode points of the Qwen2.5 speed benchmark sit at 60-75% of HBM bandwidth).
BANDWIDTH_EFFICIENCY = 0.75
PREFILL_MFU = 0.55
DECODE_MFU = 0.35
ALLREDUCE_LATENCY_S = 8e-6  # per all-reduce on NVLink, small messages
PCIE_GBS = 64.0  # PCIe Gen5 x16 bidirectional, when the GPU has no NVLink figure


@dataclass(frozen=True, slots=True)
class SpeedPoint:
    batch: int
    itl_ms: float  # inter-token latency of one decode step
    tokens_per_s: float  # output tokens/s of one replica


@dataclass(frozen=True, slots=True)
class InferenceEstimate:
    known: bool
    reason: str
    ttft_ms: float | None = None  # prefill of one average prompt, unloaded
    itl_ms_bs1: float | None = None
    batch: int = 0  # the largest batch meeting the ITL SLA within the KV-limited sessions
    itl_ms: float | None = None  # at that batch
    tokens_per_s_replica: float | None = None
    requests_per_s_replica: float | None = None
    meets_sla: bool | None = None
    sla_notes: tuple[str, ...] = ()
    curve: tuple[SpeedPoint, ...] = ()


def _peak_flops(gpu: GpuSpec, weights: str) -> float | None:
    tflops = gpu.fp8_tflops if weights == "fp8" and gpu.fp8_tflops else gpu.bf16_tflops
    return tflops * 1e12 if tflops else None


def _expected_experts_touched(spec: ModelSpec, batch: int) -> float:
    """Distinct experts a batch of tokens routes to, if routing were uniform:
    E * (1 - (1 - k/E)^B)."""
    e, k = spec.num_experts, spec.experts_per_token
    return e * (1.0 - (1.0 - k / e) ** batch)


def decode_step_s(
    spec: ModelSpec,
    params: ParamCounts,
    memory: MemoryBreakdown,
    gpu: GpuSpec,
    weights: str,
    batch: int,
    context: int,
    tensor_parallel: int,
) -> float:
    bw = gpu.bandwidth_tbs * 1e12 * BANDWIDTH_EFFICIENCY
    weight_bytes = memory.weights_bytes
    if spec.is_moe and params.experts:
        bits = WEIGHT_BITS[weights]
        expert_bytes_total = params.experts * bits / 8 / tensor_parallel
        touched = _expected_experts_touched(spec, batch) / spec.num_experts
        weight_bytes -= expert_bytes_total * (1.0 - touched)
    kv_bytes = batch * memory.kv.sequence_bytes(context)
    mem_s = (weight_bytes + kv_bytes) / bw
    flops = _peak_flops(gpu, weights)
    compute_s = 2 * (params.active - params.embedding) * batch / (tensor_parallel * flops * DECODE_MFU) if flops else 0.0
    return max(mem_s, compute_s) + _allreduce_s(spec, gpu, batch, tensor_parallel)


def _allreduce_s(spec: ModelSpec, gpu: GpuSpec, tokens: int, tensor_parallel: int) -> float:
    if tensor_parallel <= 1:
        return 0.0
    link = (gpu.interconnect_gbs or PCIE_GBS) / 2 * 1e9  # one direction
    # Ring all-reduce moves 2*(n-1)/n of the message per GPU (Patarasuk & Yuan 2009).
    message = tokens * spec.hidden_size * 2.0
    per = ALLREDUCE_LATENCY_S + 2 * (tensor_parallel - 1) / tensor_parallel * message / link
    return 2 * spec.num_layers * per


def prefill_s(spec: ModelSpec, params: ParamCounts, gpu: GpuSpec, weights: str, tokens: int, tensor_parallel: int) -> float | None:
    flops = _peak_flops(gpu, weights)
    if not flops:
        return None
    # 2 FLOPs per active parameter per token, plus causal attention 2 * 2 * L * s^2/2 * heads * head_dim.
    linear = 2 * (params.active - params.embedding) * tokens
    attention = 2 * spec.num_layers * tokens * tokens * spec.num_heads * spec.head_dim
    return (linear + attention) / (tensor_parallel * flops * PREFILL_MFU) + _allreduce_s(spec, gpu, tokens, tensor_parallel)


def estimate_inference(
    spec: ModelSpec,
    params: ParamCounts,
    memory: MemoryBreakdown,
    gpu: GpuSpec,
    serving: ServingInputs,
    weights: str,
    tensor_parallel: int,
) -> InferenceEstimate:
    if not memory.fits:
        return InferenceEstimate(known=False, reason="the model does not fit: no speed to estimate")
    if not gpu.bandwidth_tbs:
        return InferenceEstimate(known=False, reason=f"{gpu.label}: memory bandwidth unknown")
    context = serving.prompt_tokens + serving.output_tokens // 2  # average context while decoding
    ttft = prefill_s(spec, params, gpu, weights, serving.prompt_tokens, tensor_parallel)
    max_batch = max(1, memory.sessions_per_replica)
    candidates = sorted({b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if b <= max_batch} | {max_batch})
    curve = []
    for b in candidates:
        step = decode_step_s(spec, params, memory, gpu, weights, b, context, tensor_parallel)
        curve.append(SpeedPoint(batch=b, itl_ms=step * 1e3, tokens_per_s=b / step))
    itl_target = serving.itl_ms
    within = [p for p in curve if itl_target is None or p.itl_ms <= itl_target]
    chosen = max(within, key=lambda p: p.batch) if within else curve[0]
    notes = []
    meets = True
    if itl_target is not None and chosen.itl_ms > itl_target:
        meets = False
        notes.append(f"ITL {chosen.itl_ms:.1f} ms at batch 1 already exceeds the {itl_target:g} ms SLA")
    if ttft is not None and serving.ttft_ms is not None and ttft * 1e3 > serving.ttft_ms:
        meets = False
        notes.append(f"TTFT {ttft * 1e3:.0f} ms for a {serving.prompt_tokens}-token prompt exceeds the {serving.ttft_ms:g} ms SLA")
    request_s = (ttft or 0.0) + serving.output_tokens * chosen.itl_ms / 1e3
    return InferenceEstimate(
        known=True,
        reason="",
        ttft_ms=ttft * 1e3 if ttft is not None else None,
        itl_ms_bs1=curve[0].itl_ms,
        batch=chosen.batch,
        itl_ms=chosen.itl_ms,
        tokens_per_s_replica=chosen.tokens_per_s,
        requests_per_s_replica=chosen.batch / request_s if request_s > 0 else None,
        meets_sla=meets,
        sla_notes=tuple(notes),
        curve=tuple(curve),
    )
