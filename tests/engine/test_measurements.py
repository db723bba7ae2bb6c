"""Engine figures against published measurements (tests/engine/data/measurements.toml, a copy of
../shared/reference/measurements.toml).

Each kv_capacity point is replayed with the settings its engine version used: vLLM V0 profiles
max(max_model_len, 2048) batched tokens and 256 sequences; vLLM V1 on 80 GB-class GPUs defaults to
8192 batched tokens and 1024 sequences (vllm/engine/arg_utils.py, _set_default_args_v1).
"""

from __future__ import annotations

import pytest

from engine.hardware import GIB, GpuSpec
from engine.inputs import ServingInputs
from engine.memory import inference_memory
from engine.model import count_params, kv_footprint

from .conftest import gpu_spec, measurements, model_spec

# measurement model -> catalog id (same architecture; Meta-Llama-3-8B differs from 3.1 only in RoPE
# scaling and context, which the point's own max_model_len overrides).
MODEL_IDS = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b",
    "meta-llama/Llama-2-7b": "llama-2-7b",
    "meta-llama/Meta-Llama-3-8B": "llama-3.1-8b",
    "Qwen/Qwen3-235B-A22B-FP8": "qwen3-235b-a22b",
    "Qwen/Qwen3-14B": "qwen3-14b",
    "google/gemma-7b": "gemma-7b",
    "Qwen2.5-32B (FP8)": "qwen2.5-32b",
}
GPU_IDS = {"RTX 3090": "rtx-3090", "A100-SXM 80GB": "a100-sxm-80gb", "H100 80GB": "h100-sxm-80gb", "RTX 4090 24GB": "rtx-4090"}
WEIGHTS = {"bf16": "bf16", "fp16": "fp16", "fp8": "fp8"}
# Points the current engine accounting cannot reproduce, with the reason. strict: if the model
# starts matching them, the test says so.
KNOWN_DEVIATIONS = {
    "vllm_kv_07": "vLLM V1 (Jul 2025) reserved ~1.9 GiB/GPU more than its documented profile "
    "explains for this MoE at TP4 (the same issue shows SGLang, which we match within 1%, holding 2x the KV)",
    "vllm_kv_13": "vLLM of Feb 2024 profiled a sampler roughly twice as heavy (top-p/top-k sort over "
    "256 x 256k logits); current vLLM's lighter sampler is what we model",
}

KV_POINTS = [p for p in measurements() if p["category"] == "kv_capacity"]
assert len(KV_POINTS) >= 7, "the kv_capacity measurements went missing"


def kv_bytes(point: dict) -> float:
    return 1.0 if point["kv_dtype"].startswith("fp8") else 2.0


@pytest.mark.parametrize("point", KV_POINTS, ids=[p["id"] for p in KV_POINTS])
def test_kv_bytes_per_token_exact(point):
    spec = model_spec(MODEL_IDS[point["model"]])
    fp = kv_footprint(spec, kv_bytes(point), tensor_parallel=point["tp"])
    assert fp.bytes_per_token == point["per_token_kv_bytes_per_gpu"]


def _serving_for(point: dict, max_model_len: int) -> ServingInputs:
    v1 = "V1" in point["engine"]
    return ServingInputs(
        engine="vllm",
        memory_fraction=point["gpu_memory_utilization"],
        max_model_len=max_model_len,
        max_num_batched_tokens=8192 if v1 else max(max_model_len, 2048),
        max_num_seqs=1024 if v1 and "80GB" in point["gpu"] else 256,
    )


CAPACITY_POINTS = [p for p in KV_POINTS if "gpu_memory_utilization" in p and p["gpu"] in GPU_IDS]


def _expected_tokens(point: dict) -> float:
    if "kv_tokens" in point:
        return point["kv_tokens"]
    gib = point.get("kv_cache_gib", point.get("kv_cache_gib_derived"))
    return gib * GIB / point["per_token_kv_bytes_per_gpu"]


@pytest.mark.parametrize(
    "point",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEVIATIONS[p["id"]]))
        if p["id"] in KNOWN_DEVIATIONS
        else p
        for p in CAPACITY_POINTS
    ],
    ids=[p["id"] for p in CAPACITY_POINTS],
)
def test_kv_capacity_within_5_percent(point):
    spec = model_spec(MODEL_IDS[point["model"]])
    gpu = gpu_spec(GPU_IDS[point["gpu"]])
    if "gpu_mem_total_gib" in point:  # the log states what CUDA reported: use exactly that
        gpu = GpuSpec(id=gpu.id, memory_gib=point["gpu_mem_total_gib"])
    max_len = point.get("max_model_len") or (8192 if "Meta-Llama-3-8B" in point["model"] else spec.max_context)
    weights = WEIGHTS[point["weights_dtype"]]
    mem = inference_memory(
        spec, gpu, _serving_for(point, max_len), weights=weights, kv_cache="auto",
        tensor_parallel=point["tp"], pipeline_parallel=1, max_model_len=max_len,
    )
    expected = _expected_tokens(point)
    assert mem.kv_capacity_tokens == pytest.approx(expected, rel=0.05), (
        f"predicted {mem.kv_capacity_tokens:,} tokens ({mem.kv_pool_bytes / GIB:.2f} GiB), "
        f"logged {expected:,.0f}"
    )


def test_sglang_pool_for_qwen3_235b_matches_log():
    """vLLM #21348: SGLang at mem_fraction_static 0.93 on 4x H100 logged 367,404 tokens."""
    spec = model_spec("qwen3-235b-a22b")
    gpu = GpuSpec(id="h100", memory_gib=79.22)
    serving = ServingInputs(engine="sglang", memory_fraction=0.93, max_model_len=8192)
    mem = inference_memory(spec, gpu, serving, weights="fp8", kv_cache="auto",
                           tensor_parallel=4, pipeline_parallel=1, max_model_len=8192)
    assert mem.kv_capacity_tokens == pytest.approx(367_404, rel=0.05)


def test_weights_match_vllm_log_for_llama_8b():
    """vLLM #10517 logs 'model weights 14.99 GiB' for Llama-3.1-8B in bf16; PR #10511 logs 14.96."""
    spec = model_spec("llama-3.1-8b")
    mem = inference_memory(spec, GpuSpec(id="g", memory_gib=79.22), ServingInputs(), weights="bf16",
                           kv_cache="auto", tensor_parallel=1, pipeline_parallel=1, max_model_len=8192)
    assert mem.weights_bytes / GIB == pytest.approx(14.96, abs=0.05)


def test_activation_peak_matches_vllm_profiles():
    """Peak activation logged by vLLM for Llama-3-8B: 2.07 GiB at 20,000 batched tokens
    (#10517: peak_torch 17.06 - weights 14.99) and 1.26 GiB at 8,192 (PR #10511)."""
    from engine.memory import activation_peak_bytes

    spec = model_spec("llama-3.1-8b")
    for tokens, logged in ((20000, 2.07), (8192, 1.26)):
        act = activation_peak_bytes(spec, ServingInputs(max_num_batched_tokens=tokens, max_num_seqs=256), 1)
        assert act / GIB == pytest.approx(logged, rel=0.05), tokens


def test_block_rounding_reproduces_vllm_token_count():
    """LMCache #1739: 6.51 GiB of KV at 160 KiB/token -> vLLM reports 42,656 tokens (16-token blocks)."""
    spec = model_spec("qwen3-14b")
    per_token = kv_footprint(spec, 2.0).bytes_per_token
    assert per_token == 163840
    blocks = int(6.51 * GIB // (per_token * 16))
    assert blocks * 16 == 42656


def test_max_concurrency_matches_vllm_log():
    """vLLM #10517: 31,232 tokens at max_model_len 20,000 -> 'Maximum concurrency 1.56x'."""
    assert round(31232 / 20000, 2) == 1.56  # the log's own arithmetic, which ours follows:
    spec = model_spec("llama-3.1-8b")
    gpu = GpuSpec(id="3090", memory_gib=23.58)
    serving = ServingInputs(memory_fraction=0.9, max_model_len=20000, max_num_batched_tokens=20000)
    mem = inference_memory(spec, gpu, serving, weights="bf16", kv_cache="auto",
                           tensor_parallel=1, pipeline_parallel=1, max_model_len=20000)
    assert mem.max_concurrency == pytest.approx(mem.kv_capacity_tokens / 20000)
    assert mem.max_concurrency == pytest.approx(1.56, abs=0.05)


def test_gemma_7b_is_sized_from_its_architecture_not_its_name():
    """vLLM #2418: 'gemma-7b' is 8.5 B parameters with 448 KiB of KV per token."""
    spec = model_spec("gemma-7b")
    assert count_params(spec).total == pytest.approx(8.54e9, rel=0.01)
    assert kv_footprint(spec, 2.0).bytes_per_token == 458752
