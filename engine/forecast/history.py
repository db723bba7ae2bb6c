"""The raw history every reader returns, the repair log, and duration strings ("8w", "14d").

Stdlib only: readers build a :class:`RawHistory` without pandas; ``prepare`` turns it into an
hourly series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds in a Prometheus-style duration: "90s", "5m", "1h", "14d", "8w"."""
    m = _DURATION.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{what} {text!r} is not a duration like 90s, 5m, 1h, 14d or 8w")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass(frozen=True, slots=True)
class Repair:
    """One thing done to the history so it could be used, with how many rows it touched."""

    kind: str  # sorted, duplicates, gaps, dst, timezone, missing_values, resampled, ...
    count: int
    detail: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "count": self.count, "detail": self.detail}


@dataclass(slots=True)
class RawHistory:
    """Samples as read: epoch seconds (UTC) and non-negative values, in file order."""

    source: str  # what the user named: a path, or "prometheus URL: query"
    times: list[float]
    values: list[float]
    unit: str = ""  # e.g. "requests/s", "busy GPUs"
    metric: str = ""  # requests_per_s | output_tokens_per_s | busy_gpus (for capacity)
    repairs: list[Repair] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.times)
