"""NvmlBackend against a stubbed pynvml raising real NVMLError subclasses (gpustat style)."""

from __future__ import annotations

import ctypes
import logging
import sys
import time
from pathlib import Path

import pynvml
import pytest

from engine.telemetry.nvml import LIBRARY_NOT_FOUND, NvmlBackend
from engine.telemetry.samples import HostSample

from .telemetry_fakes import GIB, MIB, FakeClock, FakeNvml, process


def test_the_error_factory_gives_real_subclasses():
    # what the fakes rely on: NVMLError(code) returns the specific subclass
    assert type(pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)) is pynvml.NVMLError_GpuIsLost
    assert isinstance(pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED), pynvml.NVMLError_NotSupported)


# ---- library missing ------------------------------------------------------------------------


def test_library_not_found_at_init_gives_a_host_error_not_an_exception(fake_nvml: FakeNvml, clock: FakeClock):
    fake_nvml.init_error = pynvml.NVML_ERROR_LIBRARY_NOT_FOUND
    b = fake_nvml.backend(clock=clock, init_retry_s=30)
    s = b.sample()
    assert isinstance(s, HostSample)
    assert s.gpus == ()
    assert s.error == LIBRARY_NOT_FOUND
    assert s.error.startswith("NVML library not found")
    assert "install the NVIDIA driver" in s.error
    assert s.backend == "nvml" and s.simulated is False
    # no re-init attempt on every tick...
    b.sample()
    assert fake_nvml.calls["nvmlInit"] == 1
    # ...but after the retry delay; the driver has appeared meanwhile
    fake_nvml.init_error = None
    clock.advance(31)
    s = b.sample()
    assert fake_nvml.calls["nvmlInit"] == 2
    assert s.error is None and len(s.gpus) == 2


def test_driver_not_loaded_is_named(fake_nvml: FakeNvml):
    fake_nvml.init_error = pynvml.NVML_ERROR_DRIVER_NOT_LOADED
    s = fake_nvml.backend().sample()
    assert s.gpus == () and "driver not loaded" in (s.error or "")


def test_pynvml_missing_entirely(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    s = NvmlBackend(events=False).sample()
    assert s.gpus == ()
    assert s.error is not None and s.error.startswith("NVML library not found")
    assert "nvidia-ml-py" in s.error


def _libnvml_present() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
        return True
    except OSError:
        return False


@pytest.mark.skipif(_libnvml_present(), reason="this machine has an NVIDIA driver")
def test_real_pynvml_without_a_driver():
    b = NvmlBackend(events=False)
    s = b.sample()
    b.close()
    assert s.gpus == () and s.error == LIBRARY_NOT_FOUND


def test_importing_the_package_does_not_load_pynvml():
    import subprocess

    code = "import sys, engine.telemetry, engine.telemetry.nvml; print('pynvml' in sys.modules)"
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"


# ---- decoding -------------------------------------------------------------------------------


def test_healthy_devices_are_decoded(fake_nvml: FakeNvml):
    d0 = fake_nvml.devices[0]
    d0.values["nvmlDeviceGetCurrentClocksEventReasons"] = (
        pynvml.nvmlClocksEventReasonHwSlowdown | pynvml.nvmlClocksEventReasonHwThermalSlowdown
    )
    d0.values["nvmlDeviceGetRemappedRows"] = (3, 1, 1, 0)
    d0.values["nvmlDeviceGetGraphicsRunningProcesses"] = [process(4100, 9 * GIB), process(777, None)]
    fake_nvml.processes[777] = (None, None)  # not visible in /proc: name from NVML
    b = fake_nvml.backend()
    s = b.sample()
    assert s.error is None
    assert s.driver_version == "550.54.15" and s.cuda_version == "12.4" and s.nvml_version == "12.550.54.15"
    g = s.gpus[0]
    assert g.state == "ok" and g.error is None
    assert g.uuid == "GPU-00000000-aaaa-bbbb-cccc-dddddddddddd"
    assert g.name == "NVIDIA H100 80GB HBM3"
    assert g.bus_id == "00000000:18:00.0"
    assert (g.gpu_util_pct, g.mem_util_pct) == (40, 20)
    # memory info v2: reserved reported separately, used excludes it
    assert g.memory_total_bytes == 81559 * MIB
    assert g.memory_reserved_bytes == 512 * MIB
    assert g.memory_used_bytes == 10 * GIB
    assert g.memory_free_bytes == 81559 * MIB - 512 * MIB - 10 * GIB
    assert (g.temperature_c, g.temp_slowdown_c, g.temp_shutdown_c) == (45, 87, 92)
    assert (g.power_w, g.power_limit_w, g.power_default_limit_w) == (350.5, 700.0, 700.0)
    assert (g.sm_clock_mhz, g.sm_clock_max_mhz, g.mem_clock_mhz, g.mem_clock_max_mhz) == (1755, 1980, 2619, 2619)
    assert g.fan_pct == 30 and g.pstate == 0
    assert g.clock_event_reasons == ("hw_slowdown", "hw_thermal_slowdown")
    assert (g.ecc_corrected_volatile, g.ecc_uncorrected_volatile) == (1, 0)
    assert (g.ecc_corrected_aggregate, g.ecc_uncorrected_aggregate) == (7, 2)
    assert (g.retired_pages_sbe, g.retired_pages_dbe, g.retired_pages_pending) == (1, 0, False)
    assert (g.remapped_rows_correctable, g.remapped_rows_uncorrectable) == (3, 1)
    assert (g.remap_pending, g.remap_failure) == (True, False)
    assert (g.pcie_gen, g.pcie_gen_max, g.pcie_width, g.pcie_width_max) == (5, 5, 16, 16)
    assert (g.pcie_tx_kbps, g.pcie_rx_kbps) == (1000, 2000)
    assert g.pcie_replay_count == 2
    assert (g.encoder_util_pct, g.decoder_util_pct) == (3, 4)
    assert (g.mig_mode, g.mig_instances) == (False, 0)
    # C+G process listed once (as compute); a graphics-only one with its NVML name
    assert g.processes is not None
    assert [(p.pid, p.kind) for p in g.processes] == [(777, "graphics"), (4100, "compute")]
    p777, p4100 = g.processes
    assert (p4100.user, p4100.command, p4100.used_memory_bytes) == ("alice", "python serve.py --pid 4100", 9 * GIB)
    assert (p777.user, p777.command, p777.used_memory_bytes) == (None, "proc-777", None)
    assert s.gpus[1].gpu_util_pct == 41 and s.gpus[1].temperature_c == 46
    b.close()


def test_mig_instances_are_counted(fake_nvml: FakeNvml):
    d = fake_nvml.devices[0]
    d.values["nvmlDeviceGetMigMode"] = [pynvml.NVML_DEVICE_MIG_ENABLE, pynvml.NVML_DEVICE_MIG_ENABLE]
    present = {0, 2, 5}

    def mig_handle(j: int) -> object:
        if j not in present:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
        return object()

    d.values["nvmlDeviceGetMigDeviceHandleByIndex"] = mig_handle
    g = fake_nvml.backend().sample().gpus[0]
    assert g.state == "ok" and g.mig_mode is True and g.mig_instances == 3


def test_pstate_unknown_is_none(fake_nvml: FakeNvml):
    fake_nvml.devices[0].values["nvmlDeviceGetPerformanceState"] = pynvml.NVML_PSTATE_UNKNOWN
    assert fake_nvml.backend().sample().gpus[0].pstate is None


# ---- per-device isolation -------------------------------------------------------------------


def test_one_gpu_lost_mid_run_others_keep_updating(fake_nvml: FakeNvml):
    b = fake_nvml.backend()
    s1 = b.sample()
    assert [g.state for g in s1.gpus] == ["ok", "ok"]
    # second sample: device 1 is lost, device 0 has new readings
    fake_nvml.devices[1].lost = True
    fake_nvml.devices[0].values["nvmlDeviceGetUtilizationRates"] = pynvml.c_nvmlUtilization_t(gpu=99, memory=50)
    fake_nvml.devices[0].values["nvmlDeviceGetTemperature"] = {pynvml.NVML_TEMPERATURE_GPU: 71}
    s2 = b.sample()
    g0, g1 = s2.gpus
    assert g0.state == "ok" and g0.gpu_util_pct == 99 and g0.temperature_c == 71
    assert g1.state == "lost"
    assert g1.error is not None and "GPU is lost" in g1.error
    # the lost row keeps its identity and has no stale figures
    assert g1.uuid == s1.gpus[1].uuid and g1.name == s1.gpus[1].name and g1.bus_id == s1.gpus[1].bus_id
    assert g1.memory_used_bytes is None and g1.gpu_util_pct is None and g1.processes is None
    assert s2.error is None


def test_unknown_error_on_one_field_makes_an_error_row(fake_nvml: FakeNvml):
    fake_nvml.devices[0].errors["nvmlDeviceGetPowerUsage"] = pynvml.NVML_ERROR_UNKNOWN
    s = fake_nvml.backend().sample()
    assert s.gpus[0].state == "error" and "Unknown Error" in (s.gpus[0].error or "")
    assert s.gpus[1].state == "ok" and s.gpus[1].power_w == 350.5


# ---- N/A ------------------------------------------------------------------------------------


def test_fields_not_supported_are_none(fake_nvml: FakeNvml):
    d = fake_nvml.devices[0]
    for name in (
        "nvmlDeviceGetFanSpeed",
        "nvmlDeviceGetEncoderUtilization",
        "nvmlDeviceGetTotalEccErrors",
        "nvmlDeviceGetRemappedRows",
        "nvmlDeviceGetRetiredPages",
        "nvmlDeviceGetTemperatureThreshold",
        "nvmlDeviceGetPcieThroughput",
        "nvmlDeviceGetMigMode",
    ):
        d.errors[name] = pynvml.NVML_ERROR_NOT_SUPPORTED
    g = fake_nvml.backend().sample().gpus[0]
    assert g.state == "ok" and g.error is None
    assert g.fan_pct is None and g.encoder_util_pct is None
    assert g.ecc_corrected_volatile is None and g.ecc_uncorrected_aggregate is None
    assert g.remapped_rows_correctable is None and g.remap_pending is None and g.remap_failure is None
    assert g.retired_pages_sbe is None and g.retired_pages_dbe is None
    assert g.temp_slowdown_c is None and g.temp_shutdown_c is None
    assert g.pcie_tx_kbps is None and g.mig_mode is None and g.mig_instances is None
    # everything else still read
    assert g.decoder_util_pct == 4 and g.temperature_c == 45 and g.memory_used_bytes == 10 * GIB


def test_memory_v2_unsupported_falls_back_to_v1_once(fake_nvml: FakeNvml):
    d = fake_nvml.devices[0]
    calls: list[object] = []
    v1 = d.values["nvmlDeviceGetMemoryInfo"]["v1"]

    def mem(handle, version=None):  # noqa: ANN001
        calls.append(version)
        if version:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        return v1

    fake_nvml.mp.setattr(pynvml, "nvmlDeviceGetMemoryInfo", mem)
    fake_nvml.devices.pop()  # one device keeps the call list simple
    b = fake_nvml.backend()
    g = b.sample().gpus[0]
    assert g.memory_reserved_bytes is None
    assert g.memory_used_bytes == 10 * GIB + 512 * MIB  # v1 folds reserved into used
    b.sample()
    assert calls == [pynvml.nvmlMemory_v2, None, None]  # v2 not retried every tick


def test_function_not_found_falls_back_and_is_logged_once(fake_nvml: FakeNvml, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="gpuplan.telemetry")
    for d in fake_nvml.devices:
        d.errors["nvmlDeviceGetCurrentClocksEventReasons"] = pynvml.NVML_ERROR_FUNCTION_NOT_FOUND
        d.values["nvmlDeviceGetCurrentClocksThrottleReasons"] = pynvml.nvmlClocksThrottleReasonSwPowerCap
    b = fake_nvml.backend()
    for _ in range(3):
        s = b.sample()
        assert all(g.clock_event_reasons == ("sw_power_cap",) for g in s.gpus)
    logged = [r for r in caplog.records if "nvmlDeviceGetCurrentClocksEventReasons" in r.getMessage()]
    assert len(logged) == 1


def test_function_deleted_from_an_old_pynvml_is_none_and_logged_once(
    fake_nvml: FakeNvml, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="gpuplan.telemetry")
    fake_nvml.mp.delattr(pynvml, "nvmlDeviceGetRemappedRows")
    b = fake_nvml.backend(slow_every=1)
    for _ in range(3):
        s = b.sample()
        assert all(g.state == "ok" and g.remapped_rows_correctable is None for g in s.gpus)
    logged = [r for r in caplog.records if "nvmlDeviceGetRemappedRows" in r.getMessage()]
    assert len(logged) == 1


def test_no_permission_on_process_list(fake_nvml: FakeNvml):
    d0, d1 = fake_nvml.devices
    d0.errors["nvmlDeviceGetComputeRunningProcesses"] = pynvml.NVML_ERROR_NO_PERMISSION
    d0.errors["nvmlDeviceGetGraphicsRunningProcesses"] = pynvml.NVML_ERROR_NO_PERMISSION
    d1.errors["nvmlDeviceGetComputeRunningProcesses"] = pynvml.NVML_ERROR_NO_PERMISSION
    d1.values["nvmlDeviceGetGraphicsRunningProcesses"] = [process(55, 1 * GIB)]
    g0, g1 = fake_nvml.backend().sample().gpus
    assert g0.state == "ok" and g0.processes is None  # unknown, not "none running"
    assert g0.gpu_util_pct == 40
    assert g1.processes is not None and [(p.pid, p.kind) for p in g1.processes] == [(55, "graphics")]


def test_no_processes_is_an_empty_tuple(fake_nvml: FakeNvml):
    fake_nvml.devices[0].values["nvmlDeviceGetComputeRunningProcesses"] = []
    assert fake_nvml.backend().sample().gpus[0].processes == ()


# ---- circuit breaker ------------------------------------------------------------------------


def test_circuit_breaker_backs_off_and_recovers(fake_nvml: FakeNvml, clock: FakeClock):
    d1 = fake_nvml.devices[1]
    d1.errors["nvmlDeviceGetUtilizationRates"] = pynvml.NVML_ERROR_UNKNOWN
    b = fake_nvml.backend(clock=clock, breaker_failures=2, breaker_cooldown_s=10)
    assert b.sample().gpus[1].state == "error"
    s = b.sample()
    # backed off: still an error row (the backoff is a detail), retried in 10 s
    assert s.gpus[1].state == "error" and s.gpus[1].retry_in_s == 10 and s.gpus[1].failures == 2
    assert s.gpus[1].error == "NVML: Unknown Error"
    assert s.gpus[0].state == "ok"
    # while backed off the device is not touched at all
    calls = sum(d1.calls.values())
    clock.advance(5)
    s = b.sample()
    assert s.gpus[1].state == "error" and s.gpus[1].retry_in_s == 5
    assert s.gpus[1].uuid == "GPU-00000001-aaaa-bbbb-cccc-dddddddddddd"
    assert sum(d1.calls.values()) == calls
    # after the cooldown it is retried; still failing -> backed off again, cooldown doubled
    clock.advance(6)
    s = b.sample()
    assert sum(d1.calls.values()) > calls
    assert s.gpus[1].state == "error" and s.gpus[1].retry_in_s == 20 and s.gpus[1].failures == 3
    # the device heals; after the (doubled) cooldown it is ok again with fresh figures
    del d1.errors["nvmlDeviceGetUtilizationRates"]
    clock.advance(15)
    assert b.sample().gpus[1].retry_in_s == 5
    clock.advance(6)
    s = b.sample()
    assert s.gpus[1].state == "ok" and s.gpus[1].gpu_util_pct == 41 and s.gpus[1].error is None
    assert s.gpus[1].retry_in_s is None and s.gpus[1].failures is None
    # and the failure count was reset: one new failure is an error, not a backoff
    d1.errors["nvmlDeviceGetUtilizationRates"] = pynvml.NVML_ERROR_UNKNOWN
    assert b.sample().gpus[1].retry_in_s is None


def test_lost_gpu_is_backed_off_then_reacquired(fake_nvml: FakeNvml, clock: FakeClock):
    d1 = fake_nvml.devices[1]
    b = fake_nvml.backend(clock=clock, breaker_failures=3, breaker_cooldown_s=30)
    b.sample()
    d1.lost = True
    rows = [b.sample().gpus[1] for _ in range(4)]
    # lost stays lost while backed off; the countdown is a detail
    assert [g.state for g in rows] == ["lost", "lost", "lost", "lost"]
    assert [g.retry_in_s for g in rows] == [None, None, 30, 30]
    d1.lost = False
    clock.advance(31)
    handles_before = d1.calls["nvmlDeviceGetHandleByIndex"]
    s = b.sample()
    assert s.gpus[1].state == "ok"
    assert d1.calls["nvmlDeviceGetHandleByIndex"] == handles_before + 1  # handle re-acquired


# ---- cadence --------------------------------------------------------------------------------


def test_slow_queries_run_every_nth_sample_and_are_reused(fake_nvml: FakeNvml):
    d0 = fake_nvml.devices[0]
    b = fake_nvml.backend(slow_every=3)
    seen = []
    for k in range(7):
        if k == 1:  # the device's counters change right after the first (slow) sample
            d0.values["nvmlDeviceGetPcieThroughput"] = {
                pynvml.NVML_PCIE_UTIL_TX_BYTES: 5555,
                pynvml.NVML_PCIE_UTIL_RX_BYTES: 6666,
            }
            d0.values["nvmlDeviceGetComputeRunningProcesses"] = []
        s = b.sample()
        g = s.gpus[0]
        seen.append((g.pcie_tx_kbps, len(g.processes or ())))
    # slow samples are #0, #3, #6: throughput read twice (tx, rx) on each, per device
    assert d0.calls["nvmlDeviceGetPcieThroughput"] == 3 * 2
    assert d0.calls["nvmlDeviceGetComputeRunningProcesses"] == 3
    assert d0.calls["nvmlDeviceGetRemappedRows"] == 3
    assert d0.calls["nvmlDeviceGetUtilizationRates"] == 7  # fast fields every sample
    assert seen == [(1000, 1), (1000, 1), (1000, 1), (5555, 0), (5555, 0), (5555, 0), (5555, 0)]


def test_static_facts_are_read_once(fake_nvml: FakeNvml):
    b = fake_nvml.backend()
    for _ in range(4):
        b.sample()
    assert fake_nvml.devices[0].calls["nvmlDeviceGetUUID"] == 1
    assert fake_nvml.devices[0].calls["nvmlDeviceGetTemperatureThreshold"] == 2  # slowdown + shutdown


# ---- lifecycle ------------------------------------------------------------------------------


def test_lazy_init_once_and_shutdown_at_close(fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch):
    registered = []
    monkeypatch.setattr("atexit.register", lambda fn: registered.append(fn))
    monkeypatch.setattr("atexit.unregister", lambda fn: registered.remove(fn))
    b = fake_nvml.backend()
    assert fake_nvml.calls["nvmlInit"] == 0  # nothing at construction
    b.sample()
    b.sample()
    b.open()
    assert fake_nvml.calls["nvmlInit"] == 1
    assert registered == [b.close]
    b.close()
    assert fake_nvml.calls["nvmlShutdown"] == 1
    assert registered == []
    b.close()
    assert fake_nvml.calls["nvmlShutdown"] == 1
    # usable again after close: re-initialises
    assert len(b.sample().gpus) == 2
    assert fake_nvml.calls["nvmlInit"] == 2
    b.close()


# ---- events ---------------------------------------------------------------------------------


def test_xid_and_double_bit_events_reach_the_next_sample(fake_nvml: FakeNvml):
    b = fake_nvml.backend(events=True, event_timeout_ms=20)
    b.open()
    assert fake_nvml.calls["nvmlEventSetCreate"] == 1
    assert fake_nvml.devices[0].calls["nvmlDeviceRegisterEvents"] == 1
    fake_nvml.events.put((1, pynvml.nvmlEventTypeXidCriticalError, 79))
    fake_nvml.events.put((0, pynvml.nvmlEventTypeDoubleBitEccError, 0))
    deadline = time.monotonic() + 2
    while not fake_nvml.events.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    s = b.sample()
    assert [(e.gpu_index, e.kind, e.xid) for e in s.gpus[1].xid_events] == [(1, "xid", 79)]
    assert [(e.gpu_index, e.kind, e.xid) for e in s.gpus[0].xid_events] == [(0, "double_bit_ecc", None)]
    # drained: each event appears in one sample only
    assert b.sample().xid_events == ()
    t0 = time.monotonic()
    b.close()
    assert time.monotonic() - t0 < 1.0  # the wait has a timeout, so the thread stops promptly
    assert fake_nvml.calls["nvmlEventSetFree"] == 1


def test_event_wait_errors_do_not_kill_the_watcher(fake_nvml: FakeNvml):
    fake_nvml.event_wait_error = pynvml.NVML_ERROR_UNKNOWN
    b = fake_nvml.backend(events=True, event_timeout_ms=20)
    b.open()
    time.sleep(0.05)
    assert b._watcher is not None and b._watcher.running
    fake_nvml.event_wait_error = None
    fake_nvml.events.put((0, pynvml.nvmlEventTypeXidCriticalError, 48))
    deadline = time.monotonic() + 3
    events = ()
    while not events and time.monotonic() < deadline:
        events = b.sample().xid_events
        time.sleep(0.05)
    assert [(e.gpu_index, e.xid) for e in events] == [(0, 48)]
    b.close()


def test_no_event_support_means_no_thread(fake_nvml: FakeNvml):
    for d in fake_nvml.devices:
        d.values["nvmlDeviceGetSupportedEventTypes"] = 0
    b = fake_nvml.backend(events=True, event_timeout_ms=20)
    s = b.sample()
    assert b._watcher is None and len(s.gpus) == 2
    b.close()


# ---- PCIe replay counter ------------------------------------------------------------------------


def test_pcie_replay_counter_is_read_at_the_slow_cadence_and_na_where_unsupported(fake_nvml: FakeNvml):
    d0, d1 = fake_nvml.devices
    d1.errors["nvmlDeviceGetPcieReplayCounter"] = pynvml.NVML_ERROR_NOT_SUPPORTED  # e.g. a consumer board
    b = fake_nvml.backend(slow_every=3)
    seen = []
    for k in range(7):
        if k == 1:
            d0.values["nvmlDeviceGetPcieReplayCounter"] = 40  # the link retried between reads
        s = b.sample()
        seen.append(tuple(g.pcie_replay_count for g in s.gpus))
        assert all(g.state == "ok" for g in s.gpus)  # N/A is not a device error
    assert [a for a, _ in seen] == [2, 2, 2, 40, 40, 40, 40]  # read on samples #0, #3, #6, reused between
    assert {b_ for _, b_ in seen} == {None}
    assert d0.calls["nvmlDeviceGetPcieReplayCounter"] == 3


def test_pcie_replay_counter_missing_from_the_driver_or_the_binding_is_none(fake_nvml: FakeNvml):
    d0, d1 = fake_nvml.devices
    d0.errors["nvmlDeviceGetPcieReplayCounter"] = pynvml.NVML_ERROR_FUNCTION_NOT_FOUND
    d1.errors["nvmlDeviceGetPcieReplayCounter"] = pynvml.NVML_ERROR_NO_PERMISSION
    s = fake_nvml.backend().sample()
    assert [(g.state, g.pcie_replay_count) for g in s.gpus] == [("ok", None), ("ok", None)]
    fake_nvml.mp.delattr(pynvml, "nvmlDeviceGetPcieReplayCounter")  # a pynvml older than the call
    s = fake_nvml.backend().sample()
    assert [(g.state, g.pcie_replay_count) for g in s.gpus] == [("ok", None), ("ok", None)]


def test_pcie_replay_counter_failing_unexpectedly_makes_an_error_row(fake_nvml: FakeNvml):
    fake_nvml.devices[0].errors["nvmlDeviceGetPcieReplayCounter"] = pynvml.NVML_ERROR_UNKNOWN
    s = fake_nvml.backend().sample()
    assert s.gpus[0].state == "error" and "Unknown" in (s.gpus[0].error or "")
    assert s.gpus[1].state == "ok" and s.gpus[1].pcie_replay_count == 2
