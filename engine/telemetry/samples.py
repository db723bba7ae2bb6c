"""Immutable telemetry samples: one `HostSample` per tick, one `GpuSample` per device.

Every optional NVML field is ``None`` when the device does not report it (N/A): not supported,
no permission, a function missing from an old driver, or a device that is lost/erroring.
Units are in the field names (bytes, MHz, W, KB/s, degrees C, percent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# "backoff" is only read from traces written before the backoff became a detail (`retry_in_s`) of
# a lost/error row; backends no longer produce it.
GpuState = Literal["ok", "lost", "error", "backoff"]
GPU_STATES: tuple[str, ...] = ("ok", "lost", "error", "backoff")

# nvml.h nvmlComputeMode_t, in words
COMPUTE_MODES: dict[int, str] = {0: "default", 1: "exclusive_thread", 2: "prohibited", 3: "exclusive_process"}

ProcessKind = Literal["compute", "graphics"]
EventKind = Literal["xid", "double_bit_ecc"]

# Clock event ("throttle") reason bits, from nvml.h `nvmlClocksEventReason*`
# (formerly `nvmlClocksThrottleReason*`, same values).
CLOCK_EVENT_REASON_BITS: tuple[tuple[int, str], ...] = (
    (0x0000000000000001, "gpu_idle"),
    (0x0000000000000002, "applications_clocks_setting"),
    (0x0000000000000004, "sw_power_cap"),
    (0x0000000000000008, "hw_slowdown"),
    (0x0000000000000010, "sync_boost"),
    (0x0000000000000020, "sw_thermal_slowdown"),
    (0x0000000000000040, "hw_thermal_slowdown"),
    (0x0000000000000080, "hw_power_brake_slowdown"),
    (0x0000000000000100, "display_clocks_setting"),
)
CLOCK_EVENT_REASONS: tuple[str, ...] = tuple(name for _, name in CLOCK_EVENT_REASON_BITS)


def decode_clock_event_reasons(mask: int | None) -> tuple[str, ...] | None:
    """Decode an NVML clock-event-reasons bitmask into words; unknown bits become ``bit_0x...``."""
    if mask is None:
        return None
    words: list[str] = []
    known = 0
    for bit, name in CLOCK_EVENT_REASON_BITS:
        known |= bit
        if mask & bit:
            words.append(name)
    rest = mask & ~known
    bit = 1
    while rest:
        if rest & bit:
            words.append(f"bit_0x{bit:x}")
            rest &= ~bit
        bit <<= 1
    return tuple(words)


def encode_clock_event_reasons(words: tuple[str, ...]) -> int:
    """Inverse of :func:`decode_clock_event_reasons` for the known words (tests, simulation)."""
    by_name = {name: bit for bit, name in CLOCK_EVENT_REASON_BITS}
    mask = 0
    for word in words:
        if word in by_name:
            mask |= by_name[word]
        elif word.startswith("bit_0x"):
            mask |= int(word[6:], 16)
        else:
            raise ValueError(f"unknown clock event reason {word!r}")
    return mask


@dataclass(frozen=True, slots=True)
class GpuProcess:
    pid: int
    user: str | None
    command: str | None
    used_memory_bytes: int | None
    kind: ProcessKind = "compute"
    # nvmlDeviceGetProcessUtilization: this process's share of SM time and memory bandwidth (%)
    sm_util_pct: int | None = None
    mem_bw_util_pct: int | None = None
    # from the host (psutil); None when the PID is not visible here
    cpu_pct: float | None = None
    host_mem_pct: float | None = None
    host_rss_bytes: int | None = None
    started_at: float | None = None  # epoch seconds
    # False: NVML reports a PID this PID namespace cannot see (a process in another container, or
    # one that exited); user/CPU/RAM are then unknown and the command is NVML's. None: not checked.
    in_namespace: bool | None = None


@dataclass(frozen=True, slots=True)
class XidEvent:
    """An event from NVML's event API (nvmlEventSetWait): an Xid or a double-bit ECC error.

    A sample carries the events that arrived since the previous sample (each event once).
    """

    timestamp: float
    gpu_index: int  # -1: NVML's handle matched none of the GPUs (HostSample.host_events)
    kind: EventKind = "xid"
    xid: int | None = None
    note: str | None = None  # what is known about an unplaced event's device


@dataclass(frozen=True, slots=True)
class GpuSample:
    index: int
    uuid: str | None = None
    name: str | None = None
    bus_id: str | None = None
    state: GpuState = "ok"
    error: str | None = None
    # utilization (percent over NVML's last sample period)
    gpu_util_pct: int | None = None
    mem_util_pct: int | None = None
    # memory; `reserved` only with nvmlDeviceGetMemoryInfo_v2 (then `used` excludes it)
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    memory_free_bytes: int | None = None
    memory_reserved_bytes: int | None = None
    # temperature and the thresholds NVML reports (NVML_TEMPERATURE_THRESHOLD_SLOWDOWN/SHUTDOWN)
    temperature_c: int | None = None
    temp_slowdown_c: int | None = None
    temp_shutdown_c: int | None = None
    # power (NVML reports milliwatts; converted)
    power_w: float | None = None
    power_limit_w: float | None = None
    power_default_limit_w: float | None = None
    # clocks
    sm_clock_mhz: int | None = None
    sm_clock_max_mhz: int | None = None
    mem_clock_mhz: int | None = None
    mem_clock_max_mhz: int | None = None
    fan_pct: int | None = None
    pstate: int | None = None
    clock_event_reasons: tuple[str, ...] | None = None
    # ECC counters (nvmlDeviceGetTotalEccErrors)
    ecc_corrected_volatile: int | None = None
    ecc_uncorrected_volatile: int | None = None
    ecc_corrected_aggregate: int | None = None
    ecc_uncorrected_aggregate: int | None = None
    # dynamic page retirement (pre-Ampere) and row remapping (Ampere+)
    retired_pages_sbe: int | None = None
    retired_pages_dbe: int | None = None
    retired_pages_pending: bool | None = None
    remapped_rows_correctable: int | None = None
    remapped_rows_uncorrectable: int | None = None
    remap_pending: bool | None = None
    remap_failure: bool | None = None
    # PCIe
    pcie_gen: int | None = None
    pcie_gen_max: int | None = None
    pcie_width: int | None = None
    pcie_width_max: int | None = None
    pcie_tx_kbps: int | None = None
    pcie_rx_kbps: int | None = None
    # nvmlDeviceGetPcieReplayCounter: link-level retries since the driver loaded (a counter; one that
    # rises between samples means a marginal PCIe link). None: N/A, or a trace written before it.
    pcie_replay_count: int | None = None
    # video engines
    encoder_util_pct: int | None = None
    decoder_util_pct: int | None = None
    # MIG
    mig_mode: bool | None = None
    mig_instances: int | None = None
    # nvmlDeviceGetPersistenceMode / nvmlDeviceGetComputeMode (see COMPUTE_MODES)
    persistence_mode: bool | None = None
    compute_mode: str | None = None
    # a failing device: consecutive failed samples and, while its circuit breaker is open, the
    # seconds until it is queried again (the state stays lost/error: backoff is a detail)
    failures: int | None = None
    retry_in_s: int | None = None
    # processes: None when the list could not be read (e.g. no permission), () when empty
    processes: tuple[GpuProcess, ...] | None = None
    xid_events: tuple[XidEvent, ...] = ()

    @property
    def label(self) -> str:
        return f"GPU {self.index}"

    @property
    def is_ok(self) -> bool:
        return self.state == "ok"

    @property
    def memory_used_fraction(self) -> float | None:
        """Used / total in [0, 1], `used` as NVML reports it (nvidia-smi's and nvitop's figure);
        reserved memory (nvmlDeviceGetMemoryInfo_v2) is not counted: it is shown apart."""
        total = self.memory_total_bytes
        if not total or self.memory_used_bytes is None:
            return None
        return min(1.0, max(0.0, self.memory_used_bytes / total))

    @property
    def memory_usable_fraction(self) -> float | None:
        """Used / (total - reserved): how full the memory processes can have is (the
        memory-high rule); equal to `memory_used_fraction` where NVML reports no reserve."""
        total = self.memory_total_bytes
        if not total or self.memory_used_bytes is None:
            return None
        usable = total - (self.memory_reserved_bytes or 0)
        if usable <= 0:
            return 1.0
        return min(1.0, max(0.0, self.memory_used_bytes / usable))

    @property
    def ecc_pair(self) -> tuple[tuple[int | None, int | None], tuple[int | None, int | None]]:
        """((corrected volatile, aggregate), (uncorrected volatile, aggregate)), never a total
        below its part: the aggregate counter includes the volatile one (nvml.h)."""

        def pair(vol: int | None, agg: int | None) -> tuple[int | None, int | None]:
            if vol is not None and agg is not None and agg < vol:
                agg = vol
            return vol, agg

        return (pair(self.ecc_corrected_volatile, self.ecc_corrected_aggregate),
                pair(self.ecc_uncorrected_volatile, self.ecc_uncorrected_aggregate))

    @property
    def temp_slowdown_margin_c(self) -> int | None:
        """Degrees below the slowdown threshold (negative when above it)."""
        if self.temperature_c is None or self.temp_slowdown_c is None:
            return None
        return self.temp_slowdown_c - self.temperature_c

    @property
    def power_fraction(self) -> float | None:
        if self.power_w is None or not self.power_limit_w:
            return None
        return self.power_w / self.power_limit_w

    def has_reason(self, reason: str) -> bool:
        return reason in (self.clock_event_reasons or ())


@dataclass(frozen=True, slots=True)
class HostStats:
    """The host itself (psutil, or simulated): CPU, RAM, swap and load, as nvitop's host panel."""

    cpu_pct: float | None = None
    cpu_count: int | None = None
    mem_total_bytes: int | None = None
    mem_used_bytes: int | None = None
    swap_total_bytes: int | None = None
    swap_used_bytes: int | None = None
    load_1: float | None = None
    load_5: float | None = None
    load_15: float | None = None

    @property
    def mem_pct(self) -> float | None:
        if not self.mem_total_bytes or self.mem_used_bytes is None:
            return None
        return 100.0 * self.mem_used_bytes / self.mem_total_bytes

    @property
    def swap_pct(self) -> float | None:
        if not self.swap_total_bytes or self.swap_used_bytes is None:
            return None
        return 100.0 * self.swap_used_bytes / self.swap_total_bytes


@dataclass(frozen=True, slots=True)
class HostSample:
    timestamp: float
    hostname: str
    backend: str
    simulated: bool = False
    gpus: tuple[GpuSample, ...] = ()
    driver_version: str | None = None
    cuda_version: str | None = None
    nvml_version: str | None = None
    # host-level failure, e.g. "NVML library not found: install the NVIDIA driver ..."
    error: str | None = None
    host: HostStats | None = None
    # NVML events that could not be placed on a GPU (never dropped: they become host alerts)
    host_events: tuple[XidEvent, ...] = ()

    def gpu(self, index: int) -> GpuSample | None:
        for g in self.gpus:
            if g.index == index:
                return g
        return None

    @property
    def ok_gpus(self) -> tuple[GpuSample, ...]:
        return tuple(g for g in self.gpus if g.state == "ok")

    @property
    def n_gpus(self) -> int:
        return len(self.gpus)

    @property
    def xid_events(self) -> tuple[XidEvent, ...]:
        return tuple(e for g in self.gpus for e in g.xid_events) + self.host_events


def format_cuda_version(v: int | None) -> str | None:
    """nvmlSystemGetCudaDriverVersion returns e.g. 12040 for CUDA 12.4 (1000*major + 10*minor)."""
    if v is None or v <= 0:
        return None
    return f"{v // 1000}.{(v % 1000) // 10}"
