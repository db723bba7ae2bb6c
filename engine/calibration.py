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
# tokens/s per GPU, TPOT and half-weighted TTFT) on the training two thirds of
# shared/reference/serving_measurements.toml (InferenceMAX/InferenceX: gpt-oss-120b MXFP4 and
# DeepSeek-R1-0528 FP8/FP4 on H200, B200, B300, GB200, MI325X, MI355X under vLLM, SGLang,
# TensorRT-LLM, ATOM, concurrency 1-512, 1k/1k, 1k/8k, 8k/1k) plus the Qwen2.5-7B batch-1 decode
# speeds (A100, vLLM 0.6.3) and TensorRT-LLM offline maxima (Llama 3.1 8B, H100/H200) of
# measurements.toml; 856 points. The held-out third checks them (bench.serving_accuracy).
# Ampere's bandwidth rests on the Qwen2.5 A100 points only; Ada and unknown parts take priors.
# Achieved HBM bandwidth fraction per GPU generation (decode weight and KV streams).
SERVING_BANDWIDTH_FRACTION: dict[str, float] = {
    "hopper": 0.932, "blackwell": 0.977, "cdna3": 0.582, "cdna4": 0.98,
    "ampere": 0.695, "ada": 0.70, "other": 0.65,
}
# Achieved tensor-core fraction of the dense peak per generation and precision, as serving sees it
# (MoE grouped GEMMs with expert widths sliced by TP, block-scaled FP8/FP4, chunked prefill), not a
# GEMM benchmark: 15-30 % where the data pins it. The FP4 and Blackwell FP8 factors sit at the
# fit's floor (0.15): those runs are slower than any FLOPs figure explains (prefill-heavy TTFT).
# Hopper FP4 has no FP4 tensor cores (MXFP4 runs dequantised at bf16); Ada/Ampere FP8 likewise.
SERVING_FLOPS_FRACTION: dict[tuple[str, str], float] = {
    ("hopper", "bf16"): 0.928, ("hopper", "fp8"): 0.273, ("hopper", "fp4"): 0.283, ("hopper", "w4a16"): 0.663,
    ("blackwell", "bf16"): 0.301, ("blackwell", "fp8"): 0.15,
    ("blackwell", "fp4"): 0.794,
    ("cdna3", "bf16"): 0.203, ("cdna3", "fp8"): 0.486, ("cdna3", "fp4"): 0.177,
    ("cdna4", "bf16"): 0.178, ("cdna4", "fp8"): 0.593, ("cdna4", "fp4"): 0.182,
    ("cdna3", "w4a16"): 0.56, ("ampere", "bf16"): 0.50, ("ampere", "w4a16"): 0.30, ("ampere", "w8a16"): 0.40, ("ada", "bf16"): 0.45, ("ada", "fp8"): 0.40,
}
SERVING_FLOPS_FRACTION_DEFAULT = 0.25
SERVING_MOE_FLOPS = 0.233
SERVING_MOE_BANDWIDTH = 0.724
# Fixed cost per decoder layer per step (microseconds), per engine and vendor: the small kernels a
# layer runs whatever the batch (norms, rotary, routing, (de)quantisation, launches).
SERVING_LAYER_OVERHEAD_US: dict[tuple[str, str], float] = {
    ("vllm", "nvidia"): 38.572, ("vllm", "amd"): 35.604,
    ("sglang", "nvidia"): 65.806, ("sglang", "amd"): 143.238,
    ("trtllm", "nvidia"): 93.602, ("trtllm", "amd"): 92.508,
    ("atom", "nvidia"): 95.153, ("atom", "amd"): 85.78,
}
# Per step (ms): scheduler, sampler, host synchronisation (TensorRT-LLM overlaps it with the GPU).
SERVING_STEP_OVERHEAD_MS: dict[str, float] = {
    "vllm": 1.424, "sglang": 1.758, "trtllm": 0.0, "atom": 1.88,
}
# Per request before its prefill (ms): HTTP, tokenizer, detokenizer, first schedule.
SERVING_TTFT_OVERHEAD_MS: dict[str, float] = {
    "vllm": 26.073, "sglang": 99.639, "trtllm": 43.579, "atom": 40.353,
}
# Share of the other clients' prefills a new request queues behind (closed-loop bunching).
SERVING_TTFT_WAVE: dict[str, float] = {
    "vllm": 0.031, "sglang": 0.056, "trtllm": 0.088, "atom": 0.014,
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
