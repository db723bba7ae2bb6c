"""Warnings from engine/plan_checks.py as plan() reports them: an expired catalog price used for
the costs, and concurrent sessions the request rate cannot explain (Little's law)."""

from __future__ import annotations

from engine.hardware import PriceSpec
from engine.inputs import CostInputs, PlanInputs, ServingInputs
from engine.plan import plan

from .conftest import gpu_spec, model_spec

OLD = PriceSpec(id="old-h100", provider="Cloud", gpu="h100-sxm-80gb", price_per_gpu_hour=9.99,
                source_date="2023-01-01", valid_until="2024-01-01")
NEW = PriceSpec(id="new-h100", provider="Cloud", gpu="h100-sxm-80gb", price_per_gpu_hour=2.99,
                source_date="2026-01-01")


def make(sessions=200, rate=8.0, prices=(), costs=CostInputs()):
    return PlanInputs(model=model_spec("llama-3.1-8b"), gpu=gpu_spec("h100-sxm-80gb"), prices=prices, costs=costs,
                      serving=ServingInputs(max_model_len=8192, concurrent_sessions=sessions, requests_per_second=rate))


def codes(p):
    return {w.code: w for w in p.warnings}


def test_an_expired_price_is_used_with_a_warning_naming_it():
    p = plan(make(prices=(OLD,)))
    assert p.price.per_gpu_hour == 9.99
    w = codes(p)["price-expired"]
    assert w.severity == "warning" and "EXPIRED" in w.message and "old-h100" in w.message
    assert w.field == "costs.price_per_gpu_hour"
    assert "price-expired" in {x["code"] for x in p.to_dict()["warnings"]}
    assert p.to_dict()["cost"]["price_expired"] is True


def test_a_current_price_or_the_users_own_gives_no_warning():
    assert "price-expired" not in codes(plan(make(prices=(OLD, NEW))))
    assert "price-expired" not in codes(plan(make(prices=(OLD,), costs=CostInputs(price_per_gpu_hour=2.0))))


def test_sessions_the_rate_cannot_explain_get_a_warning_with_the_figures():
    w = codes(plan(make(sessions=100_000_000, rate=8)))["sessions-vs-rate"]
    assert "100,000,000 concurrent sessions at 8 requests/s" in w.message
    assert "12,500,000 s (145 days)" in w.message and "Little's law" in w.message
    assert w.field == "serving.concurrent_sessions"


def test_ordinary_chat_traffic_gives_no_little_warning():
    for sessions, rate in ((200, 8), (500, 10), (10_000, 5), (100, 0)):
        assert "sessions-vs-rate" not in codes(plan(make(sessions=sessions, rate=rate)))
