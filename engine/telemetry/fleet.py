"""The fleet through Prometheus: hosts and GPUs from dcgm-exporter metrics, stale hosts, health and
"fits where".

Works on what NVIDIA's dcgm-exporter exposes (gpuplan's exporter uses the same names), keyed by
the `Hostname` and `gpu` labels. A refresh is a fixed handful of instant queries whatever the
fleet's size (`QUERIES`), each aggregated in PromQL down to the labels it needs, never one query
per host or GPU:

- `values`: the per-GPU gauges as one vector, the DCGM field name moved into a `field` label;
- `signals`: health fields (Xid, ECC, row remap, pending retirement, clock event reasons, PCIe
  replays) only where they are non-zero, so a healthy fleet returns almost nothing;
- `replays`: how far each GPU's PCIe replay counter rose over the last `replay_window_s` (only
  where it did), so the monitor's replay rule compares the value then with the value now;
- `identity`: each GPU's UUID and modelName over the lookback window, so a host that stopped
  reporting still lists its GPUs;
- `lost`: GPUs gpuplan's exporter reports as lost or erroring (dcgm-exporter drops those);
- `live`: the newest sample time per host, as Prometheus sees it now (a stopped target leaves
  this vector within a scrape, through Prometheus's staleness markers);
- `down`: hosts whose gpuplan exporter runs but cannot read its GPUs (no driver, NVML failing);
- `seen`: the newest sample time per host over the lookback window (a subquery over `timestamp()`;
  exact to one subquery step), so a stale host shows the time since its last sample;
- `seen_gpuplan`: the same, exact, from gpuplan's exporter's own `gpuplan_sample_timestamp_seconds`
  (one series per host; absent for dcgm-exporter hosts).

A host known from an earlier refresh is remembered by `FleetQuery` and never dropped: after the
lookback window it keeps its last known GPUs and last-seen time. The health rules are the
monitor's own (`health.evaluate`) and "fits where" is `fits.fits_here`, both run on HostSamples
rebuilt from the queried values, with the host named in every message; a GPU with a critical
alert (lost, uncorrected ECC, a failed row remap, a critical Xid) never counts for "fits where"
and is listed with the reason, as the monitor's "fits here" does. GiB = 2**30 bytes.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from engine.telemetry.fits import FitVerdict, fits_here
from engine.telemetry.fleet_model import (
    GIB,
    SEVERITY_RANK,
    FleetAlert,
    FleetGpu,
    FleetHost,
    FleetSnapshot,
    HostFit,
    PlanNeed,
    gpu_kind_matches,
)
from engine.telemetry.health import DEFAULT_THRESHOLDS, Alert, HealthThresholds, evaluate, unhealthy_gpus
from engine.telemetry.samples import GpuSample, HostSample

__all__ = [
    "GIB", "QUERIES", "SEVERITY_RANK", "FleetAlert", "FleetError", "FleetGpu", "FleetHost", "FleetQuery",
    "FleetSnapshot", "HostFit", "PlanNeed", "build_queries", "build_snapshot", "gpu_kind_matches", "parse_duration",
]

MIB = 1 << 20
RULE_TELEMETRY_DOWN = "telemetry_down"  # host-level: gpuplan_telemetry_up == 0

# per-GPU gauges (dcgm-exporter names without the DCGM_FI_DEV_ prefix): only what the table, the
# health rules and "fits where" read, since at 8,000 GPUs each field is 8,000 more series to parse.
# Total memory is used + free + reserved (DCGM's FB_TOTAL is that sum).
VALUE_FIELDS = ("GPU_UTIL", "FB_USED", "FB_FREE", "FB_RESERVED", "GPU_TEMP", "SLOWDOWN_TEMP", "POWER_USAGE")
SIGNAL_FIELDS = ("XID_ERRORS", "ECC_DBE_VOL_TOTAL", "ROW_REMAP_FAILURE", "ROW_REMAP_PENDING", "RETIRED_PENDING",
                 "CLOCKS_EVENT_REASONS", "CLOCK_THROTTLE_REASONS", "PCIE_REPLAY_COUNTER")
REPLAY_COUNTER = "DCGM_FI_DEV_PCIE_REPLAY_COUNTER"
DEFAULT_REPLAY_WINDOW_S = 300  # a rise within the last 5 minutes raises the monitor's replay warning
ANCHOR = "DCGM_FI_DEV_FB_FREE"  # present for every GPU dcgm-exporter reports (a default counter)


def _fields_selector(fields: Iterable[str]) -> str:
    return '{__name__=~"DCGM_FI_DEV_(' + "|".join(fields) + ')"}'


def _by_field(selector: str) -> str:
    return f'label_replace({selector}, "field", "$1", "__name__", "DCGM_FI_DEV_(.+)")'


def build_queries(lookback_s: int, step_s: int, replay_window_s: int = DEFAULT_REPLAY_WINDOW_S) -> dict[str, str]:
    lb = f"{lookback_s}s"
    return {
        "values": f"max by (Hostname, gpu, field) ({_by_field(_fields_selector(VALUE_FIELDS))})",
        "signals": f"max by (Hostname, gpu, field) ({_by_field(_fields_selector(SIGNAL_FIELDS))} > 0)",
        # the counter now minus its lowest value in the window (it only rises, until a driver reload)
        "replays": f"max by (Hostname, gpu) ({REPLAY_COUNTER} - min_over_time({REPLAY_COUNTER}[{replay_window_s}s]) > 0)",
        "identity": f"group by (Hostname, gpu, UUID, modelName) (last_over_time({ANCHOR}[{lb}]))",
        "lost": 'max by (Hostname, gpu, UUID, modelName, state) (gpuplan_gpu_state{state!="ok"})',
        # a host whose GPUs are all lost, or whose exporter cannot read them, still reports
        "live": f"max by (Hostname) (timestamp({ANCHOR}) or timestamp(gpuplan_sample_timestamp_seconds))",
        "down": "max by (Hostname) (gpuplan_telemetry_up == 0)",
        "seen": f"max by (Hostname) (max_over_time(timestamp({ANCHOR})[{lb}:{step_s}s]))",
        "seen_gpuplan": f"max by (Hostname) (max_over_time(gpuplan_sample_timestamp_seconds[{lb}]))",
    }


QUERIES = tuple(build_queries(3600, 30))  # the names, in the order a refresh sends them


class FleetError(RuntimeError):
    """Prometheus could not be asked or did not answer usefully; the message says which and why."""


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(text: str) -> int:
    """A Prometheus duration ("90s", "15m", "1h30m", "2d") -> whole seconds (at least 1)."""
    t = text.strip()
    if not t:
        raise ValueError("empty duration; use e.g. 15m, 1h or 1h30m")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos != len(t):
        raise ValueError(f"{text!r} is not a duration; use e.g. 15m, 1h or 1h30m")
    if total < 1:
        raise ValueError(f"{text!r} is shorter than one second")
    return int(total)


# ---- from query results to a snapshot (pure) --------------------------------------------------


def _num(sample: Mapping[str, Any]) -> float | None:
    try:
        v = float(sample["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _gpu_key(metric: Mapping[str, str]) -> tuple[str, int] | None:
    host = metric.get("Hostname")
    gpu = metric.get("gpu")
    if not host or gpu is None:
        return None
    index = _GPU_INDEX.get(gpu)
    if index is None:
        if not gpu.isdigit():
            return None
        index = _GPU_INDEX[gpu] = int(gpu)
    return host, index


_GPU_INDEX: dict[str, int] = {}


_VALUE_ATTR = {
    "GPU_UTIL": ("util", 1.0),
    "FB_USED": ("mem_used_bytes", MIB),
    "FB_FREE": ("mem_free_bytes", MIB),
    "FB_RESERVED": ("mem_reserved_bytes", MIB),
    "FB_TOTAL": ("mem_total_bytes", MIB),
    "GPU_TEMP": ("temp_c", 1.0),
    "SLOWDOWN_TEMP": ("temp_slowdown_c", 1.0),
    "SHUTDOWN_TEMP": ("temp_shutdown_c", 1.0),
    "POWER_USAGE": ("power_w", 1.0),
    "POWER_MGMT_LIMIT": ("power_limit_w", 1.0),
}


def _signal_value(name: str, v: float) -> tuple[str, Any] | None:
    if name == "XID_ERRORS":
        return "xid", int(v)
    if name == "ECC_DBE_VOL_TOTAL":
        return "ecc_dbe_volatile", int(v)
    if name == "ROW_REMAP_FAILURE":
        return "remap_failure", True
    if name == "ROW_REMAP_PENDING":
        return "remap_pending", True
    if name == "RETIRED_PENDING":
        return "retired_pending", True
    if name in ("CLOCKS_EVENT_REASONS", "CLOCK_THROTTLE_REASONS"):
        return "clock_event_mask", int(v)
    if name == "PCIE_REPLAY_COUNTER":
        return "pcie_replay_count", int(v)
    return None


def build_snapshot(
    results: Mapping[str, list[Mapping[str, Any]]],
    *,
    now: float,
    prometheus: str = "",
    need: PlanNeed | None = None,
    remembered: Mapping[str, FleetHost] | None = None,
    stale_after_s: float = 120.0,
    thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
    warnings: Iterable[str] = (),
) -> FleetSnapshot:
    """Hosts, health and fits from the instant-query results named in `QUERIES`. Pure.

    `remembered`: hosts from an earlier snapshot; any not in these results stays, stale."""
    notes = list(warnings)
    gpus: dict[tuple[str, int], dict[str, Any]] = {}
    skipped = 0

    def slot(key: tuple[str, int]) -> dict[str, Any]:
        d = gpus.get(key)
        if d is None:
            d = gpus[key] = {"gpu": key[1]}
        return d

    for s in results.get("identity", ()):
        m = s.get("metric", {})
        key = _gpu_key(m)
        if key is None:
            skipped += 1
            continue
        d = slot(key)
        d["uuid"] = m.get("UUID") or None
        d["model"] = m.get("modelName") or None
    for s in results.get("values", ()):
        m = s.get("metric", {})
        key = _gpu_key(m)
        attr = _VALUE_ATTR.get(m.get("field", ""))
        v = _num(s)
        if key is None or attr is None or v is None:
            continue
        slot(key)[attr[0]] = v * attr[1]
    for s in results.get("signals", ()):
        m = s.get("metric", {})
        key = _gpu_key(m)
        v = _num(s)
        sv = _signal_value(m.get("field", ""), v) if v is not None else None
        if key is None or sv is None:
            continue
        slot(key)[sv[0]] = sv[1]
    for s in results.get("replays", ()):
        key = _gpu_key(s.get("metric", {}))
        v = _num(s)
        if key is not None and v is not None and v > 0:
            slot(key)["pcie_replay_rise"] = int(v)
    for s in results.get("lost", ()):
        m = s.get("metric", {})
        key = _gpu_key(m)
        if key is None:
            continue
        d = slot(key)
        d["state"] = m.get("state") or "error"
        d.setdefault("uuid", m.get("UUID") or None)
        d.setdefault("model", m.get("modelName") or None)
    if skipped:
        notes.append(f"{skipped} series without a Hostname or a numeric gpu label were left out")

    live: dict[str, float] = {}
    for s in results.get("live", ()):
        host = s.get("metric", {}).get("Hostname")
        v = _num(s)
        if host and v is not None:
            live[host] = v
    seen: dict[str, float] = {}
    for s in (*results.get("seen", ()), *results.get("seen_gpuplan", ())):
        host = s.get("metric", {}).get("Hostname")
        v = _num(s)
        if host and v is not None:
            seen[host] = max(v, seen.get(host, v))

    down = {s.get("metric", {}).get("Hostname") for s in results.get("down", ())}

    by_host: dict[str, list[FleetGpu]] = {}
    for (host, _), d in gpus.items():
        if "mem_total_bytes" not in d and "mem_used_bytes" in d and "mem_free_bytes" in d:
            # dcgm-exporter's defaults have no FB_TOTAL: total = used + free (+ reserved)
            d["mem_total_bytes"] = d["mem_used_bytes"] + d["mem_free_bytes"] + d.get("mem_reserved_bytes", 0)
        by_host.setdefault(host, []).append(FleetGpu(**d))

    remembered = remembered or {}
    names = set(by_host) | set(live) | set(seen) | set(remembered)
    hosts: list[FleetHost] = []
    fits: list[HostFit] = []
    for host in sorted(names):
        host_gpus = sorted(by_host.get(host, ()), key=lambda g: g.gpu)
        old = remembered.get(host)
        last = max((t for t in (live.get(host), seen.get(host), old.last_seen if old else None) if t is not None),
                   default=None)
        stale = host not in live or (last is not None and now - last > stale_after_s)
        if stale:
            # no current values: keep the GPUs' identities (from the lookback or from memory)
            if not host_gpus and old is not None:
                host_gpus = list(old.gpus)
            host_gpus = [FleetGpu(g.gpu, g.uuid, g.model, g.state) for g in host_gpus]
        age = None if last is None else max(0.0, now - last)
        alerts: tuple[FleetAlert, ...] = ()
        sample = None
        if not stale:
            sample = HostSample(
                timestamp=last if last is not None else now,
                hostname=host,
                backend="prometheus",
                gpus=tuple(g.to_sample(last or now) for g in host_gpus),
            )
            raw = evaluate(sample, thresholds, previous=_replays_before(sample, host_gpus))
            alerts = tuple(_fleet_alert(host, a) for a in raw)
            if host in down:
                alerts = (FleetAlert(host, None, RULE_TELEMETRY_DOWN, "critical",
                                     f"{host}: its exporter runs but cannot read the GPUs (see its log)"),) + alerts
        hosts.append(FleetHost(host, tuple(host_gpus), stale, last, age, alerts))
        if need is not None and sample is not None:
            fit = _host_fit(host, host_gpus, sample, need, unhealthy_gpus(raw))
            if fit is not None:
                fits.append(fit)
    fits.sort(key=lambda f: (-f.replicas, -f.free_bytes, f.hostname))
    return FleetSnapshot(now, prometheus, tuple(hosts), tuple(fits), need, tuple(notes))


def _replays_before(sample: HostSample, gpus: list[FleetGpu]) -> HostSample | None:
    """The sample as it was at the start of the replay window, as far as the replay rule reads it:
    each GPU's PCIe replay counter then (now minus its rise), so `evaluate(..., previous=)` applies
    the monitor's own rule. None when no counter rose (the rule is then silent)."""
    before = tuple(
        GpuSample(index=g.gpu, uuid=g.uuid, pcie_replay_count=g.pcie_replay_count - g.pcie_replay_rise)
        for g in gpus if g.pcie_replay_rise and g.pcie_replay_count is not None
    )
    return replace(sample, gpus=before) if before else None


def _fleet_alert(host: str, a: Alert) -> FleetAlert:
    return FleetAlert(host, a.gpu_index, a.rule, a.severity, f"{host}: {a.message}")


def _host_fit(host: str, gpus: list[FleetGpu], sample: HostSample, need: PlanNeed,
              unhealthy: Mapping[int, str]) -> HostFit | None:
    """The monitor's "fits here" on the host's GPUs of the plan's kind; `unhealthy` (GPU -> why,
    from the monitor's `unhealthy_gpus` over this host's alerts) never count and are listed."""
    kind = [g for g in sample.gpus if need.accepts(g.name)]
    if not kind:
        return None
    if len(kind) < len(sample.gpus):
        sample = replace(sample, gpus=tuple(kind))
    v: FitVerdict = fits_here(need.per_gpu_bytes, need.gpus_per_replica, sample, unhealthy)
    healthy = {g.index for g in kind if g.state == "ok" and g.index not in unhealthy}
    free = sum(float(g.memory_free_bytes or 0) for g in kind if g.index in healthy)
    models = Counter(g.name for g in kind if g.name)
    unfit = tuple((f.index, f.note.removeprefix("unhealthy: ")) for f in v.gpus
                  if f.note in ("lost", "not responding") or f.note.startswith("unhealthy"))
    return HostFit(host, models.most_common(1)[0][0] if models else None, v.replicas, v.eligible, v.groups, free,
                   f"{host}: {v.reason}", unfit)


# ---- the Prometheus HTTP API --------------------------------------------------------------------


def _check_url(url: str) -> str:
    u = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", u):
        raise ValueError(f"{url!r} is not an http(s) URL; expected e.g. http://127.0.0.1:9090")
    return u


@dataclass
class FleetQuery:
    """Asks one Prometheus server for the fleet; remembers every host it has seen.

    `transport`: an httpx transport (tests pass httpx.MockTransport). Not thread-safe: one refresh
    at a time (the Fleet tab's worker is exclusive)."""

    url: str
    timeout_s: float = 10.0
    lookback_s: int = 3600
    stale_after_s: float = 120.0
    replay_window_s: int = DEFAULT_REPLAY_WINDOW_S
    thresholds: HealthThresholds = DEFAULT_THRESHOLDS
    transport: Any = None
    _client: Any = field(default=None, init=False, repr=False)
    _known: dict[str, FleetHost] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.url = _check_url(self.url)
        if self.lookback_s < 1:
            raise ValueError("lookback must be at least 1 s")
        # subquery resolution: 15 s (a typical scrape interval), coarser for windows over 1 h
        self.step_s = max(1, min(self.lookback_s, max(15, self.lookback_s // 240)))
        self.queries = build_queries(self.lookback_s, self.step_s, self.replay_window_s)

    def __enter__(self) -> "FleetQuery":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.Client(base_url=self.url, timeout=self.timeout_s, transport=self.transport,
                                        headers={"Accept": "application/json"})
        return self._client

    def instant(self, promql: str, at: float) -> tuple[list[dict[str, Any]], list[str]]:
        """One instant query -> (vector result, Prometheus's warnings). FleetError on any failure."""
        import httpx

        try:
            r = self._http().post("/api/v1/query", data={"query": promql, "time": f"{at:.3f}"})
        except httpx.TimeoutException:
            raise FleetError(f"Prometheus at {self.url} did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise FleetError(f"cannot reach Prometheus at {self.url}: {exc}") from None
        try:
            body = r.json()
        except ValueError:
            ctype = r.headers.get("content-type")
            raise FleetError(
                f"{self.url} answered HTTP {r.status_code}{f' ({ctype})' if ctype else ''}, not Prometheus's JSON API; "
                "is this the Prometheus base URL?"
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            err = body.get("error") if isinstance(body, dict) else None
            etype = body.get("errorType") if isinstance(body, dict) else None
            if err:
                raise FleetError(f"Prometheus at {self.url} rejected a query (HTTP {r.status_code}, {etype}): {err}")
            raise FleetError(f"{self.url} answered HTTP {r.status_code} without a Prometheus result")
        data = body.get("data") or {}
        if data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
            raise FleetError(f"Prometheus at {self.url} returned {data.get('resultType')!r}, expected a vector")
        return data["result"], [str(w) for w in body.get("warnings") or ()]

    def fetch(self, at: float) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
        results: dict[str, list[dict[str, Any]]] = {}
        warnings: list[str] = []
        for name, promql in self.queries.items():
            results[name], w = self.instant(promql, at)
            warnings.extend(f"{name}: {x}" for x in w)
        return results, warnings

    def snapshot(self, need: PlanNeed | None = None, *, at: float | None = None) -> FleetSnapshot:
        t0 = time.perf_counter()
        now = time.time() if at is None else at
        results, warnings = self.fetch(now)
        snap = build_snapshot(results, now=now, prometheus=self.url, need=need, remembered=self._known,
                              stale_after_s=self.stale_after_s, thresholds=self.thresholds, warnings=warnings)
        for h in snap.hosts:
            old = self._known.get(h.hostname)
            # remember the GPUs a host had while it reported: a stale host keeps them
            if h.gpus or old is None:
                self._known[h.hostname] = h
            else:
                self._known[h.hostname] = replace(h, gpus=old.gpus)
        return replace(snap, queries=len(self.queries), elapsed_s=time.perf_counter() - t0)
