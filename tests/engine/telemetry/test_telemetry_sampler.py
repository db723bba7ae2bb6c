"""The sampling loop: coalescing tick, error isolation, clean stop."""

from __future__ import annotations

import threading
import time

from engine.telemetry.replay import TraceError
from engine.telemetry.sampler import Sampler, safe_sample
from engine.telemetry.samples import HostSample
from engine.telemetry.scripted import ScriptedBackend


def hs(t: float = 0.0) -> HostSample:
    return HostSample(timestamp=t, hostname="h", backend="scripted")


class SlowBackend:
    """Records concurrency and start times; each sample takes `duration` seconds."""

    name = "slow"
    simulated = False

    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.in_flight = 0
        self.max_in_flight = 0
        self.starts: list[float] = []
        self.lock = threading.Lock()
        self.closed_in: str | None = None

    def open(self) -> None:
        pass

    def close(self) -> None:
        self.closed_in = threading.current_thread().name

    def sample(self) -> HostSample:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.starts.append(time.monotonic())
        time.sleep(self.duration)
        with self.lock:
            self.in_flight -= 1
        return hs(time.time())


def collect() -> tuple[list[HostSample], threading.Event, callable]:  # type: ignore[valid-type]
    got: list[HostSample] = []
    ev = threading.Event()

    def cb(s: HostSample) -> None:
        got.append(s)
        ev.set()

    return got, ev, cb


def test_a_slow_backend_never_gets_concurrent_or_queued_calls():
    b = SlowBackend(0.15)
    got, _, cb = collect()
    s = Sampler(b, cb, interval_s=0.02, min_gap_s=0.0)
    t0 = time.monotonic()
    s.start()
    time.sleep(0.8)
    assert s.stop()
    elapsed = time.monotonic() - t0
    assert b.max_in_flight == 1
    # back-to-back at most: no backlog of ticks piled up while a call was slow
    assert len(b.starts) <= elapsed / 0.15 + 1
    gaps = [b2 - b1 for b1, b2 in zip(b.starts, b.starts[1:])]
    assert all(g >= 0.15 for g in gaps)
    assert len(got) >= 3


def test_interval_is_measured_from_the_start_of_a_sample():
    b = SlowBackend(0.1)
    _, _, cb = collect()
    s = Sampler(b, cb, interval_s=0.3)
    s.start()
    time.sleep(1.05)
    s.stop()
    gaps = [b2 - b1 for b1, b2 in zip(b.starts, b.starts[1:])]
    assert len(gaps) >= 2
    assert all(g >= 0.28 for g in gaps), gaps
    assert sorted(gaps)[len(gaps) // 2] < 0.36, gaps  # ~0.3 from start to start, not 0.3 + 0.1


def test_backend_errors_become_host_error_samples_and_sampling_goes_on():
    items = [hs(1), RuntimeError("driver hiccup"), TraceError("t.jsonl", 7, "corrupt line"), hs(4)]
    b = ScriptedBackend(items)
    got, _, cb = collect()
    s = Sampler(b, cb, interval_s=0.01, min_gap_s=0.0)
    s.start()
    deadline = time.monotonic() + 3
    while len(got) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert s.running
    s.stop()
    assert got[0] == hs(1)
    assert got[1].error == "telemetry backend scripted failed: RuntimeError: driver hiccup" and got[1].gpus == ()
    assert got[2].error == "t.jsonl, line 7: corrupt line"
    assert got[3] == hs(4) and got[4] == hs(4)


def test_a_failing_callback_does_not_stop_sampling():
    calls = []

    def cb(s: HostSample) -> None:
        calls.append(s)
        raise ValueError("ui bug")

    s = Sampler(ScriptedBackend([hs()]), cb, interval_s=0.01, min_gap_s=0.0)
    s.start()
    deadline = time.monotonic() + 3
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert s.running and len(calls) >= 3
    s.stop()


def test_stop_closes_the_backend_from_the_sampling_thread():
    b = SlowBackend(0.01)
    s = Sampler(b, lambda _: None, interval_s=10, thread_name="tel-test")
    s.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    assert s.stop()
    assert time.monotonic() - t0 < 1.0  # the 10 s wait is interrupted
    assert b.closed_in == "tel-test" and not s.running
    assert len(b.starts) == 1


def test_wake_samples_now():
    b = ScriptedBackend([hs()])
    got, ev, cb = collect()
    s = Sampler(b, cb, interval_s=60)
    s.start()
    assert ev.wait(2)
    ev.clear()
    s.wake()
    assert ev.wait(2)
    s.stop()
    assert len(got) == 2 and b.opened == 1 and b.closed == 1


def test_safe_sample():
    assert safe_sample(ScriptedBackend([hs(3)])) == hs(3)
    e = safe_sample(ScriptedBackend([OSError("boom")], name="nvml"))
    assert e.backend == "nvml" and e.error is not None and "boom" in e.error
