"""Fitted efficiency constants, each beside the published points it was fitted on.

One place for every number the speed models take from measurements rather than from a datasheet
or a paper. Each constant means something physical (an achieved fraction of a datasheet peak, a
per-step overhead), is fitted on a named subset of `shared/reference/` and is checked on the rest
(see `bench/` and the calibration tests). Never one constant per data point.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Serving (engine/inference.py): achieved bandwidth/FLOPs fractions per GPU generation, precision
# and engine; per-step overheads. Fitted on serving_measurements.toml and measurements.toml.
# ---------------------------------------------------------------------------------------------

from dataclasses import dataclass  # noqa: E402  (sections stay self-contained)


@dataclass(frozen=True, slots=True)
class ServingEfficiency:
    """The few physical factors of the serving step model (engine/step_model.py)."""

    bandwidth: float  # achieved fraction of the datasheet HBM bandwidth in decode
    flops_bf16: float  # achieved fraction of the dense tensor peak, large GEMMs
    flops_fp8: float
    flops_fp4: float
    layer_overhead_s: float  # fixed cost per decoder layer per step (small kernels, launches)
    step_overhead_s: float  # per step: scheduler, sampler, host synchronisation
    ttft_overhead_s: float  # per request before its prefill: HTTP, tokenizer, first schedule
    ttft_wave: float = 0.0  # share of the other clients' prefills a new request queues behind
    moe_flops: float = 1.0  # expert GEMMs' share of the dense GEMM efficiency
    moe_bandwidth: float = 1.0  # expert weight streams' share of the dense bandwidth efficiency
    flops_w4a16: float = 0.3  # weight-only 4-bit GEMMs (dequantised in-kernel), of the 16-bit peak
    flops_w8a16: float = 0.4
    nvlink_latency_s: float = 8e-6  # one small all-reduce / all-to-all on NVLink (NCCL/custom AR)
    fabric_latency_s: float = 12e-6  # on AMD Infinity Fabric (RCCL)
    pcie_latency_s: float = 25e-6  # over PCIe

    def flops_fraction(self, precision: str) -> float:
        return {"fp4": self.flops_fp4, "fp8": self.flops_fp8, "w4a16": self.flops_w4a16,
                "w8a16": self.flops_w8a16}.get(precision, self.flops_bf16)

    def collective_latency(self, link: str) -> float:
        return {"nvlink": self.nvlink_latency_s, "infinity-fabric": self.fabric_latency_s}.get(link, self.pcie_latency_s)


# Fitted by `python -m bench.serving_fit` (scipy least squares, soft-L1 on log ratios of output
# tokens/s per GPU, TPOT and half-weighted TTFT; the dense-model points weighted 3x) on the
# training two thirds (856 points) of shared/reference/serving_measurements.toml (InferenceMAX /
# InferenceX: gpt-oss-120b MXFP4 and DeepSeek-R1-0528 FP8/FP4 on H200, B200, B300, GB200, MI325X,
# MI355X under vLLM, SGLang, TensorRT-LLM, ATOM; concurrency 1-512; 1k/1k, 1k/8k, 8k/1k) plus the
# Qwen2.5-7B batch-1 decode speeds (A100, vLLM 0.6.3) and the TensorRT-LLM offline maxima
# (Llama 3.1 8B FP8, H100/H200) of measurements.toml, each point planned with the server flags its
# harness used (bench.serving_data.harness_settings: prefill budget, SGLang's scheduler poll
# interval, TensorRT-LLM's attention-DP balancing, from the InferenceMAX launch scripts). Refit
# 2026-12-02 after the scheduler-admission model (engine.serving.SchedulerPolicy): cost 29.2 ->
# 28.5. Checked on the held-out third (bench.serving_accuracy): median |error| 10.2 % throughput,
# 9.7 % TPOT, 17.2 % TTFT (before the admission model: 10.4 / 10.4 / 30 %).
# Bounds keep them physical: bandwidth <= 0.90 of the datasheet (CDNA4 sits there),
# tensor-core fractions 0.15-0.80. Ada and unknown parts take priors (no points).
# Achieved HBM bandwidth fraction per GPU generation (dense weight and KV streams).
SERVING_BANDWIDTH_FRACTION: dict[str, float] = {
    "hopper": 0.714, "blackwell": 0.794, "cdna3": 0.487, "cdna4": 0.894,
    "ampere": 0.694, "ada": 0.70, "other": 0.65,
}
# Achieved tensor-core fraction of the dense peak per generation and precision for dense GEMMs
# (w4a16/w8a16: weight-only kernels dequantising in-kernel, of the 16-bit peak). Blackwell FP8
# sits at the floor: the DeepSeek FP8 runs on B200/B300 are slower in prefill than any FLOPs
# figure explains (the block-scaled FP8 MoE path), and a faster format is never run below the
# 16-bit rate (step_model.apply_efficiency). Hopper bf16 rests on few points (gpt-oss attention).
SERVING_FLOPS_FRACTION: dict[tuple[str, str], float] = {
    ("hopper", "bf16"): 0.8, ("hopper", "fp8"): 0.273, ("hopper", "fp4"): 0.283, ("hopper", "w4a16"): 0.707,
    ("blackwell", "bf16"): 0.350, ("blackwell", "fp8"): 0.151,
    ("blackwell", "fp4"): 0.758,
    ("cdna3", "bf16"): 0.203, ("cdna3", "fp8"): 0.358, ("cdna3", "fp4"): 0.177,
    ("cdna4", "bf16"): 0.184, ("cdna4", "fp8"): 0.382, ("cdna4", "fp4"): 0.182,
    ("cdna3", "w4a16"): 0.612, ("ampere", "bf16"): 0.50, ("ampere", "w4a16"): 0.30, ("ampere", "w8a16"): 0.40, ("ada", "bf16"): 0.45, ("ada", "fp8"): 0.40,
}
SERVING_FLOPS_FRACTION_DEFAULT = 0.25
# MoE experts relative to dense kernels: grouped GEMMs over a few tokens per expert with widths
# sliced by TP reach 0.24 of the dense GEMM efficiency; scattered expert tiles stream at 0.93 of
# the dense bandwidth efficiency.
SERVING_MOE_FLOPS = 0.238
SERVING_MOE_BANDWIDTH = 0.932
# Fixed cost per decoder layer per step (microseconds), per engine and vendor: the small kernels a
# layer runs whatever the batch (norms, rotary, routing, (de)quantisation, launches).
SERVING_LAYER_OVERHEAD_US: dict[tuple[str, str], float] = {
    ("vllm", "nvidia"): 38.382, ("vllm", "amd"): 36.219,
    ("sglang", "nvidia"): 65.397, ("sglang", "amd"): 144.503,
    ("trtllm", "nvidia"): 93.169, ("trtllm", "amd"): 92.508,
    ("atom", "nvidia"): 95.153, ("atom", "amd"): 86.017,
}
# Per step (ms): scheduler, sampler, host synchronisation (TensorRT-LLM overlaps it with the GPU).
SERVING_STEP_OVERHEAD_MS: dict[str, float] = {
    "vllm": 1.416, "sglang": 1.812, "trtllm": 0.0, "atom": 1.979,
}
# Per request before its prefill (ms): HTTP, tokenizer, detokenizer, first schedule.
SERVING_TTFT_OVERHEAD_MS: dict[str, float] = {
    "vllm": 26.893, "sglang": 62.487, "trtllm": 49.432, "atom": 40.901,
}
# Share of the other clients' prefills a new request queues behind (closed-loop bunching).
SERVING_TTFT_WAVE: dict[str, float] = {
    "vllm": 0.032, "sglang": 0.017, "trtllm": 0.037, "atom": 0.008,
}


def serving_efficiency(generation: str, engine: str, vendor: str = "nvidia") -> ServingEfficiency:
    """The calibrated factors for one GPU generation and serving engine."""
    vendor = vendor if vendor in ("nvidia", "amd") else "nvidia"

    def fl(precision: str) -> float:
        return SERVING_FLOPS_FRACTION.get((generation, precision), SERVING_FLOPS_FRACTION_DEFAULT)

    return ServingEfficiency(
        bandwidth=SERVING_BANDWIDTH_FRACTION.get(generation, SERVING_BANDWIDTH_FRACTION["other"]),
        flops_bf16=fl("bf16"), flops_fp8=fl("fp8"), flops_fp4=fl("fp4"),
        flops_w4a16=fl("w4a16"), flops_w8a16=fl("w8a16"),
        moe_flops=SERVING_MOE_FLOPS, moe_bandwidth=SERVING_MOE_BANDWIDTH,
        layer_overhead_s=SERVING_LAYER_OVERHEAD_US.get((engine, vendor), 60.0) * 1e-6,
        step_overhead_s=SERVING_STEP_OVERHEAD_MS.get(engine, 1.0) * 1e-3,
        ttft_overhead_s=SERVING_TTFT_OVERHEAD_MS.get(engine, 30.0) * 1e-3,
        ttft_wave=SERVING_TTFT_WAVE.get(engine, 0.5),
    )


# ---------------------------------------------------------------------------------------------
# Training (engine/training.py): allocator fragmentation, framework overhead, MFU per GPU
# generation, precision and parallel layout. Fitted on training_measurements.toml and the
# torchtune / Megatron points of measurements.toml.
# ---------------------------------------------------------------------------------------------
#
# Memory (engine/training_memory.py). Fitted by bench/training_fit.py on the training split (ids
# whose number is not a multiple of 3) of the memory points of training_measurements.toml (Qwen
# p160-p240, torchtitan p031/p032/p044-p049, torchtune p267-p271) and the torchtune ladder of
# measurements.toml; mean |log error| 0.105 -> 0.090 on that split. Checked on the rest by
# `python -m bench` (median |error| 6 % held out, 7 % over all 104 points).

# Bytes per logit element at the loss. Physical floor: bf16 logits (2) + fp32 log-softmax (4);
# Hugging Face (Qwen's finetune.py, transformers < 4.45) also keeps an fp32 copy and the shifted
# bf16 view: fitted on the slope of peak memory over sequence length of Qwen's LoRA rows
# (p160-p171, p184-p195, p211-p222; flat logit-dominated slopes of 1.9-2.1 MB per token).
TRAIN_LOGIT_BYTES: dict[str, float] = {"hf": 10.8, "torchtune": 12.0, "torchtitan": 10.0, "megatron": 6.0}
# torchtune's chunked cross-entropy: bf16 logits + an fp32 chunk (8 chunks) at a time.
TRAIN_LOGIT_BYTES_CHUNKED = 2.0 + 4.0 / 8
# Under torch.compile the upcast and log-softmax fuse: bf16 logits and an fp32 gradient slice.
TRAIN_LOGIT_BYTES_COMPILED = 4.4
# Share of the eager-saved activations torch.compile's partitioner keeps (it recomputes norms and
# elementwise ops in backward). Fitted on torchtitan's compiled rows and torchtune's Compile step.
TRAIN_COMPILE_ACTIVATION_SHARE = 0.60
# NVFP4 training (torchao) saves the linears' inputs quantised for backward: the share of the
# bf16 activation memory left. Fitted on torchtitan's NVFP4 vs bf16 rows (p044/p046, p047/p049).
TRAIN_FP4_ACTIVATION_SHARE = 0.25
# Hugging Face eager RMSNorm saves its fp32 upcast input and the bf16 normalised output.
TRAIN_EAGER_NORM_BYTES = 6.0
# Gradient bytes per trained parameter: bf16 in DeepSpeed/HF and torchtune, fp32 main grads in
# Megatron and torchtitan (FSDP2 reduce_dtype fp32).
TRAIN_GRAD_BYTES: dict[str, float] = {"hf": 2.0, "torchtune": 2.0, "torchtitan": 4.0, "megatron": 4.0}
# DoRA keeps the input of the magnitude-scaled path for each targeted linear as well.
TRAIN_DORA_ACTIVATION_EXTRA = 0.25
# Caching-allocator fragmentation: reserved / allocated - 1 on the activation working set.
TRAIN_FRAGMENTATION = 0.075
# CUDA context + cuBLAS workspace, outside PyTorch's allocator (vLLM logs 0.35-0.5 GiB; see the
# serving section's non-torch memory).
TRAIN_CUDA_CONTEXT_GIB = 0.5
# The framework's own fixed allocations (GiB): workspaces, DeepSpeed/Trainer buffers. Fitted.
TRAIN_FRAMEWORK_GIB: dict[str, float] = {"hf": 1.87, "torchtune": 0.5, "torchtitan": 1.0, "megatron": 1.0}
# NCCL communicators and the gradient-reduction buckets when more than one GPU trains (GiB).
TRAIN_COMM_BUFFER_GIB = 1.0

# Speed (engine/training_speed.py). Fitted by bench/training_fit.py on the training split of
# the points with tokens/s per GPU, model TFLOP/s per GPU or a step time: ampere-bf16 from
# torchtitan p033-p040, Qwen's step times and torchtune; hopper from Megatron-LM p050-p058,
# torchtitan p019-p043, NeMo p130-p143 and Megatron-Bridge's H100 rows; blackwell from
# Megatron-Bridge p059-p129 and torchtitan p044-p049. Mean |log error| 0.261 -> 0.198 on the
# split; median |error| 15 % held out, 13 % over all 203 points.
# Achieved fraction of the bf16 dense peak in the compute (hardware FLOPs incl. recompute), per
# GPU generation and the linears' precision (fp8/fp4 above 1x bf16 when they pay off).
TRAIN_HFU: dict[str, dict[str, float]] = {
    "ampere": {"bf16": 0.54},
    "hopper": {"bf16": 0.53, "fp8": 0.90},
    "blackwell": {"bf16": 0.42, "fp8": 0.83, "fp4": 0.60},
    "ada": {"bf16": 0.40, "fp8": 0.50},
    "cdna": {"bf16": 0.35},
    "other": {"bf16": 0.40},
}
# Routed-expert GEMMs are smaller and grouped: fraction of the dense efficiency MoE runs reach.
TRAIN_MOE_EFFICIENCY = 0.48
# Hugging Face / PEFT eager loop: seconds of launch overhead per decoder layer per micro-batch
# (forward + backward; recompute adds half). Fitted on Qwen's 256-token rows, where compute is
# small (p160, p184, p211: ~5 ms per layer).
TRAIN_EAGER_LAYER_S = 0.00375
# DeepSpeed ZeRO-3's per-layer parameter gather/release hooks, seconds per layer per micro-batch.
TRAIN_ZERO3_LAYER_S = 0.0043
# Dequantising frozen 4-bit weights in every pass, seconds per parameter per pass: GPTQ (Qwen's
# Q-LoRA rows, auto-gptq's training kernels) and bitsandbytes/torchao NF4 (torchtune QLoRA).
TRAIN_DEQUANT_S_PER_PARAM: dict[str, float] = {"gptq": 8.3e-12, "awq": 8.3e-12, "nf4": 1.25e-12, "int8": 1.25e-12}
# Share of the link's nominal per-direction bandwidth NCCL rings reach.
TRAIN_LINK_EFFICIENCY = 0.75
# Shares of TP all-reduces and MoE all-to-alls left on the critical path (Megatron overlaps some).
TRAIN_TP_EXPOSED = 1.0
TRAIN_A2A_EXPOSED = 0.2
# Share of the compute time behind which data-parallel gradient traffic hides (DDP/FSDP buckets).
TRAIN_DP_OVERLAP = 0.8
