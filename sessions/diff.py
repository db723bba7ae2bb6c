"""Differences between two sessions (inputs) and between their plans (results), for the
Sessions tab's side-by-side view."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.inputs import SCENARIO_NAMES

from .schema import Session


@dataclass(frozen=True, slots=True)
class InputChange:
    path: str  # dotted key, e.g. "serving.memory_fraction"; None below means "not set"
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ResultChange:
    label: str
    path: str  # dotted path into the plan JSON report
    before: float
    after: float
    delta: float  # after - before
    unit: str

    @property
    def ratio(self) -> float | None:
        """after / before, None when before is 0."""
        return self.after / self.before if self.before else None


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path + ".")
        else:
            yield path, value


def diff_inputs(a: Session, b: Session) -> list[InputChange]:
    """Changed leaf keys (lists compared whole), in schema order; a key set on one side only has
    None on the other."""
    left = dict(_flatten(a.model_dump(mode="python")))
    right = dict(_flatten(b.model_dump(mode="python")))
    paths = list(left) + [p for p in right if p not in left]
    return [
        InputChange(p, left.get(p), right.get(p))
        for p in paths
        if left.get(p) != right.get(p) or type(left.get(p)) is not type(right.get(p))
    ]


# (path, label, unit): the figures the diff view compares.
RESULT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("memory.weights_gib", "Weights per GPU", "GiB"),
    ("memory.kv_pool_gib", "KV pool per GPU", "GiB"),
    ("memory.kv_capacity_tokens", "KV capacity per replica", "tokens"),  # tokens split across its TP GPUs
    ("memory.max_concurrency", "Max concurrency at max length", "sequences"),
) + tuple(
    (f"scenarios.{s}.{key}", f"{label} ({s})", unit)
    for s in SCENARIO_NAMES
    for key, label, unit in (
        ("nodes", "Nodes", "nodes"),
        ("gpus", "GPUs", "GPUs"),
        ("sessions_capacity", "Sessions capacity", "sessions"),
        ("power_kw", "Power", "kW"),
        ("cost_per_hour", "Cost", "USD/h"),
    )
)


def _get(report: Mapping[str, Any], path: str) -> float | None:
    node: Any = report
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None
    return node


def diff_results(
    report_a: Mapping[str, Any], report_b: Mapping[str, Any], *, changed_only: bool = False
) -> list[ResultChange]:
    """The compared figures of two plan JSON reports (`gpuplan plan --format json`), in a fixed
    order; figures missing, None or non-numeric in either report are skipped."""
    out = []
    for path, label, unit in RESULT_FIELDS:
        before, after = _get(report_a, path), _get(report_b, path)
        if before is None or after is None or (changed_only and before == after):
            continue
        delta = after - before if isinstance(after - before, int) else round(after - before, 9)
        out.append(ResultChange(label, path, before, after, delta, unit))
    return out
