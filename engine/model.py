"""Model architecture: a normalised spec read from a Hugging Face config, and the facts derived
from it (parameter counts, KV-cache bytes per token, per-sequence state).

Everything is counted from the architecture, never from the model's name: the classic trap is
gemma-7b, which holds 8.5 B parameters (vLLM issue #2418).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

LayerKind = Literal["full", "sliding", "linear"]

# model_type -> default of `tie_word_embeddings` when a config.json leaves it out: the default of
# the family's transformers Config class (GemmaConfig/Gemma2Config/FalconConfig tie; Llama, Qwen2,
# Mistral, Mixtral, Phi3 and the MoE families do not).
_TIED_BY_DEFAULT = {"gemma", "gemma2", "gemma3", "gemma3_text", "falcon", "RefinedWeb", "RefinedWebModel"}
# Families whose MLP is a plain two-matrix up/act/down (no SwiGLU/GeGLU gate).
_UNGATED_MLP = {"falcon", "RefinedWeb", "RefinedWebModel", "gpt2", "gpt_neox", "opt", "bloom", "starcoder2"}
# Families with four RMSNorms per layer (pre/post attention, pre/post feed-forward).
_SANDWICH_NORM = {"gemma2", "gemma3", "gemma3_text"}
# Mixture-of-experts families and the key(s) their transformers Config reads the expert count from.
_MOE_FAMILIES = {
    "mixtral": ("num_local_experts",),
    "gpt_oss": ("num_local_experts",),
    "qwen2_moe": ("num_experts",),
    "qwen3_moe": ("num_experts",),
    "qwen3_next": ("num_experts",),
    "deepseek_v2": ("n_routed_experts",),
    "deepseek_v3": ("n_routed_experts",),
}
# Families with q/k RMSNorm (one head_dim vector each).
_QK_NORM = {"qwen3", "qwen3_moe", "gemma3", "gemma3_text", "qwen3_next"}


class ModelConfigError(ValueError):
    """A model config that cannot be sized; `field` names the offending key."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ModelSpec(BaseModel):
    """The architecture facts the planner needs, normalised across families."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str = ""
    family: str
    num_layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    num_heads: int = Field(gt=0)
    num_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    intermediate_size: int = Field(ge=0, description="dense MLP width")
    vocab_size: int = Field(gt=0)
    max_context: int | None = Field(default=None, gt=0)
    tie_embeddings: bool = False
    gated_mlp: bool = True
    qkv_bias: bool = False
    o_bias: bool = False
    qk_norm: bool = False
    norms_per_layer: int = 2
    attn_output_gate: bool = False
    attention_sinks: bool = False
    layer_kinds: tuple[LayerKind, ...] = ()
    sliding_window: int | None = Field(default=None, gt=0)
    # Mixture of experts
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    num_shared_experts: int = 0
    shared_expert_intermediate_size: int = 0
    moe_layers: tuple[bool, ...] = ()
    expert_bias: bool = False
    router_bias: bool = False
    # Multi-head latent attention (DeepSeek-V2/V3)
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_nope_head_dim: int | None = None
    qk_rope_head_dim: int | None = None
    v_head_dim: int | None = None
    # Linear-attention (Gated DeltaNet) layers of hybrid models (Qwen3-Next)
    linear_num_key_heads: int = 0
    linear_num_value_heads: int = 0
    linear_key_head_dim: int = 0
    linear_value_head_dim: int = 0
    linear_conv_kernel: int = 0
    native_dtype: str = "bf16"
    native_quant: str | None = None

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def kinds(self) -> tuple[LayerKind, ...]:
        return self.layer_kinds or ("full",) * self.num_layers

    @property
    def label(self) -> str:
        return self.name or self.id


# --------------------------------------------------------------------------------------------
# Reading a Hugging Face config.json
# --------------------------------------------------------------------------------------------


def _first(cfg: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        if cfg.get(key) is not None:
            return cfg[key]
    return default


def _key_of(cfg: dict[str, Any], *keys: str) -> str:
    """The key among `keys` the config actually sets (the first one named when none is)."""
    return next((k for k in keys if cfg.get(k) is not None), keys[0])


# Upper bounds on the sizes a config may give: far above any published model (the largest have
# ~130 layers, 2^14-2^15 hidden, 2^18 vocabulary, 10^7 context), low enough that a typo such as
# 10^8 layers is an error on its key instead of minutes of work and a MemoryError.
_MAX_LAYERS = 10_000
_LIMITS = {
    "num_hidden_layers": _MAX_LAYERS, "n_layer": _MAX_LAYERS, "num_layers": _MAX_LAYERS,
    "hidden_size": 1 << 20, "d_model": 1 << 20, "n_embd": 1 << 20,
    "num_attention_heads": 1 << 16, "n_head": 1 << 16,
    "num_key_value_heads": 1 << 16, "n_head_kv": 1 << 16, "num_kv_heads": 1 << 16,
    "head_dim": 1 << 16,
    "intermediate_size": 1 << 24, "ffn_hidden_size": 1 << 24, "n_inner": 1 << 24,
    "moe_intermediate_size": 1 << 24, "shared_expert_intermediate_size": 1 << 24,
    "vocab_size": 1 << 24,
    "n_routed_experts": 1 << 16, "num_local_experts": 1 << 16, "num_experts": 1 << 16,
    "num_experts_per_tok": 1 << 16, "n_shared_experts": 1 << 16,
}
_MAX_INT = 1 << 40  # any other count (context lengths, windows, ranks)


def _int(cfg: dict[str, Any], *keys: str, required: bool = True, default: int | None = None) -> int | None:
    key = _key_of(cfg, *keys)
    value = cfg.get(key)
    if value is None:
        if required and default is None:
            raise ModelConfigError(keys[0], "missing (needed to size the model)")
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ModelConfigError(key, f"expected a non-negative integer, got {_short(value)}")
    limit = _LIMITS.get(key, _MAX_INT)
    if value > limit:
        raise ModelConfigError(key, f"{value} is not a plausible size (at most {limit:,})")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_finite(value: Any, where: str = "", depth: int = 0) -> None:
    """Every number in the config finite (TOML and Python's JSON reader both accept inf/nan)."""
    if depth > 32:
        raise ModelConfigError(where or "config", "nested too deeply")
    if isinstance(value, float) and not math.isfinite(value):
        raise ModelConfigError(where or "config", f"must be a finite number, got {value!r}")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}" if where else str(k), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]", depth + 1)


_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "half": "fp16", "float": "fp32"}


def _layer_kinds(cfg: dict[str, Any], family: str, layers: int) -> tuple[tuple[LayerKind, ...], int | None]:
    """Per-layer attention kind and the sliding window, from `layer_types` when the config has it,
    else from each family's convention (sources in comments)."""
    window = cfg.get("sliding_window")
    if isinstance(window, bool) or (window is not None and not isinstance(window, int)):
        raise ModelConfigError("sliding_window", f"expected an integer or null, got {window!r}")
    types = cfg.get("layer_types")
    if types is not None:
        if not isinstance(types, list) or len(types) != layers:
            raise ModelConfigError("layer_types", f"expected a list of {layers} layer types")
        mapping = {
            "full_attention": "full",
            "sliding_attention": "sliding",
            "linear_attention": "linear",
            "chunked_attention": "sliding",
        }
        kinds = []
        for i, t in enumerate(types):
            if t not in mapping:
                raise ModelConfigError(f"layer_types[{i}]", f"unknown layer type {t!r}")
            kinds.append(mapping[t])
        if "sliding" in kinds and not window:
            raise ModelConfigError("sliding_window", "layer_types has sliding layers but no window")
        return tuple(kinds), window if "sliding" in kinds else None
    if family == "qwen3_next":
        # Qwen3-Next: every `full_attention_interval`-th layer is full attention, the rest Gated
        # DeltaNet (transformers Qwen3NextConfig default layer_types).
        interval = _int(cfg, "full_attention_interval", default=4)
        if interval < 1:
            raise ModelConfigError("full_attention_interval", "must be at least 1")
        return tuple("full" if (i + 1) % interval == 0 else "linear" for i in range(layers)), None
    max_context = cfg.get("max_position_embeddings")
    if not window or (isinstance(max_context, int) and window >= max_context):
        return ("full",) * layers, None  # no window, or one wider than the context (Phi-3.5)
    if family in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe") and not cfg.get("use_sliding_window", False):
        return ("full",) * layers, None  # the window key is present but switched off
    if family == "gemma2":
        # Gemma 2: layer 0 local sliding, layer 1 global, alternating (Gemma 2 report, sec. 2).
        return tuple("sliding" if i % 2 == 0 else "full" for i in range(layers)), window
    if family in ("gemma3", "gemma3_text"):
        # Gemma 3: 5 local layers then 1 global (Gemma 3 report, sec. 2.2; sliding_window_pattern).
        pattern = _int(cfg, "sliding_window_pattern", default=6)
        if pattern < 1:
            raise ModelConfigError("sliding_window_pattern", "must be at least 1")
        return tuple("full" if (i + 1) % pattern == 0 else "sliding" for i in range(layers)), window
    if family == "gpt_oss":
        # gpt-oss: alternating banded-window and dense layers, starting banded (model card).
        return tuple("sliding" if i % 2 == 0 else "full" for i in range(layers)), window
    max_window_layers = cfg.get("max_window_layers")
    if family.startswith("qwen") and isinstance(max_window_layers, int):
        # Qwen2 with use_sliding_window: layers >= max_window_layers use the window.
        return tuple("sliding" if i >= max_window_layers else "full" for i in range(layers)), window
    return ("sliding",) * layers, window  # Mistral 7B v0.1: every layer slides


def from_hf_config(cfg: dict[str, Any], *, id: str, name: str = "") -> ModelSpec:
    """Normalise a Hugging Face config.json (as a dict) to a ModelSpec. Raises ModelConfigError
    naming the key when a needed field is missing or malformed, and only ModelConfigError."""
    try:
        return _from_hf_config(cfg, id=id, name=name)
    except ModelConfigError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ModelConfigError(str(first["loc"][0]) if first["loc"] else "config", first["msg"]) from None
    except (TypeError, ValueError, ZeroDivisionError, AttributeError) as exc:
        raise ModelConfigError("config", f"cannot be sized: {exc}") from None
    except (MemoryError, RecursionError, OverflowError) as exc:
        raise ModelConfigError("config", f"too large to size ({type(exc).__name__})") from None


def _from_hf_config(cfg: dict[str, Any], *, id: str, name: str = "") -> ModelSpec:
    if not isinstance(cfg, dict):
        raise ModelConfigError("config", "expected a table of Hugging Face config keys")
    if isinstance(cfg.get("text_config"), dict):
        # Multimodal wrappers (Gemma 3, Llama 4, ...) nest the decoder; size the text decoder.
        outer = cfg
        cfg = {**cfg["text_config"]}
        cfg.setdefault("model_type", outer.get("model_type"))
        for key in ("tie_word_embeddings", "torch_dtype", "quantization_config"):
            if key not in cfg and key in outer:
                cfg[key] = outer[key]
    family = cfg.get("model_type")
    if not isinstance(family, str) or not family:
        raise ModelConfigError("model_type", "missing (it decides the architecture family)")
    _check_finite(cfg)

    layers = _int(cfg, "num_hidden_layers", "n_layer", "num_layers")
    hidden = _int(cfg, "hidden_size", "d_model", "n_embd")
    heads = _int(cfg, "num_attention_heads", "n_head")
    if family in ("falcon", "RefinedWeb", "RefinedWebModel"):
        if cfg.get("new_decoder_architecture"):
            kv_heads = _int(cfg, "num_kv_heads", "n_head_kv", "num_key_value_heads")
        elif cfg.get("multi_query", True):
            kv_heads = 1
        else:
            kv_heads = heads
        intermediate = _int(cfg, "ffn_hidden_size", required=False, default=4 * hidden)
    else:
        kv_heads = _int(cfg, "num_key_value_heads", "n_head_kv", "num_kv_heads", required=False, default=heads)
        intermediate = _int(cfg, "intermediate_size", "ffn_hidden_size", "n_inner", required=False, default=0)
    for value, keys in (
        (layers, ("num_hidden_layers", "n_layer", "num_layers")),
        (hidden, ("hidden_size", "d_model", "n_embd")),
        (heads, ("num_attention_heads", "n_head")),
        (kv_heads, ("num_key_value_heads", "n_head_kv", "num_kv_heads")),
    ):
        if value == 0:
            raise ModelConfigError(_key_of(cfg, *keys), "must be at least 1")
    kv_key = _key_of(cfg, "num_kv_heads", "n_head_kv", "num_key_value_heads")
    if kv_heads > heads or heads % kv_heads:
        # GQA groups query heads evenly over KV heads (Ainslie et al. 2023); engines refuse others.
        raise ModelConfigError(
            kv_key if kv_key in cfg else "num_key_value_heads",
            f"{kv_heads} KV heads do not divide the {heads} attention heads into equal groups",
        )
    head_dim = _int(cfg, "head_dim", required=False, default=None)
    if head_dim == 0:
        raise ModelConfigError("head_dim", "must be at least 1 (leave it out for hidden_size / num_attention_heads)")
    if head_dim is None:
        if hidden % heads and not cfg.get("kv_lora_rank"):
            raise ModelConfigError(
                _key_of(cfg, "hidden_size", "d_model", "n_embd"),
                f"{hidden} does not split into {heads} attention heads (set head_dim if the model has one)",
            )
        head_dim = max(1, hidden // heads)
    vocab = _int(cfg, "vocab_size")
    max_context = _int(
        cfg, "max_position_embeddings", "max_sequence_length", "n_positions", "seq_length", required=False, default=0
    ) or None

    kinds, window = _layer_kinds(cfg, family, layers)

    # Mixture of experts: key names differ per family (Mixtral/gpt-oss num_local_experts,
    # Qwen-MoE num_experts, DeepSeek n_routed_experts).
    experts = _int(cfg, "n_routed_experts", "num_local_experts", "num_experts", required=False, default=0)
    moe_layers: tuple[bool, ...] = ()
    per_token = moe_width = shared = shared_width = 0
    if not experts and family in _MOE_FAMILIES:
        key = _key_of(cfg, *_MOE_FAMILIES[family])
        why = "must be at least 1" if cfg.get(key) is not None else "missing"
        raise ModelConfigError(key, f"{why}: a {family} model is a mixture of experts")
    if experts:
        per_token = _int(cfg, "num_experts_per_tok", "experts_per_token", "num_experts_per_token")
        if per_token == 0:
            raise ModelConfigError(
                _key_of(cfg, "num_experts_per_tok", "experts_per_token", "num_experts_per_token"),
                "must be at least 1 (experts each token is routed to)",
            )
        moe_width = _int(cfg, "moe_intermediate_size", required=False, default=0) or intermediate
        shared = _int(cfg, "n_shared_experts", required=False, default=0)
        shared_width = _int(cfg, "shared_expert_intermediate_size", required=False, default=0)
        if shared_width and not shared:
            shared = 1  # Qwen2-MoE: one shared expert of its own width
        first_dense = _int(cfg, "first_k_dense_replace", required=False, default=0)
        step = _int(cfg, "decoder_sparse_step", "moe_layer_freq", required=False, default=1) or 1
        dense_only = cfg.get("mlp_only_layers") or []
        if not isinstance(dense_only, list) or not all(isinstance(i, int) for i in dense_only):
            raise ModelConfigError("mlp_only_layers", "expected a list of layer indices")
        dense_only = set(dense_only)
        moe_layers = tuple(
            i >= first_dense and i not in dense_only and (i + 1) % step == 0 for i in range(layers)
        )
        if per_token > experts:
            raise ModelConfigError("num_experts_per_tok", f"{per_token} exceeds the {experts} experts")

    mla = {}
    if cfg.get("kv_lora_rank"):
        mla = {
            "q_lora_rank": _int(cfg, "q_lora_rank", required=False, default=0) or None,
            "kv_lora_rank": _int(cfg, "kv_lora_rank"),
            "qk_nope_head_dim": _int(cfg, "qk_nope_head_dim"),
            "qk_rope_head_dim": _int(cfg, "qk_rope_head_dim"),
            "v_head_dim": _int(cfg, "v_head_dim"),
        }
        if not mla["v_head_dim"]:
            raise ModelConfigError("v_head_dim", "must be at least 1")
        if not mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"]:
            raise ModelConfigError("qk_nope_head_dim", "qk_nope_head_dim + qk_rope_head_dim must be at least 1")

    linear = {}
    if "linear" in kinds:
        linear = {
            "linear_num_key_heads": _int(cfg, "linear_num_key_heads"),
            "linear_num_value_heads": _int(cfg, "linear_num_value_heads"),
            "linear_key_head_dim": _int(cfg, "linear_key_head_dim"),
            "linear_value_head_dim": _int(cfg, "linear_value_head_dim"),
            "linear_conv_kernel": _int(cfg, "linear_conv_kernel_dim", default=4),
        }

    quant = cfg.get("quantization_config")
    native_quant = None
    if isinstance(quant, dict):
        method = str(quant.get("quant_method", "")).lower()
        fmt = str(quant.get("fmt", quant.get("format", ""))).lower()
        if method == "fp8" or "e4m3" in fmt:
            native_quant = "fp8"
        elif method in ("mxfp4", "awq", "gptq"):
            native_quant = method
        elif method == "bitsandbytes":
            native_quant = "nf4" if quant.get("load_in_4bit") else "int8"
    dtype = _DTYPES.get(str(cfg.get("torch_dtype", cfg.get("dtype", "bfloat16"))), "bf16")

    tie = cfg.get("tie_word_embeddings")
    if tie is None:
        tie = family in _TIED_BY_DEFAULT
    attention_bias = bool(cfg.get("attention_bias", cfg.get("bias", False)))
    return ModelSpec(
        id=id,
        name=name,
        family=family,
        num_layers=layers,
        hidden_size=hidden,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=intermediate,
        vocab_size=vocab,
        max_context=max_context,
        tie_embeddings=bool(tie),
        gated_mlp=family not in _UNGATED_MLP,
        # Qwen2/Qwen2-MoE put a bias on q/k/v only (no config key); others follow attention_bias.
        qkv_bias=attention_bias or family in ("qwen2", "qwen2_moe"),
        o_bias=attention_bias,
        qk_norm=family in _QK_NORM,
        norms_per_layer=4 if family in _SANDWICH_NORM else 2,
        attn_output_gate=family == "qwen3_next",
        attention_sinks=family == "gpt_oss",
        layer_kinds=kinds if any(k != "full" for k in kinds) else (),
        sliding_window=window,
        num_experts=experts,
        experts_per_token=per_token,
        moe_intermediate_size=moe_width,
        num_shared_experts=shared,
        shared_expert_intermediate_size=shared_width or (moe_width if shared else 0),
        moe_layers=moe_layers,
        expert_bias=family == "gpt_oss",
        router_bias=family == "gpt_oss",
        native_dtype=dtype,
        native_quant=native_quant,
        **mla,
        **linear,
    )


# --------------------------------------------------------------------------------------------
# Parameter counts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParamCounts:
    total: int
    active: int  # per token (MoE: routed experts actually used plus everything shared)
    embedding: int
    lm_head: int  # 0 when tied to the embedding
    attention: int
    dense_mlp: int
    experts: int  # all routed experts, every MoE layer
    shared_experts_and_router: int
    norms: int

    @property
    def block_linear(self) -> int:
        """Weights of the decoder blocks' linear layers: what weight quantization compresses."""
        return self.attention + self.dense_mlp + self.experts + self.shared_experts_and_router


def _mlp_params(spec: ModelSpec, width: int, bias: bool = False) -> int:
    matrices = 3 if spec.gated_mlp else 2  # SwiGLU/GeGLU: gate, up, down (Shazeer 2020)
    params = matrices * spec.hidden_size * width
    if bias:
        params += (matrices - 1) * width + spec.hidden_size
    return params


def _attention_params(spec: ModelSpec, kind: LayerKind) -> int:
    h = spec.hidden_size
    if kind == "linear":
        # Gated DeltaNet (Qwen3-Next modeling): in_proj_qkvz, in_proj_ba, depthwise conv1d,
        # A_log, dt_bias, gated RMSNorm, out_proj.
        key_dim = spec.linear_num_key_heads * spec.linear_key_head_dim
        value_dim = spec.linear_num_value_heads * spec.linear_value_head_dim
        return (
            h * (2 * key_dim + 2 * value_dim)
            + h * 2 * spec.linear_num_value_heads
            + (2 * key_dim + value_dim) * spec.linear_conv_kernel
            + 2 * spec.linear_num_value_heads
            + spec.linear_value_head_dim
            + value_dim * h
        )
    if spec.is_mla:
        # DeepSeek-V2 paper, sec. 2.1.2: low-rank q (optional) and joint KV compression.
        qk_dim = spec.qk_nope_head_dim + spec.qk_rope_head_dim
        if spec.q_lora_rank:
            q = h * spec.q_lora_rank + spec.q_lora_rank + spec.q_lora_rank * spec.num_heads * qk_dim
        else:
            q = h * spec.num_heads * qk_dim
        kv = (
            h * (spec.kv_lora_rank + spec.qk_rope_head_dim)
            + spec.kv_lora_rank
            + spec.kv_lora_rank * spec.num_heads * (spec.qk_nope_head_dim + spec.v_head_dim)
        )
        return q + kv + spec.num_heads * spec.v_head_dim * h
    q_out = spec.num_heads * spec.head_dim * (2 if spec.attn_output_gate else 1)
    kv_out = spec.num_kv_heads * spec.head_dim
    params = h * (q_out + 2 * kv_out) + spec.num_heads * spec.head_dim * h
    if spec.qkv_bias:
        params += q_out + 2 * kv_out
    if spec.o_bias:
        params += h
    if spec.qk_norm:
        params += 2 * spec.head_dim
    if spec.attention_sinks:
        params += spec.num_heads
    return params


def count_params(spec: ModelSpec) -> ParamCounts:
    """Parameters from the architecture: untied LM head counted, every MoE expert resident."""
    h = spec.hidden_size
    attention = sum(_attention_params(spec, kind) for kind in spec.kinds)
    moe_flags = spec.moe_layers or (False,) * spec.num_layers
    n_moe = sum(moe_flags)
    n_dense = spec.num_layers - n_moe
    dense_mlp = n_dense * _mlp_params(spec, spec.intermediate_size)
    expert = _mlp_params(spec, spec.moe_intermediate_size, bias=spec.expert_bias) if n_moe else 0
    experts = n_moe * spec.num_experts * expert
    router = h * spec.num_experts + (spec.num_experts if spec.router_bias else 0)
    if spec.family in ("deepseek_v3",):
        router += spec.num_experts  # e_score_correction_bias (DeepSeek-V3 aux-loss-free balancing)
    shared = spec.num_shared_experts * _mlp_params(spec, spec.shared_expert_intermediate_size)
    if spec.family == "qwen2_moe" and shared:
        shared += h  # the shared expert's sigmoid gate
    shared_and_router = n_moe * (shared + router)
    norms = spec.num_layers * spec.norms_per_layer * h + h
    if spec.family in ("falcon", "RefinedWeb", "RefinedWebModel"):
        norms *= 2  # LayerNorm with bias
    embedding = spec.vocab_size * h
    lm_head = 0 if spec.tie_embeddings else spec.vocab_size * h
    total = embedding + lm_head + attention + dense_mlp + experts + shared_and_router + norms
    idle_experts = n_moe * (spec.num_experts - spec.experts_per_token) * expert
    return ParamCounts(
        total=total,
        active=total - idle_experts,
        embedding=embedding,
        lm_head=lm_head,
        attention=attention,
        dense_mlp=dense_mlp,
        experts=experts,
        shared_experts_and_router=shared_and_router,
        norms=norms,
    )


# --------------------------------------------------------------------------------------------
# KV cache
# --------------------------------------------------------------------------------------------

DTYPE_BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0}


def kv_heads_per_gpu(spec: ModelSpec, tensor_parallel: int) -> int:
    """KV heads one tensor-parallel rank holds: split across ranks, never below one (vLLM
    replicates a KV head when TP exceeds the KV head count; vllm/model_executor/models/llama.py
    `max(1, total_num_kv_heads // tp_size)`)."""
    return max(1, spec.num_kv_heads // tensor_parallel)


def kv_bytes_per_token_layer(spec: ModelSpec, kv_bytes: float, tensor_parallel: int = 1) -> float:
    """Bytes one token adds to one attention layer's cache on one GPU.

    MHA/GQA: K and V, `2 * kv_heads * head_dim * bytes` (vLLM paged attention).
    MLA: the compressed latent plus the decoupled RoPE key, `(kv_lora_rank + qk_rope_head_dim) *
    bytes`, one copy per GPU because the latent is not split by TP (DeepSeek-V2 paper sec. 2.1.2;
    vLLM MLA backends)."""
    if spec.is_mla:
        return (spec.kv_lora_rank + spec.qk_rope_head_dim) * kv_bytes
    return 2 * kv_heads_per_gpu(spec, tensor_parallel) * spec.head_dim * kv_bytes


def layers_per_stage(spec: ModelSpec, pipeline_parallel: int) -> list[tuple[LayerKind, ...]]:
    """Split the layers across pipeline stages the way vLLM does (even split, remainder to the
    last stages: vllm/distributed/utils.py get_pp_indices)."""
    n = spec.num_layers
    pp = max(1, min(pipeline_parallel, n))
    base, extra = divmod(n, pp)
    kinds = spec.kinds
    stages, start = [], 0
    for stage in range(pp):
        size = base + (1 if stage >= pp - extra else 0)
        stages.append(kinds[start : start + size])
        start += size
    return stages


def linear_state_bytes_per_layer(spec: ModelSpec, state_bytes: float, tensor_parallel: int = 1) -> float:
    """Constant per-sequence state of one Gated DeltaNet layer on one GPU: the recurrent state
    (value heads x key_dim x value_dim) plus the causal-conv state ((kernel-1) x conv channels),
    split across TP ranks by heads (Qwen3-Next; vLLM mamba/gdn state spec)."""
    if not spec.linear_num_value_heads:
        return 0.0
    tp = max(1, tensor_parallel)
    heads = max(1, spec.linear_num_value_heads // tp)
    recurrent = heads * spec.linear_key_head_dim * spec.linear_value_head_dim
    conv_channels = (
        2 * spec.linear_num_key_heads * spec.linear_key_head_dim
        + spec.linear_num_value_heads * spec.linear_value_head_dim
    ) / tp
    conv = (spec.linear_conv_kernel - 1) * conv_channels
    return (recurrent + conv) * state_bytes


@dataclass(frozen=True, slots=True)
class KvFootprint:
    """Per-GPU KV cache cost of one sequence, for the busiest pipeline stage."""

    bytes_per_token: float  # one token in every attention layer of the stage (len <= window)
    full_layers: int
    sliding_layers: int
    linear_layers: int
    per_layer_bytes: float
    linear_state_bytes: float  # per sequence, all linear layers of the stage
    window: int | None

    def sequence_bytes(self, tokens: int) -> float:
        """Cache one sequence of `tokens` holds: full layers keep every token, sliding layers at
        most the window, linear-attention layers a constant state."""
        sliding_tokens = min(tokens, self.window) if self.window else tokens
        return (
            self.per_layer_bytes * (self.full_layers * tokens + self.sliding_layers * sliding_tokens)
            + self.linear_state_bytes
        )


def kv_footprint(
    spec: ModelSpec, kv_bytes: float, tensor_parallel: int = 1, pipeline_parallel: int = 1
) -> KvFootprint:
    per_layer = kv_bytes_per_token_layer(spec, kv_bytes, tensor_parallel)
    best: KvFootprint | None = None
    for stage in layers_per_stage(spec, pipeline_parallel):
        full = sum(1 for k in stage if k == "full")
        sliding = sum(1 for k in stage if k == "sliding")
        linear = sum(1 for k in stage if k == "linear")
        fp = KvFootprint(
            bytes_per_token=per_layer * (full + sliding),
            full_layers=full,
            sliding_layers=sliding,
            linear_layers=linear,
            per_layer_bytes=per_layer,
            linear_state_bytes=linear * linear_state_bytes_per_layer(spec, kv_bytes, tensor_parallel),
            window=spec.sliding_window,
        )
        if best is None or fp.bytes_per_token > best.bytes_per_token:
            best = fp
    assert best is not None
    return best


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def check_parallelism(spec: ModelSpec, tensor_parallel: int, pipeline_parallel: int) -> list[str]:
    """Reasons a TP/PP layout cannot load, as a serving engine would refuse it."""
    problems = []
    if spec.num_heads % tensor_parallel:
        problems.append(
            f"{spec.num_heads} attention heads do not divide across tensor_parallel={tensor_parallel}"
        )
    kv = spec.num_kv_heads
    if not spec.is_mla and kv % tensor_parallel and tensor_parallel % kv:
        problems.append(
            f"{kv} KV heads and tensor_parallel={tensor_parallel}: one must divide the other"
        )
    if pipeline_parallel > spec.num_layers:
        problems.append(f"pipeline_parallel={pipeline_parallel} exceeds the {spec.num_layers} layers")
    return problems


__all__ = [
    "DTYPE_BYTES",
    "KvFootprint",
    "ModelConfigError",
    "ModelSpec",
    "ParamCounts",
    "ceil_div",
    "check_parallelism",
    "count_params",
    "from_hf_config",
    "kv_bytes_per_token_layer",
    "kv_footprint",
    "kv_heads_per_gpu",
    "layers_per_stage",
    "linear_state_bytes_per_layer",
]
