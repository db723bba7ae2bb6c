"""NVML backend: the ONLY module that imports `pynvml` (the official nvidia-ml-py bindings).

Ideas after nvitop's api/libnvml.py (own code): lazy `nvmlInit` under a lock and `nvmlShutdown`
at close/exit; one query wrapper that turns an unsupported/forbidden/missing field into N/A
(`None`) and logs a missing function once; a lost GPU becomes a row, never an exception.
Added here: per-device circuit breaker, slow queries on a slower cadence, an NVML event thread
for Xid / double-bit ECC events.

`pynvml` is imported inside `open()`, so importing this module never loads it. Every NVML
function is looked up on the module at call time (by name), which is also how the tests stub it.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import math
import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Callable, Hashable, Mapping

from engine.telemetry.samples import (
    COMPUTE_MODES,
    GpuProcess,
    GpuSample,
    HostSample,
    HostStats,
    XidEvent,
    decode_clock_event_reasons,
    format_cuda_version,
)

log = logging.getLogger("gpuplan.telemetry")

LIBRARY_NOT_FOUND = (
    "NVML library not found: install the NVIDIA driver (it provides libnvidia-ml.so.1), "
    "or use --simulate N / --replay FILE"
)
PYNVML_MISSING = (
    "NVML library not found: the Python bindings are missing (pip install nvidia-ml-py), "
    "or use --simulate N / --replay FILE"
)
DRIVER_NOT_LOADED = "NVIDIA driver not loaded: NVML cannot reach the kernel module (is nvidia.ko loaded?)"

# NVML return codes (nvml.h `nvmlReturn_t`) that mean "this field is N/A here", not "device broken".
_NA_CODES = (
    3,  # NVML_ERROR_NOT_SUPPORTED
    4,  # NVML_ERROR_NO_PERMISSION
    2,  # NVML_ERROR_INVALID_ARGUMENT (e.g. a fan index or sensor the board lacks)
    6,  # NVML_ERROR_NOT_FOUND (e.g. an empty MIG slot)
    25,  # NVML_ERROR_ARGUMENT_VERSION_MISMATCH (struct version newer than the driver)
)
_FUNCTION_NOT_FOUND = 13  # NVML_ERROR_FUNCTION_NOT_FOUND: the driver's libnvidia-ml lacks the symbol
_LIBRARY_NOT_FOUND = 12  # NVML_ERROR_LIBRARY_NOT_FOUND
_DRIVER_NOT_LOADED = 9  # NVML_ERROR_DRIVER_NOT_LOADED
_GPU_IS_LOST = 15  # NVML_ERROR_GPU_IS_LOST
_TIMEOUT = 10  # NVML_ERROR_TIMEOUT (nvmlEventSetWait with no event)
_PSTATE_UNKNOWN = 32  # NVML_PSTATE_UNKNOWN
_MIG_ENABLE = 1  # NVML_DEVICE_MIG_ENABLE
# nvml.h event types (nvmlEventType*)
_EVENT_DOUBLE_BIT_ECC = 0x0000000000000002  # nvmlEventTypeDoubleBitEccError
_EVENT_XID_CRITICAL = 0x0000000000000008  # nvmlEventTypeXidCriticalError


def handle_key(handle: Any) -> Hashable:
    """What identifies a device handle. pynvml hands out a new ctypes pointer object per call
    (nvmlDeviceGetHandleByIndex, the `device` of an event), so two handles of one GPU are equal
    only by the address they hold, never by identity."""
    if handle is None:
        return None
    try:
        return ("ptr", ctypes.cast(handle, ctypes.c_void_p).value)
    except (TypeError, ctypes.ArgumentError):
        pass
    try:
        hash(handle)
    except TypeError:
        return ("id", id(handle))
    return ("obj", handle)


def _nvml_error_code(exc: BaseException) -> int | None:
    v = getattr(exc, "value", None)
    return v if isinstance(v, int) else None


def describe_error(exc: BaseException) -> str:
    code = _nvml_error_code(exc)
    if code is not None and type(exc).__name__.startswith("NVMLError"):
        return f"NVML: {exc}"
    return f"{type(exc).__name__}: {exc}"


def read_proc_info(pid: int, proc_root: str = "/proc") -> tuple[str | None, str | None]:
    """(user, command) for a PID from /proc; (None, None) when it is not visible (exited, or
    another PID namespace). No psutil. Inside a container NVML may report host PIDs, which /proc
    cannot resolve (or resolves to a different process): the command then comes from NVML."""
    base = f"{proc_root}/{pid}"
    try:
        uid = os.stat(base).st_uid
    except OSError:
        return None, None
    user: str | None
    try:
        import pwd

        user = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        user = str(uid)
    command: str | None = None
    try:
        with open(f"{base}/cmdline", "rb") as f:
            raw = f.read(4096)
        parts = [p.decode("utf-8", "replace") for p in raw.split(b"\0") if p]
        command = " ".join(parts) or None
    except OSError:
        pass
    if command is None:
        try:
            with open(f"{base}/comm", "rb") as f:
                command = f.read().decode("utf-8", "replace").strip() or None
        except OSError:
            pass
    return user, command


def _describe_handle(device: Any) -> str:
    key = handle_key(device)
    if isinstance(key, tuple) and key[0] == "ptr" and key[1] is not None:
        return f"0x{key[1]:x}"
    return "N/A" if device is None else type(device).__name__


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


@dataclass(frozen=True, slots=True)
class _Static:
    """Per-device facts that do not change while NVML is initialised; read once."""

    uuid: str | None = None
    name: str | None = None
    bus_id: str | None = None
    temp_slowdown_c: int | None = None
    temp_shutdown_c: int | None = None
    power_default_limit_w: float | None = None
    sm_clock_max_mhz: int | None = None
    mem_clock_max_mhz: int | None = None
    pcie_gen_max: int | None = None
    pcie_width_max: int | None = None


@dataclass(frozen=True, slots=True)
class _Slow:
    """Fields read every `slow_every` samples and reused in between."""

    pcie_tx_kbps: int | None = None
    pcie_rx_kbps: int | None = None
    pcie_replay_count: int | None = None
    processes: tuple[GpuProcess, ...] | None = None
    mig_mode: bool | None = None
    mig_instances: int | None = None
    persistence_mode: bool | None = None
    compute_mode: str | None = None
    retired_pages_sbe: int | None = None
    retired_pages_dbe: int | None = None
    retired_pages_pending: bool | None = None
    remapped_rows_correctable: int | None = None
    remapped_rows_uncorrectable: int | None = None
    remap_pending: bool | None = None
    remap_failure: bool | None = None


class _Breaker:
    """Circuit breaker of one device: after `threshold` consecutive failures stop querying it
    until `open_until` (cooldown doubles on each re-trip, capped)."""

    __slots__ = ("failures", "trips", "open_until", "last_error", "last_state")

    def __init__(self) -> None:
        self.failures = 0
        self.trips = 0
        self.open_until: float | None = None
        self.last_error = ""
        self.last_state = "error"  # what the device was when it last failed: lost or error


class NvmlEventWatcher:
    """Waits on NVML events (Xid critical errors, double-bit ECC) on a daemon thread.

    nvmlEventSetWait_v2 blocks at most `timeout_ms`, so `stop()` returns promptly. Events land in a
    bounded deque; the backend drains them into the next sample.
    """

    def __init__(
        self,
        nv: ModuleType,
        handles: Mapping[int, Any],
        *,
        timeout_ms: int = 500,
        maxlen: int = 256,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self._nv = nv
        self._handles = dict(handles)
        # built once, while every GPU answers: a lost GPU's handle still maps to its index
        self._index_by_key = {handle_key(h): i for i, h in self._handles.items()}
        self._timeout_ms = timeout_ms
        self._wallclock = wallclock
        self._events: deque[XidEvent] = deque(maxlen=maxlen)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._set: Any = None
        self._error_logged = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Register the devices that support the events; False when none does (nothing to watch)."""
        nv = self._nv
        xid = getattr(nv, "nvmlEventTypeXidCriticalError", _EVENT_XID_CRITICAL)
        dbe = getattr(nv, "nvmlEventTypeDoubleBitEccError", _EVENT_DOUBLE_BIT_ECC)
        try:
            self._set = nv.nvmlEventSetCreate()
        except (AttributeError, nv.NVMLError) as e:
            log.info("NVML events unavailable: %s", describe_error(e))
            return False
        registered = 0
        for index, handle in self._handles.items():
            try:
                supported = int(nv.nvmlDeviceGetSupportedEventTypes(handle))
                mask = supported & (xid | dbe)
                if mask:
                    nv.nvmlDeviceRegisterEvents(handle, mask, self._set)
                    registered += 1
            except (AttributeError, nv.NVMLError) as e:
                log.info("GPU %d: NVML events not registered: %s", index, describe_error(e))
        if not registered:
            self._free()
            return False
        self._thread = threading.Thread(target=self._run, name="gpuplan-nvml-events", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        nv = self._nv
        wait = getattr(nv, "nvmlEventSetWait_v2", None) or nv.nvmlEventSetWait
        while not self._stop.is_set():
            try:
                data = wait(self._set, self._timeout_ms)
            except nv.NVMLError as e:
                if _nvml_error_code(e) == _TIMEOUT:
                    continue
                if not self._error_logged:
                    log.warning("NVML event wait failed: %s", describe_error(e))
                    self._error_logged = True
                self._stop.wait(1.0)  # e.g. GPU lost: do not spin
                continue
            except Exception:  # noqa: BLE001 - the watcher thread must not die
                log.exception("NVML event watcher error")
                self._stop.wait(1.0)
                continue
            self._on_event(data)

    def _on_event(self, data: Any) -> None:
        nv = self._nv
        etype = int(getattr(data, "eventType", 0))
        xid_bit = getattr(nv, "nvmlEventTypeXidCriticalError", _EVENT_XID_CRITICAL)
        dbe_bit = getattr(nv, "nvmlEventTypeDoubleBitEccError", _EVENT_DOUBLE_BIT_ECC)
        device = getattr(data, "device", None)
        index = self._index_of(device)
        note = None if index >= 0 else f"device handle {_describe_handle(device)} matched none of the GPUs"
        now = self._wallclock()
        if etype & xid_bit:
            # nvmlEventData_t.eventData holds the Xid for nvmlEventTypeXidCriticalError
            self._events.append(XidEvent(now, index, "xid", int(getattr(data, "eventData", 0)), note))
        elif etype & dbe_bit:
            self._events.append(XidEvent(now, index, "double_bit_ecc", None, note))

    def _index_of(self, device: Any) -> int:
        """The GPU index of an event's device: by handle value (the map built at start, which
        still knows a GPU that is lost now), else asking NVML; -1 when neither knows it."""
        index = self._index_by_key.get(handle_key(device))
        if index is not None:
            return index
        try:
            return int(self._nv.nvmlDeviceGetIndex(device))
        except Exception:  # noqa: BLE001 - e.g. the GPU is lost: the event is kept, unplaced
            return -1

    def drain(self) -> list[XidEvent]:
        out: list[XidEvent] = []
        while True:
            try:
                out.append(self._events.popleft())
            except IndexError:
                return out

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return  # still inside a wait; leave the set allocated rather than free it under it
            self._thread = None
        self._free()

    def _free(self) -> None:
        if self._set is not None:
            try:
                self._nv.nvmlEventSetFree(self._set)
            except Exception:  # noqa: BLE001
                pass
            self._set = None


class NvmlBackend:
    """Samples every GPU NVML sees. Never raises from `sample()`: a missing library gives a
    HostSample with `error` and no GPUs; a failing device gives a row with state lost/error/backoff.
    """

    simulated = False

    def __init__(
        self,
        *,
        slow_every: int = 5,
        breaker_failures: int = 3,
        breaker_cooldown_s: float = 30.0,
        breaker_cooldown_max_s: float = 300.0,
        init_retry_s: float = 30.0,
        events: bool = True,
        event_timeout_ms: int = 500,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        process_info: Callable[[int], Any] | None = None,
        host_stats: Callable[[], HostStats | None] | None = None,
    ) -> None:
        """`process_info(pid)`: what the host knows of a PID (a procinfo.ProcInfo, a (user,
        command) pair, or None when this PID namespace cannot see it); `host_stats()`: CPU, RAM,
        swap and load. Both default to psutil (engine/telemetry/procinfo.py)."""
        if slow_every < 1 or breaker_failures < 1:
            raise ValueError("slow_every and breaker_failures must be >= 1")
        self._slow_every = slow_every
        self._breaker_failures = breaker_failures
        self._cooldown_s = breaker_cooldown_s
        self._cooldown_max_s = breaker_cooldown_max_s
        self._init_retry_s = init_retry_s
        self._events_enabled = events
        self._event_timeout_ms = event_timeout_ms
        self._clock = clock
        self._wallclock = wallclock
        if process_info is None or host_stats is None:
            from engine.telemetry.procinfo import ProcessInspector

            inspector = ProcessInspector()
            process_info = process_info or inspector.info
            host_stats = host_stats or inspector.host_stats
        self._process_info = process_info
        self._host_stats = host_stats
        self._proc_util_since: dict[int, int] = {}
        self._lock = threading.Lock()
        self._nv: Any = None
        self._initialized = False
        self._init_error: str | None = None
        self._last_init_error: str | None = None
        self._retry_init_at = 0.0
        self._count = 0
        self._driver: str | None = None
        self._cuda: str | None = None
        self._nvml_version: str | None = None
        self._hostname = socket.gethostname()
        self._tick = 0
        self._handles: dict[int, Any] = {}
        self._static: dict[int, _Static] = {}
        self._slow: dict[int, _Slow] = {}
        self._breakers: dict[int, _Breaker] = {}
        self._missing_logged: set[str] = set()
        self._mem_v2_ok: dict[int, bool] = {}
        self._watcher: NvmlEventWatcher | None = None
        self._atexit_registered = False

    @property
    def name(self) -> str:
        return "nvml"

    @property
    def host_error(self) -> str | None:
        return self._init_error

    # ---- lifecycle -------------------------------------------------------------------------

    def open(self) -> None:
        """Initialise NVML once (thread-safe). Failure is recorded as the host error, not raised;
        a failed init is retried after `init_retry_s` (a driver may be loaded later)."""
        with self._lock:
            self._open_locked()

    def _open_locked(self) -> None:
        if self._initialized:
            return
        if self._init_error is not None and self._clock() < self._retry_init_at:
            return
        self._init_error = None
        try:
            import pynvml as nv  # lazily: importing engine.telemetry never loads NVML
        except ImportError:
            self._fail_init(PYNVML_MISSING, retry=False)
            return
        self._nv = nv
        try:
            nv.nvmlInit()
        except nv.NVMLError as e:
            code = _nvml_error_code(e)
            if code == _LIBRARY_NOT_FOUND:
                self._fail_init(LIBRARY_NOT_FOUND)
            elif code == _DRIVER_NOT_LOADED:
                self._fail_init(DRIVER_NOT_LOADED)
            else:
                self._fail_init(f"NVML init failed: {describe_error(e)}")
            return
        except OSError as e:  # a broken libnvidia-ml.so
            self._fail_init(f"NVML library could not be loaded: {e}")
            return
        self._initialized = True
        try:
            self._count = int(nv.nvmlDeviceGetCount())
        except nv.NVMLError as e:
            self._shutdown_locked()
            self._fail_init(f"NVML cannot count GPUs: {describe_error(e)}")
            return
        self._driver = _text(self._query("nvmlSystemGetDriverVersion", _host=True))
        cuda = self._query("nvmlSystemGetCudaDriverVersion_v2", _host=True)
        if cuda is None:
            cuda = self._query("nvmlSystemGetCudaDriverVersion", _host=True)
        self._cuda = format_cuda_version(cuda)
        self._nvml_version = _text(self._query("nvmlSystemGetNVMLVersion", _host=True))
        if not self._atexit_registered:
            atexit.register(self.close)
            self._atexit_registered = True
        if self._events_enabled:
            self._start_watcher()

    def _fail_init(self, message: str, *, retry: bool = True) -> None:
        if message != self._last_init_error:  # once per distinct failure, not every retry
            log.warning("%s", message)
        self._init_error = self._last_init_error = message
        self._retry_init_at = self._clock() + self._init_retry_s if retry else math.inf

    def _start_watcher(self) -> None:
        handles: dict[int, Any] = {}
        for i in range(self._count):
            try:
                handles[i] = self._handle(i)
            except Exception:  # noqa: BLE001 - a lost GPU just is not watched
                continue
        watcher = NvmlEventWatcher(
            self._nv, handles, timeout_ms=self._event_timeout_ms, wallclock=self._wallclock
        )
        if watcher.start():
            self._watcher = watcher

    def close(self) -> None:
        # Never hang at exit behind a sample stuck in the driver.
        if not self._lock.acquire(timeout=2.0):
            return
        try:
            self._shutdown_locked()
        finally:
            self._lock.release()
        if self._atexit_registered:
            atexit.unregister(self.close)
            self._atexit_registered = False

    def _shutdown_locked(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._initialized:
            try:
                self._nv.nvmlShutdown()
            except Exception as e:  # noqa: BLE001
                log.info("nvmlShutdown failed: %s", describe_error(e))
            self._initialized = False
        self._handles.clear()
        self._static.clear()
        self._slow.clear()
        self._breakers.clear()
        self._mem_v2_ok.clear()
        self._tick = 0

    def __enter__(self) -> NvmlBackend:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the one query wrapper -----------------------------------------------------------------

    def _query(
        self, fn: str | Callable[..., Any], *args: Any, _host: bool = False, _as: str | None = None, **kwargs: Any
    ) -> Any:
        """Call one NVML function. N/A (not supported, no permission, function missing from the
        driver or from an old pynvml) -> None, a missing function logged once. Errors that mean the
        device is unusable (GPU is lost, unknown, ...) propagate, so the device becomes an error row.
        With `_host`, every NVML error is N/A (host facts are optional); `_as` names the call in logs."""
        nv = self._nv
        if isinstance(fn, str):
            name = fn
            try:
                func = getattr(nv, fn)
            except AttributeError:
                self._log_missing(name, "not in this pynvml")
                return None
        else:
            func = fn
            name = getattr(fn, "__name__", repr(fn))
        if _as is not None:
            name = _as
        try:
            return func(*args, **kwargs)
        except nv.NVMLError as e:
            code = _nvml_error_code(e)
            if code == _FUNCTION_NOT_FOUND:
                self._log_missing(name, "not in this driver's NVML")
                return None
            if code in _NA_CODES or _host:
                return None
            raise

    def _log_missing(self, name: str, why: str) -> None:
        if name not in self._missing_logged:
            self._missing_logged.add(name)
            log.info("NVML function %s unavailable (%s); its field shows N/A", name, why)

    # ---- sampling --------------------------------------------------------------------------

    def sample(self) -> HostSample:
        with self._lock:
            self._open_locked()
            now = self._wallclock()
            host = self._read_host()
            if not self._initialized:
                return HostSample(
                    timestamp=now,
                    hostname=self._hostname,
                    backend=self.name,
                    error=self._init_error,
                    host=host,
                )
            slow = self._tick % self._slow_every == 0
            self._tick += 1
            events: dict[int, list[XidEvent]] = {}
            unplaced: list[XidEvent] = []
            if self._watcher is not None:
                for ev in self._watcher.drain():
                    if 0 <= ev.gpu_index < self._count:
                        events.setdefault(ev.gpu_index, []).append(ev)
                    else:  # never dropped: the health rules raise it as a host-level alert
                        unplaced.append(ev)
            gpus = tuple(
                self._sample_device(i, slow, tuple(events.get(i, ()))) for i in range(self._count)
            )
            return HostSample(
                timestamp=now,
                hostname=self._hostname,
                backend=self.name,
                simulated=False,
                gpus=gpus,
                driver_version=self._driver,
                cuda_version=self._cuda,
                nvml_version=self._nvml_version,
                host=host,
                host_events=tuple(unplaced),
            )

    def _read_host(self) -> HostStats | None:
        try:
            return self._host_stats()
        except Exception as e:  # noqa: BLE001 - host figures are optional
            self._log_missing("host_stats", describe_error(e))
            return None

    def _sample_device(self, i: int, slow: bool, events: tuple[XidEvent, ...]) -> GpuSample:
        br = self._breakers.setdefault(i, _Breaker())
        now = self._clock()
        if br.open_until is not None and now < br.open_until:
            # still what it was (lost stays lost, and critical); the backoff is a detail
            return self._failed_row(
                i, br.last_state, br.last_error, events, failures=br.failures,
                retry_in_s=math.ceil(br.open_until - now),
            )
        try:
            row = self._read_device(i, slow or i not in self._slow)
        except Exception as e:  # noqa: BLE001 - isolate the device, keep the others
            br.failures += 1
            lost = _nvml_error_code(e) == _GPU_IS_LOST and type(e).__name__.startswith("NVMLError")
            state = "lost" if lost else "error"
            message = describe_error(e)
            br.last_error = message
            br.last_state = state
            self._handles.pop(i, None)
            self._slow.pop(i, None)
            retry: int | None = None
            if br.failures >= self._breaker_failures:
                cooldown = min(self._cooldown_s * (2**br.trips), self._cooldown_max_s)
                br.trips += 1
                br.open_until = now + cooldown
                retry = math.ceil(cooldown)
                log.warning("GPU %d %s: %s; backing off %.0f s after %d consecutive failures",
                            i, state, message, cooldown, br.failures)
            elif br.failures == 1:
                log.warning("GPU %d %s: %s", i, state, message)
            return self._failed_row(i, state, message, events, failures=br.failures, retry_in_s=retry)
        if br.failures:
            log.info("GPU %d recovered after %d failures", i, br.failures)
            br.failures = 0
            br.trips = 0
            br.open_until = None
        return replace(row, xid_events=events) if events else row

    def _failed_row(self, i: int, state: Any, message: str, events: tuple[XidEvent, ...], *,
                    failures: int | None = None, retry_in_s: int | None = None) -> GpuSample:
        st = self._static.get(i, _Static())
        return GpuSample(
            index=i,
            uuid=st.uuid,
            name=st.name,
            bus_id=st.bus_id,
            state=state,
            error=message,
            failures=failures,
            retry_in_s=retry_in_s,
            xid_events=events,
        )

    def _handle(self, i: int) -> Any:
        h = self._handles.get(i)
        if h is None:
            h = self._nv.nvmlDeviceGetHandleByIndex(i)
            self._handles[i] = h
        return h

    def _read_static(self, h: Any) -> _Static:
        nv, q = self._nv, self._query
        pci = q("nvmlDeviceGetPciInfo", h)
        bus_id = None
        if pci is not None:
            bus_id = _text(getattr(pci, "busId", None) or getattr(pci, "busIdLegacy", None))
        default_limit = q("nvmlDeviceGetPowerManagementDefaultLimit", h)
        return _Static(
            uuid=_text(q("nvmlDeviceGetUUID", h)),
            name=_text(q("nvmlDeviceGetName", h)),
            bus_id=bus_id,
            temp_slowdown_c=q("nvmlDeviceGetTemperatureThreshold", h, nv.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN),
            temp_shutdown_c=q("nvmlDeviceGetTemperatureThreshold", h, nv.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN),
            power_default_limit_w=None if default_limit is None else default_limit / 1000.0,
            sm_clock_max_mhz=q("nvmlDeviceGetMaxClockInfo", h, nv.NVML_CLOCK_SM),
            mem_clock_max_mhz=q("nvmlDeviceGetMaxClockInfo", h, nv.NVML_CLOCK_MEM),
            pcie_gen_max=q("nvmlDeviceGetMaxPcieLinkGeneration", h),
            pcie_width_max=q("nvmlDeviceGetMaxPcieLinkWidth", h),
        )

    def _memory(self, i: int, h: Any) -> tuple[int | None, int | None, int | None, int | None]:
        """(total, used, free, reserved). nvmlDeviceGetMemoryInfo_v2 reports `reserved` (driver/
        firmware memory) and a `used` that excludes it; v1 folds reserved into used."""
        nv = self._nv
        v2 = getattr(nv, "nvmlMemory_v2", None)
        if v2 is not None and self._mem_v2_ok.get(i, True):
            try:
                m = self._query("nvmlDeviceGetMemoryInfo", h, version=v2, _as="nvmlDeviceGetMemoryInfo_v2")
            except TypeError:  # an old pynvml without the version argument
                m = None
            if m is not None:
                return int(m.total), int(m.used), int(m.free), int(m.reserved)
            self._mem_v2_ok[i] = False
        m = self._query("nvmlDeviceGetMemoryInfo", h)
        if m is None:
            return None, None, None, None
        return int(m.total), int(m.used), int(m.free), None

    def _read_device(self, i: int, slow: bool) -> GpuSample:
        nv, q = self._nv, self._query
        h = self._handle(i)
        st = self._static.get(i)
        if st is None:
            st = self._static[i] = self._read_static(h)
        util = q("nvmlDeviceGetUtilizationRates", h)
        total, used, free, reserved = self._memory(i, h)
        power = q("nvmlDeviceGetPowerUsage", h)  # milliwatts
        limit = q("nvmlDeviceGetEnforcedPowerLimit", h)
        if limit is None:
            limit = q("nvmlDeviceGetPowerManagementLimit", h)
        mask = q("nvmlDeviceGetCurrentClocksEventReasons", h)
        if mask is None:  # drivers before r535 only have the older name
            mask = q("nvmlDeviceGetCurrentClocksThrottleReasons", h)
        pstate = q("nvmlDeviceGetPerformanceState", h)
        enc = q("nvmlDeviceGetEncoderUtilization", h)  # [util, sampling period us]
        dec = q("nvmlDeviceGetDecoderUtilization", h)
        # the four ECC counters together, every sample: read at different cadences the total
        # (aggregate) could show below its part (volatile)
        ecc = {
            (kind, where): q("nvmlDeviceGetTotalEccErrors", h, kind, where)
            for kind in (nv.NVML_MEMORY_ERROR_TYPE_CORRECTED, nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED)
            for where in (nv.NVML_VOLATILE_ECC, nv.NVML_AGGREGATE_ECC)
        }
        corr, unc = nv.NVML_MEMORY_ERROR_TYPE_CORRECTED, nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
        if slow:
            self._slow[i] = self._read_slow(i, h)
        sl = self._slow.get(i, _Slow())
        return GpuSample(
            index=i,
            uuid=st.uuid,
            name=st.name,
            bus_id=st.bus_id,
            state="ok",
            gpu_util_pct=None if util is None else int(util.gpu),
            mem_util_pct=None if util is None else int(util.memory),
            memory_total_bytes=total,
            memory_used_bytes=used,
            memory_free_bytes=free,
            memory_reserved_bytes=reserved,
            temperature_c=q("nvmlDeviceGetTemperature", h, nv.NVML_TEMPERATURE_GPU),
            temp_slowdown_c=st.temp_slowdown_c,
            temp_shutdown_c=st.temp_shutdown_c,
            power_w=None if power is None else power / 1000.0,
            power_limit_w=None if limit is None else limit / 1000.0,
            power_default_limit_w=st.power_default_limit_w,
            sm_clock_mhz=q("nvmlDeviceGetClockInfo", h, nv.NVML_CLOCK_SM),
            sm_clock_max_mhz=st.sm_clock_max_mhz,
            mem_clock_mhz=q("nvmlDeviceGetClockInfo", h, nv.NVML_CLOCK_MEM),
            mem_clock_max_mhz=st.mem_clock_max_mhz,
            fan_pct=q("nvmlDeviceGetFanSpeed", h),
            pstate=None if pstate is None or pstate == _PSTATE_UNKNOWN else int(pstate),
            clock_event_reasons=decode_clock_event_reasons(mask),
            ecc_corrected_volatile=ecc[(corr, nv.NVML_VOLATILE_ECC)],
            ecc_uncorrected_volatile=ecc[(unc, nv.NVML_VOLATILE_ECC)],
            ecc_corrected_aggregate=ecc[(corr, nv.NVML_AGGREGATE_ECC)],
            ecc_uncorrected_aggregate=ecc[(unc, nv.NVML_AGGREGATE_ECC)],
            retired_pages_sbe=sl.retired_pages_sbe,
            retired_pages_dbe=sl.retired_pages_dbe,
            retired_pages_pending=sl.retired_pages_pending,
            remapped_rows_correctable=sl.remapped_rows_correctable,
            remapped_rows_uncorrectable=sl.remapped_rows_uncorrectable,
            remap_pending=sl.remap_pending,
            remap_failure=sl.remap_failure,
            pcie_gen=q("nvmlDeviceGetCurrPcieLinkGeneration", h),
            pcie_gen_max=st.pcie_gen_max,
            pcie_width=q("nvmlDeviceGetCurrPcieLinkWidth", h),
            pcie_width_max=st.pcie_width_max,
            pcie_tx_kbps=sl.pcie_tx_kbps,
            pcie_rx_kbps=sl.pcie_rx_kbps,
            pcie_replay_count=sl.pcie_replay_count,
            encoder_util_pct=None if enc is None else int(enc[0]),
            decoder_util_pct=None if dec is None else int(dec[0]),
            mig_mode=sl.mig_mode,
            mig_instances=sl.mig_instances,
            persistence_mode=sl.persistence_mode,
            compute_mode=sl.compute_mode,
            processes=sl.processes,
        )

    def _read_slow(self, i: int, h: Any) -> _Slow:
        """Queries that are slow (nvmlDeviceGetPcieThroughput samples for ~20 ms per counter;
        process lists walk /proc) or change rarely."""
        nv, q = self._nv, self._query
        retired_sbe = q(
            "nvmlDeviceGetRetiredPages", h, nv.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS
        )
        retired_dbe = q("nvmlDeviceGetRetiredPages", h, nv.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR)
        pending = q("nvmlDeviceGetRetiredPagesPendingStatus", h)
        rows = q("nvmlDeviceGetRemappedRows", h)  # (correctable, uncorrectable, pending, failure)
        mig = q("nvmlDeviceGetMigMode", h)  # [current, pending]
        mig_mode = None if mig is None else int(mig[0]) == _MIG_ENABLE
        mig_instances: int | None = None if mig_mode is None else 0
        if mig_mode:
            max_count = q("nvmlDeviceGetMaxMigDeviceCount", h) or 0
            mig_instances = sum(
                1 for j in range(int(max_count)) if q("nvmlDeviceGetMigDeviceHandleByIndex", h, j) is not None
            )
        persistence = q("nvmlDeviceGetPersistenceMode", h)
        compute = q("nvmlDeviceGetComputeMode", h)
        return _Slow(
            pcie_tx_kbps=q("nvmlDeviceGetPcieThroughput", h, nv.NVML_PCIE_UTIL_TX_BYTES),
            pcie_rx_kbps=q("nvmlDeviceGetPcieThroughput", h, nv.NVML_PCIE_UTIL_RX_BYTES),
            # an error counter that changes rarely, read with the retired pages and remapped rows
            pcie_replay_count=q("nvmlDeviceGetPcieReplayCounter", h),
            processes=self._processes(i, h),
            mig_mode=mig_mode,
            mig_instances=mig_instances,
            persistence_mode=None if persistence is None else int(persistence) == 1,  # NVML_FEATURE_ENABLED
            compute_mode=None if compute is None else COMPUTE_MODES.get(int(compute), str(compute)),
            retired_pages_sbe=None if retired_sbe is None else len(retired_sbe),
            retired_pages_dbe=None if retired_dbe is None else len(retired_dbe),
            retired_pages_pending=None if pending is None else bool(pending),
            remapped_rows_correctable=None if rows is None else int(rows[0]),
            remapped_rows_uncorrectable=None if rows is None else int(rows[1]),
            remap_pending=None if rows is None else bool(rows[2]),
            remap_failure=None if rows is None else bool(rows[3]),
        )

    def _process_utilization(self, i: int, h: Any) -> dict[int, tuple[int, int]]:
        """pid -> (%SM, %memory bandwidth) from nvmlDeviceGetProcessUtilization: the samples the
        driver took since the newest one seen before (as nvitop does), the latest per PID."""
        since = self._proc_util_since.get(i, 0)
        samples = self._query("nvmlDeviceGetProcessUtilization", h, since)  # NOT_FOUND: none new
        out: dict[int, tuple[int, int, int]] = {}
        for smp in samples or ():
            ts = int(getattr(smp, "timeStamp", 0))
            pid = int(smp.pid)
            if pid not in out or ts >= out[pid][2]:
                out[pid] = (int(smp.smUtil), int(smp.memUtil), ts)
            since = max(since, ts)
        self._proc_util_since[i] = since
        return {pid: (sm, mem) for pid, (sm, mem, _) in out.items()}

    def _processes(self, i: int, h: Any) -> tuple[GpuProcess, ...] | None:
        q = self._query
        compute = q("nvmlDeviceGetComputeRunningProcesses", h)
        graphics = q("nvmlDeviceGetGraphicsRunningProcesses", h)
        if compute is None and graphics is None:
            return None  # N/A (e.g. no permission): unknown, not "no processes"
        util = self._process_utilization(i, h) if (compute or graphics) else {}
        seen: dict[int, GpuProcess] = {}
        for kind, procs in (("compute", compute or ()), ("graphics", graphics or ())):
            for p in procs:
                pid = int(p.pid)
                if pid in seen:  # a C+G process is listed by both calls
                    continue
                mem = getattr(p, "usedGpuMemory", None)
                sm, bw = util.get(pid, (None, None))
                info = self._process_info(pid)
                extra: dict[str, Any] = {}
                if info is None:  # not in this PID namespace (or exited): what NVML knows
                    user, command, visible = None, None, False
                elif isinstance(info, tuple):
                    user, command = info
                    visible = user is not None or command is not None
                else:
                    user, command, visible = info.user, info.command, True
                    extra = dict(cpu_pct=info.cpu_pct, host_mem_pct=info.mem_pct,
                                 host_rss_bytes=info.rss_bytes, started_at=info.started_at)
                if command is None:
                    command = _text(q("nvmlSystemGetProcessName", pid, _host=True))
                seen[pid] = GpuProcess(
                    pid=pid,
                    user=user,
                    command=command,
                    used_memory_bytes=None if mem is None else int(mem),
                    kind=kind,  # type: ignore[arg-type]
                    sm_util_pct=sm,
                    mem_bw_util_pct=bw,
                    in_namespace=visible,
                    **extra,
                )
        return tuple(seen[pid] for pid in sorted(seen))
