"""The faults issue 9 saw on screen, each at the pynvml level: handles are distinct ctypes pointer
objects (equal by value), a lost GPU raises NVMLError_GpuIsLost on every call, ECC counters move
between reads; plus what NVML and psutil tell about processes and the host."""

from __future__ import annotations

import os
import time

import pynvml
import pytest

from engine.telemetry.fits import fits_here
from engine.telemetry.health import RULE_GPU_LOST, RULE_XID_CRITICAL, AlertBook, evaluate, unhealthy_gpus
from engine.telemetry.nvml import NvmlBackend, handle_key
from engine.telemetry.procinfo import ProcessInspector
from engine.telemetry.samples import GpuSample, HostSample, XidEvent

from .telemetry_fakes import GIB, MIB, FakeClock, FakeNvml, new_handle

XID = pynvml.nvmlEventTypeXidCriticalError


def wait_for_events(b: NvmlBackend, n: int) -> None:
    """Until the watcher thread has queued `n` events (its own state, not a sleep)."""
    deadline = time.monotonic() + 5
    while len(b._watcher._events) < n:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the event watcher never queued the event"
        time.sleep(0.005)


def test_handles_are_distinct_objects_equal_by_value():
    a, b = new_handle(1), new_handle(1)
    assert a is not b and isinstance(a, pynvml.c_nvmlDevice_t)
    assert handle_key(a) == handle_key(b) != handle_key(new_handle(0))


# ---- 1. Xid events of a lost GPU ------------------------------------------------------------------


def test_xid_of_a_gpu_that_is_lost_now_reaches_its_row(fake_nvml: FakeNvml):
    b = fake_nvml.backend(events=True, event_timeout_ms=20)
    b.open()
    fake_nvml.devices[1].lost = True  # fell off the bus: every call raises NVMLError_GpuIsLost
    fake_nvml.events.put((1, XID, 79))
    wait_for_events(b, 1)
    s = b.sample()
    g1 = s.gpu(1)
    assert g1 is not None and g1.state == "lost"
    assert [(e.gpu_index, e.xid) for e in g1.xid_events] == [(1, 79)]
    assert s.host_events == ()
    # matched by the handle's value: NVML was never asked (it cannot answer for a lost GPU)
    assert fake_nvml.calls["nvmlDeviceGetIndex"] == 0
    alerts = {(a.gpu_index, a.rule, a.value) for a in evaluate(s)}
    assert (1, RULE_XID_CRITICAL, 79) in alerts and (1, RULE_GPU_LOST, "lost") in alerts
    b.close()


def test_an_event_no_gpu_matches_becomes_a_host_alert(fake_nvml: FakeNvml):
    b = fake_nvml.backend(events=True, event_timeout_ms=20)
    b.open()
    fake_nvml.events.put((None, XID, 79))  # a handle NVML never handed out
    wait_for_events(b, 1)
    s = b.sample()
    assert all(not g.xid_events for g in s.gpus)
    assert [(e.gpu_index, e.xid) for e in s.host_events] == [(-1, 79)]
    assert "0xdead0000" in (s.host_events[0].note or "")
    assert s.xid_events == s.host_events
    book = AlertBook()
    new = book.update(evaluate(s))
    assert [(e.gpu_index, e.rule, e.severity) for e in new] == [(None, RULE_XID_CRITICAL, "critical")]
    assert new[0].message.startswith("host: Xid 79 on a GPU NVML could not identify")
    b.close()


# ---- 2. a lost GPU stays critical while backed off ------------------------------------------------


def test_a_lost_gpu_stays_lost_and_critical_for_a_minute_of_samples(fake_nvml: FakeNvml, clock: FakeClock):
    b = fake_nvml.backend(clock=clock, breaker_failures=3, breaker_cooldown_s=30)
    b.sample()
    fake_nvml.devices[1].lost = True
    book = AlertBook()
    rows: list[GpuSample] = []
    for _ in range(60):
        s = b.sample()
        book.update(evaluate(s))
        rows.append(s.gpus[1])
        clock.advance(1)
    assert {g.state for g in rows} == {"lost"}
    assert all(g.error == "NVML: GPU is lost" for g in rows)  # the cause, not the backoff
    retries = [g.retry_in_s for g in rows]
    assert retries[:2] == [None, None] and retries[2] == 30 and retries[3] == 29  # counting down
    assert max(g.failures or 0 for g in rows) >= 4  # retried after the cooldown, failed again
    active = book.active()
    assert [(e.rule, e.severity, e.value) for e in active] == [(RULE_GPU_LOST, "critical", "lost")]
    assert active[0].count == 60 and active[0].message == "GPU 1 is lost: NVML: GPU is lost"


# ---- 4. one consistent ECC pair -------------------------------------------------------------------


def test_ecc_volatile_and_aggregate_are_read_together(fake_nvml: FakeNvml):
    """The uncorrected count climbs between samples; the aggregate (which includes the volatile
    count) must never read below it, whatever the slow-query cadence."""
    d = fake_nvml.devices[0]
    errors = {"n": 178}
    vol_c, agg_c = pynvml.NVML_VOLATILE_ECC, pynvml.NVML_AGGREGATE_ECC
    unc = pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED

    def ecc(kind: int, where: int) -> int:
        if kind == unc:
            return errors["n"] + (3 if where == agg_c else 0)  # 3 from before the driver loaded
        return 1 if where == vol_c else 7

    d.values["nvmlDeviceGetTotalEccErrors"] = ecc
    b = fake_nvml.backend(slow_every=5)
    for _ in range(7):
        g = b.sample().gpus[0]
        assert g.ecc_uncorrected_aggregate == g.ecc_uncorrected_volatile + 3
        (_, _), (vol, agg) = g.ecc_pair
        assert agg >= vol
        errors["n"] += 5


def test_ecc_pair_never_shows_a_total_below_its_part():
    g = GpuSample(index=0, ecc_uncorrected_volatile=183, ecc_uncorrected_aggregate=178,
                  ecc_corrected_volatile=2, ecc_corrected_aggregate=None)
    assert g.ecc_pair == ((2, None), (183, 183))


# ---- 6. memory used as NVML reports it ----------------------------------------------------------


def test_memory_used_excludes_reserved_as_nvml_v2_reports_it(fake_nvml: FakeNvml):
    d = fake_nvml.devices[0]
    total, reserved = 81559 * MIB, 1 * GIB  # an idle H100: nvidia-smi shows 0 MiB used
    d.values["nvmlDeviceGetMemoryInfo"]["v2"] = pynvml.c_nvmlMemory_v2_t(
        version=pynvml.nvmlMemory_v2, total=total, reserved=reserved, free=total - reserved, used=0)
    g = fake_nvml.backend().sample().gpus[0]
    assert g.memory_used_bytes == 0 and g.memory_reserved_bytes == reserved
    assert g.memory_used_fraction == 0.0


# ---- processes, modes, host -------------------------------------------------------------------


def test_process_utilization_and_a_pid_from_another_namespace(fake_nvml: FakeNvml):
    seen_since: list[int] = []
    d = fake_nvml.devices[1]
    from .telemetry_fakes import util_sample

    def util(since: int):
        seen_since.append(since)
        return [util_sample(4101, 61, 23, 5_000_000), util_sample(4101, 63, 25, 6_000_000)]

    d.values["nvmlDeviceGetProcessUtilization"] = util
    info = {4100: ("alice", "python serve.py")}
    b = fake_nvml.backend(process_info=lambda pid: info.get(pid), slow_every=1)
    s = b.sample()
    p0 = s.gpus[0].processes[0]
    assert (p0.user, p0.in_namespace, p0.sm_util_pct, p0.mem_bw_util_pct) == ("alice", True, 30, 12)
    p1 = s.gpus[1].processes[0]
    # not visible here: NVML's name for it, and it says so
    assert (p1.pid, p1.user, p1.command, p1.in_namespace) == (4101, None, "proc-4101", False)
    assert (p1.sm_util_pct, p1.mem_bw_util_pct) == (63, 25)  # the latest sample of that PID
    b.sample()
    assert seen_since == [0, 6_000_000]  # only samples newer than those seen


def test_process_utilization_not_found_is_na(fake_nvml: FakeNvml):
    fake_nvml.devices[0].errors["nvmlDeviceGetProcessUtilization"] = pynvml.NVML_ERROR_NOT_FOUND
    p = fake_nvml.backend().sample().gpus[0].processes[0]
    assert p.sm_util_pct is None and p.used_memory_bytes == 9 * GIB


def test_persistence_and_compute_modes(fake_nvml: FakeNvml):
    fake_nvml.devices[1].values["nvmlDeviceGetPersistenceMode"] = pynvml.NVML_FEATURE_DISABLED
    fake_nvml.devices[1].values["nvmlDeviceGetComputeMode"] = pynvml.NVML_COMPUTEMODE_EXCLUSIVE_PROCESS
    fake_nvml.devices[0].errors["nvmlDeviceGetPersistenceMode"] = pynvml.NVML_ERROR_NOT_SUPPORTED
    s = fake_nvml.backend().sample()
    assert (s.gpus[0].persistence_mode, s.gpus[0].compute_mode) == (None, "default")
    assert (s.gpus[1].persistence_mode, s.gpus[1].compute_mode) == (False, "exclusive_process")
    assert s.host is not None and s.host.cpu_count == 32 and s.nvml_version == "12.550.54.15"


def test_host_stats_even_without_a_driver(fake_nvml: FakeNvml):
    fake_nvml.init_error = pynvml.NVML_ERROR_LIBRARY_NOT_FOUND
    s = fake_nvml.backend().sample()
    assert s.error and s.host is not None and s.host.mem_pct == pytest.approx(100 * 100 / 512)


def test_the_inspector_reads_this_process_and_not_a_missing_one():
    inspector = ProcessInspector()
    me = inspector.info(os.getpid())
    assert me is not None and me.command and "python" in me.command.lower()
    assert me.rss_bytes and me.started_at and me.started_at <= time.time()
    assert inspector.info(2**22 + 12345) is None  # beyond pid_max: never a process here
    host = inspector.host_stats()
    assert host.mem_total_bytes and host.cpu_count and host.cpu_pct is None  # nothing to compare yet
    assert inspector.host_stats().cpu_pct is not None


# ---- 3. health feeds "fits here" ---------------------------------------------------------------


def _host(*gpus: GpuSample) -> HostSample:
    return HostSample(timestamp=1000.0, hostname="h", backend="scripted", gpus=gpus)


def _gpu(i: int, **kw) -> GpuSample:
    kw.setdefault("memory_total_bytes", 80 * GIB)
    kw.setdefault("memory_free_bytes", 70 * GIB)
    kw.setdefault("memory_used_bytes", 10 * GIB)
    return GpuSample(index=i, **kw)


def test_an_unhealthy_gpu_is_unfit_with_the_reason():
    s = _host(_gpu(0), _gpu(1, ecc_uncorrected_volatile=183), _gpu(2, remap_failure=True), _gpu(3))
    v = fits_here(40 * GIB, 2, s)
    assert v.fits and v.groups == ((0, 3),)
    notes = {f.index: f.note for f in v.gpus}
    assert notes[1] == "unhealthy: uncorrected ECC errors" and notes[2] == "unhealthy: row remapping failed"
    v = fits_here(40 * GIB, 3, s)
    assert not v.fits and "GPU 1: unhealthy: uncorrected ECC errors" in v.reason


def test_a_critical_xid_keeps_the_gpu_unfit_until_acknowledged():
    xid = _host(_gpu(0), _gpu(1, xid_events=(XidEvent(1000.0, 1, "xid", 48),)))
    calm = _host(_gpu(0), _gpu(1))
    book = AlertBook()
    book.update(evaluate(xid))
    book.update(evaluate(calm))  # the event is gone from the sample, not from the book
    unhealthy = unhealthy_gpus(book.unhealthy_alerts())
    assert unhealthy == {1: "Xid 48"}
    assert fits_here(40 * GIB, 1, calm, unhealthy).eligible == (0,)
    book.acknowledge_all()
    assert unhealthy_gpus(book.unhealthy_alerts()) == {}


def test_acknowledging_does_not_repair_a_condition():
    s = _host(_gpu(0, ecc_uncorrected_volatile=2))
    book = AlertBook()
    book.update(evaluate(s))
    book.acknowledge_all()
    assert unhealthy_gpus(book.unhealthy_alerts()) == {0: "uncorrected ECC errors"}
