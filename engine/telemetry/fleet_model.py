"""The fleet's data model: hosts, their GPUs, alerts naming the host, "fits where" per host, and
one snapshot of it all, each with the JSON `gpuplan fleet --format json` prints. GiB = 2**30 bytes.

`FleetGpu.to_sample()` turns queried values back into the monitor's `GpuSample`, so the monitor's
own health rules and "fits here" apply to the fleet unchanged (engine/telemetry/fleet.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.telemetry.samples import GpuSample, XidEvent, decode_clock_event_reasons

GIB = 1 << 30
SEVERITY_RANK = {"critical": 2, "warn": 1}


@dataclass(frozen=True, slots=True)
class PlanNeed:
    """What one replica of the plan needs: `gpus_per_replica` GPUs with `per_gpu_bytes` free each,
    of the kind `gpu` names (a catalog id or name; or a modelName substring when `exact_model`)."""

    per_gpu_bytes: int
    gpus_per_replica: int
    gpu: str = ""
    exact_model: bool = False

    def accepts(self, model_name: str | None) -> bool:
        if not self.gpu:
            return True
        if not model_name:
            return False
        if self.exact_model:
            return self.gpu.lower() in model_name.lower()
        return gpu_kind_matches(model_name, self.gpu)


_FORMS = ("pcie", "sxm", "nvl")


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\s\-_/()]+", text.lower()) if t]


@lru_cache(maxsize=1024)
def gpu_kind_matches(model_name: str, gpu: str) -> bool:
    """Is a GPU that NVML names `model_name` ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB")
    of the catalog kind `gpu` ("h100-sxm-80gb", "rtx-4090")? The family token must appear as a
    whole word (an L4 is not an L40S, an A10 not an A100); a form factor named on both sides must
    agree (PCIe vs SXM vs NVL). Memory size is left to the free-memory check."""
    want = _tokens(gpu)
    if not want:
        return True
    have = _tokens(model_name)
    family = want[1] if want[0] in ("rtx", "geforce", "nvidia", "tesla") and len(want) > 1 else want[0]
    if family not in have:
        return False
    want_form = next((f for f in _FORMS for t in want if t.startswith(f)), None)
    have_form = next((f for f in _FORMS for t in have if t.startswith(f)), None)
    return want_form is None or have_form is None or want_form == have_form


@dataclass(frozen=True, slots=True)
class FleetGpu:
    gpu: int
    uuid: str | None = None
    model: str | None = None
    state: str = "ok"
    util: float | None = None
    mem_used_bytes: float | None = None
    mem_free_bytes: float | None = None
    mem_total_bytes: float | None = None
    mem_reserved_bytes: float | None = None
    temp_c: float | None = None
    temp_slowdown_c: float | None = None
    temp_shutdown_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    xid: int | None = None
    ecc_dbe_volatile: int | None = None
    remap_failure: bool | None = None
    remap_pending: bool | None = None
    retired_pending: bool | None = None
    clock_event_mask: int | None = None
    pcie_replay_count: int | None = None  # DCGM_FI_DEV_PCIE_REPLAY_COUNTER where non-zero
    pcie_replay_rise: int | None = None  # how far it rose over the fleet's replay window

    def to_sample(self, t: float) -> GpuSample:
        """The monitor's GpuSample for these values, so the monitor's own rules apply."""
        def i(v: float | None) -> int | None:
            return None if v is None else int(round(v))

        return GpuSample(
            index=self.gpu,
            uuid=self.uuid,
            name=self.model,
            state=self.state if self.state in ("ok", "lost", "error", "backoff") else "error",  # type: ignore[arg-type]
            error=None if self.state == "ok" else "reported by its exporter",
            gpu_util_pct=i(self.util),
            memory_total_bytes=i(self.mem_total_bytes),
            memory_used_bytes=i(self.mem_used_bytes),
            memory_free_bytes=i(self.mem_free_bytes),
            memory_reserved_bytes=i(self.mem_reserved_bytes),
            temperature_c=i(self.temp_c),
            temp_slowdown_c=i(self.temp_slowdown_c) or None,  # 0: DCGM's blank
            temp_shutdown_c=i(self.temp_shutdown_c) or None,
            power_w=self.power_w,
            power_limit_w=self.power_limit_w,
            clock_event_reasons=decode_clock_event_reasons(self.clock_event_mask) or None,
            ecc_uncorrected_volatile=self.ecc_dbe_volatile,
            remap_failure=self.remap_failure,
            remap_pending=self.remap_pending,
            retired_pages_pending=self.retired_pending,
            pcie_replay_count=self.pcie_replay_count,
            xid_events=(XidEvent(t, self.gpu, "xid", self.xid),) if self.xid else (),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "gpu": self.gpu,
            "uuid": self.uuid,
            "model": self.model,
            "state": self.state,
            "util": _r(self.util, 1),
            "mem_used_gib": _gib(self.mem_used_bytes),
            "mem_total_gib": _gib(self.mem_total_bytes),
            "temp_c": _r(self.temp_c, 1),
            "power_w": _r(self.power_w, 1),
        }


def _r(v: float | None, nd: int) -> float | None:
    return None if v is None else round(v, nd)


def _gib(v: float | None) -> float | None:
    return None if v is None else round(v / GIB, 2)


@dataclass(frozen=True, slots=True)
class FleetAlert:
    hostname: str
    gpu: int | None
    rule: str
    severity: str
    message: str  # names the host: "gpu-node-07: GPU 3 at 86 °C, ..."

    def to_json(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "gpu": self.gpu, "rule": self.rule, "severity": self.severity,
                "message": self.message}


@dataclass(frozen=True, slots=True)
class FleetHost:
    hostname: str
    gpus: tuple[FleetGpu, ...]
    stale: bool
    last_seen: float | None  # unix time of its newest sample, None if unknown
    last_seen_s: float | None  # seconds before the snapshot's time
    alerts: tuple[FleetAlert, ...] = ()

    @property
    def model(self) -> str | None:
        names = Counter(g.model for g in self.gpus if g.model)
        if not names:
            return None
        (top, _), *rest = names.most_common()
        return top if not rest else f"{top} (+{len(rest)} other)"

    @property
    def util_avg(self) -> float | None:
        vals = [g.util for g in self.gpus if g.util is not None]
        return sum(vals) / len(vals) if vals else None

    @property
    def mem_used_bytes(self) -> float | None:
        vals = [g.mem_used_bytes for g in self.gpus if g.mem_used_bytes is not None]
        return sum(vals) if vals else None

    @property
    def mem_total_bytes(self) -> float | None:
        vals = [g.mem_total_bytes for g in self.gpus if g.mem_total_bytes is not None]
        return sum(vals) if vals else None

    @property
    def power_w(self) -> float | None:
        vals = [g.power_w for g in self.gpus if g.power_w is not None]
        return sum(vals) if vals else None

    @property
    def temp_max_c(self) -> float | None:
        vals = [g.temp_c for g in self.gpus if g.temp_c is not None]
        return max(vals) if vals else None

    @property
    def worst_alert(self) -> FleetAlert | None:
        if not self.alerts:
            return None
        return max(self.alerts, key=lambda a: SEVERITY_RANK.get(a.severity, 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "gpus": [g.to_json() for g in self.gpus],
            "stale": self.stale,
            "last_seen_s": _r(self.last_seen_s, 1),
            "alerts": [a.to_json() for a in self.alerts],
        }


@dataclass(frozen=True, slots=True)
class HostFit:
    hostname: str
    model: str | None
    replicas: int
    eligible_gpus: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    free_bytes: float  # free memory over the healthy GPUs of the right kind
    reason: str
    # GPUs of the right kind that never count, with why: lost / not responding, or the monitor's
    # critical alerts in words ("Xid 48", "uncorrected ECC errors", "row remapping failed")
    unfit: tuple[tuple[int, str], ...] = ()

    def unfit_json(self) -> list[dict[str, Any]]:
        return [{"gpu": i, "reason": why} for i, why in self.unfit]

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "model": self.model,
            "replicas": self.replicas,
            "gpus": [list(g) for g in self.groups],
            "eligible_gpus": list(self.eligible_gpus),
            "free_gib": round(self.free_bytes / GIB, 2),
            "unfit_gpus": self.unfit_json(),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    time: float
    prometheus: str
    hosts: tuple[FleetHost, ...]
    fits: tuple[HostFit, ...] = ()
    need: PlanNeed | None = None
    warnings: tuple[str, ...] = ()
    queries: int = 0
    elapsed_s: float = 0.0

    @property
    def replicas(self) -> int:
        return sum(f.replicas for f in self.fits)

    @property
    def unfit(self) -> tuple[HostFit, ...]:
        """Hosts of the plan's GPU kind with GPUs left out for their health (or lost)."""
        return tuple(sorted((f for f in self.fits if f.unfit), key=lambda f: f.hostname))

    @property
    def stale_hosts(self) -> tuple[FleetHost, ...]:
        return tuple(h for h in self.hosts if h.stale)

    @property
    def n_gpus(self) -> int:
        return sum(len(h.gpus) for h in self.hosts)

    @property
    def alerts(self) -> tuple[FleetAlert, ...]:
        return tuple(a for h in self.hosts for a in h.alerts)

    def host(self, hostname: str) -> FleetHost | None:
        return next((h for h in self.hosts if h.hostname == hostname), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "prometheus": self.prometheus,
            "time": round(self.time, 3),
            "units": "GiB = 2^30 bytes",
            "hosts": [h.to_json() for h in self.hosts],
            "fits": [f.to_json() for f in self.fits if f.replicas > 0],
            # every host of the plan's kind with GPUs that do not count for their health, and why
            "unfit": [{"hostname": f.hostname, "replicas": f.replicas, "gpus": f.unfit_json(), "reason": f.reason}
                      for f in self.unfit],
            "replicas": self.replicas if self.need is not None else None,
            "warnings": list(self.warnings),
        }
        if self.need is not None:
            out["need"] = {
                "per_gpu_gib": round(self.need.per_gpu_bytes / GIB, 2),
                "gpus_per_replica": self.need.gpus_per_replica,
                "gpu": self.need.gpu or None,
            }
        return out
