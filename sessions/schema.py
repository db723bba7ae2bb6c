"""The session file (DESIGN section 3) as a pydantic v2 model.

Strict and closed: every table forbids unknown keys, types are not coerced (`"8"` is not 8, `true`
is not 1), NaN/inf are refused. Defaults come from the engine's input dataclasses so the two never
drift; a minimal file names a model and a GPU. Bounds are generous sanity limits that keep the
engine's arithmetic finite.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.inputs import CostInputs, KvFormat, ServingEngine, ServingInputs, TrainingInputs, WeightFormat
from engine.inputs import TrainingFramework, TrainingMethod, TrainingOptimizer, TrainingPrecision
from engine.model import ModelConfigError, ModelSpec, from_hf_config

from .errors import FieldProblem

SCHEMA_VERSION = 1
_S, _C, _T = ServingInputs(), CostInputs(), TrainingInputs()
_BIG = 1 << 40  # upper bound for counts (tokens, sessions): far above any real plan
LoraModule = Literal["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class ModelSection(_Section):
    catalog: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None  # a Hugging Face config.json, real key names
    weights: WeightFormat = "bf16"
    kv_cache: KvFormat = "auto"

    @model_validator(mode="after")
    def _one_source(self) -> ModelSection:
        if self.catalog is None and self.config is None:
            raise FieldProblem(
                "catalog", 'missing: name a catalog model (catalog = "llama-3.1-8b") or add [model.config]'
            )
        if self.catalog is not None and self.config is not None:
            raise FieldProblem("config", "give either `catalog` or an inline [model.config], not both")
        if self.config is not None:
            self.inline_spec()  # size it now, so a bad config is reported at load time
        return self

    def inline_id(self) -> str:
        name = (self.config or {}).get("_name_or_path")
        return name if isinstance(name, str) and name else "inline-model"

    def inline_spec(self) -> ModelSpec:
        """The inline [model.config] as a ModelSpec; FieldProblem("config.<key>") when it cannot
        be sized."""
        cfg = self.config or {}
        try:
            return from_hf_config(cfg, id=self.inline_id())
        except ModelConfigError as exc:
            text = cfg.get("text_config")
            nested = isinstance(text, dict) and exc.field.split("[")[0] in text
            raise FieldProblem(f"config.{'text_config.' if nested else ''}{exc.field}", exc.message) from None
        except Exception as exc:  # a malformed config must be an input error, never a crash
            raise FieldProblem("config", f"cannot be sized: {type(exc).__name__}: {exc}") from None


class GpuSpecSection(_Section):
    """An inline GPU; memory as CUDA reports it (an "80 GB" H100 shows 79.2 GiB)."""

    name: str = ""
    memory_gib: float = Field(gt=0, le=1_000_000)
    bandwidth_tbs: float | None = Field(default=None, gt=0, le=1_000)
    bf16_tflops: float | None = Field(default=None, gt=0, le=1_000_000)
    fp8_tflops: float | None = Field(default=None, gt=0, le=1_000_000)
    tdp_w: float | None = Field(default=None, gt=0, le=100_000)


class HardwareSection(_Section):
    gpu: str | None = Field(default=None, min_length=1, max_length=200)
    gpu_spec: GpuSpecSection | None = None
    server: str | None = Field(default=None, min_length=1, max_length=200)
    gpus_per_node: int | None = Field(default=None, ge=1, le=4096)  # when no server is named
    tensor_parallel: int = Field(default=1, ge=1, le=4096)
    pipeline_parallel: int = Field(default=1, ge=1, le=4096)
    expert_parallel: int = Field(default=1, ge=1, le=4096)  # MoE: experts split over this many GPUs
    data_parallel_attention: bool = False  # MoE engines: attention replicated per rank, batch split

    @model_validator(mode="after")
    def _one_gpu(self) -> HardwareSection:
        if self.gpu is not None and self.gpu_spec is not None:
            raise FieldProblem("gpu_spec", "give either `gpu` or an inline [hardware.gpu_spec], not both")
        if self.gpu is None and self.gpu_spec is None and self.server is None:
            raise FieldProblem(
                "gpu", 'missing: name a catalog GPU (gpu = "h100-sxm-80gb") or add [hardware.gpu_spec]'
            )
        return self


class SlaSection(_Section):
    ttft_ms: float = Field(default=_S.ttft_ms, gt=0, le=3_600_000)
    itl_ms: float = Field(default=_S.itl_ms, gt=0, le=3_600_000)


class SpeculativeSection(_Section):
    method: Literal["mtp", "draft"] = "mtp"
    tokens: int = Field(default=1, ge=1, le=16)
    acceptance: float = Field(default=0.7, ge=0, lt=1)


class ServingSection(_Section):
    engine: ServingEngine = _S.engine
    memory_fraction: float = Field(default=_S.memory_fraction, gt=0, le=1)
    max_model_len: int | None = Field(default=None, ge=1, le=_BIG)  # None: the model's limit
    max_num_batched_tokens: int = Field(default=_S.max_num_batched_tokens, ge=1, le=_BIG)
    max_num_seqs: int = Field(default=_S.max_num_seqs, ge=1, le=_BIG)
    block_size: int | None = Field(default=None, ge=1, le=4096)  # None: the engine's default
    concurrent_sessions: int = Field(default=_S.concurrent_sessions, ge=1, le=_BIG)
    prompt_tokens: int = Field(default=_S.prompt_tokens, ge=1, le=_BIG)
    output_tokens: int = Field(default=_S.output_tokens, ge=1, le=_BIG)
    requests_per_second: float = Field(default=_S.requests_per_second, ge=0, le=1e9)
    batch: int | None = Field(default=None, ge=1, le=1_000_000)  # pinned requests in flight per replica
    sla: SlaSection = SlaSection()
    speculative: SpeculativeSection | None = None


class TrainingSection(_Section):
    """Mirrors engine.inputs.TrainingInputs field for field (a test keeps them in step)."""

    method: TrainingMethod = _T.method
    optimizer: TrainingOptimizer = _T.optimizer
    lora_rank: int = Field(default=_T.lora_rank, ge=1, le=65_536)
    lora_targets: Literal["all-linear", "attention"] = _T.lora_targets
    sequence_length: int = Field(default=_T.sequence_length, ge=1, le=_BIG)
    micro_batch_size: int = Field(default=_T.micro_batch_size, ge=1, le=1_000_000)
    gradient_accumulation: int = Field(default=_T.gradient_accumulation, ge=1, le=1_000_000)
    global_batch_size: int = Field(default=_T.global_batch_size, ge=1, le=_BIG)
    gradient_checkpointing: Literal["none", "selective", "full"] = _T.gradient_checkpointing
    flash_attention: bool = _T.flash_attention
    zero_stage: Literal[0, 1, 2, 3] = _T.zero_stage  # type: ignore[assignment]
    tensor_parallel: int = Field(default=_T.tensor_parallel, ge=1, le=4096)
    pipeline_parallel: int = Field(default=_T.pipeline_parallel, ge=1, le=4096)
    gpus: int | None = Field(default=_T.gpus, ge=1, le=1_000_000)  # None: the fewest that fit
    dataset_tokens: float = Field(default=_T.dataset_tokens, gt=0, le=1e18)
    epochs: float = Field(default=_T.epochs, gt=0, le=1e6)
    mfu: float | None = Field(default=_T.mfu, gt=0, le=1)  # None: from the calibration
    precision: TrainingPrecision = _T.precision
    framework: TrainingFramework = _T.framework
    lora_modules: tuple[LoraModule, ...] = _T.lora_modules
    lora_train_embeddings: bool = _T.lora_train_embeddings
    qlora_format: Literal["nf4", "gptq", "awq", "int8"] = _T.qlora_format
    trainable_layers: int | None = Field(default=_T.trainable_layers, ge=1, le=100_000)
    optimizer_in_backward: bool = _T.optimizer_in_backward
    offload_optimizer: bool = _T.offload_optimizer
    offload_params: bool = _T.offload_params
    shard_group: int = Field(default=_T.shard_group, ge=0, le=1_000_000)
    context_parallel: int = Field(default=_T.context_parallel, ge=1, le=4096)
    expert_parallel: int = Field(default=_T.expert_parallel, ge=1, le=4096)
    virtual_pipeline: int = Field(default=_T.virtual_pipeline, ge=1, le=1024)
    sequence_parallel: bool = _T.sequence_parallel
    activation_offloading: bool = _T.activation_offloading
    chunked_cross_entropy: bool = _T.chunked_cross_entropy
    compile: bool = _T.compile
    gpu: str | None = Field(default=_T.gpu, min_length=1, max_length=200)  # another GPU than [hardware]
    deadline_hours: float | None = Field(default=_T.deadline_hours, gt=0, le=1e7)
    internode_gbs: float = Field(default=_T.internode_gbs, gt=0, le=100_000)
    max_gpus: int = Field(default=_T.max_gpus, ge=1, le=1_000_000)

    @field_validator("lora_modules", mode="before")
    @classmethod
    def _modules_list(cls, value: Any) -> Any:
        # TOML arrays arrive as lists; strict mode would refuse them for a tuple
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _layout(self) -> TrainingSection:
        per_replica = self.tensor_parallel * self.pipeline_parallel * self.context_parallel
        if self.gpus is not None and self.gpus % per_replica:
            raise FieldProblem(
                "gpus",
                f"{self.gpus} GPUs do not split into replicas of tensor_parallel x pipeline_parallel"
                f" x context_parallel = {per_replica}",
            )
        if self.method == "qlora" and self.precision in ("fp8", "fp4"):
            raise FieldProblem("precision", "QLoRA computes in bf16 over 4-bit base weights: use mixed or bf16")
        return self


class ScenarioOverride(_Section):
    """Overrides of one scenario's knobs; an absent key keeps the scenario's default."""

    kv_share: float | None = Field(default=None, gt=0, le=1)  # share of the KV pool planned for
    headroom: float | None = Field(default=None, ge=0, le=100)  # growth on top of demand (0.25 = +25%)
    redundancy: int | None = Field(default=None, ge=0, le=10_000)  # extra replicas (N+k)


class ScenariosSection(_Section):
    minimum: ScenarioOverride | None = None
    recommended: ScenarioOverride | None = None
    ideal: ScenarioOverride | None = None

    @field_validator("minimum", "recommended", "ideal")
    @classmethod
    def _empty_is_none(cls, value: ScenarioOverride | None) -> ScenarioOverride | None:
        # An empty [scenarios.x] table overrides nothing: same session as no table.
        return value if value is not None and value.model_dump(exclude_none=True) else None


class CostsSection(_Section):
    price_per_gpu_hour: float | None = Field(default=None, gt=0, le=1e6)  # None: from the catalog
    provider: str | None = Field(default=None, min_length=1, max_length=200)
    energy_price_kwh: float = Field(default=_C.energy_price_kwh, ge=0, le=1e3)
    pue: float = Field(default=_C.pue, ge=1, le=10)
    kw_per_rack: float = Field(default=_C.kw_per_rack, gt=0, le=1e4)
    rack_units_per_rack: int = Field(default=_C.rack_units_per_rack, ge=1, le=1000)
    host_base_kw: float = Field(default=_C.host_base_kw, ge=0, le=1e3)
    capex: float | None = Field(default=None, gt=0, le=1e9)  # owned: USD per GPU, with its server share
    amortization_years: float | None = Field(default=None, gt=0, le=50)  # None: 3 years


class FleetSection(_Section):
    """The fleet this plan would run on (issue 11): a Prometheus server that scrapes dcgm-exporter
    metrics (NVIDIA's exporter or `gpuplan exporter`). `lookback`: how far back hosts that stopped
    reporting are still listed (a PromQL duration)."""

    prometheus: str = Field(min_length=1, max_length=4096)
    lookback: str = Field(default="1h", min_length=1, max_length=40)

    @field_validator("prometheus")
    @classmethod
    def _http_url(cls, value: str) -> str:
        import re

        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(f"must be the Prometheus base URL, e.g. http://127.0.0.1:9090, got {value!r}")
        return value

    @field_validator("lookback")
    @classmethod
    def _duration(cls, value: str) -> str:
        import re

        if not re.fullmatch(r"(\d+(ms|s|m|h|d|w|y))+", value):
            raise ValueError(f"must be a Prometheus duration such as 15m, 1h or 1h30m, got {value!r}")
        return value


class ForecastSection(_Section):
    """Where demand history comes from and how to forecast it (issue 12). `history` is a CSV,
    a saved Prometheus range-query JSON or a `watch --record` trace, relative to the session
    file; or `prometheus` (base URL) with `query` (PromQL) over `range` at `step`."""

    history: str | None = Field(default=None, min_length=1, max_length=4096)
    column: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, min_length=1, max_length=100)
    prometheus: str | None = Field(default=None, min_length=1, max_length=4096)
    query: str | None = Field(default=None, min_length=1, max_length=10_000)
    range: str = Field(default="8w", pattern=r"^\d+(\.\d+)?[smhdw]$")
    step: str = Field(default="1h", pattern=r"^\d+(\.\d+)?[smhdw]$")
    sum: bool = False
    # One series of a multi-series answer, by its labels ({ replica = "a" }); with `sum`, the
    # series that carry them are added up. The Forecast tab writes it when the user picks one.
    series: dict[str, str] | None = Field(default=None, min_length=1, max_length=32)
    metric: Literal["requests_per_s", "output_tokens_per_s", "busy_gpus"] = "requests_per_s"
    horizon: str = Field(default="14d", pattern=r"^\d+(\.\d+)?[hdw]$")
    quantile: Literal["mean", "p80", "p95"] = "p80"
    scenario: Literal["base", "optimistic", "pessimistic", "spike"] = "base"
    growth_cap: float = Field(default=0.25, gt=0, le=10)  # most growth per week (0.25 = +25 %)

    @field_validator("series")
    @classmethod
    def _label_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        import re

        for name in value or {}:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"{name!r} is not a Prometheus label name (letters, digits, _)")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ForecastSection:
        if self.history is not None and self.prometheus is not None:
            raise FieldProblem("prometheus", "give either `history` (a file) or `prometheus` + `query`, not both")
        if self.prometheus is not None and self.query is None:
            raise FieldProblem("query", "missing: `prometheus` needs a PromQL `query`")
        if self.query is not None and self.prometheus is None:
            raise FieldProblem("prometheus", "missing: `query` needs the Prometheus base URL in `prometheus`")
        return self


class Session(_Section):
    schema_version: int = SCHEMA_VERSION
    name: str = Field(default="untitled", min_length=1, max_length=200)
    model: ModelSection
    hardware: HardwareSection
    serving: ServingSection = ServingSection()
    training: TrainingSection | None = None
    scenarios: ScenariosSection = ScenariosSection()
    costs: CostsSection = CostsSection()
    fleet: FleetSection | None = None
    forecast: ForecastSection | None = None

    @model_validator(mode="before")
    @classmethod
    def _newer_schema(cls, data: Any) -> Any:
        # Checked before anything else: a newer file's unknown keys are not the problem to report.
        version = data.get("schema_version") if isinstance(data, dict) else None
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            raise FieldProblem(
                "schema_version",
                f"this file uses schema_version {version}; this gpuplan reads schema_version "
                f"{SCHEMA_VERSION} (upgrade gpuplan to open it)",
            )
        return data

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be {SCHEMA_VERSION}, got {value}")
        return value
