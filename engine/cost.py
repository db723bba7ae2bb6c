"""Money: the GPU-hour price to plan with, and cost per hour and per million tokens."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .hardware import PriceSpec
from .inputs import CostInputs

@dataclass(frozen=True, slots=True)
class PriceChoice:
    per_gpu_hour: float | None
    basis: str  # "session", or the catalog price id with its date
    kind: str = "catalog"  # "session" (own price), "provider" ([costs] provider), "catalog", "unknown"
    price_id: str | None = None
    expired: bool = False


def _today() -> str:
    return _dt.date.today().isoformat()


def _is_on_demand(p: PriceSpec) -> bool:
    tier = p.pricing.lower()
    return "on-demand" in tier and "spot" not in tier and "interruptible" not in tier


def _median_entry(prices: list[PriceSpec]) -> PriceSpec:
    """The lower median by representative price: a real entry, robust to one marketplace floor or
    one hyperscaler list price."""
    ranked = sorted(prices, key=lambda p: (p.representative or 0.0, p.id))
    return ranked[(len(ranked) - 1) // 2]


def _describe(p: PriceSpec, expired: bool, how: str) -> str:
    stale = f", EXPIRED {p.valid_until}" if expired else ""
    return f"catalog {p.id} ({p.provider}, {p.pricing}, {p.source_date or 'undated'}{stale}){how}"


DEFAULT_AMORTIZATION_YEARS = 3.0  # typical straight-line write-off of GPU servers
HOURS_PER_YEAR = 8760.0


def owned_price(costs: CostInputs, gpu_kw: float | None) -> PriceChoice:
    """Owned hardware per GPU-hour: capex written off straight-line over the amortisation period,
    plus the GPU's share of its node's power at the data hall's PUE and energy price."""
    years = costs.amortization_years or DEFAULT_AMORTIZATION_YEARS
    capital = (costs.capex or 0.0) / (years * HOURS_PER_YEAR)
    energy = (gpu_kw or 0.0) * costs.pue * costs.energy_price_kwh
    power = f" + {gpu_kw:.2f} kW x PUE {costs.pue:g} x ${costs.energy_price_kwh:g}/kWh" if gpu_kw else " (power unknown: energy not counted)"
    return PriceChoice(capital + energy, f"owned: capex ${costs.capex:,.0f} over {years:g} years{power}", "owned")


def choose_price(costs: CostInputs, prices: tuple[PriceSpec, ...], today: str | None = None,
                 gpu_kw: float | None = None) -> PriceChoice:
    """The session's own price wins; else owned hardware ([costs] capex; `gpu_kw`: one GPU's share
    of its node's power); else the named provider's price (current on-demand first, then any
    current tier, newest first); else the median of the GPU's current on-demand catalog prices
    (any current price when none is on-demand); an expired price only when nothing current
    exists, flagged as such; else unknown."""
    if costs.price_per_gpu_hour is not None:
        return PriceChoice(costs.price_per_gpu_hour, "session [costs] price_per_gpu_hour", "session")
    if costs.capex is not None:
        return owned_price(costs, gpu_kw)
    day = today or _today()
    priced = [p for p in prices if p.representative is not None]
    if costs.provider:
        wanted = costs.provider.lower()
        own = [p for p in priced if p.provider.lower() == wanted]
        if not own:
            return PriceChoice(None, f"no catalog price from provider {costs.provider!r}", "unknown")
        own.sort(key=lambda p: (p.expired(day), not _is_on_demand(p), _neg_date(p.source_date), p.id))
        p = own[0]
        return PriceChoice(p.representative, _describe(p, p.expired(day), f" for [costs] provider"), "provider",
                           p.id, p.expired(day))
    current = [p for p in priced if not p.expired(day)]
    pool = [p for p in current if _is_on_demand(p)] or current
    if pool:
        p = _median_entry(pool)
        how = f", median of {len(pool)} current {'on-demand ' if _is_on_demand(p) else ''}prices" if len(pool) > 1 else ""
        return PriceChoice(p.representative, _describe(p, False, how), "catalog", p.id)
    if priced:
        p = max(priced, key=lambda p: (p.source_date, p.id))
        return PriceChoice(p.representative, _describe(p, True, ": no current price"), "catalog", p.id, True)
    return PriceChoice(None, "no price: set [costs] price_per_gpu_hour", "unknown")


def _neg_date(date: str) -> tuple[int, ...]:
    """Sort key putting the newest ISO-ish date first."""
    return tuple(-ord(c) for c in date)


MIN_TOKENS_PER_SECOND = 1e-6  # below this a fleet serves nothing: no per-token cost to speak of


def cost_per_million_tokens(cost_per_hour: float | None, tokens_per_second: float | None) -> float | None:
    if cost_per_hour is None or tokens_per_second is None or tokens_per_second < MIN_TOKENS_PER_SECOND:
        return None
    return cost_per_hour / (tokens_per_second * 3600) * 1e6
