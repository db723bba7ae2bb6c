"""GPU, server and price specs (pydantic v2, frozen) and the small facts derived from them.

Sizes: `memory_gib` is what CUDA reports as total device memory (torch.cuda.mem_get_info()[1]),
in GiB (2^30 bytes). A GPU marketed as "80 GB" reports about 79.2 GiB.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

GIB = 1 << 30


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GpuSpec(_Spec):
    id: str
    name: str = ""
    vendor: str = "nvidia"
    memory_gib: float = Field(gt=0, description="usable device memory as CUDA reports it, GiB")
    memory_gb_marketed: float | None = Field(default=None, gt=0)
    bandwidth_tbs: float | None = Field(default=None, gt=0, description="HBM/GDDR bandwidth, TB/s")
    bf16_tflops: float | None = Field(default=None, gt=0, description="dense, no 2:4 sparsity")
    fp8_tflops: float | None = Field(default=None, gt=0, description="dense, no 2:4 sparsity")
    int8_tops: float | None = Field(default=None, gt=0)
    fp4_tflops: float | None = Field(default=None, gt=0)
    tdp_w: float | None = Field(default=None, gt=0)
    interconnect: str | None = None
    interconnect_gbs: float | None = Field(
        default=None, gt=0, description="GPU-to-GPU bandwidth, GB/s bidirectional per GPU"
    )
    form_factor: str | None = None
    formats: tuple[str, ...] | None = Field(
        default=None, description="number formats its kernels run natively; None: derived from the specs"
    )
    source: str = ""
    note: str = ""

    @field_validator("formats", mode="before")
    @classmethod
    def _formats_tuple(cls, value: object) -> object:
        if isinstance(value, list):  # a TOML array
            return tuple(value)
        return value

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * GIB)

    @property
    def label(self) -> str:
        return self.name or self.id


class ServerSpec(_Spec):
    id: str
    name: str = ""
    gpu: str | None = Field(default=None, description="catalog id of the GPU it carries")
    gpus_per_node: int = Field(gt=0)
    max_power_kw: float | None = Field(default=None, gt=0)
    rack_units: int | None = Field(default=None, gt=0)
    interconnect: str | None = None
    source: str = ""
    note: str = ""
    network_gbps: float | None = Field(default=None, gt=0, description="inter-node network of one node, all compute NICs, Gb/s")

    @property
    def label(self) -> str:
        return self.name or self.id


class PriceSpec(_Spec):
    id: str
    provider: str
    gpu: str | None = Field(default=None, description="catalog id of the GPU")
    instance: str | None = None
    pricing: str = "on-demand"
    price_per_gpu_hour: float | None = Field(default=None, gt=0, description="USD")
    price_per_gpu_hour_low: float | None = Field(default=None, gt=0)
    price_per_gpu_hour_high: float | None = Field(default=None, gt=0)
    source_date: str = ""
    valid_until: str = Field(default="", description="ISO date after which the figure is known stale")
    source: str = ""
    note: str = ""

    def expired(self, today: str) -> bool:
        """True when `valid_until` (an ISO date) is before `today` (an ISO date)."""
        return bool(self.valid_until) and self.valid_until < today

    @property
    def representative(self) -> float | None:
        """The single figure to plan with: the quoted price, else the middle of the range."""
        if self.price_per_gpu_hour is not None:
            return self.price_per_gpu_hour
        lo, hi = self.price_per_gpu_hour_low, self.price_per_gpu_hour_high
        if lo is not None and hi is not None:
            return (lo + hi) / 2
        return lo or hi


# Number formats the tensor cores (or matrix engines) run natively, by generation: FP8 from
# Hopper, Ada and CDNA 3; FP4 from Blackwell (NVFP4 and MXFP4) and CDNA 4 (MXFP4). int4 means
# weight-only 4-bit kernels (Marlin/AWQ/GPTQ, sm75+ and ROCm). Used when an entry gives none.
FORMAT_NAMES: tuple[str, ...] = ("fp16", "bf16", "fp8", "int8", "int4", "mxfp4", "nvfp4")


def gpu_formats(gpu: GpuSpec) -> tuple[str, ...]:
    """The GPU's `formats`, else a default derived from which peak figures it publishes."""
    if gpu.formats is not None:
        return gpu.formats
    if gpu.fp4_tflops:
        fp4 = ("mxfp4",) if gpu.vendor.lower() == "amd" else ("mxfp4", "nvfp4")
        return ("fp16", "bf16", "fp8", "int8", "int4") + fp4
    if gpu.fp8_tflops:
        return ("fp16", "bf16", "fp8", "int8", "int4")
    if gpu.bf16_tflops:
        return ("fp16", "bf16", "int8", "int4")
    return ("fp16", "int8", "int4")
