"""Fine-tuning and training: memory per GPU, duration and cost.

- Model states: mixed-precision Adam holds 16 bytes per trained parameter (bf16 weights and
  gradients, fp32 master weights, momentum and variance), sharded by ZeRO stage 1/2/3 across the
  data-parallel group (Rajbhandari et al. 2020, ZeRO, sec. 3 and fig. 1).
- LoRA/QLoRA: frozen base weights (16-bit, or NF4 with double quantization for QLoRA) plus rank-r
  adapters A (r x d_in) and B (d_out x r) trained in fp32 with Adam (Hu et al. 2021; Dettmers et
  al. 2023).
- Activations per layer: s*b*h*(34 + 5*a*s/h) bytes without recompute, s*b*h*34 with selective
  recompute or flash attention, 2*s*b*h with full recompute; divided by TP with sequence
  parallelism (Korthikanti et al. 2022, eq. 1-6). The MLP term is generalised to gated MLPs.
- Compute: 6*P*tokens FLOPs, 8*P*tokens with full recompute (Kaplan et al. 2020; Korthikanti).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .hardware import GIB, GpuSpec
from .inputs import TrainingInputs
from .memory import WEIGHT_BITS
from .model import ModelSpec, ParamCounts

OPTIMIZER_BYTES = {"adamw": 12.0, "adamw8bit": 6.0, "sgd": 8.0}  # fp32 master + states per param


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


def lora_params(spec: ModelSpec, rank: int, targets: str) -> int:
    h, hd = spec.hidden_size, spec.head_dim
    q, kv = spec.num_heads * hd, spec.num_kv_heads * hd
    attention = rank * ((h + q) + 2 * (h + kv) + (q + h))
    mlp = 0
    if targets == "all-linear":
        width = spec.intermediate_size or spec.moe_intermediate_size
        mlp = rank * ((3 if spec.gated_mlp else 2) * (h + width))
    return spec.num_layers * (attention + mlp)


def activation_bytes_per_gpu(spec: ModelSpec, t: TrainingInputs) -> float:
    s, b, h, a = t.sequence_length, t.micro_batch_size, spec.hidden_size, spec.num_heads
    width = spec.intermediate_size if not spec.is_moe else spec.moe_intermediate_size * spec.experts_per_token
    mlp = 3 * s * b * h + (6 if spec.gated_mlp else 4) * s * b * width  # = 19sbh for a 4h GeLU MLP
    attention = 11 * s * b * h
    scores = 5 * a * s * s * b
    tp = t.tensor_parallel
    if t.gradient_checkpointing == "full":
        per_layer = 2 * s * b * h
        extra = (attention + mlp + 4 * s * b * h + (0 if t.flash_attention else scores)) / tp
    else:
        per_layer = (attention + mlp + 4 * s * b * h) / tp
        if t.gradient_checkpointing == "none" and not t.flash_attention:
            per_layer += scores / tp
        extra = 0.0
    layers = math.ceil(spec.num_layers / t.pipeline_parallel)
    logits = s * b * spec.vocab_size * 6 / tp  # bf16 logits + fp32 copy for the loss
    return per_layer * layers + extra + logits


def estimate_training(
    spec: ModelSpec, params: ParamCounts, gpu: GpuSpec, t: TrainingInputs, price_per_gpu_hour: float | None
) -> TrainingEstimate:
    mp = t.tensor_parallel * t.pipeline_parallel
    dp = max(1, t.gpus // mp)
    zero = t.zero_stage
    if t.method == "full":
        trainable = params.total
        weights = params.total * 2.0 / mp
        grads = params.total * 2.0 / mp
        optim = params.total * OPTIMIZER_BYTES[t.optimizer] / mp
        if zero >= 1:
            optim /= dp
        if zero >= 2:
            grads /= dp
        if zero >= 3:
            weights /= dp
    else:
        trainable = lora_params(spec, t.lora_rank, t.lora_targets)
        bits = WEIGHT_BITS["nf4"] if t.method == "qlora" else 16.0
        frozen = params.block_linear * bits / 8 + (params.total - params.block_linear) * 2.0
        weights = frozen / mp + trainable * 4.0 / mp
        grads = trainable * 4.0 / mp
        optim = trainable * 8.0 / mp
    act = activation_bytes_per_gpu(spec, t)
    overhead = 1.0 * GIB  # CUDA context, NCCL, allocator fragmentation
    total = weights + grads + optim + act + overhead
    tokens = t.dataset_tokens * t.epochs
    compute_params = params.active - params.embedding
    factor = 8.0 if t.gradient_checkpointing == "full" else 6.0
    if t.method != "full":
        factor -= 2.0  # no weight gradients for frozen base weights
    flops = factor * compute_params * tokens
    peak = gpu.bf16_tflops * 1e12 if gpu.bf16_tflops else None
    hours = flops / (t.gpus * peak * t.mfu) / 3600 if peak else None
    gpu_hours = hours * t.gpus if hours is not None else None
    cost = gpu_hours * price_per_gpu_hour if gpu_hours is not None and price_per_gpu_hour else None
    fits = total <= gpu.memory_bytes
    reason = "" if fits else f"needs {total / GIB:.1f} GiB per GPU, the GPU has {gpu.memory_gib:.1f} GiB"
    return TrainingEstimate(
        trainable_params=trainable,
        weights_gib=weights / GIB,
        gradients_gib=grads / GIB,
        optimizer_gib=optim / GIB,
        activations_gib=act / GIB,
        overhead_gib=overhead / GIB,
        total_gib=total / GIB,
        gpu_gib=gpu.memory_gib,
        fits=fits,
        data_parallel=dp,
        tokens=tokens,
        flops=flops,
        hours=hours,
        gpu_hours=gpu_hours,
        cost=cost,
        tokens_per_s=tokens / (hours * 3600) if hours else None,
        reason=reason,
    )
