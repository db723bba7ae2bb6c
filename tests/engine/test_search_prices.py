"""Prices the search ranks with: every rented catalog GPU has dated, sourced prices (or is named
as unknown), expired ones are flagged and never preferred, and the user's own price or provider
wins."""

from __future__ import annotations

import re

from engine.cost import choose_price
from engine.hardware import PriceSpec
from engine.inputs import CostInputs

from .conftest import ROOT, _entries

TODAY = "2026-12-01"


def prices() -> list[PriceSpec]:
    return [PriceSpec(**e) for e in _entries("price").values()]


def unknown_listed() -> set[str]:
    header = (ROOT / "catalogs" / "data" / "prices.toml").read_text().split("[[price]]")[0]
    line = re.search(r"No price found[^:]*:(.*?)\.\s*$", header, re.S | re.M)
    assert line, "prices.toml says which GPUs have no price"
    return {g.strip(" #\n") for g in line.group(1).replace("\n#", " ").split(",")}


def test_every_catalog_gpu_has_a_price_or_is_listed_as_unknown():
    priced = {p.gpu for p in prices()}
    gpus = set(_entries("gpu"))
    unknown = unknown_listed()
    assert unknown <= gpus
    missing = gpus - priced - unknown
    assert not missing, f"GPUs with neither a price nor a place in the unknown list: {sorted(missing)}"
    assert not (priced & unknown), "a GPU listed as unknown has a price"


def test_prices_are_dated_sourced_and_come_from_several_kinds_of_provider():
    ps = prices()
    assert all(p.source_date and p.source and p.representative for p in ps)
    providers = {p.provider for p in ps}
    assert {"AWS", "Azure"} & providers and {"CoreWeave", "Lambda", "RunPod"} <= providers and "Vast.ai" in providers
    tiers = " ".join(p.pricing for p in ps)
    assert "on-demand" in tiers and "spot" in tiers and "reserved" in tiers
    assert any(p.expired(TODAY) for p in ps)


def test_expired_prices_are_never_preferred_and_are_flagged_when_alone():
    h100 = tuple(p for p in prices() if p.gpu == "h100-sxm-80gb")
    choice = choose_price(CostInputs(), h100, TODAY)
    chosen = next(p for p in h100 if p.id == choice.price_id)
    assert not chosen.expired(TODAY) and not choice.expired and "EXPIRED" not in choice.basis
    only_old = tuple(p for p in h100 if p.expired(TODAY))
    old = choose_price(CostInputs(), only_old, TODAY)
    assert old.per_gpu_hour is not None and old.expired and "EXPIRED" in old.basis


def test_default_is_the_median_current_on_demand_price():
    h100 = tuple(p for p in prices() if p.gpu == "h100-sxm-80gb")
    choice = choose_price(CostInputs(), h100, TODAY)
    on_demand = sorted(p.representative for p in h100 if not p.expired(TODAY) and "on-demand" in p.pricing
                       and "spot" not in p.pricing and "interruptible" not in p.pricing)
    assert choice.per_gpu_hour == on_demand[(len(on_demand) - 1) // 2]


def test_own_price_then_provider_win():
    l40s = tuple(p for p in prices() if p.gpu == "l40s")
    assert choose_price(CostInputs(price_per_gpu_hour=0.5), l40s, TODAY).per_gpu_hour == 0.5
    cw = choose_price(CostInputs(provider="coreweave"), l40s, TODAY)
    assert cw.kind == "provider" and "CoreWeave" in cw.basis and cw.per_gpu_hour == 2.25
    runpod = choose_price(CostInputs(provider="RunPod"), l40s, TODAY)
    assert runpod.per_gpu_hour == 1.40  # its on-demand price, not its spot price
    assert choose_price(CostInputs(provider="nobody"), l40s, TODAY).per_gpu_hour is None
