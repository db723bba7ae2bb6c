"""Test helpers (not a test module). A fake NVML in the style of gpustat's tests: the real `pynvml` module's functions are
monkeypatched per device from a table, and failures are real `pynvml.NVMLError(code)` subclasses.

Handles are what the real binding hands out: ctypes `c_nvmlDevice_t` pointers, a NEW pointer object on
every call (nvmlDeviceGetHandleByIndex, an event's `device`) holding the same address, so code that
compares handles by identity fails here as it does on a real driver.

Any NVML function the backend calls that is NOT stubbed here falls through to the real binding,
which (with no library loaded) raises NVMLError_Uninitialized and turns the device into an error
row, so a test notices an unexpected call.
"""

from __future__ import annotations

import ctypes
import queue
from collections import Counter
from types import SimpleNamespace
from typing import Any, Callable

import pynvml
import pytest

from engine.telemetry.nvml import NvmlBackend
from engine.telemetry.samples import HostStats

GIB = 1 << 30
MIB = 1 << 20


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


HANDLE_BASE = 0x7F00_0000_1000


def new_handle(index: int) -> Any:
    """A fresh pynvml device handle object for GPU `index` (equal by value, never identical)."""
    return ctypes.cast(ctypes.c_void_p(HANDLE_BASE + 0x100 * index), pynvml.c_nvmlDevice_t)


def handle_index(handle: Any) -> int:
    value = ctypes.cast(handle, ctypes.c_void_p).value
    if value is None or (value - HANDLE_BASE) % 0x100:
        raise nvml_error(pynvml.NVML_ERROR_INVALID_ARGUMENT)
    return (value - HANDLE_BASE) // 0x100


def util_sample(pid: int, sm: int, mem: int, ts: int) -> Any:
    smp = pynvml.c_nvmlProcessUtilizationSample_t()
    smp.pid, smp.smUtil, smp.memUtil, smp.timeStamp = pid, sm, mem, ts
    return smp


def nvml_error(code: int) -> pynvml.NVMLError:
    return pynvml.NVMLError(code)


def process(pid: int, used: int | None) -> Any:
    return pynvml.nvmlFriendlyObject({"pid": pid, "usedGpuMemory": used, "gpuInstanceId": 0, "computeInstanceId": 0})


def default_values(i: int) -> dict[str, Any]:
    """What a healthy H100 reports through pynvml (shapes as the real binding returns them)."""
    total = 81559 * MIB
    reserved = 512 * MIB
    used = (10 + 5 * i) * GIB
    pci = pynvml.nvmlPciInfo_t()
    pci.busId = f"00000000:{0x18 + 0x10 * i:02X}:00.0".encode()
    return {
        "nvmlDeviceGetUUID": f"GPU-0000000{i}-aaaa-bbbb-cccc-dddddddddddd",
        "nvmlDeviceGetName": "NVIDIA H100 80GB HBM3",
        "nvmlDeviceGetPciInfo": pci,
        "nvmlDeviceGetPowerManagementDefaultLimit": 700_000,
        "nvmlDeviceGetTemperatureThreshold": {
            pynvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN: 87,
            pynvml.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN: 92,
        },
        "nvmlDeviceGetMaxClockInfo": {pynvml.NVML_CLOCK_SM: 1980, pynvml.NVML_CLOCK_MEM: 2619},
        "nvmlDeviceGetMaxPcieLinkGeneration": 5,
        "nvmlDeviceGetMaxPcieLinkWidth": 16,
        "nvmlDeviceGetUtilizationRates": pynvml.c_nvmlUtilization_t(gpu=40 + i, memory=20 + i),
        "nvmlDeviceGetMemoryInfo": {
            "v2": pynvml.c_nvmlMemory_v2_t(
                version=pynvml.nvmlMemory_v2, total=total, reserved=reserved, free=total - reserved - used, used=used
            ),
            "v1": pynvml.c_nvmlMemory_t(total=total, free=total - reserved - used, used=used + reserved),
        },
        "nvmlDeviceGetPowerUsage": 350_500,
        "nvmlDeviceGetEnforcedPowerLimit": 700_000,
        "nvmlDeviceGetPowerManagementLimit": 700_000,
        "nvmlDeviceGetCurrentClocksEventReasons": 0,
        "nvmlDeviceGetCurrentClocksThrottleReasons": 0,
        "nvmlDeviceGetPerformanceState": 0,
        "nvmlDeviceGetEncoderUtilization": [3, 167000],
        "nvmlDeviceGetDecoderUtilization": [4, 167000],
        "nvmlDeviceGetTemperature": {pynvml.NVML_TEMPERATURE_GPU: 45 + i},
        "nvmlDeviceGetClockInfo": {pynvml.NVML_CLOCK_SM: 1755, pynvml.NVML_CLOCK_MEM: 2619},
        "nvmlDeviceGetFanSpeed": 30,
        "nvmlDeviceGetTotalEccErrors": {
            (pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED, pynvml.NVML_VOLATILE_ECC): 1,
            (pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, pynvml.NVML_VOLATILE_ECC): 0,
            (pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED, pynvml.NVML_AGGREGATE_ECC): 7,
            (pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, pynvml.NVML_AGGREGATE_ECC): 2,
        },
        "nvmlDeviceGetCurrPcieLinkGeneration": 5,
        "nvmlDeviceGetCurrPcieLinkWidth": 16,
        "nvmlDeviceGetRetiredPages": {
            pynvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS: [0x1000],
            pynvml.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR: [],
        },
        "nvmlDeviceGetRetiredPagesPendingStatus": pynvml.NVML_FEATURE_DISABLED,
        "nvmlDeviceGetRemappedRows": (3, 0, 0, 0),
        "nvmlDeviceGetPcieReplayCounter": 2,
        "nvmlDeviceGetMigMode": [pynvml.NVML_DEVICE_MIG_DISABLE, pynvml.NVML_DEVICE_MIG_DISABLE],
        "nvmlDeviceGetMaxMigDeviceCount": 7,
        "nvmlDeviceGetMigDeviceHandleByIndex": lambda j: pytest.fail("MIG handles queried with MIG off"),
        "nvmlDeviceGetPcieThroughput": {pynvml.NVML_PCIE_UTIL_TX_BYTES: 1000, pynvml.NVML_PCIE_UTIL_RX_BYTES: 2000},
        "nvmlDeviceGetComputeRunningProcesses": [process(4100 + i, 9 * GIB)],
        "nvmlDeviceGetGraphicsRunningProcesses": [],
        "nvmlDeviceGetPersistenceMode": pynvml.NVML_FEATURE_ENABLED,
        "nvmlDeviceGetComputeMode": pynvml.NVML_COMPUTEMODE_DEFAULT,
        "nvmlDeviceGetProcessUtilization": lambda since: [util_sample(4100 + i, 30 + i, 12 + i, since + 1000)],
        "nvmlDeviceGetSupportedEventTypes": pynvml.nvmlEventTypeXidCriticalError
        | pynvml.nvmlEventTypeDoubleBitEccError
        | pynvml.nvmlEventTypeSingleBitEccError,
        "nvmlDeviceRegisterEvents": None,
    }


class FakeDevice:
    def __init__(self, index: int) -> None:
        self.index = index
        self.values = default_values(index)
        self.errors: dict[str, int] = {}  # function name -> NVML error code raised by it
        self.lost = False  # every call raises NVML_ERROR_GPU_IS_LOST
        self.calls: Counter[str] = Counter()

    @property
    def handle(self) -> Any:
        return new_handle(self.index)


# Functions taking a device handle first; looked up in FakeDevice.values.
DEVICE_FUNCTIONS = (
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetName",
    "nvmlDeviceGetPciInfo",
    "nvmlDeviceGetPowerManagementDefaultLimit",
    "nvmlDeviceGetTemperatureThreshold",
    "nvmlDeviceGetMaxClockInfo",
    "nvmlDeviceGetMaxPcieLinkGeneration",
    "nvmlDeviceGetMaxPcieLinkWidth",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetEnforcedPowerLimit",
    "nvmlDeviceGetPowerManagementLimit",
    "nvmlDeviceGetCurrentClocksEventReasons",
    "nvmlDeviceGetCurrentClocksThrottleReasons",
    "nvmlDeviceGetPerformanceState",
    "nvmlDeviceGetEncoderUtilization",
    "nvmlDeviceGetDecoderUtilization",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetFanSpeed",
    "nvmlDeviceGetTotalEccErrors",
    "nvmlDeviceGetCurrPcieLinkGeneration",
    "nvmlDeviceGetCurrPcieLinkWidth",
    "nvmlDeviceGetRetiredPages",
    "nvmlDeviceGetRetiredPagesPendingStatus",
    "nvmlDeviceGetRemappedRows",
    "nvmlDeviceGetPcieReplayCounter",
    "nvmlDeviceGetMigMode",
    "nvmlDeviceGetMaxMigDeviceCount",
    "nvmlDeviceGetMigDeviceHandleByIndex",
    "nvmlDeviceGetPcieThroughput",
    "nvmlDeviceGetComputeRunningProcesses",
    "nvmlDeviceGetGraphicsRunningProcesses",
    "nvmlDeviceGetPersistenceMode",
    "nvmlDeviceGetComputeMode",
    "nvmlDeviceGetProcessUtilization",
    "nvmlDeviceGetSupportedEventTypes",
    "nvmlDeviceRegisterEvents",
)


HOST_STATS = HostStats(cpu_pct=12.5, cpu_count=32, mem_total_bytes=512 * GIB, mem_used_bytes=100 * GIB,
                       swap_total_bytes=8 * GIB, swap_used_bytes=0, load_1=4.0, load_5=3.5, load_15=3.0)


class FakeNvml:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, n_devices: int = 2) -> None:
        self.mp = monkeypatch
        self.devices = [FakeDevice(i) for i in range(n_devices)]
        self.init_error: int | None = None
        self.calls: Counter[str] = Counter()
        self.events: queue.Queue[Any] = queue.Queue()
        self.event_wait_error: int | None = None
        self.processes: dict[int, tuple[str | None, str | None]] = {}
        self.backends: list[NvmlBackend] = []
        self._install()

    # -- device table --------------------------------------------------------------------
    def _device_fn(self, name: str) -> Callable[..., Any]:
        def fn(handle: Any, *args: Any, **kwargs: Any) -> Any:
            dev = self.devices[handle_index(handle)]
            dev.calls[name] += 1
            self.calls[name] += 1
            if dev.lost:
                raise nvml_error(pynvml.NVML_ERROR_GPU_IS_LOST)
            if name in dev.errors:
                raise nvml_error(dev.errors[name])
            value = dev.values[name]
            if name == "nvmlDeviceGetMemoryInfo":
                return value["v2" if kwargs.get("version") else "v1"]
            if callable(value):
                return value(*args)
            if isinstance(value, dict):
                return value[args[0] if len(args) == 1 else tuple(args)]
            return value

        fn.__name__ = name
        return fn

    def _install(self) -> None:
        mp = self.mp
        for name in DEVICE_FUNCTIONS:
            mp.setattr(pynvml, name, self._device_fn(name))

        def count(name: str) -> None:
            self.calls[name] += 1

        def nvmlInit() -> None:
            count("nvmlInit")
            if self.init_error is not None:
                raise nvml_error(self.init_error)

        def nvmlShutdown() -> None:
            count("nvmlShutdown")

        def nvmlDeviceGetCount() -> int:
            count("nvmlDeviceGetCount")
            return len(self.devices)

        def nvmlDeviceGetHandleByIndex(i: int) -> Any:
            count("nvmlDeviceGetHandleByIndex")
            dev = self.devices[i]
            dev.calls["nvmlDeviceGetHandleByIndex"] += 1
            if dev.lost:
                raise nvml_error(pynvml.NVML_ERROR_GPU_IS_LOST)
            return dev.handle

        def nvmlDeviceGetIndex(handle: Any) -> int:
            count("nvmlDeviceGetIndex")
            index = handle_index(handle)
            if self.devices[index].lost:
                raise nvml_error(pynvml.NVML_ERROR_GPU_IS_LOST)
            return index

        def nvmlSystemGetProcessName(pid: int) -> str:
            count("nvmlSystemGetProcessName")
            return f"proc-{pid}"

        def nvmlEventSetCreate() -> object:
            count("nvmlEventSetCreate")
            return object()

        def nvmlEventSetWait_v2(event_set: object, timeout_ms: int) -> Any:
            count("nvmlEventSetWait_v2")
            if self.event_wait_error is not None:
                raise nvml_error(self.event_wait_error)
            try:
                index, etype, data = self.events.get(timeout=timeout_ms / 1000)
            except queue.Empty:
                raise nvml_error(pynvml.NVML_ERROR_TIMEOUT) from None
            # a handle NVML never handed out before (index None) stands for a device it cannot name
            device = new_handle(index) if index is not None else ctypes.cast(
                ctypes.c_void_p(0xDEAD_0000), pynvml.c_nvmlDevice_t)
            return SimpleNamespace(device=device, eventType=etype, eventData=data)

        def nvmlEventSetFree(event_set: object) -> None:
            count("nvmlEventSetFree")

        for fn in (
            nvmlInit,
            nvmlShutdown,
            nvmlDeviceGetCount,
            nvmlDeviceGetHandleByIndex,
            nvmlDeviceGetIndex,
            nvmlSystemGetProcessName,
            nvmlEventSetCreate,
            nvmlEventSetWait_v2,
            nvmlEventSetFree,
        ):
            mp.setattr(pynvml, fn.__name__, fn)
        mp.setattr(pynvml, "nvmlSystemGetDriverVersion", lambda: "550.54.15")
        mp.setattr(pynvml, "nvmlSystemGetCudaDriverVersion_v2", lambda: 12040)
        mp.setattr(pynvml, "nvmlSystemGetCudaDriverVersion", lambda: 12040)
        mp.setattr(pynvml, "nvmlSystemGetNVMLVersion", lambda: "12.550.54.15")

    def process_info(self, pid: int) -> tuple[str | None, str | None]:
        return self.processes.get(pid, ("alice", f"python serve.py --pid {pid}"))

    def backend(self, **kwargs: Any) -> NvmlBackend:
        kwargs.setdefault("events", False)
        kwargs.setdefault("process_info", self.process_info)
        kwargs.setdefault("host_stats", lambda: HOST_STATS)
        b = NvmlBackend(**kwargs)
        self.backends.append(b)
        return b

    def close_all(self) -> None:
        for b in self.backends:
            b.close()
