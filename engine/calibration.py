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
