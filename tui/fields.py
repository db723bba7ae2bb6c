"""The sidebar's editable fields: which session key each edits, how its text becomes a value and
how a value is shown. Plain Python (no Textual), so it is tested without an app.

A field's text is parsed here (`"8,192"`, `"32k"`, `"90%"`, blank = the default); the value is
then validated by the session model (`sessions.io.update_session`), whose error names the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["int", "float", "fraction", "choice", "text"]

# The choices of engine.inputs (WeightFormat, KvFormat, ServingEngine), repeated here so the
# sidebar is drawn without importing the engine (a test keeps them equal).
WEIGHT_FORMATS: tuple[str, ...] = ("fp32", "fp16", "bf16", "fp8", "int8", "int4", "awq", "gptq", "nf4", "mxfp4")
KV_FORMATS: tuple[str, ...] = ("auto", "bf16", "fp16", "fp8")
SERVING_ENGINES: tuple[str, ...] = ("vllm", "sglang", "trtllm")


class FieldInputError(ValueError):
    """Text that is not a value of the field's kind; the message is shown beside the field."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: str  # dotted session key, e.g. "serving.max_model_len"
    label: str  # short, fits a 30-column sidebar
    kind: Kind
    help: str
    blank_ok: bool = False  # blank text -> None (the key is removed: the default applies)
    blank_means: str = ""  # placeholder shown when blank
    tokens: bool = False  # a token count: "32k" means 32,768

    @property
    def widget_id(self) -> str:
        return "f-" + self.path.replace(".", "-").replace("_", "-")


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _clean(text: str) -> str:
    return text.strip().replace(",", "").replace("_", "").replace(" ", "")


def parse_value(spec: FieldSpec, text: str) -> Any:
    """The value `text` stands for; raises FieldInputError with a message for the field."""
    raw = _clean(text)
    if not raw:
        if spec.blank_ok:
            return None
        raise FieldInputError("required")
    if spec.kind in ("choice", "text"):
        return text.strip()
    multiplier = 1
    if spec.kind == "fraction" and raw.endswith("%"):
        raw, multiplier = raw[:-1], 0
    elif raw[-1:] in ("k", "K", "m", "M") and spec.kind in ("int", "float"):
        base = 1024 if spec.tokens else 1000
        multiplier = base if raw[-1] in "kK" else base * base
        raw = raw[:-1]
    if not _NUMBER.match(raw):
        word = {"int": "a whole number", "float": "a number", "fraction": "a fraction (0.9 or 90%)"}[spec.kind]
        raise FieldInputError(f"expected {word}, got {text.strip()!r}")
    number = float(raw)
    if multiplier == 0:  # percent
        number /= 100
    else:
        number *= multiplier
    if spec.kind == "int":
        if number != int(number):
            raise FieldInputError(f"expected a whole number, got {text.strip()!r}")
        return int(number)
    return float(number)


def format_value(spec: FieldSpec, value: Any) -> str:
    """How a session value is shown in its field (blank for None)."""
    if value is None:
        return ""
    if spec.kind == "int":
        return str(int(value))
    if spec.kind in ("float", "fraction"):
        number = float(value)
        return str(int(number)) if number == int(number) and abs(number) < 1e15 else f"{number:g}"
    return str(value)


def get_path(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


# The sidebar, top to bottom. Choice fields (pickers) are listed for their help and paths; their
# options come from the catalog and engine.inputs.
MODEL = FieldSpec("model.catalog", "Model", "choice", "Catalog model, Hugging Face cache entry or user model; type to filter.")
GPU = FieldSpec("hardware.gpu", "GPU", "choice", "The GPU each replica runs on.")
SERVER = FieldSpec("hardware.server", "Server", "choice", "Optional: gives GPUs per node, power and rack units.", blank_ok=True)
WEIGHTS = FieldSpec("model.weights", "Weights", "choice", "Weight format (quantization).")
KV_CACHE = FieldSpec("model.kv_cache", "KV cache", "choice", "KV cache format; auto follows the weights/model dtype.")
ENGINE = FieldSpec("serving.engine", "Engine", "choice", "How the KV pool is carved: vLLM, SGLang or TensorRT-LLM.")

NUMERIC_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("serving.memory_fraction", "Mem fraction", "fraction",
              "vLLM gpu_memory_utilization / SGLang mem_fraction_static / TRT-LLM free fraction (0.9 or 90%)."),
    FieldSpec("hardware.tensor_parallel", "Tensor par", "int", "GPUs a replica's layers are split across (TP)."),
    FieldSpec("hardware.pipeline_parallel", "Pipeline par", "int", "Pipeline stages per replica (PP)."),
    FieldSpec("hardware.gpus_per_node", "GPUs / node", "int", "GPUs in one node when no server is named.",
              blank_ok=True, blank_means="8"),
    FieldSpec("serving.max_model_len", "Context", "int", "max_model_len in tokens (32k = 32,768); blank: the model's limit.",
              blank_ok=True, blank_means="model max", tokens=True),
    FieldSpec("serving.max_num_batched_tokens", "Batch tokens", "int",
              "max_num_batched_tokens: the prefill chunk; the activation peak grows with it.", tokens=True),
    FieldSpec("serving.concurrent_sessions", "Sessions", "int", "Concurrent sessions to serve (active conversations)."),
    FieldSpec("serving.prompt_tokens", "Prompt tok", "int", "Average prompt length in tokens.", tokens=True),
    FieldSpec("serving.output_tokens", "Output tok", "int", "Average output length in tokens.", tokens=True),
    FieldSpec("serving.max_num_seqs", "Max seqs", "int",
              "max_num_seqs: sequences one replica schedules at once; caps the sessions per GPU."),
    FieldSpec("serving.requests_per_second", "Requests/s", "float", "Request rate to sustain (0: size by sessions only)."),
    FieldSpec("serving.sla.ttft_ms", "SLA TTFT ms", "float", "Time-to-first-token target, milliseconds."),
    FieldSpec("serving.sla.itl_ms", "SLA ITL ms", "float", "Inter-token latency target, milliseconds."),
)

ALL_FIELDS: tuple[FieldSpec, ...] = (MODEL, GPU, SERVER, WEIGHTS, KV_CACHE, ENGINE, *NUMERIC_FIELDS)

# The Training tab's own controls (tui/widgets/training.py); not in the sidebar. Choices repeat
# engine.inputs' literals (a test keeps them equal).
TRAINING_CHOICES: dict[str, tuple[str, ...]] = {
    "training.method": ("full", "freeze", "lora", "dora", "qlora"),
    "training.optimizer": ("adamw", "adamw8bit", "paged_adamw", "paged_adamw8bit", "adafactor", "sgd"),
    "training.gradient_checkpointing": ("none", "selective", "full"),
    "training.precision": ("mixed", "bf16", "fp8", "fp4"),
}
TRAINING_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("training.method", "Method", "choice", "full, freeze (top layers), LoRA, DoRA or QLoRA (4-bit base)."),
    FieldSpec("training.optimizer", "Optimizer", "choice", "Optimizer states: AdamW 8 B/param, 8-bit 2 B, SGD 4 B."),
    FieldSpec("training.gradient_checkpointing", "Recompute", "choice", "Activation checkpointing."),
    FieldSpec("training.precision", "Precision", "choice", "mixed = bf16 + fp32 master weights."),
    FieldSpec("training.zero_stage", "ZeRO", "int", "0-3: shard optimizer, + gradients, + weights (FSDP = 3)."),
    FieldSpec("training.sequence_length", "Seq len", "int", "Tokens per sample (8k = 8,192).", tokens=True),
    FieldSpec("training.micro_batch_size", "Micro-batch", "int", "Samples per GPU per forward/backward."),
    FieldSpec("training.global_batch_size", "Global batch", "int", "Samples per optimizer step, all GPUs."),
    FieldSpec("training.gpus", "GPUs", "int", "Blank: the fewest that fit (and meet the deadline).",
              blank_ok=True, blank_means="auto"),
    FieldSpec("training.lora_rank", "LoRA rank", "int", "Adapter rank r."),
    FieldSpec("training.dataset_tokens", "Dataset tok", "float", "Tokens in the dataset (1e9, 500m)."),
    FieldSpec("training.epochs", "Epochs", "float", "Passes over the dataset."),
    FieldSpec("training.deadline_hours", "Deadline h", "float", "Finish within this many hours (with GPUs blank).",
              blank_ok=True, blank_means="none"),
)
BY_PATH: dict[str, FieldSpec] = {f.path: f for f in (*ALL_FIELDS, *TRAINING_FIELDS)}
# Where a problem reported on another key is shown (an inline model/GPU, a whole section).
ALIASES: dict[str, str] = {
    "model.config": "model.catalog",
    "model": "model.catalog",
    "hardware.gpu_spec": "hardware.gpu",
    "hardware": "hardware.gpu",
    "serving.sla": "serving.sla.ttft_ms",
}


def field_for(path: str) -> FieldSpec | None:
    """The sidebar field that shows a problem reported on `path` (a key or a key below it)."""
    path = re.sub(r"\[\d+\]", "", path)
    while path:
        if path in BY_PATH:
            return BY_PATH[path]
        if path in ALIASES:
            return BY_PATH[ALIASES[path]]
        path = path.rpartition(".")[0]
    return None

