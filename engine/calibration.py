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
    nvlink_latency_s: float = 8e-6  # one small all-reduce / all-to-all on NVLink (NCCL/custom AR)
    fabric_latency_s: float = 12e-6  # on AMD Infinity Fabric (RCCL)
    pcie_latency_s: float = 25e-6  # over PCIe

    def flops_fraction(self, precision: str) -> float:
        return {"fp4": self.flops_fp4, "fp8": self.flops_fp8}.get(precision, self.flops_bf16)

    def collective_latency(self, link: str) -> float:
        return {"nvlink": self.nvlink_latency_s, "infinity-fabric": self.fabric_latency_s}.get(link, self.pcie_latency_s)


# Achieved HBM bandwidth fraction per GPU generation (decode GEMV/attention streams).
SERVING_BANDWIDTH_FRACTION: dict[str, float] = {
    "hopper": 0.80, "blackwell": 0.75, "cdna3": 0.60, "cdna4": 0.60, "ampere": 0.75, "ada": 0.75, "other": 0.65,
}
# Achieved tensor-core fraction of the dense peak per generation and precision.
SERVING_FLOPS_FRACTION: dict[tuple[str, str], float] = {
    ("hopper", "bf16"): 0.60, ("hopper", "fp8"): 0.55, ("hopper", "fp4"): 0.55,
    ("blackwell", "bf16"): 0.55, ("blackwell", "fp8"): 0.50, ("blackwell", "fp4"): 0.40,
    ("cdna3", "bf16"): 0.40, ("cdna3", "fp8"): 0.35, ("cdna3", "fp4"): 0.35,
    ("cdna4", "bf16"): 0.40, ("cdna4", "fp8"): 0.35, ("cdna4", "fp4"): 0.30,
}
SERVING_FLOPS_FRACTION_DEFAULT = 0.45
# Per-layer fixed cost (microseconds) per engine and vendor, and per-step / per-request costs.
SERVING_LAYER_OVERHEAD_US: dict[tuple[str, str], float] = {
    ("vllm", "nvidia"): 40.0, ("vllm", "amd"): 60.0,
    ("sglang", "nvidia"): 60.0, ("sglang", "amd"): 80.0,
    ("trtllm", "nvidia"): 40.0, ("trtllm", "amd"): 60.0,
    ("atom", "nvidia"): 60.0, ("atom", "amd"): 60.0,
}
SERVING_STEP_OVERHEAD_MS: dict[str, float] = {"vllm": 1.0, "sglang": 1.0, "trtllm": 1.0, "atom": 1.0}
SERVING_TTFT_OVERHEAD_MS: dict[str, float] = {"vllm": 20.0, "sglang": 40.0, "trtllm": 20.0, "atom": 40.0}


def serving_efficiency(generation: str, engine: str, vendor: str = "nvidia") -> ServingEfficiency:
    """The calibrated factors for one GPU generation and serving engine."""
    vendor = vendor if vendor in ("nvidia", "amd") else "nvidia"

    def fl(precision: str) -> float:
        return SERVING_FLOPS_FRACTION.get((generation, precision), SERVING_FLOPS_FRACTION_DEFAULT)

    return ServingEfficiency(
        bandwidth=SERVING_BANDWIDTH_FRACTION.get(generation, SERVING_BANDWIDTH_FRACTION["other"]),
        flops_bf16=fl("bf16"), flops_fp8=fl("fp8"), flops_fp4=fl("fp4"),
        layer_overhead_s=SERVING_LAYER_OVERHEAD_US.get((engine, vendor), 60.0) * 1e-6,
        step_overhead_s=SERVING_STEP_OVERHEAD_MS.get(engine, 1.0) * 1e-3,
        ttft_overhead_s=SERVING_TTFT_OVERHEAD_MS.get(engine, 30.0) * 1e-3,
    )


# ---------------------------------------------------------------------------------------------
# Training (engine/training.py): allocator fragmentation, framework overhead, MFU per GPU
# generation, precision and parallel layout. Fitted on training_measurements.toml and the
# torchtune / Megatron points of measurements.toml.
# ---------------------------------------------------------------------------------------------
