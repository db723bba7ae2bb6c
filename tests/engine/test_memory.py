"""Weights, quantization overheads and each serving engine's KV-pool accounting."""

from __future__ import annotations

import pytest

from engine.hardware import GIB, GpuSpec
from engine.inputs import ServingInputs
from engine.memory import WEIGHT_BITS, inference_memory

from .conftest import model_spec

H100 = GpuSpec(id="h100", memory_gib=79.19, bandwidth_tbs=3.35, bf16_tflops=989)


def mem(model="llama-3.1-8b", gpu=H100, weights="bf16", tp=1, pp=1, max_len=8192, **serving):
    spec = model_spec(model)
    return inference_memory(spec, gpu, ServingInputs(max_model_len=max_len, **serving), weights=weights,
                            kv_cache="auto", tensor_parallel=tp, pipeline_parallel=pp, max_model_len=max_len)


def test_quantization_overheads():
    assert WEIGHT_BITS["nf4"] == pytest.approx(4.127, abs=0.001)  # QLoRA double quantization
    assert WEIGHT_BITS["awq"] == pytest.approx(4.156, abs=0.001)  # g128 fp16 scale + 4-bit zero
    assert WEIGHT_BITS["mxfp4"] == 4.25


def test_quantized_weights_keep_embeddings_16_bit():
    bf16, awq = mem(weights="bf16").weights_bytes, mem(weights="awq").weights_bytes
    embed_and_head = 2 * 128256 * 4096 * 2
    assert awq > bf16 / 4 + embed_and_head * 0.7
    assert awq / GIB == pytest.approx(5.4, abs=0.2)  # AWQ Llama-3.1-8B checkpoints are ~5.7 GB


def test_gpt_oss_mxfp4_quantizes_experts_only():
    w = mem("gpt-oss-120b", weights="mxfp4").weights_bytes / GIB
    assert 58 < w < 63  # OpenAI: 120b "fits in a single 80 GB GPU"; HF checkpoint ~65 GB


def test_tensor_parallel_splits_weights():
    one, four = mem("llama-3.1-70b", tp=4).weights_bytes, mem("llama-3.1-70b", tp=8).weights_bytes
    assert four == pytest.approx(one / 2, rel=0.01)


def test_engines_carve_the_pool_differently():
    vllm = mem(engine="vllm", memory_fraction=0.9)
    sglang = mem(engine="sglang", memory_fraction=0.9)
    trt = mem(engine="trtllm", memory_fraction=0.9)
    # SGLang keeps activations outside its static fraction: a bigger pool at the same fraction.
    assert sglang.kv_pool_bytes - vllm.kv_pool_bytes == pytest.approx(vllm.activation_bytes, abs=16 * 131072)
    # TensorRT-LLM takes 90% of what is FREE after weights: more than vLLM's 90% of total here.
    free = H100.memory_bytes - trt.weights_bytes - trt.activation_bytes - trt.overhead_bytes
    assert trt.kv_pool_bytes == pytest.approx(free * 0.9, abs=32 * 131072)
    assert trt.block_tokens == 32 and vllm.block_tokens == 16


def test_pool_is_whole_blocks():
    m = mem()
    assert m.kv_capacity_tokens % 16 == 0
    assert m.kv_pool_bytes == m.kv_capacity_tokens * 131072


def test_activation_grows_with_batched_tokens():
    assert mem(max_num_batched_tokens=16384).activation_bytes > mem(max_num_batched_tokens=2048).activation_bytes


def test_overhead_grows_with_tp():
    assert mem("llama-3.1-70b", tp=8).overhead_bytes > mem("llama-3.1-70b", tp=4).overhead_bytes > mem().overhead_bytes


def test_does_not_fit_says_why():
    m = mem("llama-3.1-70b", tp=1)
    assert not m.fits
    assert "weights" in m.reason and "GiB" in m.reason


def test_kv_below_one_sequence_is_refused_like_vllm():
    rtx = GpuSpec(id="rtx-4090", memory_gib=23.65)
    m = mem(gpu=rtx, max_len=131072)
    assert not m.fits and m.tight
    assert "fewer than one" in m.reason


def test_sessions_capped_by_max_num_seqs():
    m = mem(max_num_seqs=64)
    assert m.sessions_per_replica == 64 < m.sessions_kv_limited
