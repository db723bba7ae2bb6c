"""The configuration search as a capacity planner relies on it: the winner is the cheapest
feasible candidate, freeing a choice never costs more, nothing that cannot hold the model is
feasible, and an impossible SLA names its nearest miss."""

from __future__ import annotations

import dataclasses
import math
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.hardware import GpuSpec, PriceSpec, gpu_formats
from engine.inputs import PlanInputs, ServingInputs
from engine.memory import inference_memory
from engine.search import KEEPABLE, SearchOptions, kv_options, search, weight_options

from .conftest import _entries, gpu_spec, model_spec


@cache
def catalog_gpus() -> tuple[GpuSpec, ...]:
    return tuple(gpu_spec(g) for g in _entries("gpu"))


@cache
def catalog_prices() -> dict[str, tuple[PriceSpec, ...]]:
    out: dict[str, list[PriceSpec]] = {}
    for entry in _entries("price").values():
        p = PriceSpec(**entry)
        out.setdefault(p.gpu, []).append(p)
    return {k: tuple(v) for k, v in out.items()}


def inputs(model="llama-3.1-8b", gpu="h100-sxm-80gb", **serving) -> PlanInputs:
    base = dict(max_model_len=8192, concurrent_sessions=200, prompt_tokens=1000, output_tokens=300,
                requests_per_second=8.0, ttft_ms=1000.0, itl_ms=50.0)
    base.update(serving)
    return PlanInputs(model=model_spec(model), gpu=gpu_spec(gpu), serving=ServingInputs(**base),
                      prices=catalog_prices().get(gpu, ()))


TODAY = "2026-12-01"
FEW_GPUS = ("h100-sxm-80gb", "a100-sxm-80gb", "l40s", "rtx-4090", "mi300x", "b200-sxm-180gb")


def run(inp: PlanInputs, **opts) -> object:
    opts.setdefault("today", TODAY)
    return search(inp, catalog_gpus(), catalog_prices(), SearchOptions(**opts))


def feasible_costs(result) -> list[float]:
    return [c.cost_per_hour for c in result.candidates if c.feasible]


def test_default_session_has_a_winner_and_it_is_the_cheapest_feasible():
    r = run(inputs(), exhaustive=True)
    assert r.winner is not None and r.winner.feasible
    assert all(r.winner.cost_per_hour <= cost + 1e-9 for cost in feasible_costs(r))
    assert r.pruned == 0 and r.evaluated > 100


def test_the_cost_bound_never_prunes_the_answer():
    """Pruned and exhaustive searches rank the same top candidates at the same costs."""
    pruned, full = run(inputs()), run(inputs(), exhaustive=True)
    assert pruned.pruned > 0
    top = lambda r: [(c.label, round(c.cost_per_hour, 6)) for c in r.candidates if c.feasible][:10]  # noqa: E731
    assert [cost for _, cost in top(pruned)] == [cost for _, cost in top(full)]
    assert pruned.winner.cost_per_hour == pytest.approx(full.winner.cost_per_hour)
    # Every pruned candidate's bound is above the tenth cheapest feasible cost, and is a true bound.
    tenth = sorted(feasible_costs(pruned))[9]
    exact = {c.label: c for c in full.candidates}
    for c in pruned.candidates:
        if c.status == "pruned":
            assert c.cost_lower_bound >= tenth - 1e-9
            if exact[c.label].cost_per_hour is not None:
                assert c.cost_lower_bound <= exact[c.label].cost_per_hour + 1e-9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sessions=st.integers(1, 5000),
    rps=st.floats(0.1, 200.0),
    itl=st.sampled_from([15.0, 30.0, 60.0, 200.0]),
    model=st.sampled_from(["llama-3.1-8b", "llama-3.1-70b", "qwen3-30b-a3b"]),
)
def test_winner_is_never_more_expensive_than_any_feasible_candidate(sessions, rps, itl, model):
    r = run(inputs(model, concurrent_sessions=sessions, requests_per_second=rps, itl_ms=itl),
            gpu_ids=FEW_GPUS, exhaustive=True)
    costs = feasible_costs(r)
    if r.winner is None:
        assert costs == []
    else:
        assert r.winner.cost_per_hour == pytest.approx(min(costs))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gpu=st.sampled_from(FEW_GPUS),
    sessions=st.integers(10, 3000),
    itl=st.sampled_from([20.0, 50.0, 120.0]),
    order=st.permutations(KEEPABLE),
)
def test_freeing_a_fixed_choice_never_makes_the_winner_more_expensive(gpu, sessions, itl, order):
    inp = inputs(gpu=gpu, concurrent_sessions=sessions, itl_ms=itl)
    opts = SearchOptions(**{f"keep_{k}": True for k in KEEPABLE}, gpu_ids=FEW_GPUS, today=TODAY)
    best = math.inf
    for choice in order:  # free one more choice each step
        r = search(inp, catalog_gpus(), catalog_prices(), opts)
        cost = r.winner.cost_per_hour if r.winner else math.inf
        assert cost <= best + 1e-9, f"freeing choices raised the winner to {cost} (was {best})"
        best = cost
        opts = opts.freed(choice)


def test_kept_choices_are_kept():
    inp = inputs(gpu="a100-sxm-80gb")
    r = run(inp, keep_gpu=True, keep_engine=True, keep_weights=True, keep_kv_cache=True, keep_parallel=True)
    assert {(c.gpu, c.engine, c.weights, c.kv_cache, c.tensor_parallel) for c in r.candidates} == {
        ("a100-sxm-80gb", "vllm", "bf16", "auto", 1)}


def test_a_gpu_that_cannot_hold_the_model_is_never_feasible():
    """On one GPU, Llama 3.1 70B needs about 37 GB even in 4 bits: no 24 GB card holds it, an
    80 GB one does."""
    r = run(inputs("llama-3.1-70b", concurrent_sessions=10, requests_per_second=0.5),
            gpu_ids=("rtx-4090", "l4", "a10g", "h100-sxm-80gb"), keep_parallel=True)
    small = [c for c in r.candidates if c.gpu != "h100-sxm-80gb"]
    assert small and all(c.status == "memory" and c.fits is False and c.reason for c in small)
    assert any(c.feasible for c in r.candidates if c.gpu == "h100-sxm-80gb")


@settings(max_examples=20, deadline=None)
@given(model=st.sampled_from(["llama-3.1-8b", "llama-3.1-70b", "qwen3-30b-a3b", "gpt-oss-120b"]),
       max_len=st.sampled_from([4096, 32768, 131072]))
def test_every_feasible_candidate_fits_and_meets_the_sla(model, max_len):
    inp = inputs(model, max_model_len=max_len)
    r = run(inp, gpu_ids=FEW_GPUS)
    gpus = {g.id: g for g in catalog_gpus()}
    for c in r.candidates:
        if not c.feasible:
            assert c.reason, c
            continue
        serving = dataclasses.replace(inp.serving, engine=c.engine)
        mem = inference_memory(inp.model, gpus[c.gpu], serving, weights=c.weights, kv_cache=c.kv_cache,
                               tensor_parallel=c.tensor_parallel, pipeline_parallel=c.pipeline_parallel,
                               max_model_len=min(max_len, inp.model.max_context or max_len))
        assert mem.fits, c.label
        assert c.meets_sla and c.itl_ms <= inp.serving.itl_ms and c.ttft_ms <= inp.serving.ttft_ms


def test_an_sla_nothing_meets_names_the_nearest_miss():
    r = run(inputs(itl_ms=0.5, ttft_ms=1.0), gpu_ids=FEW_GPUS)
    assert r.winner is None
    miss = r.nearest_miss
    assert miss is not None and miss.status == "sla" and miss.sla_miss > 1
    assert all(miss.sla_miss <= c.sla_miss for c in r.candidates if c.status == "sla")
    assert "nothing meets the SLA" in r.message and miss.gpu in r.message and "nearest miss" in r.message


def test_unknown_price_and_speed_are_listed_never_dropped():
    r = run(inputs(), gpu_ids=("v100-sxm2-32gb", "rtx-3090", "h100-sxm-80gb"))
    by_gpu = {c.gpu for c in r.candidates}
    assert {"v100-sxm2-32gb", "rtx-3090", "h100-sxm-80gb"} <= by_gpu
    v100 = [c for c in r.candidates if c.gpu == "v100-sxm2-32gb"]
    assert all(not c.feasible and c.reason for c in v100)


def test_max_gpus_caps_the_fleet():
    r = run(inputs(concurrent_sessions=3000, requests_per_second=100), gpu_ids=FEW_GPUS, max_gpus=16)
    assert all(c.gpus_provisioned <= 16 for c in r.candidates if c.feasible)
    assert any(c.status == "too-many-gpus" for c in r.candidates)


def test_pipeline_parallel_only_where_one_node_cannot_hold_the_model():
    r = run(inputs("llama-3.1-405b", concurrent_sessions=20, requests_per_second=0.5),
            gpu_ids=("a100-sxm-40gb", "h200-sxm-141gb"))
    pp = {c.gpu for c in r.candidates if c.pipeline_parallel > 1}
    assert "a100-sxm-40gb" in pp and "h200-sxm-141gb" not in pp


def test_session_price_belongs_to_its_own_gpu():
    inp = dataclasses.replace(inputs(gpu="l40s"), costs=dataclasses.replace(inputs().costs, price_per_gpu_hour=0.01))
    r = run(inp, gpu_ids=("l40s", "h100-sxm-80gb"))
    prices = {c.gpu: c.price_per_gpu_hour for c in r.candidates}
    assert prices["l40s"] == 0.01 and prices["h100-sxm-80gb"] != 0.01


def test_formats_follow_the_architecture():
    gpus = {g.id: g for g in catalog_gpus()}
    assert "fp8" not in weight_options(inputs(), gpus["a100-sxm-80gb"])
    assert "int8" in weight_options(inputs(), gpus["a100-sxm-80gb"])
    assert "fp8" in weight_options(inputs(), gpus["h100-sxm-80gb"])
    assert "mxfp4" in weight_options(inputs(), gpus["b200-sxm-180gb"])
    assert "mxfp4" not in weight_options(inputs(), gpus["h100-sxm-80gb"])
    assert "mxfp4" in weight_options(inputs("gpt-oss-120b"), gpus["h100-sxm-80gb"])  # its own checkpoint
    assert kv_options(gpus["a100-sxm-80gb"]) == ("auto",) and "fp8" in kv_options(gpus["l40s"])
    # Without a `formats` field the default comes from the peaks the entry publishes.
    bare = GpuSpec(id="x", memory_gib=100, bf16_tflops=1, fp8_tflops=2, fp4_tflops=4)
    assert "nvfp4" in gpu_formats(bare)
    assert "nvfp4" not in gpu_formats(bare.model_copy(update={"vendor": "amd"}))
    assert gpu_formats(GpuSpec(id="y", memory_gib=16)) == ("fp16", "int8", "int4")


def test_pareto_front_is_non_dominated_per_gpu():
    r = run(inputs(), gpu_ids=FEW_GPUS, exhaustive=True)
    assert r.pareto
    for points in r.pareto.values():
        for p in points:
            assert not any(q.tokens_per_s_per_user >= p.tokens_per_s_per_user and q.tokens_per_s_per_gpu > p.tokens_per_s_per_gpu
                           or q.tokens_per_s_per_user > p.tokens_per_s_per_user and q.tokens_per_s_per_gpu >= p.tokens_per_s_per_gpu
                           for q in points)
    costs = [c.cost_per_hour for c in r.cost_latency]
    itls = [c.itl_ms for c in r.cost_latency]
    assert costs == sorted(costs) and itls == sorted(itls, reverse=True)


def test_json_candidates_carry_the_contract_fields():
    d = run(inputs(), gpu_ids=FEW_GPUS).to_dict()
    need = {"gpu", "tensor_parallel", "pipeline_parallel", "weights", "kv_cache", "engine", "batch", "replicas",
            "gpus", "fits", "meets_sla", "reason", "cost_per_hour", "cost_per_million_output_tokens",
            "output_tokens_per_s_per_gpu", "tokens_per_s_per_user", "ttft_ms", "itl_ms"}
    assert d["candidates"] and all(need <= set(c) for c in d["candidates"])
    assert d["candidates"][0]["feasible"] and d["candidates"][0]["reason"] == ""


def test_owned_hardware_is_a_candidate_beside_renting_the_same_gpu():
    costs = dataclasses.replace(inputs().costs, capex=30_000.0, amortization_years=4.0)
    inp = dataclasses.replace(inputs(), costs=costs)
    r = run(inp, gpu_ids=FEW_GPUS)
    owned = [c for c in r.candidates if c.price_kind == "owned"]
    rented_h100 = [c for c in r.candidates if c.gpu == "h100-sxm-80gb" and c.price_kind != "owned"]
    assert owned and rented_h100 and all(c.gpu == "h100-sxm-80gb" for c in owned)
    # 30,000 / (4 x 8760) h plus 0.7 kW x PUE 1.3 x $0.12/kWh (no server: GPU TDP + host share)
    per_gpu_kw = (8 * 0.7 + 1.0) / 8
    assert owned[0].price_per_gpu_hour == pytest.approx(30_000 / (4 * 8760) + per_gpu_kw * 1.3 * 0.12)
    assert "owned" in owned[0].label and "capex" in owned[0].price_basis
    others = {c.gpu: c.price_kind for c in r.candidates if c.gpu != "h100-sxm-80gb"}
    assert "owned" not in others.values()  # capex is the session's GPU only


def _figures(r) -> list[tuple]:
    return [(tuple(sorted(c.to_dict().items(), key=lambda kv: kv[0])), c.curve) for c in r.candidates]


def test_speeds_remembered_between_searches_change_no_figure():
    """The next keystroke reuses the speeds of the last search (a demand edit changes none):
    every candidate's figures are those a search from scratch gives."""
    from engine import search_model

    run(inputs(), gpu_ids=FEW_GPUS)
    warm = run(inputs(concurrent_sessions=900, requests_per_second=30.0), gpu_ids=FEW_GPUS)
    search_model.clear_speed_cache()
    cold = run(inputs(concurrent_sessions=900, requests_per_second=30.0), gpu_ids=FEW_GPUS)
    assert _figures(warm) == _figures(cold)


def test_a_gpu_the_step_model_cannot_time_is_listed_never_pruned():
    """No bandwidth or tensor FLOPS figure: every candidate that fits says speed unknown, with its
    cost bound, whatever the bound says about the others."""
    r = run(inputs())
    slow = {c.gpu for c in r.candidates if c.status == "speed-unknown"}
    assert {"v100-sxm2-32gb", "rtx-3090"} <= slow
    for c in r.candidates:
        if c.gpu in slow:
            assert c.status in ("speed-unknown", "memory", "layout") and not c.feasible
    assert r.speed_unknown("v100-sxm2-32gb") and r.speed_unknown("h100-sxm-80gb") is None


def test_a_gpu_the_bound_spared_gets_its_whole_front_on_request():
    from engine.search import gpu_front

    r = run(inputs(model="llama-3.1-70b", concurrent_sessions=2000))
    spared = next(c.gpu for c in r.candidates if c.status == "pruned" and not r.front_complete(c.gpu))
    gpu = next(g for g in catalog_gpus() if g.id == spared)
    whole = gpu_front(inputs(model="llama-3.1-70b", concurrent_sessions=2000), gpu, catalog_prices().get(spared, ()),
                      SearchOptions(today=TODAY))
    full = run(inputs(model="llama-3.1-70b", concurrent_sessions=2000), gpu_ids=(spared,), exhaustive=True)
    assert whole and whole == full.pareto[spared]
    assert len(whole) >= len(r.pareto.get(spared, ()))
    assert full.front_complete(spared)


def test_a_superseded_search_stops():
    from engine.search import SearchCancelled

    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(SearchCancelled):
        search(inputs(), catalog_gpus(), catalog_prices(), SearchOptions(today=TODAY), should_stop=stop)
    assert len(asked) == 4
