"""The header's one-line host summary from a telemetry sample (plain Python)."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.telemetry.samples import HostSample

_VENDOR = re.compile(r"^(NVIDIA|Nvidia|nvidia)\s+")
_MEMORY_KIND = re.compile(r"\s+(HBM\d\w*|GDDR\d\w*)$")


def short_gpu_name(name: str | None) -> str:
    """"NVIDIA H100 80GB HBM3" -> "H100 80GB"."""
    if not name:
        return "GPU"
    return _MEMORY_KIND.sub("", _VENDOR.sub("", name.strip())) or name


def host_summary(sample: HostSample | None) -> str:
    """"no GPU", "8 x H100 80GB", "SIMULATED 8 GPUs", "4 x A100, 4 x H100 (1 lost)"."""
    if sample is None:
        return "GPUs: ..."
    if not sample.gpus:
        return "SIMULATED 0 GPUs" if sample.simulated else "no GPU"
    bad = sum(1 for g in sample.gpus if g.state != "ok")
    tail = f" ({bad} lost)" if bad else ""
    if sample.simulated:
        return f"SIMULATED {sample.n_gpus} GPUs{tail}"
    counts = Counter(short_gpu_name(g.name) for g in sample.gpus)
    return ", ".join(f"{n} x {name}" for name, n in counts.items()) + tail
