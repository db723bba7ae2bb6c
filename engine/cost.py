"""Money: the GPU-hour price to plan with, and cost per hour and per million tokens."""

from __future__ import annotations

from dataclasses import dataclass

from .hardware import PriceSpec
from .inputs import CostInputs

@dataclass(frozen=True, slots=True)
class PriceChoice:
    per_gpu_hour: float | None
    basis: str  # "session", or the catalog price id with its date


def choose_price(costs: CostInputs, prices: tuple[PriceSpec, ...]) -> PriceChoice:
    """The session's own price wins; else the catalog price of the named provider; else the
    first dated catalog price for this GPU; else unknown."""
    if costs.price_per_gpu_hour is not None:
        return PriceChoice(costs.price_per_gpu_hour, "session [costs] price_per_gpu_hour")
    candidates = [p for p in prices if p.representative is not None]
    if costs.provider:
        wanted = costs.provider.lower()
        candidates = [p for p in candidates if p.provider.lower() == wanted] or []
    if not candidates:
        return PriceChoice(None, "no price: set [costs] price_per_gpu_hour")
    p = candidates[0]
    return PriceChoice(p.representative, f"catalog {p.id} ({p.provider}, {p.source_date or 'undated'})")


MIN_TOKENS_PER_SECOND = 1e-6  # below this a fleet serves nothing: no per-token cost to speak of


def cost_per_million_tokens(cost_per_hour: float | None, tokens_per_second: float | None) -> float | None:
    if cost_per_hour is None or tokens_per_second is None or tokens_per_second < MIN_TOKENS_PER_SECOND:
        return None
    return cost_per_hour / (tokens_per_second * 3600) * 1e6
