"""What `plan()` needs, resolved: specs instead of catalog ids, numbers instead of "auto".

Frozen dataclasses: the session layer validates user input (pydantic) and builds these; the
engine trusts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from .hardware import GpuSpec, PriceSpec, ServerSpec
from .model import ModelSpec

WeightFormat = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4", "awq", "gptq", "nf4", "mxfp4"]
KvFormat = Literal["auto", "bf16", "fp16", "fp8"]
ServingEngine = Literal["vllm", "sglang", "trtllm"]
WEIGHT_FORMATS: tuple[str, ...] = WeightFormat.__args__  # type: ignore[attr-defined]
KV_FORMATS: tuple[str, ...] = KvFormat.__args__  # type: ignore[attr-defined]
SERVING_ENGINES: tuple[str, ...] = ServingEngine.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SpeculativeInputs:
    """[serving.speculative]: draft `tokens` per step, each accepted with probability
    `acceptance`; `method` 'mtp' (the model's multi-token-prediction head) or 'draft'."""

    method: Literal["mtp", "draft"] = "mtp"
    tokens: int = 1
    acceptance: float = 0.7


@dataclass(frozen=True, slots=True)
class ServingInputs:
    engine: ServingEngine = "vllm"
    memory_fraction: float = 0.90  # vLLM gpu_memory_utilization / SGLang mem_fraction_static /
    # TensorRT-LLM free_gpu_memory_fraction
    max_model_len: int | None = None  # None: the model's own context limit (vLLM's default)
    max_num_batched_tokens: int = 8192
    max_num_seqs: int = 256
    block_size: int | None = None  # None: the engine's default page size
    concurrent_sessions: int = 100
    prompt_tokens: int = 1000
    output_tokens: int = 300
    requests_per_second: float = 1.0
    ttft_ms: float | None = 1000.0
    itl_ms: float | None = 50.0
    batch: int | None = None  # requests in flight per replica, pinned; None: the SLA decides
    speculative: SpeculativeInputs | None = None


@dataclass(frozen=True, slots=True)
class ScenarioKnobs:
    """How conservatively a scenario plans. `kv_share`: share of the KV pool planned for
    (the rest absorbs bursts and fragmentation); `headroom`: growth on top of today's demand;
    `redundancy`: extra replicas beyond the need (N+k)."""

    kv_share: float
    headroom: float
    redundancy: int


DEFAULT_SCENARIOS: dict[str, ScenarioKnobs] = {
    "minimum": ScenarioKnobs(kv_share=1.0, headroom=0.0, redundancy=0),
    "recommended": ScenarioKnobs(kv_share=0.85, headroom=0.25, redundancy=1),
    "ideal": ScenarioKnobs(kv_share=0.70, headroom=0.50, redundancy=2),
}
SCENARIO_NAMES: tuple[str, ...] = tuple(DEFAULT_SCENARIOS)


@dataclass(frozen=True, slots=True)
class CostInputs:
    price_per_gpu_hour: float | None = None  # USD; None: from the price catalog if one matches
    provider: str | None = None
    energy_price_kwh: float = 0.12  # USD per kWh
    pue: float = 1.3  # power usage effectiveness of the data hall
    kw_per_rack: float = 40.0  # power budget of one rack
    rack_units_per_rack: int = 42
    host_base_kw: float = 1.0  # CPUs, memory, NICs, fans of a node when no server is named
    # Owned hardware: purchase price per GPU (USD, with its share of server and network),
    # written off over `amortization_years` (None: 3 years); used when no price_per_gpu_hour.
    capex: float | None = None
    amortization_years: float | None = None


TrainingMethod = Literal["full", "freeze", "lora", "dora", "qlora"]
TrainingPrecision = Literal["mixed", "bf16", "fp8", "fp4"]
TrainingOptimizer = Literal["adamw", "adamw8bit", "paged_adamw", "paged_adamw8bit", "adafactor", "sgd"]
TrainingFramework = Literal["hf", "torchtune", "torchtitan", "megatron"]
TRAINING_METHODS: tuple[str, ...] = TrainingMethod.__args__  # type: ignore[attr-defined]
TRAINING_PRECISIONS: tuple[str, ...] = TrainingPrecision.__args__  # type: ignore[attr-defined]
TRAINING_OPTIMIZERS: tuple[str, ...] = TrainingOptimizer.__args__  # type: ignore[attr-defined]
TRAINING_FRAMEWORKS: tuple[str, ...] = TrainingFramework.__args__  # type: ignore[attr-defined]
LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True, slots=True)
class TrainingInputs:
    """One fine-tuning / training run. `gpus` None: the planner picks the fewest that fit (and
    finish within `deadline_hours`); `mfu` None: from engine/calibration.py."""

    method: TrainingMethod = "lora"
    optimizer: TrainingOptimizer = "adamw"
    lora_rank: int = 16
    lora_targets: Literal["all-linear", "attention"] = "all-linear"
    sequence_length: int = 4096
    micro_batch_size: int = 1
    gradient_accumulation: int = 8
    global_batch_size: int = 64
    gradient_checkpointing: Literal["none", "selective", "full"] = "selective"
    flash_attention: bool = True
    zero_stage: int = 2
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    gpus: int | None = None
    dataset_tokens: float = 1e9
    epochs: float = 3
    mfu: float | None = None
    # Added with issue 8 (all optional, defaults keep older sessions meaning what they meant):
    precision: TrainingPrecision = "mixed"  # mixed: bf16 compute + fp32 master weights
    framework: TrainingFramework = "hf"  # whose kernels/allocator the figures assume
    lora_modules: tuple[str, ...] = ()  # explicit target list; overrides lora_targets
    lora_train_embeddings: bool = False  # PEFT modules_to_save = embeddings + LM head
    qlora_format: Literal["nf4", "gptq", "awq", "int8"] = "nf4"
    trainable_layers: int | None = None  # method "freeze": the last N layers train (None: a quarter)
    optimizer_in_backward: bool = False  # fused step per parameter: no full gradient buffer
    offload_optimizer: bool = False  # ZeRO-Offload / FSDP CPU offload of optimizer states
    offload_params: bool = False  # ZeRO-3 / FSDP parameter offload to CPU
    shard_group: int = 0  # FSDP hybrid shard / ZeRO++ hpZ: shard within N GPUs (0: all of DP)
    context_parallel: int = 1
    expert_parallel: int = 1
    virtual_pipeline: int = 1  # interleaved 1F1B model chunks per stage
    sequence_parallel: bool = True  # Megatron SP with tensor_parallel > 1
    activation_offloading: bool = False
    chunked_cross_entropy: bool = False
    compile: bool = False  # torch.compile: fused norms/loss, elementwise ops recomputed
    gpu: str | None = None  # catalog id of the training GPU when it differs from [hardware]
    deadline_hours: float | None = None
    internode_gbs: float = 50.0  # per-GPU network bandwidth between nodes, GB/s (400 Gb/s IB)
    max_gpus: int = 4096  # the planner's search stops here


@dataclass(frozen=True, slots=True)
class PlanInputs:
    model: ModelSpec
    gpu: GpuSpec
    weights: WeightFormat = "bf16"
    kv_cache: KvFormat = "auto"
    server: ServerSpec | None = None
    gpus_per_node: int = 8
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    expert_parallel: int = 1  # MoE experts split over this many of the replica's GPUs
    dp_attention: bool = False  # data-parallel attention across the TP ranks (MoE engines)
    serving: ServingInputs = field(default_factory=ServingInputs)
    scenarios: dict[str, ScenarioKnobs] = field(default_factory=lambda: dict(DEFAULT_SCENARIOS))
    costs: CostInputs = field(default_factory=CostInputs)
    prices: tuple[PriceSpec, ...] = ()  # catalog prices for this GPU, to pick from
    training: TrainingInputs | None = None
    name: str = ""
    training_gpu: GpuSpec | None = None  # [training] gpu when it names another GPU
    training_prices: tuple[PriceSpec, ...] = ()  # catalog prices for the training GPU
    # The catalog's GPUs, for the advice on a plan that does not fit (engine/advice.py: "fits on
    # an H200 at TP 1"): a tuple, or a function giving one (the session layer's, so the catalog
    # parses its GPUs only when a plan needs advice). Empty: no GPU is suggested. Not compared.
    gpu_choices: tuple[GpuSpec, ...] | Callable[[], tuple[GpuSpec, ...]] = field(
        default=(), compare=False, repr=False)

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel

    @property
    def node_gpus(self) -> int:
        return self.server.gpus_per_node if self.server else self.gpus_per_node
