"""Scenario sizing: the rate with the scenario's headroom, and scenarios that only ever grow."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.inputs import PlanInputs, ScenarioKnobs, ServingInputs
from engine.plan import plan
from engine.scenarios import size_scenario

from .conftest import gpu_spec, model_spec


def _chat_70b(rate: float) -> PlanInputs:
    # sessions/examples/chat-70b.toml with the request rate turned up (issue 7, item 14).
    return PlanInputs(
        model=model_spec("llama-3.1-70b"), gpu=gpu_spec("h100-sxm-80gb"), tensor_parallel=4, gpus_per_node=8,
        serving=ServingInputs(max_model_len=16384, max_num_seqs=256, concurrent_sessions=500, prompt_tokens=2000,
                              output_tokens=400, requests_per_second=rate, ttft_ms=1500, itl_ms=60),
    )


def test_headroom_applies_when_the_request_rate_drives_the_size():
    p = plan(_chat_70b(1000))
    per_replica = p.inference.requests_per_s_replica
    s = {k: v.sizing for k, v in p.scenarios.items()}
    assert s["minimum"].replicas == math.ceil(1000 / per_replica)
    assert s["recommended"].replicas_needed == math.ceil(1250 / per_replica)  # 25 % headroom
    assert s["recommended"].replicas == s["recommended"].replicas_needed + 1
    assert s["ideal"].replicas_needed == math.ceil(1500 / per_replica)
    assert s["recommended"].driver == "rate"
    assert s["minimum"].sessions_capacity <= s["recommended"].sessions_capacity <= s["ideal"].sessions_capacity


knobs = st.tuples(st.floats(0.3, 1.0), st.floats(0.0, 2.0), st.integers(0, 4))


@settings(max_examples=60, deadline=None)
@given(a=knobs, b=knobs, sessions=st.integers(1, 100_000), rate=st.floats(0, 5000), per_replica=st.floats(0.01, 100),
       seqs=st.integers(1, 1024), batch=st.one_of(st.none(), st.integers(1, 1024)))
def test_a_larger_scenario_never_has_fewer_replicas_or_less_capacity(a, b, sessions, rate, per_replica, seqs, batch):
    memory = plan(_chat_70b(10)).memory
    small = ScenarioKnobs(kv_share=max(a[0], b[0]), headroom=min(a[1], b[1]), redundancy=min(a[2], b[2]))
    large = ScenarioKnobs(kv_share=min(a[0], b[0]), headroom=max(a[1], b[1]), redundancy=max(a[2], b[2]))
    kw = dict(requests_per_second=rate, requests_per_s_replica=per_replica, batch_limit=batch)
    s = size_scenario("s", small, memory, sessions, seqs, 8, **kw)
    z = size_scenario("z", large, memory, sessions, seqs, 8, **kw)
    assert z.replicas >= s.replicas
    assert z.sessions_capacity >= s.sessions_capacity
    assert z.gpus >= s.gpus and z.nodes >= s.nodes
    assert z.sessions_capacity >= math.ceil(z.demand_sessions) - 0  # covers its own demand
    assert s.replicas_needed * per_replica >= rate * (1 + small.headroom) * (1 - 1e-9) or rate == 0


def test_the_bundled_scenarios_grow_in_every_figure():
    for rate in (1, 10, 100, 1000):
        p = plan(_chat_70b(rate))
        sizes = [p.scenarios[n].sizing for n in ("minimum", "recommended", "ideal")]
        for lo, hi in zip(sizes, sizes[1:]):
            assert hi.replicas >= lo.replicas and hi.sessions_capacity >= lo.sessions_capacity


def test_no_rate_and_no_speed_falls_back_to_sessions():
    memory = plan(replace(_chat_70b(0))).memory
    z = size_scenario("m", ScenarioKnobs(1.0, 0.0, 0), memory, 10, 256, 8, requests_per_second=0.0)
    assert z.replicas == 1 and z.driver == "sessions"
