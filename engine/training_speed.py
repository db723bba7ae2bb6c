"""Training speed: FLOPs per token, step time with communication, tokens/s per GPU, MFU.

- Model FLOPs per token (Kaplan et al. 2020; Chowdhery et al. 2022, PaLM app. B; Narayanan et
  al. 2021 eq. 3): 6·N for the matmuls of the N non-embedding parameters a token activates (the
  LM head included), plus attention 6·s·a·(d_qk + d_v) per layer (12·L·h·s for MHA, counted
  non-causal as PaLM and Megatron do; sliding layers see the window, linear-attention layers
  none). LoRA/QLoRA/DoRA back-propagate through the frozen weights for activation gradients
  only: 4·N. Freezing the bottom layers stops backward at the first trained one.
- Hardware FLOPs add the recomputation: full checkpointing re-runs the forward (8·N, Korthikanti
  et al. 2022 sec. 5). MFU is model FLOPs over the bf16 dense peak (PaLM's definition, as
  torchtitan and Megatron report it); the achieved fraction of that peak in the kernels (HFU)
  comes from engine/calibration.py per GPU generation and precision.
- Communication per step, ring algorithms (Thakur et al. 2005): data-parallel gradient
  reduce-scatter/all-reduce 2(n-1)/n x bytes, ZeRO-3/FSDP parameter all-gathers in forward and
  backward of every micro-batch, overlapped with backward as DDP/FSDP buckets do; tensor
  parallel 4 all-reduce-equivalents of s·b·h per layer and micro-batch on the critical path
  (Megatron sec. 3); MoE all-to-all dispatch and combine (2 each way); pipeline bubble
  (p-1)/(v·m) of the compute (Narayanan et al. 2021, interleaved 1F1B).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import calibration as cal
from .hardware import GpuSpec
from .inputs import TrainingInputs
from .model import ModelSpec, ParamCounts
from .training_memory import Layout

_PASSES = {"none": 2.0, "selective": 2.0, "full": 3.0}  # forward passes over the weights per step


def generation(gpu: GpuSpec) -> str:
    key = f"{gpu.id} {gpu.name}".lower()
    for gen, marks in (("blackwell", ("b200", "b300", "gb200", "gb300", "blackwell", "b100")),
                       ("hopper", ("h100", "h200", "h800", "gh200", "hopper")),
                       ("ampere", ("a100", "a800", "a10", "a40", "a30", "3090", "3060", "ampere")),
                       ("ada", ("l40", "l4", "4090", "4080", "ada")),
                       ("cdna", ("mi300", "mi325", "mi250", "mi355"))):
        if any(m in key for m in marks):
            return gen
    return "other"


def compute_precision(t: TrainingInputs, gpu: GpuSpec) -> str:
    """The linears' compute precision the GPU can actually run (fp8/fp4 fall back to bf16)."""
    if t.precision == "fp4" and gpu.fp4_tflops:
        return "fp4"
    if t.precision in ("fp8", "fp4") and gpu.fp8_tflops:
        return "fp8"
    return "bf16"


def default_hfu(gpu: GpuSpec, t: TrainingInputs, spec: ModelSpec) -> float:
    gen = generation(gpu)
    prec = compute_precision(t, gpu)
    table = cal.TRAIN_HFU.get(gen) or cal.TRAIN_HFU["other"]
    value = table.get(prec) or table["bf16"]
    if spec.is_moe:
        value *= cal.TRAIN_MOE_EFFICIENCY
    return value


@dataclass(frozen=True, slots=True)
class Flops:
    model_per_token: float
    hardware_per_token: float


def flops_per_token(spec: ModelSpec, params: ParamCounts, t: TrainingInputs, seq: int) -> Flops:
    n = params.active - params.embedding
    if spec.is_mla:
        d_qk, d_v = spec.qk_nope_head_dim + spec.qk_rope_head_dim, spec.v_head_dim
    else:
        d_qk = d_v = spec.head_dim
    attn_fwd = 0.0
    for kind in spec.kinds:
        if kind == "linear":
            continue
        span = min(seq, spec.sliding_window) if kind == "sliding" and spec.sliding_window else seq
        attn_fwd += 2.0 * span * spec.num_heads * (d_qk + d_v)
    if t.method in ("full",):
        model = 6.0 * n + 3 * attn_fwd
    elif t.method == "freeze":
        frac = (t.trainable_layers if t.trainable_layers is not None else max(1, spec.num_layers // 4)) / spec.num_layers
        frac = min(1.0, frac)
        model = 2.0 * n + 4.0 * n * frac + 3 * attn_fwd * frac + attn_fwd * (1 - frac)
    else:
        model = 4.0 * n + 3 * attn_fwd
    hardware = model
    if t.gradient_checkpointing == "full":
        hardware += 2.0 * n + attn_fwd
    return Flops(model, hardware)


@dataclass(frozen=True, slots=True)
class SpeedEstimate:
    step_time_s: float
    tokens_per_s_per_gpu: float
    mfu: float
    hfu: float
    compute_s: float
    bubble_s: float
    comm_exposed_s: float
    framework_s: float  # eager launch overhead and dequantisation
    tokens_per_step: float
    model_flops_per_token: float
    peak_tflops: float


def _bandwidth(group: int, gpus_per_node: int, gpu: GpuSpec, internode_gbs: float) -> float:
    """Per-GPU one-direction bytes/s for a collective over `group` GPUs: NVLink/PCIe inside a
    node, the network across nodes."""
    intra = (gpu.interconnect_gbs or 64.0) / 2 * 1e9 * cal.TRAIN_LINK_EFFICIENCY
    if group <= gpus_per_node:
        return intra
    return min(intra, internode_gbs * 1e9 * cal.TRAIN_LINK_EFFICIENCY)


def estimate_speed(
    spec: ModelSpec, params: ParamCounts, gpu: GpuSpec, t: TrainingInputs, lay: Layout,
    gpus_per_node: int = 8, hfu: float | None = None,
) -> SpeedEstimate:
    seq = t.sequence_length
    f = flops_per_token(spec, params, t, seq)
    peak = (gpu.bf16_tflops or 0.0) * 1e12
    if not peak:
        return SpeedEstimate(math.inf, 0.0, 0.0, 0.0, math.inf, 0.0, 0.0, 0.0, 0.0, f.model_per_token, 0.0)
    eff = hfu if hfu is not None else default_hfu(gpu, t, spec)
    b, m = t.micro_batch_size, lay.micro_batches
    tokens_mb = b * seq  # per replica per micro-batch
    replica_gpus = lay.tp * lay.pp * lay.cp
    compute = f.hardware_per_token * tokens_mb * m / replica_gpus / (peak * eff)
    bubble = compute * (lay.pp - 1) / (max(1, t.virtual_pipeline) * m) if lay.pp > 1 else 0.0

    layers = math.ceil(spec.num_layers / lay.pp)
    # Eager frameworks launch every small kernel from Python: the step takes the longer of the
    # GPU's compute and the CPU's launch loop (Hugging Face / PEFT; DeepSpeed ZeRO-3 adds its
    # per-layer gather/partition hooks).
    cpu = 0.0
    if t.framework == "hf":
        per_layer = cal.TRAIN_EAGER_LAYER_S + (cal.TRAIN_ZERO3_LAYER_S if t.zero_stage >= 3 else 0.0)
        cpu = per_layer * layers * m * _PASSES[t.gradient_checkpointing] / 2
    dequant = 0.0
    if t.method == "qlora":
        stage_block = params.block_linear * layers / spec.num_layers / lay.tp
        dequant = cal.TRAIN_DEQUANT_S_PER_PARAM[t.qlora_format] * stage_block * m * (_PASSES[t.gradient_checkpointing] + 1)
    framework = max(0.0, cpu - compute) + dequant

    # tensor parallel: on the critical path except the share async TP / overlap hides
    comm = 0.0
    if lay.tp > 1:
        per_layer = 4 + (2 if t.gradient_checkpointing == "full" else 0)
        volume = per_layer * layers * m * (tokens_mb / lay.cp) * spec.hidden_size * 2.0 * 2 * (lay.tp - 1) / lay.tp
        comm += volume / _bandwidth(lay.tp, gpus_per_node, gpu, t.internode_gbs) * cal.TRAIN_TP_EXPOSED
    # MoE all-to-all: dispatch + combine, forward and backward
    if spec.is_moe and lay.ep > 1:
        moe_layers = sum(spec.moe_layers) if spec.moe_layers else spec.num_layers
        moe_here = moe_layers * layers / spec.num_layers
        volume = 4 * moe_here * m * (tokens_mb / lay.cp / lay.tp) * spec.experts_per_token * spec.hidden_size * 2.0 * (lay.ep - 1) / lay.ep
        comm += volume / _bandwidth(lay.ep * lay.tp, gpus_per_node, gpu, t.internode_gbs) * cal.TRAIN_A2A_EXPOSED
    # data parallel: gradients once per step; ZeRO-3 gathers weights in forward and backward of
    # every micro-batch. Overlapped with the backward pass except the last bucket.
    if lay.dp * lay.cp > 1:
        if t.method in ("full", "freeze"):
            trained = params.total / (lay.tp * lay.pp)
            gathered = params.total / (lay.tp * lay.pp)
        else:
            trained = 0.0
            gathered = params.block_linear / (lay.tp * lay.pp)
        group = lay.dp * lay.cp
        ring = (group - 1) / group
        grad_bytes = 2.0 * trained * 2 * ring  # bf16 all-reduce (reduce-scatter + all-gather)
        gather_bytes = 0.0
        if t.zero_stage >= 3:
            gather_bytes = 2 * 2.0 * gathered * ring * m
        dp_time = (grad_bytes + gather_bytes) / _bandwidth(group * lay.tp * lay.pp, gpus_per_node, gpu, t.internode_gbs)
        comm += max(0.0, dp_time - compute * cal.TRAIN_DP_OVERLAP)
    step = compute + bubble + framework + comm
    tokens_step = tokens_mb * m * lay.dp
    tps = tokens_step / step / lay.gpus
    mfu = f.model_per_token * tps / peak
    return SpeedEstimate(step, tps, mfu, eff, compute, bubble, comm, framework, tokens_step,
                         f.model_per_token, peak / 1e12)
