"""`/metrics` for Prometheus from the monitor's latest HostSample, in dcgm-exporter's vocabulary.

Names, units and help texts follow NVIDIA dcgm-exporter's `etc/default-counters.csv` and DCGM's
field ids (dcgm_fields.h): memory in MiB, power in W, clocks in MHz, temperatures in degrees C,
utilisation in percent; labels `gpu`, `UUID`, `pci_bus_id`, `device`, `modelName`, `Hostname`,
`DCGM_FI_DRIVER_VERSION`, so Grafana dashboards and alert rules written for dcgm-exporter work
unchanged. gpuplan's own figures (clock-event reasons, alert states, "fits here") carry a
`gpuplan_` prefix.

A scrape never samples the GPUs: the collector reads the newest sample that the sampler thread
handed to `LatestSample.update()`. Fields a GPU does not report (N/A) are left out, as
dcgm-exporter leaves out blank fields. Nothing but metrics is served: no process command lines.

DCGM's counters (ECC, retired pages, remapped rows, PCIe replays) are exposed under their exact
dcgm-exporter series names. prometheus-client's data model forces a `_total` suffix on anything
typed "counter", which would rename the series, so they are typed gauge; PromQL (rate, increase,
> 0) treats the series the same either way.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from engine.telemetry.backend import GpuBackend
from engine.telemetry.fits import FitVerdict
from engine.telemetry.health import Alert, HealthThresholds, evaluate
from engine.telemetry.sampler import safe_sample
from engine.telemetry.samples import CLOCK_EVENT_REASONS, GpuSample, HostSample, encode_clock_event_reasons

MIB = 1 << 20
DEFAULT_LISTEN = "127.0.0.1:9400"  # dcgm-exporter's port
GPU_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "DCGM_FI_DRIVER_VERSION")


def _mib(n: int | None) -> float | None:
    return None if n is None else n / MIB


def _flag(b: bool | None) -> int | None:
    return None if b is None else int(b)


@dataclass(frozen=True, slots=True)
class DcgmField:
    name: str
    help: str
    value: Callable[[GpuSample], float | int | None]


# dcgm-exporter's default counters (help texts as there), then the DCGM fields a dashboard for
# health typically adds (dcgm_fields.h names). Order is the exposition order.
DCGM_FIELDS: tuple[DcgmField, ...] = (
    DcgmField("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", lambda g: g.sm_clock_mhz),
    DcgmField("DCGM_FI_DEV_MEM_CLOCK", "Memory clock frequency (in MHz).", lambda g: g.mem_clock_mhz),
    DcgmField("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", lambda g: g.temperature_c),
    DcgmField("DCGM_FI_DEV_SLOWDOWN_TEMP", "GPU slowdown temperature (in C).", lambda g: g.temp_slowdown_c),
    DcgmField("DCGM_FI_DEV_SHUTDOWN_TEMP", "GPU shutdown temperature (in C).", lambda g: g.temp_shutdown_c),
    DcgmField("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", lambda g: g.power_w),
    DcgmField("DCGM_FI_DEV_POWER_MGMT_LIMIT", "Current power limit (in W).", lambda g: g.power_limit_w),
    DcgmField("DCGM_FI_DEV_PCIE_TX_THROUGHPUT", "PCIe TX throughput (in KB/s) via NVML.", lambda g: g.pcie_tx_kbps),
    DcgmField("DCGM_FI_DEV_PCIE_RX_THROUGHPUT", "PCIe RX throughput (in KB/s) via NVML.", lambda g: g.pcie_rx_kbps),
    DcgmField(
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
        "Total number of PCIe retries.",
        lambda g: g.pcie_replay_count,  # nvmlDeviceGetPcieReplayCounter; dcgm-exporter types it counter
    ),
    DcgmField("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", lambda g: g.gpu_util_pct),
    DcgmField("DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %).", lambda g: g.mem_util_pct),
    DcgmField("DCGM_FI_DEV_ENC_UTIL", "Encoder utilization (in %).", lambda g: g.encoder_util_pct),
    DcgmField("DCGM_FI_DEV_DEC_UTIL", "Decoder utilization (in %).", lambda g: g.decoder_util_pct),
    DcgmField("DCGM_FI_DEV_FAN_SPEED", "Fan speed (in %).", lambda g: g.fan_pct),
    DcgmField("DCGM_FI_DEV_PSTATE", "Performance state (P0 is highest).", lambda g: g.pstate),
    DcgmField("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", lambda g: _mib(g.memory_free_bytes)),
    DcgmField("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", lambda g: _mib(g.memory_used_bytes)),
    DcgmField("DCGM_FI_DEV_FB_TOTAL", "Framebuffer memory total (in MiB).", lambda g: _mib(g.memory_total_bytes)),
    DcgmField(
        "DCGM_FI_DEV_FB_RESERVED", "Framebuffer memory reserved (in MiB).", lambda g: _mib(g.memory_reserved_bytes)
    ),
    DcgmField(
        "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "Total number of single-bit volatile ECC errors.",
        lambda g: g.ecc_corrected_volatile,
    ),
    DcgmField(
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "Total number of double-bit volatile ECC errors.",
        lambda g: g.ecc_uncorrected_volatile,
    ),
    DcgmField(
        "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL", "Total number of single-bit persistent ECC errors.",
        lambda g: g.ecc_corrected_aggregate,
    ),
    DcgmField(
        "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "Total number of double-bit persistent ECC errors.",
        lambda g: g.ecc_uncorrected_aggregate,
    ),
    DcgmField(
        "DCGM_FI_DEV_RETIRED_SBE", "Total number of retired pages due to single-bit errors.",
        lambda g: g.retired_pages_sbe,
    ),
    DcgmField(
        "DCGM_FI_DEV_RETIRED_DBE", "Total number of retired pages due to double-bit errors.",
        lambda g: g.retired_pages_dbe,
    ),
    DcgmField(
        "DCGM_FI_DEV_RETIRED_PENDING", "Total number of pages pending retirement.",
        lambda g: _flag(g.retired_pages_pending),
    ),
    DcgmField(
        "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "Number of remapped rows for uncorrectable errors",
        lambda g: g.remapped_rows_uncorrectable,
    ),
    DcgmField(
        "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "Number of remapped rows for correctable errors",
        lambda g: g.remapped_rows_correctable,
    ),
    DcgmField("DCGM_FI_DEV_ROW_REMAP_FAILURE", "Whether remapping of rows has failed", lambda g: _flag(g.remap_failure)),
    DcgmField("DCGM_FI_DEV_ROW_REMAP_PENDING", "Whether remapping of rows is pending", lambda g: _flag(g.remap_pending)),
)
CLOCKS_EVENT_FIELD = "DCGM_FI_DEV_CLOCKS_EVENT_REASONS"  # DCGM field 112 (formerly ..._CLOCK_THROTTLE_REASONS)
CLOCKS_EVENT_HELP = "Current clock event (throttle) reasons, NVML's bitmask."
XID_FIELD = "DCGM_FI_DEV_XID_ERRORS"
XID_HELP = "Value of the last XID error encountered."
DCGM_NAMES: tuple[str, ...] = tuple(f.name for f in DCGM_FIELDS) + (CLOCKS_EVENT_FIELD, XID_FIELD)


class LatestSample:
    """The newest HostSample, handed over by the sampler thread and read by scrapes.

    Holds what a single sample cannot: the last Xid of each GPU for `xid_hold_s` (dcgm-exporter's
    XID gauge shows the last Xid, while a HostSample carries only the events since the previous
    one), and the health alerts of the newest sample (evaluated here, on the sampler thread)."""

    def __init__(
        self,
        *,
        xid_hold_s: float = 300.0,
        thresholds: HealthThresholds | None = None,
        fits: Callable[[HostSample], FitVerdict | None] | None = None,
    ) -> None:
        self.xid_hold_s = xid_hold_s
        self.thresholds = thresholds or HealthThresholds()
        self.fits = fits
        self._lock = threading.Lock()
        self._sample: HostSample | None = None
        self._previous: HostSample | None = None  # for the rules comparing two samples (PCIe replays)
        self._alerts: tuple[Alert, ...] = ()
        self._verdict: FitVerdict | None = None
        self._last_xid: dict[int, tuple[int, float]] = {}  # gpu index -> (xid, sample time)
        self.samples_seen = 0

    def update(self, sample: HostSample) -> None:
        alerts = tuple(evaluate(sample, self.thresholds, previous=self._previous))
        self._previous = sample  # update() runs on the one sampler thread
        verdict = self.fits(sample) if self.fits is not None else None
        with self._lock:
            for ev in sample.xid_events:
                if ev.kind == "xid" and ev.xid is not None:
                    self._last_xid[ev.gpu_index] = (ev.xid, sample.timestamp)
            self._sample = sample
            self._alerts = alerts
            self._verdict = verdict
            self.samples_seen += 1

    def snapshot(self) -> tuple[HostSample | None, tuple[Alert, ...], FitVerdict | None, dict[int, int]]:
        with self._lock:
            s = self._sample
            now = s.timestamp if s is not None else time.time()
            xids = {i: x for i, (x, t) in self._last_xid.items() if 0.0 <= now - t <= self.xid_hold_s}
            return s, self._alerts, self._verdict, xids


def _gpu_label_values(g: GpuSample, hostname: str, driver: str) -> list[str]:
    # dcgm-exporter names the device node: nvidia<minor>; NVML's index stands in for the minor
    return [str(g.index), g.uuid or "", g.bus_id or "", f"nvidia{g.index}", g.name or "", hostname, driver]


class SampleCollector(Collector):
    """A prometheus-client Collector over a LatestSample; `collect()` only reads."""

    def __init__(self, latest: LatestSample, *, hostname: str | None = None) -> None:
        self.latest = latest
        self.hostname = hostname

    def collect(self) -> Iterable[Metric]:
        sample, alerts, verdict, xids = self.latest.snapshot()
        if sample is None:
            return []
        return list(self._families(sample, alerts, verdict, xids))

    def _families(
        self, s: HostSample, alerts: tuple[Alert, ...], verdict: FitVerdict | None, xids: dict[int, int]
    ) -> Iterator[Metric]:
        host = self.hostname or s.hostname
        driver = s.driver_version or ""
        gpus = sorted(s.gpus, key=lambda g: g.index)
        labels = {g.index: _gpu_label_values(g, host, driver) for g in gpus}
        ok = [g for g in gpus if g.state == "ok"]

        for f in DCGM_FIELDS:
            fam = GaugeMetricFamily(f.name, f.help, labels=GPU_LABELS)
            for g in ok:
                v = f.value(g)
                if v is not None:
                    fam.add_metric(labels[g.index], float(v))
            if fam.samples:
                yield fam
        fam = GaugeMetricFamily(CLOCKS_EVENT_FIELD, CLOCKS_EVENT_HELP, labels=GPU_LABELS)
        for g in ok:
            if g.clock_event_reasons is not None:
                fam.add_metric(labels[g.index], float(encode_clock_event_reasons(g.clock_event_reasons)))
        if fam.samples:
            yield fam
        fam = GaugeMetricFamily(XID_FIELD, XID_HELP, labels=GPU_LABELS)
        for g in ok:
            fam.add_metric(labels[g.index], float(xids.get(g.index, 0)))
        if fam.samples:
            yield fam

        # ---- gpuplan extras ------------------------------------------------------------
        state = GaugeMetricFamily(
            "gpuplan_gpu_state", "GPU state as the monitor sees it (1 for the current state).",
            labels=GPU_LABELS + ("state",),
        )
        for g in gpus:
            state.add_metric(labels[g.index] + [g.state], 1.0)
        yield state

        reasons = GaugeMetricFamily(
            "gpuplan_clock_event_reason",
            "1 while NVML reports this clock event (throttle) reason, else 0.",
            labels=GPU_LABELS + ("reason",),
        )
        for g in ok:
            if g.clock_event_reasons is None:
                continue
            for r in CLOCK_EVENT_REASONS:
                reasons.add_metric(labels[g.index] + [r], float(r in g.clock_event_reasons))
        if reasons.samples:
            yield reasons

        alert = GaugeMetricFamily(
            "gpuplan_alert",
            "1 for each health rule firing on the newest sample (gpuplan's monitor rules).",
            labels=("gpu", "UUID", "Hostname", "rule", "severity"),
        )
        for a in alerts:
            gpu = "" if a.gpu_index is None else str(a.gpu_index)
            alert.add_metric([gpu, a.gpu_uuid or "", host, a.rule, a.severity], 1.0)
        yield alert

        if verdict is not None:
            fits = GaugeMetricFamily(
                "gpuplan_fits_here", "1 when the current plan fits on this host's free GPU memory now.",
                labels=("Hostname",),
            )
            fits.add_metric([host], float(verdict.fits))
            yield fits
            reps = GaugeMetricFamily(
                "gpuplan_fits_here_replicas", "Replicas of the current plan this host could take now.",
                labels=("Hostname",),
            )
            reps.add_metric([host], float(verdict.replicas))
            yield reps
            need = GaugeMetricFamily(
                "gpuplan_fits_here_need_bytes", "Free memory the plan needs on each GPU (bytes).",
                labels=("Hostname",),
            )
            need.add_metric([host], float(verdict.per_gpu_need_bytes))
            yield need

        up = GaugeMetricFamily(
            "gpuplan_telemetry_up", "1 when the newest sample was read without a host-level error.",
            labels=("Hostname", "backend", "simulated"),
        )
        up.add_metric([host, s.backend, str(s.simulated).lower()], float(s.error is None))
        yield up
        ts = GaugeMetricFamily(
            "gpuplan_sample_timestamp_seconds", "Unix time of the newest sample.", labels=("Hostname",)
        )
        ts.add_metric([host], s.timestamp)
        yield ts


# ---- the HTTP side ------------------------------------------------------------------------


class BindRefused(ValueError):
    """A listen address that is not loopback, without the explicit allow-remote flag."""


def parse_listen(addr: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback) -> (host, port). ValueError names the problem."""
    text = addr.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"listen address {addr!r}: expected [IPv6]:PORT")
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ValueError(f"listen address {addr!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    host = host or "127.0.0.1"
    try:
        n = int(port)
    except ValueError:
        raise ValueError(f"listen address {addr!r}: port {port!r} is not a number") from None
    if not 0 <= n <= 65535:
        raise ValueError(f"listen address {addr!r}: port {n} is out of range 0-65535")
    return host, n


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def check_bind(host: str, allow_remote: bool) -> str | None:
    """None for loopback; the warning to print for an allowed remote bind; BindRefused otherwise."""
    if is_loopback(host):
        return None
    if not allow_remote:
        raise BindRefused(
            f"refusing to serve metrics on {host}: it is not a loopback address. GPU telemetry would be "
            "readable by anyone who can reach this host; pass --allow-remote to do it anyway"
        )
    return (
        f"warning: serving GPU metrics on {host}, reachable beyond this host; "
        "restrict access with a firewall or a reverse proxy"
    )


class MetricsServer:
    """prometheus-client's HTTP server on its own registry, holding only the sample collector."""

    def __init__(self, latest: LatestSample, listen: str = DEFAULT_LISTEN, *, allow_remote: bool = False,
                 hostname: str | None = None) -> None:
        self.latest = latest
        self.host, self.port = parse_listen(listen)
        self.warning = check_bind(self.host, allow_remote)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SampleCollector(latest, hostname=hostname))
        self._httpd = None
        self._thread: threading.Thread | None = None

    def start(self) -> "MetricsServer":
        from prometheus_client import start_http_server

        self._httpd, self._thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self.port = self._httpd.server_address[1]
        return self

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None


class PublishingBackend:
    """A GpuBackend that hands every sample it takes to a LatestSample as well: how
    `gpuplan watch --metrics` serves the very samples its monitor shows, without a second
    sampler (and without a scrape ever reaching NVML). A failing inner backend becomes an error
    sample, published like any other."""

    def __init__(self, inner: GpuBackend, latest: LatestSample) -> None:
        self.inner = inner
        self.latest = latest
        self.simulated = bool(getattr(inner, "simulated", False))

    @property
    def name(self) -> str:
        return self.inner.name

    def open(self) -> None:
        self.inner.open()

    def sample(self) -> HostSample:
        s = safe_sample(self.inner)
        self.latest.update(s)
        return s

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, attr: str) -> object:  # e.g. a replay backend's position, a recorder's path
        return getattr(self.inner, attr)
