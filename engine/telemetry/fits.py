""""Fits here": can this host's GPUs take the plan right now, and if not, exactly why.

Free memory (as NVML reports it now) is compared with the plan's per-GPU need; the GPUs that
qualify are grouped into tensor-parallel groups. GiB = 2**30 bytes. Lost/erroring GPUs, GPUs
whose free memory is N/A and unhealthy GPUs (critical alerts: uncorrected ECC, a failed row remap,
a critical Xid) never count; each is listed with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from engine.telemetry.health import evaluate, unhealthy_gpus
from engine.telemetry.samples import GpuSample, HostSample

GIB = 1 << 30


def gib(n_bytes: int | float) -> str:
    return f"{n_bytes / GIB:.1f} GiB"


@dataclass(frozen=True, slots=True)
class GpuFit:
    index: int
    free_bytes: int | None
    total_bytes: int | None
    eligible: bool
    note: str  # "70.1 GiB free", "lost", "free memory N/A"


@dataclass(frozen=True, slots=True)
class FitVerdict:
    fits: bool
    per_gpu_need_bytes: int
    tensor_parallel: int
    # disjoint TP groups of eligible GPUs (each one replica of the plan), in index order
    groups: tuple[tuple[int, ...], ...]
    eligible: tuple[int, ...]
    gpus: tuple[GpuFit, ...]
    reason: str
    simulated: bool = False

    @property
    def replicas(self) -> int:
        return len(self.groups)


def fits_here(per_gpu_need_bytes: int, tensor_parallel: int, sample: HostSample,
              unhealthy: Mapping[int, str] | None = None) -> FitVerdict:
    """Which GPUs can take a plan needing `per_gpu_need_bytes` on each of `tensor_parallel` GPUs.

    `unhealthy`: GPU index -> reason (health.unhealthy_gpus over the alert book's unhealthy
    alerts, so an Xid seen once keeps counting until acknowledged); by default the critical
    conditions this one sample shows."""
    if tensor_parallel < 1:
        raise ValueError("tensor_parallel must be >= 1")
    if per_gpu_need_bytes < 0:
        raise ValueError("per_gpu_need_bytes must be >= 0")
    need = per_gpu_need_bytes
    tp = tensor_parallel
    need_text = f"needs {tp} GPU{'s' if tp > 1 else ''} with {gib(need)} free each"
    suffix = " (simulated GPUs)" if sample.simulated else ""

    def verdict(fits: bool, reason: str, gpus: tuple[GpuFit, ...] = (), eligible: tuple[int, ...] = (),
                groups: tuple[tuple[int, ...], ...] = ()) -> FitVerdict:
        return FitVerdict(fits, need, tp, groups, eligible, gpus, reason + suffix, sample.simulated)

    if not sample.gpus:
        why = sample.error or "no NVIDIA GPU on this host"
        return verdict(False, f"no GPU seen: {why}")

    if unhealthy is None:
        unhealthy = unhealthy_gpus(evaluate(sample))
    fits_list = tuple(_gpu_fit(g, need, unhealthy.get(g.index)) for g in sorted(sample.gpus, key=lambda g: g.index))
    eligible = tuple(f.index for f in fits_list if f.eligible)
    n_groups = len(eligible) // tp
    groups = tuple(eligible[k * tp:(k + 1) * tp] for k in range(n_groups))

    if groups:
        if tp == 1:
            where = ", ".join(str(i) for grp in groups for i in grp)
            text = f"fits now on {n_groups} GPU{'s' if n_groups > 1 else ''} with {gib(need)} free (GPU {where})"
        else:
            where = ", ".join(_span(grp) for grp in groups)
            text = (
                f"fits now: {n_groups} group{'s' if n_groups > 1 else ''} of {tp} GPUs with {gib(need)} "
                f"free each (GPU {where})"
            )
        # never silently: the GPUs that do not count because they are failing or unhealthy
        left_out = [f"GPU {f.index} {f.note}" for f in fits_list
                    if f.note in ("lost", "not responding") or f.note.startswith("unhealthy")]
        if left_out:
            text += "; not counted: " + ", ".join(left_out)
        return verdict(True, text, fits_list, eligible, groups)

    if tp > len(sample.gpus):
        return verdict(
            False,
            f"{need_text}; this host has only {len(sample.gpus)} GPU{'s' if len(sample.gpus) != 1 else ''}",
            fits_list,
            eligible,
        )
    totals = [f.total_bytes for f in fits_list if f.total_bytes is not None]
    if totals and need > max(totals):
        return verdict(
            False,
            f"{need_text}; the largest GPU here has {gib(max(totals))} in total",
            fits_list,
            eligible,
        )
    have = ", ".join(f"GPU {f.index}: {f.note}" for f in fits_list if f.eligible)
    short = ", ".join(f"GPU {f.index}: {f.note}" for f in fits_list if not f.eligible)
    only = f"only {len(eligible)} {'has' if len(eligible) == 1 else 'have'}"
    reason = f"{need_text}; {only}" + (f" ({have})" if have else "")
    if short:
        reason += f"; short: {short}"
    return verdict(False, reason, fits_list, eligible)


def _gpu_fit(g: GpuSample, need: int, unhealthy: str | None = None) -> GpuFit:
    if g.state != "ok":
        return GpuFit(g.index, None, g.memory_total_bytes, False, "lost" if g.state == "lost" else "not responding")
    free = g.memory_free_bytes
    if unhealthy:
        return GpuFit(g.index, free, g.memory_total_bytes, False, f"unhealthy: {unhealthy}")
    if free is None:
        return GpuFit(g.index, None, g.memory_total_bytes, False, "free memory N/A")
    return GpuFit(g.index, free, g.memory_total_bytes, free >= need, f"{gib(free)} free")


def _span(group: tuple[int, ...]) -> str:
    if len(group) > 1 and group[-1] - group[0] == len(group) - 1:
        return f"{group[0]}-{group[-1]}"
    return "+".join(str(i) for i in group)
