"""Warnings about the plan's inputs that need figures from several of its parts (issue 7 item 10):
an expired catalog price used for the costs, and a session count the request rate cannot explain.

Each check returns (code, severity, message, session field) tuples; plan() turns them into its
PlanWarning data. Pure; no printing.
"""

from __future__ import annotations

from .cost import PriceChoice
from .inference import InferenceEstimate
from .inputs import PlanInputs

# A session whose requests come further apart than this is not "concurrent" in any sense a serving
# engine sees: its KV blocks are long evicted (vLLM frees a finished request's blocks at once; a
# prefix cache keeps them only while no one else needs the space). Chat users think for tens of
# seconds between turns, agents less; an hour between requests is far past any of them.
SESSION_GAP_LIMIT_S = 3600.0


def plan_checks(inputs: PlanInputs, price: PriceChoice, training_price: PriceChoice | None,
                inference: InferenceEstimate) -> list[tuple[str, str, str, str]]:
    return [*price_checks(price, training_price), *session_rate_checks(inputs, inference)]


def price_checks(price: PriceChoice, training_price: PriceChoice | None) -> list[tuple[str, str, str, str]]:
    """A cost computed from an expired catalog price says so (the figure is known to be stale)."""
    out = []
    for what, choice in (("serving", price), ("training", training_price)):
        if choice is None or not choice.expired or choice.per_gpu_hour is None:
            continue
        if what == "training" and choice is price:
            continue  # the same price, already said
        out.append(("price-expired", "warning",
                    f"{what} costs use an EXPIRED catalog price, ${choice.per_gpu_hour:,.2f}/GPU-hour: "
                    f"{choice.basis}. The figure is known to be out of date: set [costs] "
                    "price_per_gpu_hour to your own", "costs.price_per_gpu_hour"))
    return out


def duration_words(seconds: float) -> str:
    if seconds >= 86400 * 365:
        return f"{seconds / (86400 * 365):,.1f} years"
    if seconds >= 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} hours"
    return f"{seconds:,.0f} s"


def session_rate_checks(inputs: PlanInputs, inference: InferenceEstimate) -> list[tuple[str, str, str, str]]:
    """Little's law, L = lambda x W (Little 1961): N sessions issuing `rate` requests/s in total
    means each one sends a request every N / rate seconds. Past SESSION_GAP_LIMIT_S the two
    figures do not describe the same workload, and sizing by the sessions (their KV cache) plans
    for load that never comes."""
    s = inputs.serving
    rate, sessions = s.requests_per_second, s.concurrent_sessions
    if rate <= 0 or sessions <= 0:
        return []
    gap = sessions / rate
    if gap <= SESSION_GAP_LIMIT_S:
        return []
    served = ""
    if inference.known and inference.e2e_ms:
        in_flight = rate * inference.e2e_ms / 1000
        served = (f"; at {inference.e2e_ms / 1000:,.1f} s per request the rate keeps only about "
                  f"{max(in_flight, 1):,.0f} requests in flight")
    return [("sessions-vs-rate", "warning",
             f"{sessions:,} concurrent sessions at {rate:,g} requests/s: by Little's law (sessions = rate x "
             f"time per session) each session would send one request every {gap:,.0f} s "
             f"({duration_words(gap)}){served}. Check serving.concurrent_sessions against "
             "serving.requests_per_second", "serving.concurrent_sessions")]
