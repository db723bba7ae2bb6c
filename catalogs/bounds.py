"""Sane bounds for every number a catalog entry may hold, and the check that applies them.

The specs (engine/hardware.py) only say "positive"; these say "plausible": far above any real
part (the largest GPU today has ~288 GiB, ~8 TB/s, ~5,000 dense FP8 TFLOPS, ~1.4 kW), low enough
that `inf`, `1e308` or a slipped exponent is an error on its key instead of an OverflowError in
the planner. The session schema (sessions/schema.py GpuSpecSection) uses the same limits for an
inline GPU; a test keeps the two in step.
"""

from __future__ import annotations

import math
from typing import Any

# kind -> key -> largest accepted value (every one must also be > 0: the specs say so)
LIMITS: dict[str, dict[str, float]] = {
    "gpus": {
        "memory_gib": 1_000_000,
        "memory_gb_marketed": 1_000_000,
        "bandwidth_tbs": 1_000,
        "bf16_tflops": 1_000_000,
        "fp8_tflops": 1_000_000,
        "int8_tops": 1_000_000,
        "fp4_tflops": 1_000_000,
        "tdp_w": 100_000,
        "interconnect_gbs": 1_000_000,
    },
    "servers": {"gpus_per_node": 4096, "max_power_kw": 10_000, "rack_units": 1000, "network_gbps": 1_000_000},
    "prices": {"price_per_gpu_hour": 1e6, "price_per_gpu_hour_low": 1e6, "price_per_gpu_hour_high": 1e6},
    "models": {"params_published": 1e15, "active_params_published": 1e15},
}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def non_finite(value: Any, where: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """(dotted key, problem) for every inf/nan number in `value` (tables and arrays walked)."""
    if depth > 32:
        return [(where, "nested too deeply")]
    if isinstance(value, float) and not math.isfinite(value):
        return [(where, f"must be a finite number, got {value!r}")]
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += non_finite(v, f"{where}.{k}" if where else str(k), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += non_finite(v, where, depth + 1)  # an array's line is its key's line
    return found


def out_of_bounds(kind: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, problem) for every number of a catalog entry that is not finite or not plausible."""
    problems = non_finite(data)
    bad = {key for key, _ in problems}
    for key, limit in LIMITS.get(kind, {}).items():
        value = data.get(key)
        if key in bad or not _number(value):
            continue  # absent, or the wrong type: the spec's validation says so
        if value > limit:
            problems.append((key, f"{value:g} is not plausible (at most {limit:,g})"))
    return problems


__all__ = ["LIMITS", "non_finite", "out_of_bounds"]
