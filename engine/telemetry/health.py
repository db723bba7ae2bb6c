"""Health rules over HostSamples, and the alert book (de-duplication, acknowledgement, JSON log).

`evaluate(sample, thresholds, previous=None)` is pure: the alerts a sample shows (the previous
sample, when given, for the rules that compare two, e.g. a PCIe replay counter that rose). `AlertBook.update()`
turns those into a de-duplicated history: a condition that persists is ONE alert (its count and
last time grow); it raises a new alert only if it recurs after `cooldown_s` of silence. Every new
alert is written as one JSON line to the logger "gpuplan.alerts".
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable, Hashable, Literal, Sequence

from engine.telemetry.samples import GpuSample, HostSample

Severity = Literal["warn", "critical"]

RULE_GPU_LOST = "gpu_lost"
RULE_TEMP_NEAR_SLOWDOWN = "temperature_near_slowdown"
RULE_TEMP_SLOWDOWN = "temperature_slowdown"
RULE_HW_SLOWDOWN = "hw_slowdown"
RULE_THERMAL_THROTTLE = "thermal_throttle"
RULE_POWER_BRAKE = "power_brake_throttle"
RULE_ECC_UNCORRECTED = "ecc_uncorrected"
RULE_REMAP_FAILURE = "row_remap_failure"
RULE_REMAP_PENDING = "row_remap_pending"
RULE_PAGE_RETIREMENT_PENDING = "page_retirement_pending"
RULE_XID_CRITICAL = "xid_critical"
RULE_XID = "xid"
RULE_ECC_DBE_EVENT = "ecc_double_bit_event"
RULE_MEMORY_HIGH = "memory_high"
RULE_PCIE_REPLAY = "pcie_replay"

ALL_RULES: tuple[str, ...] = (
    RULE_GPU_LOST,
    RULE_TEMP_NEAR_SLOWDOWN,
    RULE_TEMP_SLOWDOWN,
    RULE_HW_SLOWDOWN,
    RULE_THERMAL_THROTTLE,
    RULE_POWER_BRAKE,
    RULE_ECC_UNCORRECTED,
    RULE_REMAP_FAILURE,
    RULE_REMAP_PENDING,
    RULE_PAGE_RETIREMENT_PENDING,
    RULE_XID_CRITICAL,
    RULE_XID,
    RULE_ECC_DBE_EVENT,
    RULE_MEMORY_HIGH,
    RULE_PCIE_REPLAY,
)
# Event rules: one-off happenings, kept active until acknowledged (conditions resolve by themselves)
# and de-duplicated per value (an Xid 79 after an Xid 48 is a new alert).
# A PCIe replay rise is a happening too (the counter never goes back down), kept as one alert per GPU
# while it keeps rising within the cooldown (its value is None, so the key does not split per rise).
EVENT_RULES: frozenset[str] = frozenset({RULE_XID_CRITICAL, RULE_XID, RULE_ECC_DBE_EVENT, RULE_PCIE_REPLAY})

# Xids that need action beyond restarting the application, after NVIDIA's Xid catalog
# (docs.nvidia.com/deploy/xid-errors) and its dynamic page retirement / row remapping guides.
XID_DESCRIPTIONS: dict[int, str] = {
    13: "graphics engine exception (usually the application)",
    31: "GPU memory page fault (usually the application)",
    43: "GPU stopped processing (application)",
    45: "preemptive cleanup after a previous error",
    46: "GPU stopped processing",
    48: "double-bit ECC error (DBE)",
    61: "internal micro-controller breakpoint/warning",
    62: "internal micro-controller halt",
    63: "ECC page retirement or row remapping recorded: reset the GPU to apply",
    64: "ECC page retirement or row remapping failed",
    74: "NVLink error",
    79: "GPU has fallen off the bus",
    92: "high single-bit ECC error rate",
    94: "contained ECC error (affected application must restart)",
    95: "uncontained ECC error (GPU reset required)",
    119: "GSP RPC timeout",
    120: "GSP error",
    140: "unrecovered ECC error",
}
DEFAULT_CRITICAL_XIDS: frozenset[int] = frozenset({46, 48, 61, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140})

_THERMAL_REASONS = ("sw_thermal_slowdown", "hw_thermal_slowdown")


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    # warn when the temperature is within this many degrees of the NVML slowdown threshold
    temp_warn_margin_c: int = 5
    # slowdown threshold to assume when NVML reports none (None: no temperature rule then)
    temp_fallback_slowdown_c: int | None = None
    # warn above this used fraction of GPU memory
    memory_warn_fraction: float = 0.95
    critical_xids: frozenset[int] = DEFAULT_CRITICAL_XIDS
    # other Xids (often application faults such as 13, 31, 43) as warnings; False to ignore them
    warn_other_xids: bool = True
    disabled_rules: frozenset[str] = frozenset()


DEFAULT_THRESHOLDS = HealthThresholds()


@dataclass(frozen=True, slots=True)
class Alert:
    time: float
    gpu_index: int | None
    gpu_uuid: str | None
    rule: str
    severity: Severity
    value: float | int | str | None
    message: str

    @property
    def key(self) -> tuple[Hashable, ...]:
        """The de-duplication key: same GPU and rule (and Xid for event rules)."""
        gpu: Hashable = self.gpu_uuid if self.gpu_uuid else self.gpu_index
        if self.rule in EVENT_RULES:
            return (gpu, self.rule, self.value)
        return (gpu, self.rule)


def _gpu_alerts(g: GpuSample, t: float, th: HealthThresholds) -> list[Alert]:
    out: list[Alert] = []
    off = th.disabled_rules

    def add(rule: str, severity: Severity, value: float | int | str | None, message: str) -> None:
        if rule not in off:
            out.append(Alert(t, g.index, g.uuid, rule, severity, value, message))

    label = g.label
    for ev in g.xid_events:
        if ev.kind == "double_bit_ecc":
            add(RULE_ECC_DBE_EVENT, "critical", "dbe", f"{label}: double-bit ECC error event")
        elif ev.xid is not None:
            desc = XID_DESCRIPTIONS.get(ev.xid, "see NVIDIA's Xid catalog")
            if ev.xid in th.critical_xids:
                add(RULE_XID_CRITICAL, "critical", ev.xid, f"{label}: Xid {ev.xid}, {desc}")
            elif th.warn_other_xids:
                add(RULE_XID, "warn", ev.xid, f"{label}: Xid {ev.xid}, {desc}")

    if g.state != "ok":
        # lost stays lost (and critical) while NVML backs off from it: the retry countdown is a
        # detail of the row, not part of the alert (old traces say "backoff": not responding)
        what = {"lost": "is lost", "error": "is not responding", "backoff": "is not responding"}
        add(RULE_GPU_LOST, "critical", g.state,
            f"{label} {what.get(g.state, g.state)}: {g.error or 'no detail'}")
        return out

    slowdown = g.temp_slowdown_c if g.temp_slowdown_c is not None else th.temp_fallback_slowdown_c
    if g.temperature_c is not None and slowdown is not None:
        if g.temperature_c >= slowdown:
            add(
                RULE_TEMP_SLOWDOWN,
                "critical",
                g.temperature_c,
                f"{label} at {g.temperature_c} °C, at or above its slowdown threshold {slowdown} °C"
                + (f" (shutdown {g.temp_shutdown_c} °C)" if g.temp_shutdown_c is not None else ""),
            )
        elif g.temperature_c >= slowdown - th.temp_warn_margin_c:
            add(
                RULE_TEMP_NEAR_SLOWDOWN,
                "warn",
                g.temperature_c,
                f"{label} at {g.temperature_c} °C, {slowdown - g.temperature_c} °C below "
                f"its slowdown threshold {slowdown} °C",
            )

    reasons = g.clock_event_reasons or ()
    if "hw_slowdown" in reasons:
        add(RULE_HW_SLOWDOWN, "warn", "hw_slowdown", f"{label} clocks cut by hardware slowdown (HW slowdown)")
    thermal = [r for r in _THERMAL_REASONS if r in reasons]
    if thermal:
        add(RULE_THERMAL_THROTTLE, "warn", ",".join(thermal), f"{label} thermal throttling ({', '.join(thermal)})")
    if "hw_power_brake_slowdown" in reasons:
        add(
            RULE_POWER_BRAKE,
            "warn",
            "hw_power_brake_slowdown",
            f"{label} clocks cut by the external power brake (HW power brake slowdown)",
        )

    if g.ecc_uncorrected_volatile:
        add(
            RULE_ECC_UNCORRECTED,
            "critical",
            g.ecc_uncorrected_volatile,
            f"{label} has {g.ecc_uncorrected_volatile} uncorrected ECC error(s) since the driver loaded",
        )
    if g.remap_failure:
        add(RULE_REMAP_FAILURE, "critical", 1, f"{label}: row remapping failed, the GPU needs service")
    if g.remap_pending:
        add(RULE_REMAP_PENDING, "critical", 1, f"{label}: a row remap is pending, reset the GPU to apply it")
    if g.retired_pages_pending:
        add(
            RULE_PAGE_RETIREMENT_PENDING,
            "warn",
            1,
            f"{label}: a page retirement is pending, reset the GPU or reload the driver to apply it",
        )

    frac = g.memory_usable_fraction
    if frac is not None and frac > th.memory_warn_fraction:
        add(
            RULE_MEMORY_HIGH,
            "warn",
            round(frac * 100, 1),
            f"{label} memory {frac * 100:.1f}% used (above {th.memory_warn_fraction * 100:g}%)",
        )
    return out


def _pcie_replay_alert(g: GpuSample, before: GpuSample | None, t: float, th: HealthThresholds) -> Alert | None:
    """Warn when the PCIe replay counter rose since the previous sample: the link retried packets
    (a marginal link: seating, riser, cable, signal integrity; NVIDIA's DCGM diagnostics and
    dcgm-exporter's DCGM_FI_DEV_PCIE_REPLAY_COUNTER watch the same counter). Not critical: the
    link still delivers the data, slower; the GPU stays fit for work."""
    if RULE_PCIE_REPLAY in th.disabled_rules or before is None or g.state != "ok":
        return None
    now, then = g.pcie_replay_count, before.pcie_replay_count
    if now is None or then is None or now <= then:  # a drop is a driver reload (reset), not replays
        return None
    return Alert(t, g.index, g.uuid, RULE_PCIE_REPLAY, "warn", None,
                 f"{g.label}: PCIe replay counter rose by {now - then} to {now}: the link retries packets "
                 "(check seating, riser, cable)")


def _same_gpu(g: GpuSample, previous: HostSample | None) -> GpuSample | None:
    """The previous sample's row of this GPU: by UUID where both have one, else by index."""
    if previous is None:
        return None
    before = previous.gpu(g.index)
    if before is not None and g.uuid and before.uuid and before.uuid != g.uuid:
        before = next((b for b in previous.gpus if b.uuid == g.uuid), None)
    return before


def _host_event_alerts(sample: HostSample, th: HealthThresholds) -> list[Alert]:
    """Events NVML could not place on a GPU (e.g. the Xid 79 of a GPU that just fell off the
    bus, whose handle NVML no longer resolves): host-level alerts, never dropped."""
    out: list[Alert] = []
    for ev in sample.host_events:
        where = "a GPU NVML could not identify" + (f" ({ev.note})" if ev.note else "")
        if ev.kind == "double_bit_ecc":
            rule, severity, value, text = RULE_ECC_DBE_EVENT, "critical", "dbe", f"double-bit ECC error event on {where}"
        elif ev.xid is not None:
            desc = XID_DESCRIPTIONS.get(ev.xid, "see NVIDIA's Xid catalog")
            critical = ev.xid in th.critical_xids
            if not critical and not th.warn_other_xids:
                continue
            rule, severity = (RULE_XID_CRITICAL, "critical") if critical else (RULE_XID, "warn")
            value, text = ev.xid, f"Xid {ev.xid} on {where}: {desc}"
        else:
            continue
        if rule not in th.disabled_rules:
            out.append(Alert(ev.timestamp, None, None, rule, severity, value, f"host: {text}"))  # type: ignore[arg-type]
    return out


def evaluate(sample: HostSample, thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
             previous: HostSample | None = None) -> list[Alert]:
    """Alerts that this sample shows, in GPU order, then the host-level ones. Pure.

    `previous`: the sample before it (same host), for the rules that compare two samples (a PCIe
    replay counter that rose); without it those rules are silent."""
    out: list[Alert] = []
    for g in sample.gpus:
        out.extend(_gpu_alerts(g, sample.timestamp, thresholds))
        replay = _pcie_replay_alert(g, _same_gpu(g, previous), sample.timestamp, thresholds)
        if replay is not None:
            out.append(replay)
    out.extend(_host_event_alerts(sample, thresholds))
    return out


# Short words for a rule, for a card header or a "fits here" reason.
RULE_SHORT: dict[str, str] = {
    RULE_GPU_LOST: "not answering",
    RULE_TEMP_NEAR_SLOWDOWN: "hot",
    RULE_TEMP_SLOWDOWN: "at slowdown temperature",
    RULE_HW_SLOWDOWN: "HW slowdown",
    RULE_THERMAL_THROTTLE: "thermal throttling",
    RULE_POWER_BRAKE: "power brake",
    RULE_ECC_UNCORRECTED: "uncorrected ECC errors",
    RULE_REMAP_FAILURE: "row remapping failed",
    RULE_REMAP_PENDING: "row remap pending",
    RULE_PAGE_RETIREMENT_PENDING: "page retirement pending",
    RULE_XID_CRITICAL: "Xid",
    RULE_XID: "Xid",
    RULE_ECC_DBE_EVENT: "double-bit ECC event",
    RULE_MEMORY_HIGH: "memory nearly full",
    RULE_PCIE_REPLAY: "PCIe replays",
}


def alert_reason(a: Alert) -> str:
    """'Xid 48', 'uncorrected ECC errors', ...: what is wrong, in a few words."""
    if a.rule in (RULE_XID_CRITICAL, RULE_XID):
        return f"Xid {a.value}"
    return RULE_SHORT.get(a.rule, a.rule)


def unhealthy_gpus(alerts: Sequence[Alert]) -> dict[int, str]:
    """GPU index -> why it is unhealthy (its critical alerts in words), for "fits here" and the
    card state. Pure: takes what `evaluate()` or `AlertBook.unhealthy_alerts()` gives."""
    out: dict[int, list[str]] = {}
    for a in alerts:
        if a.severity != "critical" or a.gpu_index is None:
            continue
        words = out.setdefault(a.gpu_index, [])
        reason = alert_reason(a)
        if reason not in words:
            words.append(reason)
    return {i: ", ".join(w) for i, w in out.items()}


@dataclass(frozen=True, slots=True)
class AlertEntry:
    """One alert in the book: the latest occurrence plus how often/long it has been seen."""

    id: int
    alert: Alert
    first_time: float
    last_time: float
    count: int = 1
    acknowledged: bool = False
    resolved: bool = False  # a condition no longer present in the latest sample

    @property
    def rule(self) -> str:
        return self.alert.rule

    @property
    def severity(self) -> Severity:
        return self.alert.severity

    @property
    def gpu_index(self) -> int | None:
        return self.alert.gpu_index

    @property
    def message(self) -> str:
        return self.alert.message

    @property
    def value(self) -> float | int | str | None:
        return self.alert.value

    @property
    def active(self) -> bool:
        return not self.acknowledged and not self.resolved


_alerts_log = logging.getLogger("gpuplan.alerts")


@dataclass
class AlertBook:
    """De-duplicated alert history. Not tied to any UI; thread-safe."""

    cooldown_s: float = 300.0
    max_history: int = 500
    logger: logging.Logger = field(default=_alerts_log)
    on_new: Callable[[AlertEntry], None] | None = None
    _entries: OrderedDict[int, AlertEntry] = field(default_factory=OrderedDict, init=False, repr=False)
    _latest: dict[tuple[Hashable, ...], int] = field(default_factory=dict, init=False, repr=False)
    _next_id: int = field(default=1, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def update(self, alerts: Sequence[Alert]) -> list[AlertEntry]:
        """Merge the alerts of one evaluation; returns the entries that are NEW (and were logged).
        Condition alerts absent from this evaluation are marked resolved."""
        new: list[AlertEntry] = []
        with self._lock:
            seen: set[tuple[Hashable, ...]] = set()
            for a in alerts:
                key = a.key
                seen.add(key)
                eid = self._latest.get(key)
                e = self._entries.get(eid) if eid is not None else None
                # time going backwards (a replay that loops) starts a new episode
                if e is not None and 0.0 <= a.time - e.last_time < self.cooldown_s:
                    self._entries[e.id] = replace(e, alert=a, last_time=a.time, count=e.count + 1, resolved=False)
                    continue
                entry = AlertEntry(id=self._next_id, alert=a, first_time=a.time, last_time=a.time)
                self._next_id += 1
                self._entries[entry.id] = entry
                self._latest[key] = entry.id
                new.append(entry)
            for key, eid in self._latest.items():
                if key in seen or key[1] in EVENT_RULES:
                    continue
                e = self._entries.get(eid)
                if e is not None and not e.resolved:
                    self._entries[eid] = replace(e, resolved=True)
            while len(self._entries) > self.max_history:
                old_id, old = self._entries.popitem(last=False)
                if self._latest.get(old.alert.key) == old_id:
                    del self._latest[old.alert.key]
        for entry in new:
            self._log(entry)
            if self.on_new is not None:
                self.on_new(entry)
        return new

    def _log(self, entry: AlertEntry) -> None:
        a = entry.alert
        record = {
            "event": "alert",
            "id": entry.id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(a.time)),
            "timestamp": a.time,
            "gpu": a.gpu_index,
            "uuid": a.gpu_uuid,
            "rule": a.rule,
            "severity": a.severity,
            "value": a.value,
            "message": a.message,
        }
        level = logging.CRITICAL if a.severity == "critical" else logging.WARNING
        self.logger.log(level, json.dumps(record, default=str, ensure_ascii=False))

    def acknowledge(self, alert_id: int) -> bool:
        with self._lock:
            e = self._entries.get(alert_id)
            if e is None or e.acknowledged:
                return False
            self._entries[alert_id] = replace(e, acknowledged=True)
            return True

    def acknowledge_all(self) -> int:
        with self._lock:
            n = 0
            for eid, e in self._entries.items():
                if not e.acknowledged:
                    self._entries[eid] = replace(e, acknowledged=True)
                    n += 1
            return n

    def get(self, alert_id: int) -> AlertEntry | None:
        with self._lock:
            return self._entries.get(alert_id)

    def active(self) -> list[AlertEntry]:
        """Unacknowledged alerts whose condition is present (or events not yet acknowledged),
        critical first, then newest first."""
        with self._lock:
            items = [e for e in self._entries.values() if e.active]
        items.sort(key=lambda e: (e.severity != "critical", -e.last_time, -e.id))
        return items

    def unhealthy_alerts(self) -> list[Alert]:
        """Critical alerts that make a GPU unfit for work now: conditions present in the latest
        sample (acknowledged or not: acknowledging does not repair a GPU) and critical events
        (Xid 48, a double-bit ECC error) until someone acknowledges them."""
        with self._lock:
            entries = list(self._entries.values())
        out = []
        for e in entries:
            if e.severity != "critical" or e.resolved:
                continue
            if e.rule in EVENT_RULES and e.acknowledged:
                continue
            out.append(e.alert)
        return out

    def history(self) -> list[AlertEntry]:
        """Every kept entry, newest first (bounded by max_history)."""
        with self._lock:
            return list(reversed(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)
