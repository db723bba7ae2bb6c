"""The published serving points as planner cases: each measurement of
../shared/reference/serving_measurements.toml (and the decode-speed / offline-throughput points
of measurements.toml) mapped to the catalog model, GPU, weight format, layout and engine it ran,
with the figures it measured.

Benchmark lengths are uniform in [0.8 L, L] (the file's header), so a case plans the mean, 0.9 L.
The split into training and held-out points is by a stable hash of the point's identity, so it
never changes when points are added or reordered.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
SAMPLE = ROOT / "tests" / "engine" / "data" / "serving_sample.toml"

MODEL_IDS = {
    "openai/gpt-oss-120b": "gpt-oss-120b",
    "deepseek-ai/DeepSeek-R1-0528": "deepseek-r1-0528",
    "nvidia/DeepSeek-R1-0528-FP4-V2": "deepseek-r1-0528",
    "nvidia/DeepSeek-R1-0528-NVFP4-v2": "deepseek-r1-0528",
    "amd/DeepSeek-R1-0528-MXFP4": "deepseek-r1-0528",
    "amd/DeepSeek-R1-0528-MXFP4-Preview": "deepseek-r1-0528",
    "Llama 3.1 8B": "llama-3.1-8b",
    "Qwen2.5-7B-Instruct": "qwen2.5-7b",
}
GPU_IDS = {
    "h200": "h200-sxm-141gb", "H200": "h200-sxm-141gb", "b200": "b200-sxm-180gb", "b300": "b300-sxm-288gb",
    "gb200": "gb200", "mi325x": "mi325x", "mi355x": "mi355x", "H100": "h100-sxm-80gb", "A100 80GB": "a100-sxm-80gb",
}
ENGINES = {"vllm": "vllm", "sglang": "sglang", "tensorrt-llm": "trtllm", "atom": "atom"}
# Weight formats as the planner names them: FP4 checkpoints (MXFP4 gpt-oss, NVFP4/MXFP4 DeepSeek)
# quantise the routed experts.
PRECISIONS = {"fp4": "mxfp4", "fp8": "fp8", "FP8": "fp8", "BF16": "bf16", "GPTQ-Int8": "int8",
              "GPTQ-Int4": "gptq", "AWQ": "awq"}


@dataclass(frozen=True, slots=True)
class Case:
    key: str
    source: str  # which file and kind
    model: str
    gpu: str
    weights: str
    engine: str
    tp: int
    ep: int
    dp_attention: bool
    concurrency: int | None  # None: offline maximum throughput
    prompt_tokens: float
    output_tokens: float
    speculative: bool
    memory_fraction: float
    output_tps_per_gpu: float | None
    tpot_ms: float | None
    ttft_ms: float | None
    kv_cache: str = "auto"
    # The harness's server flags (harness_settings): prefill token budget per step, decode steps
    # between scheduler polls, TensorRT-LLM attention-DP balance timeout (steps; 0 off).
    max_num_batched_tokens: int = 8192
    poll_steps: int = 1
    dp_balance_timeout_steps: int = 0

    @property
    def group(self) -> str:
        return f"{self.gpu} x {self.engine} x {self.model} {self.weights}"

    @property
    def held_out(self) -> bool:
        """One point in three is held out of the fit."""
        return int(hashlib.sha1(self.key.encode()).hexdigest(), 16) % 3 == 0


def harness_settings(p: dict) -> tuple[int, int, int]:
    """(prefill token budget, decode steps between scheduler polls, attention-DP balance timeout)
    the InferenceMAX launch scripts gave the server for this point: SemiAnalysisAI/InferenceX
    benchmarks/single_node/fixed_seq_len/*.sh (and their *_docker/*_slurm forerunners), unchanged
    in these respects over the points' dates (2025-09 to 2026-06).

    - SGLang on B200/B300: `--scheduler-recv-interval` 10, 30 from concurrency 16 (1 under DP
      attention); `--chunked-prefill-size` 32768 (FP8 TP8), 8192 (FP8 TP4), 16384 (FP4).
    - SGLang on H200: interval 1, chunk 32768. On MI325X/MI355X: `--num-continuous-decode-steps 4`,
      chunk 131072 / 196608 (FP4 8k/1k above concurrency 32: 32768).
    - TensorRT-LLM: max_num_tokens max(8192, concurrency + ISL + 127 rounded to 64) for DeepSeek,
      20000 for gpt-oss; with attention DP `enable_balance`, `timeout_iters` 60.
    - vLLM and ATOM: max-num-batched-tokens 8192 (the file's header)."""
    fw, gpu, conc, isl = p["framework"], p["gpu"], p.get("concurrency") or 0, p["isl"]
    fp4, dp = p["precision"] == "fp4", bool(p["dp_attention"])
    if fw == "sglang":
        if gpu in ("b200", "b300"):
            if dp:
                return 32768, 1, 0
            chunk = 16384 if fp4 else (32768 if p["tp"] == 8 else 8192)
            poll = 10 if (conc < 16 or (not fp4 and p["tp"] != 8)) else 30
            return chunk, poll, 0
        if gpu == "h200":
            return 32768, 1, 0
        if gpu.startswith("mi"):
            chunk = 131072 if gpu == "mi325x" else 196608
            if fp4 and isl == 8192 and conc > 32:
                chunk = 32768
            return chunk, 4, 0
    if fw == "tensorrt-llm":
        if "gpt-oss" in p["model"]:
            return 20000, 1, 0
        return max(8192, (conc + isl + 127) // 64 * 64), 1, (60 if dp else 0)
    return 8192, 1, 0


def _serving_cases(points: list[dict]) -> list[Case]:
    cases = []
    for i, p in enumerate(points):
        if p["model"] not in MODEL_IDS or p["gpu"] not in GPU_IDS:
            continue
        lengths_fixed = "concurrency" not in p  # trtllm-bench offline: fixed ISL/OSL
        scale = 1.0 if lengths_fixed else 0.9
        amd = p["gpu"].startswith("mi")
        key = "|".join(str(p.get(k)) for k in ("source_path", "framework", "gpu", "model", "precision", "tp", "ep",
                                                "dp_attention", "isl", "osl", "concurrency", "speculative", "date",
                                                "run_url")) + f"|{i}"
        cases.append(Case(
            key=key, source="serving_measurements",
            model=MODEL_IDS[p["model"]], gpu=GPU_IDS[p["gpu"]], weights=PRECISIONS[p["precision"]],
            engine=ENGINES[p["framework"]], tp=p["tp"], ep=p["ep"], dp_attention=bool(p["dp_attention"]),
            concurrency=p.get("concurrency"), prompt_tokens=p["isl"] * scale, output_tokens=p["osl"] * scale,
            speculative=bool(p["speculative"]),
            memory_fraction=(0.85 if p["framework"] == "tensorrt-llm" else (0.95 if amd else 0.9)),
            output_tps_per_gpu=p.get("output_tokens_per_s_per_gpu"),
            tpot_ms=p.get("tpot_ms_median"), ttft_ms=p.get("ttft_ms_median"),
            **dict(zip(("max_num_batched_tokens", "poll_steps", "dp_balance_timeout_steps"), harness_settings(p))),
        ))
    return cases


def _measurement_cases(points: list[dict]) -> list[Case]:
    cases = []
    for p in points:
        if p["category"] == "decode_speed_bs1" and p["model"] in MODEL_IDS:
            # Qwen2.5 speed benchmark: batch 1, `input_len` tokens of context, 2048 generated.
            cases.append(Case(
                key=p["id"], source="measurements:decode_bs1", model=MODEL_IDS[p["model"]], gpu=GPU_IDS[p["gpu"]],
                weights=PRECISIONS[p["quant"]], engine="vllm", tp=p["gpu_count"], ep=1, dp_attention=False,
                concurrency=1, prompt_tokens=max(1, p["input_len"]), output_tokens=p["output_len"], speculative=False,
                memory_fraction=0.9, output_tps_per_gpu=p["tokens_per_s"] / p["gpu_count"],
                tpot_ms=1000.0 / p["tokens_per_s"], ttft_ms=None,
            ))
        elif p["category"] == "throughput_offline_max" and p["model"] in MODEL_IDS:
            tp = int(p["parallel"].removeprefix("TP"))
            cases.append(Case(
                key=p["id"], source="measurements:offline_max", model=MODEL_IDS[p["model"]], gpu=GPU_IDS[p["gpu"]],
                weights=PRECISIONS[p["weights_dtype"]], engine="trtllm", tp=tp, ep=1, dp_attention=False,
                concurrency=None, prompt_tokens=p["isl"], output_tokens=p["osl"], speculative=False,
                memory_fraction=0.9, output_tps_per_gpu=p["output_tokens_per_s"] / tp, tpot_ms=None, ttft_ms=None,
                # NVIDIA's FP8 (ModelOpt) checkpoints quantise the KV cache to FP8 as well.
                kv_cache="fp8" if p["weights_dtype"].lower() == "fp8" else "auto",
            ))
    return cases


@cache
def all_cases(reference: Path = REFERENCE) -> tuple[Case, ...]:
    serving = tomllib.loads((reference / "serving_measurements.toml").read_text())["point"]
    measured = tomllib.loads((reference / "measurements.toml").read_text())["points"]
    return tuple(_serving_cases(serving) + _measurement_cases(measured))


def sample_cases() -> tuple[Case, ...]:
    """The small copy kept with the tests (tests/engine/data/serving_sample.toml)."""
    data = tomllib.loads(SAMPLE.read_text())
    return tuple(_serving_cases(data["point"]))
