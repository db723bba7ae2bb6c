"""plan(): scenarios, physical figures, cost, warnings as data, the JSON report contract."""

from __future__ import annotations

import math

import pytest

from engine.hardware import GpuSpec, ServerSpec
from engine.inputs import CostInputs, PlanInputs, ServingInputs
from engine.plan import plan

from .conftest import model_spec

H100 = GpuSpec(id="h100-sxm-80gb", memory_gib=79.19, bandwidth_tbs=3.35, bf16_tflops=989, fp8_tflops=1978,
               tdp_w=700, interconnect_gbs=900)
DGX = ServerSpec(id="dgx-h100", gpus_per_node=8, max_power_kw=10.2, rack_units=8)


def make(model="llama-3.1-70b", tp=4, sessions=1000, server=DGX, **serving):
    return PlanInputs(model=model_spec(model), gpu=H100, server=server, tensor_parallel=tp,
                      serving=ServingInputs(concurrent_sessions=sessions, **{"max_model_len": 8192, **serving}),
                      costs=CostInputs(price_per_gpu_hour=2.5))


def test_report_has_the_contract_keys():
    r = plan(make()).to_dict()
    for key in ("gpu_total_gib", "weights_gib", "activation_gib", "overhead_gib", "kv_pool_gib",
                "kv_bytes_per_token", "kv_capacity_tokens", "max_concurrency", "fits"):
        assert key in r["memory"]
    assert {"params_total", "params_active", "kv_bytes_per_token"} <= set(r["model"])
    for name in ("minimum", "recommended", "ideal"):
        assert {"nodes", "gpus", "replicas", "sessions_capacity", "power_kw", "rack_units", "heat_btu_hr",
                "cost_per_hour"} <= set(r["scenarios"][name])
    assert {"inference", "training", "warnings"} <= set(r)
    assert "2^30" in r["units"]["memory"]


def test_scenarios_are_ordered_and_cover_demand():
    p = plan(make())
    s = {k: v.sizing for k, v in p.scenarios.items()}
    assert s["minimum"].gpus <= s["recommended"].gpus <= s["ideal"].gpus
    for z in s.values():
        assert z.sessions_capacity >= math.ceil(z.demand_sessions)
    assert s["recommended"].replicas == s["recommended"].replicas_needed + 1  # N+1


def test_replicas_pack_into_nodes():
    p = plan(make(tp=4, sessions=2000))
    z = p.scenarios["minimum"].sizing
    assert z.nodes == math.ceil(z.replicas / 2)  # two TP4 replicas per 8-GPU node


def test_physical_from_server_nameplate():
    p = plan(make())
    s = p.scenarios["recommended"]
    assert s.physical.power_kw == pytest.approx(10.2 * s.sizing.nodes)
    assert s.physical.heat_btu_hr == pytest.approx(s.physical.power_kw * 1000 * 3.412)
    assert s.physical.rack_units == 8 * s.sizing.nodes
    assert s.cost_per_hour == pytest.approx(2.5 * s.sizing.gpus_provisioned)


def test_power_without_server_is_tdp_plus_host():
    p = plan(make(server=None))
    assert p.node.kw == pytest.approx(8 * 0.7 + 1.0)


def test_context_clamped_with_warning():
    p = plan(make(model="llama-2-7b", tp=1, max_model_len=100000))
    assert p.max_model_len == 4096
    assert any(w.code == "context-clamped" and w.field == "serving.max_model_len" for w in p.warnings)


def test_not_fitting_gives_no_scenarios_and_a_reason():
    p = plan(make(tp=1))
    assert not p.fits
    assert all(s.sizing is None for s in p.scenarios.values())
    assert any(w.code == "does-not-fit" for w in p.warnings)
    assert p.to_dict()["scenarios"]["minimum"]["nodes"] is None


def test_invalid_tp_layout_is_refused():
    p = plan(make(tp=3))
    assert not p.fits
    assert any(w.code == "parallelism" for w in p.warnings)


def test_rate_can_need_more_replicas_than_concurrency():
    slow = plan(make(sessions=10, requests_per_second=0.1)).scenarios["minimum"].sizing
    busy = plan(make(sessions=10, requests_per_second=500)).scenarios["minimum"].sizing
    assert busy.replicas > slow.replicas


def test_cost_per_token_is_at_the_stated_demand():
    """$ per million output tokens = cost per hour / tokens served per hour at the workload's rate."""
    p = plan(make(sessions=200, requests_per_second=4, output_tokens=300))
    for s in p.scenarios.values():
        served = 4 * 300  # requests/s x output tokens, well under capacity here
        assert s.cost_per_million_tokens == pytest.approx(s.cost_per_hour / (served * 3600) * 1e6)
    costs = [p.scenarios[n].cost_per_million_tokens for n in ("minimum", "recommended", "ideal")]
    assert costs == sorted(costs)  # more conservative fleets cost more per token, never less
