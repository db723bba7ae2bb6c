"""Engine tests read the bundled catalog TOML directly (not through catalogs/), so the engine is
checked on its own and the catalog data is checked with it."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from engine.hardware import GpuSpec
from engine.model import ModelSpec, from_hf_config

ROOT = Path(__file__).resolve().parents[2]
# A copy of ../shared/reference/measurements.toml (published measurements, each with its source),
# kept with the tests so they never depend on a checkout layout.
MEASUREMENTS = Path(__file__).parent / "data" / "measurements.toml"


@cache
def _entries(kind: str) -> dict[str, dict]:
    data = tomllib.loads((ROOT / "catalogs" / "data" / f"{kind}s.toml").read_text())
    return {e["id"]: e for e in data[kind]}


def model_spec(model_id: str) -> ModelSpec:
    entry = _entries("model")[model_id]
    return from_hf_config(entry["config"], id=model_id, name=entry.get("name", ""))


def model_entry(model_id: str) -> dict:
    return _entries("model")[model_id]


def model_ids() -> list[str]:
    return sorted(_entries("model"))


def gpu_spec(gpu_id: str) -> GpuSpec:
    return GpuSpec(**_entries("gpu")[gpu_id])


@cache
def measurements() -> list[dict]:
    return tomllib.loads(MEASUREMENTS.read_text())["points"]
