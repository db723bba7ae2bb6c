"""Inference memory per GPU and the KV-cache pool each serving engine carves out of it.

All sizes in bytes internally; reports show GiB (2^30 bytes).

Engine accounting (per tensor-parallel rank; the pool is the minimum over ranks):
- vLLM: the instance may use `gpu_memory_utilization` x TOTAL memory; the KV pool is what is left
  after weights, the activation peak of a profiling forward pass at max_num_batched_tokens, and
  non-torch memory (CUDA context, NCCL). vllm/worker/worker.py determine_num_available_blocks;
  the canonical breakdown is quoted in vLLM PR #10511 ("total_gpu_memory 79.22GiB ... model
  weights take 14.96GiB; non_torch_memory 1.79GiB; PyTorch activation peak memory 1.26GiB;
  available_kv_cache_memory 53.29GiB").
- SGLang: `mem_fraction_static` x TOTAL covers weights and the KV pool only; activations and CUDA
  graphs live in the remainder (sglang model_runner profile_max_num_token: rest = free after
  loading - total x (1 - mem_fraction_static)).
- TensorRT-LLM: `free_gpu_memory_fraction` x the memory FREE after the engine loaded weights and
  reserved its activation workspace (tensorrt_llm KvCacheConfig.free_gpu_memory_fraction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .hardware import GIB, GpuSpec
from .inputs import ServingInputs
from .model import DTYPE_BYTES, KvFootprint, ModelSpec, ParamCounts, count_params, kv_footprint, kv_heads_per_gpu

# Bits per weight of the decoder blocks' linear layers, including quantization metadata.
WEIGHT_BITS: dict[str, float] = {
    "fp32": 32.0,
    "fp16": 16.0,
    "bf16": 16.0,
    # FP8 with one fp32 scale per 128x128 block (DeepSeek-V3 format); per-tensor scales are less.
    "fp8": 8.0 + 32.0 / (128 * 128),
    # INT8 (W8A8) with an fp32 scale per output channel; below 0.01 bit/weight for real shapes.
    "int8": 8.0,
    "int4": 4.0,
    # AWQ/GPTQ 4-bit, group size 128: an fp16 scale and a packed 4-bit zero point per group
    # (AutoAWQ/AutoGPTQ qzeros/scales): 4 + (16 + 4) / 128 bits.
    "awq": 4.0 + 20.0 / 128,
    "gptq": 4.0 + 20.0 / 128,
    # NF4 with double quantization: 8-bit block constants per 64 weights, themselves with an fp32
    # constant per 256 blocks: 4 + 8/64 + 32/(64*256) = 4.127 bits (Dettmers et al. 2023, QLoRA sec. 3).
    "nf4": 4.0 + 8.0 / 64 + 32.0 / (64 * 256),
    # MXFP4: 4-bit E2M1 elements with one 8-bit E8M0 scale per 32 (OCP Microscaling spec v1.0).
    "mxfp4": 4.0 + 8.0 / 32,
}
# Which weights a format compresses: all block linears, except MXFP4 checkpoints (gpt-oss) which
# quantize only the MoE experts. Embeddings, LM head, norms and routers stay 16-bit.
_EXPERTS_ONLY = {"mxfp4"}

ENGINE_BLOCK_TOKENS = {"vllm": 16, "sglang": 1, "trtllm": 32}
# Bytes per logit element in the sampler's profiling pass: fp32 logits, probabilities,
# log-probabilities, sorted values (4 B each) and int64 sort indices (8 B). Fits vLLM logs: the
# intercept of peak activation in vLLM #10517 / PR #10511 is 0.70 GiB at 256 x 128256 logits.
SAMPLER_BYTES_PER_LOGIT = 24
# Non-torch memory: CUDA context and cuBLAS workspaces (0.35 GiB logged on an RTX 3090 at TP=1,
# vLLM #10517) plus NCCL and custom all-reduce buffers that grow with the number of peers
# (SGLang logs in vLLM #21348 imply ~2.2 GiB at TP=4): +0.9 GiB per doubling of the group.
NON_TORCH_BASE_GIB = 0.40
NON_TORCH_PER_DOUBLING_GIB = 0.90


@dataclass(frozen=True, slots=True)
class MemoryBreakdown:
    gpu_total_bytes: int
    budget_bytes: float  # what the engine allows itself (fraction of total or of free memory)
    weights_bytes: float
    activation_bytes: float
    overhead_bytes: float  # non-torch: CUDA context, NCCL
    kv_pool_bytes: float  # after rounding down to whole blocks
    block_tokens: int
    kv: KvFootprint
    kv_capacity_tokens: int
    max_model_len: int
    max_concurrency: float  # sequences of max_model_len the pool holds (vLLM "Maximum concurrency")
    session_tokens: int  # average prompt + output
    sessions_per_replica: int  # limited by the pool at the average length and by max_num_seqs
    sessions_kv_limited: int
    gpus_per_replica: int
    fits: bool
    reason: str
    tight: bool  # fits but the pool holds fewer than one max-length sequence

    @property
    def sessions_per_gpu(self) -> float:
        return self.sessions_per_replica / self.gpus_per_replica


def weight_bytes_per_gpu(
    spec: ModelSpec, params: ParamCounts, weights: str, tensor_parallel: int, pipeline_parallel: int
) -> float:
    """Weight bytes the busiest rank holds: block linears split by TP (with KV projections
    replicated when TP exceeds the KV heads), embeddings vocab-parallel, layers split by PP with
    the embedding on the first stage and the LM head on the last (a tied head is a second copy
    there when PP > 1, as vLLM loads it)."""
    bits = WEIGHT_BITS[weights]
    if weights in _EXPERTS_ONLY and spec.is_moe:
        block = params.experts * bits / 8 + (params.block_linear - params.experts) * 2.0
    else:
        block = params.block_linear * bits / 8
    tp, pp = tensor_parallel, pipeline_parallel
    per_layer_block = block / spec.num_layers
    layers_on_stage = -(-spec.num_layers // pp)
    block_rank = per_layer_block * layers_on_stage / tp
    if not spec.is_mla and spec.num_kv_heads < tp:
        # k_proj and v_proj replicated: each rank holds one whole KV head instead of a fraction.
        kv_proj = 2 * spec.hidden_size * spec.head_dim * (bits / 8 if weights not in _EXPERTS_ONLY else 2.0)
        block_rank += layers_on_stage * kv_proj * (kv_heads_per_gpu(spec, tp) - spec.num_kv_heads / tp)
    embed = params.embedding * 2.0 / tp
    head = (params.lm_head or (params.embedding if pp > 1 else 0)) * 2.0 / tp
    norms = params.norms * 2.0 / pp
    if pp == 1:
        return block_rank + embed + head + norms
    return block_rank + max(embed, head) + norms


def activation_peak_bytes(spec: ModelSpec, serving: ServingInputs, tensor_parallel: int) -> float:
    """Peak activation memory of the profiling pass the engine runs before sizing the KV pool.

    Forward: at the MLP's gate/up GEMM a rank holds its [T, 2*I/TP] output plus two hidden-size
    buffers (residual and normed input) for T = max_num_batched_tokens tokens (vLLM profile_run).
    MoE: the fused-MoE caches hold top_k copies per token ([T*k, 2*I/TP] and [T*k, H]).
    Sampler: max_num_seqs rows of full-vocabulary logits (gathered on rank 0).
    Fitted to vLLM logs: 0.0703 MiB/token for Llama-3-8B (2.07 GiB at 20000 tokens in #10517,
    1.26 GiB at 8192 in PR #10511), matching 2*(2*14336 + 2*4096) bytes/token."""
    t = serving.max_num_batched_tokens
    h = spec.hidden_size
    act_bytes = 2.0
    if spec.is_moe and spec.moe_layers and any(spec.moe_layers):
        k = spec.experts_per_token
        per_token = k * (2 * spec.moe_intermediate_size / tensor_parallel + h) + 2 * h
        dense = 2 * spec.intermediate_size / tensor_parallel + 2 * h if not all(spec.moe_layers) else 0
        per_token = max(per_token, dense)
    else:
        per_token = 2 * spec.intermediate_size / tensor_parallel + 2 * h
    forward = t * per_token * act_bytes
    sampler = serving.max_num_seqs * spec.vocab_size * SAMPLER_BYTES_PER_LOGIT
    return forward + sampler


def non_torch_bytes(tensor_parallel: int, pipeline_parallel: int) -> float:
    """CUDA context plus communication buffers, growing with the log of the group size
    (0.40 GiB alone; 2.2 GiB at TP=4 as the SGLang log in vLLM #21348 implies)."""
    group = max(1, tensor_parallel * pipeline_parallel)
    return (NON_TORCH_BASE_GIB + NON_TORCH_PER_DOUBLING_GIB * math.log2(group)) * GIB


def kv_dtype_bytes(spec: ModelSpec, kv_cache: str, weights: str) -> float:
    """'auto' stores KV in the activation dtype: the model's 16-bit dtype, whatever the weights
    are quantized to (vLLM CacheConfig cache_dtype='auto')."""
    if kv_cache == "auto":
        return DTYPE_BYTES["fp16" if spec.native_dtype == "fp16" else "bf16"] if weights != "fp32" else 4.0
    return DTYPE_BYTES[kv_cache]


def inference_memory(
    spec: ModelSpec,
    gpu: GpuSpec,
    serving: ServingInputs,
    *,
    weights: str,
    kv_cache: str,
    tensor_parallel: int,
    pipeline_parallel: int,
    max_model_len: int,
    params: ParamCounts | None = None,
) -> MemoryBreakdown:
    params = params or count_params(spec)
    total = gpu.memory_bytes
    w = weight_bytes_per_gpu(spec, params, weights, tensor_parallel, pipeline_parallel)
    act = activation_peak_bytes(spec, serving, tensor_parallel)
    overhead = non_torch_bytes(tensor_parallel, pipeline_parallel)
    frac = serving.memory_fraction
    engine = serving.engine
    if engine == "vllm":
        budget = total * frac
        raw_pool = budget - w - act - overhead
    elif engine == "sglang":
        budget = total * frac
        raw_pool = budget - w - overhead
    else:  # trtllm
        free_after_load = total - w - act - overhead
        budget = w + act + overhead + max(free_after_load, 0.0) * frac
        raw_pool = max(free_after_load, 0.0) * frac
    kv = kv_footprint(spec, kv_dtype_bytes(spec, kv_cache, weights), tensor_parallel, pipeline_parallel)
    block_tokens = serving.block_size or ENGINE_BLOCK_TOKENS[engine]
    block_bytes = kv.bytes_per_token * block_tokens
    blocks = int(max(raw_pool, 0.0) // block_bytes) if block_bytes > 0 else 0
    pool = blocks * block_bytes
    capacity = blocks * block_tokens
    session_tokens = serving.prompt_tokens + serving.output_tokens
    seq_max = kv.sequence_bytes(max_model_len)
    seq_avg = kv.sequence_bytes(min(session_tokens, max_model_len))
    concurrency = pool / seq_max if seq_max > 0 else 0.0
    kv_limited = int(pool // seq_avg) if seq_avg > 0 else serving.max_num_seqs
    sessions = min(kv_limited, serving.max_num_seqs)

    fits, tight, reason = True, False, ""
    if raw_pool <= 0 or blocks == 0:
        fits = False
        need = w + overhead + (act if engine != "sglang" else 0.0)
        reason = (
            f"weights {w / GIB:.2f} GiB + activations and overhead "
            f"{(need - w) / GIB:.2f} GiB exceed the {budget / GIB:.2f} GiB the engine may use "
            f"per GPU ({frac:.0%} of {total / GIB:.2f} GiB); no room for a KV cache"
        )
    elif concurrency < 1.0:
        fits = False
        tight = True
        reason = (
            f"the KV pool holds {capacity:,} tokens, fewer than one {max_model_len:,}-token "
            f"sequence: the engine refuses to start (lower max_model_len, raise the memory "
            f"fraction, or add GPUs)"
        )
    return MemoryBreakdown(
        gpu_total_bytes=total,
        budget_bytes=budget,
        weights_bytes=w,
        activation_bytes=act,
        overhead_bytes=overhead,
        kv_pool_bytes=pool,
        block_tokens=block_tokens,
        kv=kv,
        kv_capacity_tokens=capacity,
        max_model_len=max_model_len,
        max_concurrency=concurrency,
        session_tokens=session_tokens,
        sessions_per_replica=sessions if fits else 0,
        sessions_kv_limited=kv_limited if fits else 0,
        gpus_per_replica=tensor_parallel * pipeline_parallel,
        fits=fits,
        reason=reason,
        tight=tight,
    )
