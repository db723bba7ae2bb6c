"""engine/advice.py: a plan that does not fit says which nearest change would fit, and every
change it names fits when applied (planned again through plan())."""

from __future__ import annotations

import pytest

from engine.advice import apply, advise
from engine.hardware import ServerSpec
from engine.inputs import PlanInputs, ServingInputs
from engine.plan import plan

from .conftest import _entries, gpu_spec, model_spec

GPUS = tuple(gpu_spec(g) for g in _entries("gpu"))
DGX = ServerSpec(id="dgx-h100", gpu="h100-sxm-80gb", gpus_per_node=8, max_power_kw=10.2, rack_units=8)


def inputs(model="llama-3.1-70b", gpu="h100-sxm-80gb", tp=1, weights="bf16", context=8192, **kw):
    return PlanInputs(model=model_spec(model), gpu=gpu_spec(gpu), weights=weights, tensor_parallel=tp,
                      server=DGX if gpu == "h100-sxm-80gb" else None,
                      serving=ServingInputs(max_model_len=context), gpu_choices=GPUS, **kw)


def assert_each_fits(base: PlanInputs, advice) -> None:
    for s in advice:
        applied = plan(apply(base, s.changes))
        assert applied.fits, (s.message, applied.memory.reason, [w.message for w in applied.warnings])
        assert applied.memory.sessions_per_replica == s.sessions_per_replica


def test_70b_bf16_on_one_80gb_gpu_suggests_tp2_or_fp8_and_each_fits():
    base = inputs()
    p = plan(base)
    assert not p.fits
    messages = [s.message for s in p.advice]
    assert any(m == "fits with TP 2" or m == "fits with fp8 weights" for m in messages), messages
    assert_each_fits(base, p.advice)
    # cheapest first: the GPU memory a replica provisions never decreases down the list
    sizes = [s.replica_memory_gib for s in p.advice]
    assert sizes == sorted(sizes)
    assert "TP 4" not in " ".join(messages)  # TP 2 fits: the larger TP is not offered


def test_the_report_lists_the_advice_with_session_edits():
    r = plan(inputs()).to_dict()
    tp2 = next(a for a in r["advice"] if a["message"] == "fits with TP 2")
    assert tp2["edits"] == {"hardware.tensor_parallel": 2} and tp2["gpus_per_replica"] == 2
    assert plan(inputs(tp=4)).to_dict()["advice"] == []  # a plan that fits needs none


@pytest.mark.parametrize("case", [
    dict(model="llama-3.1-405b", tp=8, context=None),  # needs fp8 or a larger GPU
    dict(model="llama-3.1-70b", tp=1, context=None),  # 128k context: TP 4 or a 256 GB GPU
    dict(model="llama-3.1-70b", tp=2, context=131072),  # weights fit, one 128k sequence does not
    dict(model="llama-3.1-8b", gpu="rtx-4090", tp=1, context=131072),
    dict(model="llama-3.1-70b", tp=3),  # a layout the engines refuse
])
def test_every_suggestion_fits_when_applied(case):
    base = inputs(**case)
    p = plan(base)
    assert not p.fits and p.advice, [w.message for w in p.warnings]
    assert_each_fits(base, p.advice)


def test_a_shorter_context_is_offered_when_only_the_sequence_is_too_long():
    base = inputs(tp=2, context=131072)
    found = [s for s in plan(base).advice if s.changes[0][0] == "max_model_len"]
    assert found and found[0].message.startswith("fits with max_model_len ")
    value = dict(found[0].changes)["max_model_len"]
    assert 8192 <= value < 131072
    assert not plan(apply(base, (("max_model_len", value * 2),))).fits  # the longest that fits


def test_a_larger_catalog_gpu_at_the_same_tp():
    advice = plan(inputs(model="llama-3.1-405b", tp=8, context=None)).advice
    gpu = [s for s in advice if s.gpu_id != "h100-sxm-80gb"]
    assert gpu and gpu[0].message.startswith("fits on ") and "at TP 8" in gpu[0].message


def test_the_edits_of_a_gpu_change_leave_the_server_that_does_not_hold_it():
    s = next(a for a in plan(inputs(model="llama-3.1-405b", tp=8, context=None)).advice if a.gpu_id != "h100-sxm-80gb")
    assert s.edits["hardware.gpu"] == s.gpu_id and s.edits["hardware.server"] is None
    assert s.edits["hardware.gpus_per_node"] == 8 and s.edits["hardware.tensor_parallel"] == 8
