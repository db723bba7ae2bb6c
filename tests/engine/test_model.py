"""Architecture facts: KV bytes per token for every attention kind, TP/PP splitting, configs."""

from __future__ import annotations

import pytest

from engine.model import ModelConfigError, check_parallelism, count_params, from_hf_config, kv_footprint

from .conftest import model_spec

LLAMA_8B = dict(model_type="llama", num_hidden_layers=32, hidden_size=4096, intermediate_size=14336,
                num_attention_heads=32, num_key_value_heads=8, vocab_size=128256, max_position_embeddings=131072,
                tie_word_embeddings=False)


def test_gqa_kv_bytes_and_tp_split():
    spec = from_hf_config(LLAMA_8B, id="l8")
    assert kv_footprint(spec, 2.0).bytes_per_token == 2 * 32 * 8 * 128 * 2  # 131,072
    assert kv_footprint(spec, 2.0, tensor_parallel=2).bytes_per_token == 65536
    # 8 KV heads over TP=16: one head per GPU, replicated, never below one.
    assert kv_footprint(spec, 2.0, tensor_parallel=16).bytes_per_token == 2 * 32 * 1 * 128 * 2
    assert kv_footprint(spec, 1.0).bytes_per_token == 65536  # fp8 KV


def test_pipeline_parallel_holds_the_busiest_stage():
    spec = from_hf_config({**LLAMA_8B, "num_hidden_layers": 33}, id="odd")
    fp = kv_footprint(spec, 2.0, pipeline_parallel=2)
    assert fp.full_layers == 17  # 33 layers -> 16 + 17
    assert fp.bytes_per_token == 17 * 2 * 8 * 128 * 2


def test_mla_latent_cache_is_not_split_by_tp():
    spec = model_spec("deepseek-v3")
    per_token = (512 + 64) * 61 * 2  # (kv_lora_rank + qk_rope_head_dim) * layers * bf16
    assert kv_footprint(spec, 2.0).bytes_per_token == per_token
    assert kv_footprint(spec, 2.0, tensor_parallel=8).bytes_per_token == per_token
    naive = 2 * 61 * 128 * 128 * 2  # a GQA formula on the nominal 128 KV heads x 128 dims
    assert naive / per_token > 50


def test_sliding_window_layers_hold_at_most_the_window():
    spec = model_spec("gemma-2-9b")  # 21 local (4096) + 21 global layers, head_dim 256
    fp = kv_footprint(spec, 2.0)
    assert (fp.sliding_layers, fp.full_layers, fp.window) == (21, 21, 4096)
    per_layer = 2 * 8 * 256 * 2
    assert fp.sequence_bytes(1000) == 42 * 1000 * per_layer
    assert fp.sequence_bytes(8192) == per_layer * (21 * 8192 + 21 * 4096)


def test_all_layers_sliding_mistral():
    fp = kv_footprint(model_spec("mistral-7b-v0.1"), 2.0)
    assert fp.sliding_layers == 32 and fp.full_layers == 0
    assert fp.sequence_bytes(32768) == fp.sequence_bytes(4096)


def test_gemma3_five_local_one_global():
    fp = kv_footprint(model_spec("gemma-3-27b"), 2.0)
    assert (fp.full_layers, fp.sliding_layers, fp.window) == (10, 52, 1024)


def test_gpt_oss_alternates_banded_and_dense():
    fp = kv_footprint(model_spec("gpt-oss-120b"), 2.0)
    assert (fp.full_layers, fp.sliding_layers, fp.window) == (18, 18, 128)


def test_hybrid_linear_attention_holds_constant_state():
    cfg = dict(model_type="qwen3_next", num_hidden_layers=48, hidden_size=2048, intermediate_size=5120,
               num_attention_heads=16, num_key_value_heads=2, head_dim=256, vocab_size=151936,
               max_position_embeddings=262144, num_experts=512, num_experts_per_tok=10,
               moe_intermediate_size=512, shared_expert_intermediate_size=512, full_attention_interval=4,
               linear_num_key_heads=16, linear_num_value_heads=32, linear_key_head_dim=128,
               linear_value_head_dim=128, linear_conv_kernel_dim=4)
    spec = from_hf_config(cfg, id="qwen3-next")
    fp = kv_footprint(spec, 2.0)
    assert (fp.full_layers, fp.linear_layers) == (12, 36)
    assert fp.bytes_per_token == 12 * 2 * 2 * 256 * 2
    recurrent = 32 * 128 * 128
    conv = 3 * (2 * 16 * 128 + 32 * 128)
    assert fp.linear_state_bytes == 36 * (recurrent + conv) * 2
    # The state does not grow with length: only the 12 full layers do.
    assert fp.sequence_bytes(2000) - fp.sequence_bytes(1000) == 1000 * fp.bytes_per_token
    assert count_params(spec).total == pytest.approx(80e9, rel=0.02)  # Qwen3-Next-80B-A3B


def test_explicit_head_dim_wins_over_hidden_over_heads():
    spec = model_spec("qwen3-32b")  # 64 heads x 128 != 5120 hidden
    assert spec.head_dim == 128


def test_missing_key_names_the_field():
    cfg = dict(LLAMA_8B)
    del cfg["num_hidden_layers"]
    with pytest.raises(ModelConfigError) as err:
        from_hf_config(cfg, id="x")
    assert err.value.field == "num_hidden_layers"


def test_bad_value_names_the_field():
    with pytest.raises(ModelConfigError) as err:
        from_hf_config({**LLAMA_8B, "num_key_value_heads": "eight"}, id="x")
    assert err.value.field == "num_key_value_heads"


def test_tp_layout_that_engines_refuse():
    spec = from_hf_config(LLAMA_8B, id="l8")
    assert check_parallelism(spec, 3, 1)  # 32 heads over 3 GPUs
    assert not check_parallelism(spec, 16, 1)  # 8 KV heads replicated over 16 is fine
    assert not check_parallelism(spec, 4, 2)


def test_multimodal_wrapper_sizes_the_text_decoder():
    wrapped = {"model_type": "gemma3", "text_config": {**LLAMA_8B, "model_type": "gemma3_text"}}
    assert from_hf_config(wrapped, id="mm").num_layers == 32


@pytest.mark.parametrize("bad", [
    {"model_type": "qwen3_next", "full_attention_interval": 0},
    {"model_type": "qwen3_moe", "num_experts": 8, "num_experts_per_tok": 2, "mlp_only_layers": 5},
    {"model_type": "gemma3_text", "sliding_window": 512, "sliding_window_pattern": 0},
    {"hidden_size": 0},
    {"layer_types": "full_attention"},
])
def test_malformed_configs_raise_only_model_config_error(bad):
    with pytest.raises(ModelConfigError):
        from_hf_config({**LLAMA_8B, **bad}, id="x")
