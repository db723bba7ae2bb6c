"""Session -> engine PlanInputs, against a catalog (the fake here, the real one when present)."""

from __future__ import annotations

import importlib.util

import pytest

from engine.inputs import DEFAULT_SCENARIOS, PlanInputs
from sessions import SessionError, example_names, example_text, parse_session, update_session
from sessions.resolve import to_plan_inputs


def resolve(catalog, text: str, **kw) -> PlanInputs:
    return to_plan_inputs(parse_session(text, "s.toml"), catalog, file="s.toml", text=text, **kw)


def resolve_error(catalog, text: str) -> SessionError:
    with pytest.raises(SessionError) as info:
        resolve(catalog, text)
    return info.value


def test_default_session_resolves(catalog, default_text):
    inputs = resolve(catalog, default_text)
    assert inputs.model.id == "llama-3.1-8b" and inputs.gpu.id == "h100-sxm-80gb"
    assert inputs.server.id == "dgx-h100" and inputs.node_gpus == 8 and inputs.gpus_per_node == 8
    assert inputs.name == "chat-8b" and inputs.weights == "bf16" and inputs.kv_cache == "auto"
    s = inputs.serving
    assert (s.engine, s.memory_fraction, s.max_model_len, s.concurrent_sessions) == ("vllm", 0.9, 8192, 200)
    assert (s.prompt_tokens, s.output_tokens, s.requests_per_second, s.ttft_ms, s.itl_ms) == (1000, 300, 8, 1000, 50)
    assert [p.id for p in inputs.prices] == ["lambda-h100"]  # only this GPU's prices
    assert inputs.scenarios == DEFAULT_SCENARIOS and inputs.training is None


def test_server_gpus_per_node_overrides(catalog, default_text):
    text = default_text.replace('server = "dgx-h100"', 'server = "box-4"\ngpus_per_node = 16')
    inputs = resolve(catalog, text)
    assert inputs.gpus_per_node == 4 and inputs.node_gpus == 4
    no_server = resolve(catalog, default_text.replace('server = "dgx-h100"', "gpus_per_node = 16"))
    assert no_server.server is None and no_server.node_gpus == 16


def test_a_server_alone_names_the_gpu(catalog, default_text):
    inputs = resolve(catalog, default_text.replace('gpu = "h100-sxm-80gb"', ""))
    assert inputs.gpu.id == "h100-sxm-80gb"
    err = resolve_error(catalog, default_text.replace('gpu = "h100-sxm-80gb"', "").replace("dgx-h100", "box-4"))
    assert err.field == "hardware.gpu" and "box-4" in err.message


def test_unknown_ids_name_the_field_line_and_a_suggestion(catalog, default_text):
    text = default_text.replace("llama-3.1-8b", "llama-3.1-7b")
    err = resolve_error(catalog, text)
    assert err.field == "model.catalog" and err.line == 7
    assert str(err).startswith("s.toml:7:1: model.catalog: unknown model 'llama-3.1-7b'")
    assert "did you mean llama-3.1-" in err.message


def test_all_unknown_ids_are_reported(catalog, default_text):
    text = default_text.replace("llama-3.1-8b", "nope").replace('gpu = "h100-sxm-80gb"', 'gpu = "h101"')
    text = text.replace('"dgx-h100"', '"dgx-h101"')
    err = resolve_error(catalog, text)
    assert [p.field for p in err.problems] == ["model.catalog", "hardware.gpu", "hardware.server"]


def test_without_text_the_error_still_names_the_field(catalog, default_text):
    session = update_session(parse_session(default_text), {"hardware.gpu": "h1000"})
    with pytest.raises(SessionError) as info:
        to_plan_inputs(session, catalog)
    assert info.value.line == 0 and str(info.value).startswith("<session>: hardware.gpu: unknown gpu 'h1000'")


def test_inline_model_and_gpu(catalog):
    inputs = resolve(catalog, example_text("inline-config"))
    assert inputs.model.id == "my-org/llama-3.2-1b-finetune" and inputs.model.num_layers == 16
    assert inputs.model.tie_embeddings and inputs.model.head_dim == 64
    assert inputs.gpu.memory_gib == 23.6 and inputs.gpu.tdp_w == 450 and inputs.gpu.name
    assert inputs.prices == () and inputs.costs.price_per_gpu_hour == 0.40 and inputs.node_gpus == 2


def test_provider_must_have_a_price_for_the_gpu(catalog, default_text):
    ok = resolve(catalog, default_text.replace('# provider = "lambda"', 'provider = "lambda"'))
    assert ok.costs.provider == "lambda"
    err = resolve_error(catalog, default_text.replace('# provider = "lambda"', 'provider = "aws"'))
    assert err.field == "costs.provider" and "Lambda" in err.message
    priced = resolve(catalog, default_text.replace('# provider = "lambda"', 'provider = "aws"\nprice_per_gpu_hour = 3.0'))
    assert priced.costs.price_per_gpu_hour == 3.0


def test_scenario_overrides_merge_with_defaults(catalog, default_text):
    text = default_text + "\n[scenarios.ideal]\nredundancy = 5\n"
    inputs = resolve(catalog, text)
    assert inputs.scenarios["ideal"].redundancy == 5
    assert inputs.scenarios["ideal"].kv_share == DEFAULT_SCENARIOS["ideal"].kv_share
    assert inputs.scenarios["minimum"] == DEFAULT_SCENARIOS["minimum"]


def test_training_section_reaches_the_engine(catalog):
    inputs = resolve(catalog, example_text("lora-finetune"))
    assert inputs.training.method == "lora" and inputs.training.gpus == 8 and inputs.training.dataset_tokens == 1e9


def test_tp_larger_than_a_node_is_not_an_input_error(catalog, default_text):
    inputs = resolve(catalog, default_text.replace("tensor_parallel = 1 ", "tensor_parallel = 16 "))
    assert inputs.gpus_per_replica == 16 and inputs.node_gpus == 8


def test_context_beyond_max_model_len_is_left_to_the_engine(catalog, default_text):
    inputs = resolve(catalog, default_text.replace("prompt_tokens = 1000", "prompt_tokens = 9000"))
    assert inputs.serving.prompt_tokens + inputs.serving.output_tokens > inputs.serving.max_model_len


def _real_catalog():
    if importlib.util.find_spec("catalogs.loader") is None:
        return None
    from catalogs.loader import load_catalog

    try:  # the bundled catalog only: no user files, no Hugging Face cache
        return load_catalog(user_dir=None, hf_cache=False)
    except TypeError:
        return load_catalog()


@pytest.mark.skipif(importlib.util.find_spec("catalogs.loader") is None, reason="catalogs.loader not built yet")
@pytest.mark.parametrize("name", example_names())
def test_examples_resolve_against_the_real_catalog(name):
    inputs = resolve(_real_catalog(), example_text(name))
    assert inputs.model.num_layers > 0 and inputs.gpu.memory_gib > 0


@pytest.mark.skipif(importlib.util.find_spec("catalogs.loader") is None, reason="catalogs.loader not built yet")
def test_real_catalog_unknown_model_names_the_field(default_text):
    err = resolve_error(_real_catalog(), default_text.replace("llama-3.1-8b", "llama-3.1-7b"))
    assert err.field == "model.catalog" and err.line == 7 and "llama-3.1-7b" in err.message
