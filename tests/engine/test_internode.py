"""A replica that spans servers: the network between them is checked against the traffic its
collectives send (engine/internode.py), with the figures in the plan's warning and JSON block."""

from __future__ import annotations

import pytest

from engine.hardware import ServerSpec
from engine.inputs import PlanInputs, ServingInputs
from engine.internode import internode_traffic
from engine.plan import plan

from .conftest import _entries, gpu_spec, model_spec


def _server(server_id: str, **update) -> ServerSpec:
    return ServerSpec(**_entries("server")[server_id]).model_copy(update=update)


def _llama405(server: ServerSpec, tp: int = 16, pp: int = 1, batch: int = 64) -> PlanInputs:
    return PlanInputs(model=model_spec("llama-3.1-405b"), gpu=gpu_spec("h100-sxm-80gb"), weights="fp8",
                      server=server, tensor_parallel=tp, pipeline_parallel=pp,
                      serving=ServingInputs(max_model_len=8192, prompt_tokens=2000, output_tokens=400, batch=batch))


def _warning(p):
    return next((w for w in p.warnings if w.code == "internode-network"), None)


def test_tensor_parallel_over_two_servers_with_one_400g_nic_each_cannot_be_carried_and_says_by_how_much():
    p = plan(_llama405(_server("dell-xe9680", network_gbps=400)))
    w = _warning(p)
    assert w is not None and w.severity == "warning"
    assert "2 servers" in w.message and "400 Gb/s" in w.message and "cannot carry" in w.message
    block = p.to_dict()["inference"]["internode"]
    assert block["servers"] == 2 and block["available_gbps"] == 400 and block["carried"] is False
    assert f"at most {100 / block['load']:.0f} %" in w.message
    # 126 layers x 2 all-reduces x 2 (N-1)/N x 16,384 x 2 bytes per token leave each server.
    assert block["bytes_per_token"] == pytest.approx(126 * 2 * 2 * 0.5 * 16384 * 2, rel=1e-6)
    rate = p.inference.requests_per_s_replica * 2400
    assert block["required_gbps"] == pytest.approx(block["bytes_per_token"] * rate * 8 / 1e9, rel=1e-3)
    assert block["load"] == pytest.approx(block["required_gbps"] / 400, rel=1e-3)


def test_eight_400g_nics_carry_it_and_the_plan_says_what_share_it_takes():
    p = plan(_llama405(_server("dell-xe9680")))
    w = _warning(p)
    block = p.to_dict()["inference"]["internode"]
    assert w is not None and block["carried"] is True and 0 < block["load"] < 1
    assert f"{100 * block['load']:.0f} % of the 3,200 Gb/s" in w.message


def test_pipeline_stages_on_separate_servers_send_one_activation_per_token_and_fit():
    p = plan(_llama405(_server("dell-xe9680"), tp=8, pp=2))
    w = _warning(p)
    assert w is not None and w.severity == "info"  # 32 kB per token is easily carried
    block = p.to_dict()["inference"]["internode"]
    assert block["carried"] is True and block["bytes_per_token"] == pytest.approx(16384 * 2 / 2)


def test_a_server_without_a_network_figure_is_named_with_what_the_replica_needs():
    p = plan(_llama405(_server("dgx-h100")))
    w = _warning(p)
    assert w is not None and w.severity == "warning" and "not in the catalog" in w.message and "Gb/s" in w.message
    assert p.to_dict()["inference"]["internode"]["available_gbps"] is None


def test_a_replica_inside_one_server_sends_nothing_between_servers():
    p = plan(_llama405(_server("dell-xe9680"), tp=8))
    assert _warning(p) is None and p.to_dict()["inference"]["internode"] is None
    assert internode_traffic(hidden_size=8192, num_layers=80, moe_layers=0, experts_per_token=0, tensor_parallel=8,
                             pipeline_parallel=1, expert_parallel=1, dp_attention=False, gpus_per_node=8,
                             tokens_per_s=1e5, network_gbps=3200) is None


def test_more_network_lowers_the_load_in_proportion():
    kw = dict(hidden_size=7168, num_layers=61, moe_layers=58, experts_per_token=8, tensor_parallel=16,
              pipeline_parallel=1, expert_parallel=16, dp_attention=True, gpus_per_node=8, tokens_per_s=2e4)
    slow, fast = internode_traffic(network_gbps=400, **kw), internode_traffic(network_gbps=3200, **kw)
    assert slow.load == pytest.approx(8 * fast.load) and slow.required_gbps == fast.required_gbps
    assert any("all-to-all" in part for part in fast.parts)
