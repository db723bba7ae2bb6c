"""The published training runs of ../shared/reference as planner inputs.

Every point of training_measurements.toml and the torchtune / Megatron-22B points of
measurements.toml becomes a `Case`: the model (bundled catalog, or an architecture below taken
from the model's published config), the GPU, a TrainingInputs saying what the run did, and the
measured figures normalised to per GPU (Qwen's multi-GPU memory is summed over GPUs: divided
here). A point the planner cannot model says why in `skip`.

Train/held-out split: ids whose number is a multiple of 3 are held out (never used by
bench/training_fit.py); the rest fit the calibration.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from engine.hardware import GpuSpec
from engine.inputs import TrainingInputs
from engine.model import ModelSpec, from_hf_config

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
FALLBACK = ROOT / "tests" / "engine" / "data"


def _reference(name: str) -> Path:
    for base in (REFERENCE, FALLBACK):
        if (base / name).exists():
            return base / name
    raise FileNotFoundError(name)


# Architectures not in the bundled catalog, from each model's published config.json (HF hub
# config of the repo named) or, for Megatron's GPTs, from the point itself.
_ARCH: dict[str, dict] = {
    # Qwen (v1) config.json: intermediate_size is twice the MLP width (w1 and w2 each take half);
    # c_attn carries a bias. Untied wte / lm_head.
    "Qwen/Qwen-1_8B": dict(model_type="qwen2", hidden_size=2048, num_hidden_layers=24, num_attention_heads=16,
                           num_key_value_heads=16, intermediate_size=5504, vocab_size=151936,
                           max_position_embeddings=8192),
    "Qwen/Qwen-7B": dict(model_type="qwen2", hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                         num_key_value_heads=32, intermediate_size=11008, vocab_size=151936,
                         max_position_embeddings=8192),
    "Qwen/Qwen-14B": dict(model_type="qwen2", hidden_size=5120, num_hidden_layers=40, num_attention_heads=40,
                          num_key_value_heads=40, intermediate_size=13696, vocab_size=152064,
                          max_position_embeddings=8192),
    "Qwen/Qwen-72B": dict(model_type="qwen2", hidden_size=8192, num_hidden_layers=80, num_attention_heads=64,
                          num_key_value_heads=64, intermediate_size=24576, vocab_size=152064,
                          max_position_embeddings=32768),
    "meta-llama/Llama-2-13b-hf": dict(model_type="llama", hidden_size=5120, num_hidden_layers=40,
                                      num_attention_heads=40, num_key_value_heads=40, intermediate_size=13824,
                                      vocab_size=32000, max_position_embeddings=4096),
    "meta-llama/Llama-2-70b-hf": dict(model_type="llama", hidden_size=8192, num_hidden_layers=80,
                                      num_attention_heads=64, num_key_value_heads=8, intermediate_size=28672,
                                      vocab_size=32000, max_position_embeddings=4096),
    # GPT-3 175B (Brown et al. 2020 table 2.1; NeMo gpt3_175b config): 4h GeLU MLP.
    "GPT-3 175B (NeMo config)": dict(model_type="starcoder2", hidden_size=12288, num_hidden_layers=96,
                                     num_attention_heads=96, num_key_value_heads=96, intermediate_size=49152,
                                     vocab_size=51200, max_position_embeddings=2048),
    # Nemotron-4 340B (arXiv:2406.11704 table 1): GQA 8, squared-ReLU MLP 73728, vocab 256k.
    "nvidia/Nemotron-4-340B": dict(model_type="starcoder2", hidden_size=18432, num_hidden_layers=96,
                                   num_attention_heads=96, num_key_value_heads=8, intermediate_size=73728,
                                   vocab_size=256000, max_position_embeddings=4096),
    # Megatron 22B of Korthikanti et al. 2022 table 3.
    "megatron-22B": dict(model_type="starcoder2", hidden_size=6144, num_hidden_layers=48, num_attention_heads=64,
                         num_key_value_heads=64, intermediate_size=24576, vocab_size=51200,
                         max_position_embeddings=2048),
}
_CATALOG_ALIAS = {
    "meta-llama/Llama-3.1-8B": "llama-3.1-8b", "meta-llama/Meta-Llama-3-8B": "llama-3.1-8b",
    "meta-llama/Llama-3.1-70B": "llama-3.1-70b", "meta-llama/Meta-Llama-3-70B": "llama-3.1-70b",
    "meta-llama/Llama-3.1-405B": "llama-3.1-405b", "meta-llama/Llama-2-7b-hf": "llama-2-7b",
    "Qwen/Qwen3-8B": "qwen3-8b", "Qwen/Qwen3-30B-A3B": "qwen3-30b-a3b", "Qwen/Qwen3-235B-A22B": "qwen3-235b-a22b",
    "deepseek-ai/DeepSeek-V3": "deepseek-v3", "deepseek-ai/DeepSeek-V3 (with MTP)": "deepseek-v3",
    "openai/gpt-oss-120b": "gpt-oss-120b", "Llama 3.2 3B": "llama-3.2-3b",
}
# Kimi K2 (moonshotai/Kimi-K2-Instruct config.json): DeepSeek-V3 layout, 64 heads, 384 experts,
# one dense layer, vocab 163840.
_KIMI = dict(num_attention_heads=64, num_key_value_heads=64, n_routed_experts=384, first_k_dense_replace=1,
             vocab_size=163840)

_GPUS: dict[str, str] = {
    "A100-SXM4-80G": "a100-sxm-80gb", "A100 80GB": "a100-sxm-80gb", "1x A100": "a100-sxm-80gb",
    "H100 SXM (DGX-H100)": "h100-sxm-80gb", "H100": "h100-sxm-80gb",
    "B200 (DGX-B200)": "b200-sxm-180gb", "GB200 (Blackwell, NVL72) (DGX-GB200)": "gb200",
    "not stated": "a100-sxm-80gb",
}
# GPUs not in the bundled catalog (NVIDIA datasheets, dense figures; the H100 96 GB parts of
# Meta's Grand Teton run at 500 W but torchtitan reports MFU against the SXM 989 TFLOP/s).
_INLINE_GPUS = {
    "H100 SXM HBM2e 96GB (Grand Teton, 500W power limit)": dict(id="h100-96gb-500w", memory_gib=94.5,
                                                                 bf16_tflops=989, fp8_tflops=1978, interconnect_gbs=900),
    "H100 SXM HBM2e 95/96GB, lower TDP": dict(id="h100-96gb-500w", memory_gib=94.5, bf16_tflops=989,
                                             fp8_tflops=1978, interconnect_gbs=900),
    "B300 (DGX-B300)": dict(id="b300", memory_gib=268.0, bf16_tflops=2250, fp8_tflops=4500, fp4_tflops=13500,
                            interconnect_gbs=1800),
    "GB300 (Blackwell Ultra, NVL72) (DGX-GB300)": dict(id="gb300", memory_gib=277.0, bf16_tflops=2500,
                                                       fp8_tflops=5000, fp4_tflops=15000, interconnect_gbs=1800),
    "NVIDIA Blackwell SM100+ (model not named; % column implies ~184 GiB device)": dict(
        id="blackwell-184gib", memory_gib=184.31, bf16_tflops=2500, fp8_tflops=5000, fp4_tflops=10000,
        interconnect_gbs=1800),
}


@dataclass(frozen=True)
class Case:
    id: str
    source: str  # short source name for the tables
    method: str
    model: str
    spec: ModelSpec | None
    gpu: GpuSpec | None
    inputs: TrainingInputs | None
    gpus: int
    memory_gib: float | None = None  # measured, per GPU
    memory_kind: str = ""  # "reserved", "allocated" or "unspecified"
    tokens_per_s_per_gpu: float | None = None
    model_tflops_per_gpu: float | None = None
    step_time_s: float | None = None
    skip: str = ""  # why the planner cannot model it
    note: str = ""

    @property
    def held_out(self) -> bool:
        digits = re.sub(r"\D", "", self.id)
        return bool(digits) and int(digits) % 3 == 0


@cache
def _catalog() -> tuple[dict, dict]:
    models = tomllib.loads((ROOT / "catalogs" / "data" / "models.toml").read_text())["model"]
    gpus = tomllib.loads((ROOT / "catalogs" / "data" / "gpus.toml").read_text())["gpu"]
    return {m["id"]: m for m in models}, {g["id"]: g for g in gpus}


def model_for(name: str, point: dict | None = None) -> ModelSpec | None:
    models, _ = _catalog()
    name = name.removesuffix("-Chat-Int4")
    if name in _CATALOG_ALIAS:
        entry = models[_CATALOG_ALIAS[name]]
        return from_hf_config(entry["config"], id=entry["id"], name=entry.get("name", ""))
    if name in _ARCH:
        return from_hf_config(_ARCH[name], id=name)
    if name.startswith("moonshotai/Kimi-K2"):
        cfg = {**models["deepseek-v3"]["config"], **_KIMI}
        cfg.pop("quantization_config", None)
        return from_hf_config(cfg, id="kimi-k2")
    if point and point.get("model_layers"):
        h = point["model_hidden"]
        return from_hf_config(dict(model_type="starcoder2", hidden_size=h, num_hidden_layers=point["model_layers"],
                                   num_attention_heads=point["model_heads"], num_key_value_heads=point["model_heads"],
                                   intermediate_size=4 * h, vocab_size=point["model_vocab"],
                                   max_position_embeddings=4096), id=name)
    return None


def gpu_for(name: str) -> GpuSpec | None:
    _, gpus = _catalog()
    if name in _GPUS:
        return GpuSpec(**gpus[_GPUS[name]])
    if name.startswith("H200"):
        return GpuSpec(**gpus["h200-sxm-141gb"])
    if name in _INLINE_GPUS:
        return GpuSpec(**_INLINE_GPUS[name])
    return None


_FRAMEWORK = {"QwenLM/Qwen": "hf", "pytorch/torchtitan": "torchtitan", "pytorch/torchtune": "torchtune",
              "NVIDIA-NeMo/Megatron-Bridge": "megatron", "NVIDIA/NeMo": "megatron", "NVIDIA/Megatron-LM": "megatron"}
_SOURCE = {"QwenLM/Qwen": "qwen", "pytorch/torchtitan": "torchtitan", "pytorch/torchtune": "torchtune",
           "NVIDIA-NeMo/Megatron-Bridge": "megatron-bridge", "NVIDIA/NeMo": "nemo", "NVIDIA/Megatron-LM": "megatron-lm"}


def _precision(text: str | None) -> str:
    t = (text or "bf16").lower()
    if "nvfp4" in t or "fp4" in t:
        return "fp4"
    if "fp8" in t or "float8" in t:
        return "fp8"
    return "mixed"


def _checkpointing(text: str | None, framework: str) -> str:
    t = (text or "").lower()
    if t.startswith("full"):
        return "full"
    if t.startswith("selective"):
        return "selective"
    return "none"


def _memory_kind(p: dict) -> str:
    kind = str(p.get("peak_memory_kind", "")).lower()
    if "reserved" in kind or "max_reserved" in kind:
        return "reserved"
    if "active" in kind or "allocated" in kind:
        return "allocated"
    return "unspecified"


def _from_training_point(p: dict) -> Case:
    repo = p["source_repo"]
    framework = _FRAMEWORK[repo]
    spec = model_for(p["model"], p)
    gpu = gpu_for(p["gpu"])
    n = int(p["gpu_count"])
    skip = ""
    if spec is None:
        skip = "architecture not modelled (hybrid Mamba-Transformer)"
    if gpu is None:
        skip = skip or f"GPU '{p['gpu']}' unknown"
    method = p["method"]
    quant = str(p.get("quantization") or "")
    tp, pp, cp = int(p.get("tp") or 1), int(p.get("pp") or 1), int(p.get("cp") or 1)
    ep = int(p.get("ep") or 1)
    zero = 0
    if framework == "hf":
        zero = int(p.get("zero_stage") or 0)
    elif framework == "torchtitan":
        zero = 3 if n // (tp * pp * cp) > 1 else 0
    elif framework == "megatron":
        zero = 3 if int(p.get("megatron_fsdp") or 0) > 0 else 1  # distributed optimizer
    seq = p.get("seq_len")
    note = ""
    if seq is None:
        seq = 512
        note = "sequence length not stated (alpaca, per-sample lengths): 512 assumed"
    mb = int(p.get("micro_batch") or 1)
    gbs = int(p.get("global_batch") or mb * int(p.get("grad_accum") or 1) * max(1, n // (tp * pp * cp)))
    targets = str(p.get("lora_targets") or "")
    modules: tuple[str, ...] = ()
    if targets.startswith("q,v"):
        modules = ("q_proj", "v_proj")
    elif targets.startswith("q_proj, v_proj, output_proj"):
        modules = ("q_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    precision = _precision(p.get("precision"))
    if framework == "torchtune" and method == "full":
        precision = "bf16"
    inputs = TrainingInputs(
        method="qlora" if method == "qlora" else method,
        optimizer="adamw",
        lora_rank=int(p.get("lora_rank") or 16),
        lora_targets="all-linear",
        lora_modules=modules,
        lora_train_embeddings=bool(p.get("lora_trains_embeddings_and_lm_head")),
        qlora_format="gptq" if "gptq" in quant.lower() else "nf4",
        sequence_length=int(seq),
        micro_batch_size=mb,
        gradient_accumulation=int(p.get("grad_accum") or 1),
        global_batch_size=gbs,
        gradient_checkpointing=_checkpointing(p.get("activation_checkpointing"), framework),
        flash_attention=True,
        zero_stage=zero,
        tensor_parallel=tp, pipeline_parallel=pp, context_parallel=cp, expert_parallel=ep,
        virtual_pipeline=int(p.get("vp") or 1),
        gpus=n,
        precision=precision,
        framework=framework,
        chunked_cross_entropy=False,
        compile=bool(p.get("compile")),
    )
    mem = p.get("peak_memory_gib_per_gpu")
    if mem is None and p.get("peak_memory") is not None:
        mem = float(p["peak_memory"])
        if "sum" in str(p.get("peak_memory_scope", "")):
            mem /= n
    return Case(
        id=p["id"], source=_SOURCE[repo], method=method, model=p["model"], spec=spec, gpu=gpu, inputs=inputs,
        gpus=n, memory_gib=mem, memory_kind=_memory_kind(p) if mem is not None else "",
        tokens_per_s_per_gpu=p.get("tokens_per_s_per_gpu"), model_tflops_per_gpu=p.get("model_tflops_per_gpu"),
        step_time_s=p.get("step_time_s"), skip=skip, note=note,
    )


# The torchtune README ladder (measurements.toml): cumulative flags on Llama 3.2 3B, 1x A100,
# batch 2, sequence 4096, bf16. LoRA/QLoRA rows keep the ladder's flags except the fused
# optimizer and 8-bit AdamW.
_LADDER = [
    ("Baseline", {}, "unpacked: the sequence lengths actually seen are not stated"),
    ("Packed_Dataset", {}, ""),
    ("Compile", {"compile": True}, ""),
    ("Chunked_Cross_Entropy", {"compile": True, "chunked_cross_entropy": True}, ""),
    ("Activation_Checkpointing", {"compile": True, "chunked_cross_entropy": True, "gradient_checkpointing": "full"}, ""),
    ("Fuse_optimizer_step_into_backward", {"compile": True, "chunked_cross_entropy": True, "gradient_checkpointing": "full",
                                           "optimizer_in_backward": True}, ""),
    ("Activation_Offloading", {"compile": True, "chunked_cross_entropy": True, "gradient_checkpointing": "full",
                               "optimizer_in_backward": True, "activation_offloading": True}, ""),
    ("8_bit_AdamW", {"compile": True, "chunked_cross_entropy": True, "gradient_checkpointing": "full", "optimizer_in_backward": True,
                     "activation_offloading": True, "optimizer": "adamw8bit"}, ""),
    ("LoRA", {"method": "lora", "compile": True, "chunked_cross_entropy": True, "gradient_checkpointing": "full",
              "activation_offloading": True, "precision": "bf16"}, ""),
    ("QLoRA", {"method": "qlora", "compile": True, "chunked_cross_entropy": True, "gradient_checkpointing": "full",
               "activation_offloading": True, "precision": "bf16"}, ""),
]


def _from_measurements(points: list[dict]) -> list[Case]:
    cases = []
    spec = model_for("Llama 3.2 3B")
    gpu = gpu_for("1x A100")
    base = TrainingInputs(method="full", precision="bf16", framework="torchtune", sequence_length=4096,
                          micro_batch_size=2, gradient_accumulation=1, global_batch_size=2, gradient_checkpointing="none",
                          zero_stage=0, gpus=1, lora_rank=8, lora_modules=("q_proj", "v_proj", "o_proj"))
    by_id = {p["id"]: p for p in points}
    for key, flags, why in _LADDER:
        pid = next((i for i in by_id if i.startswith(f"ft_torchtune_llama32_3b_{key}")), None)
        if pid is None:
            continue
        p = by_id[pid]
        skip = why if why.startswith("unpacked") else ""
        cases.append(Case(id=pid, source="torchtune-ladder", method=flags.get("method", "full"), model="Llama 3.2 3B",
                          spec=spec, gpu=gpu, inputs=replace(base, **flags), gpus=1,
                          memory_gib=p["peak_memory_active_gib"], memory_kind="allocated",
                          tokens_per_s_per_gpu=p["tokens_per_s"], skip=skip, note=why if not skip else ""))
    k = by_id.get("train_korthikanti_megatron-22B")
    if k:
        t = TrainingInputs(method="full", framework="megatron", sequence_length=k["seq_len"], micro_batch_size=k["micro_batch"],
                           gradient_accumulation=1, global_batch_size=k["global_batch"], gradient_checkpointing="selective",
                           flash_attention=False, zero_stage=0, tensor_parallel=k["tp"], gpus=k["gpus"])
        # Table 5: seconds per iteration with sequence parallel + selective recompute; the
        # activation figure is fig. 1's act_seqsel for the first stage (states excluded).
        tokens = k["seq_len"] * k["global_batch"]
        cases.append(Case(id=k["id"], source="korthikanti-22b", method="full", model="megatron-22B",
                          spec=model_for("megatron-22B"), gpu=gpu_for("A100 80GB"), inputs=t, gpus=k["gpus"],
                          memory_gib=k["par_opt"] + k["act_seqsel"], memory_kind="states+activations",
                          tokens_per_s_per_gpu=tokens / k["t_seqsel"] / k["gpus"], step_time_s=k["t_seqsel"]))
    return cases


@cache
def cases() -> tuple[Case, ...]:
    training = tomllib.loads(_reference("training_measurements.toml").read_text())["point"]
    measured = tomllib.loads(_reference("measurements.toml").read_text())["points"]
    out = [_from_training_point(p) for p in training]
    out += _from_measurements(measured)
    return tuple(out)


__all__ = ["Case", "cases", "field", "gpu_for", "model_for"]
