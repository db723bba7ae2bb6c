"""[training] in the session file: keys the training model takes, the planner's defaults when a
key is left out, another GPU for the run, and errors that name the file, line and key."""

from __future__ import annotations

import pytest

from catalogs.loader import load_catalog
from engine.inputs import TRAINING_FRAMEWORKS, TRAINING_METHODS, TRAINING_OPTIMIZERS, TRAINING_PRECISIONS
from engine.plan import plan
from sessions import example_text, parse_session
from sessions.errors import SessionError
from sessions.resolve import to_plan_inputs
from tui.fields import TRAINING_CHOICES

BASE = """\
schema_version = 1
[model]
catalog = "llama-3.1-8b"
[hardware]
gpu = "h100-sxm-80gb"
[training]
method = "qlora"
"""


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(None, hf_cache=False)


def test_left_out_gpus_and_mfu_are_the_planners(catalog):
    p = plan(to_plan_inputs(parse_session(BASE), catalog))
    assert p.training.gpus_chosen and p.training.gpus >= 1 and p.training.fits
    assert p.training.mfu_source == "calibration"


def test_training_gpu_names_another_catalog_gpu(catalog):
    text = BASE + 'gpu = "a100-sxm-80gb"\n'
    inputs = to_plan_inputs(parse_session(text), catalog)
    assert inputs.training_gpu.id == "a100-sxm-80gb" and inputs.gpu.id == "h100-sxm-80gb"
    assert plan(inputs).to_dict()["training"]["gpu"] == "a100-sxm-80gb"


def test_unknown_training_gpu_names_line_and_key(catalog):
    text = BASE + 'gpu = "a100-sxm-81gb"\n'
    with pytest.raises(SessionError) as info:
        to_plan_inputs(parse_session(text), catalog, file="run.toml", text=text)
    err = info.value
    assert "training.gpu" in str(err) and "run.toml:8" in str(err) and "a100-sxm-80gb" in str(err)


def test_bad_training_values_are_refused_with_the_key():
    for line, key in (('method = "prefix"', "training.method"), ("gpus = 0", "training.gpus"),
                      ('lora_modules = ["q_proj", "mlp"]', "training.lora_modules"),
                      ("zero_stage = 4", "training.zero_stage")):
        text = BASE.replace('method = "qlora"\n', line + "\n")
        with pytest.raises(SessionError) as info:
            parse_session(text, "run.toml")
        assert key in str(info.value), (line, str(info.value))


def test_explicit_lora_modules_round_trip(catalog):
    session = parse_session(BASE + 'lora_modules = ["q_proj", "v_proj"]\n')
    assert session.training.lora_modules == ("q_proj", "v_proj")
    inputs = to_plan_inputs(session, catalog)
    assert inputs.training.lora_modules == ("q_proj", "v_proj")


def test_example_session_plans(catalog):
    p = plan(to_plan_inputs(parse_session(example_text("lora-finetune")), catalog))
    assert p.training.gpus == 8 and not p.training.gpus_chosen and p.training.fits


def test_tab_choices_match_the_engine():
    assert TRAINING_CHOICES["training.method"] == TRAINING_METHODS
    assert TRAINING_CHOICES["training.optimizer"] == TRAINING_OPTIMIZERS
    assert TRAINING_CHOICES["training.precision"] == TRAINING_PRECISIONS
    assert set(TRAINING_FRAMEWORKS) == {"hf", "torchtune", "torchtitan", "megatron"}
