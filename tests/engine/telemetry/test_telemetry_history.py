"""Bounded per-GPU history."""

from __future__ import annotations

import pytest

from engine.telemetry.history import History
from engine.telemetry.samples import GpuSample, HostSample
from engine.telemetry.simulated import SimulatedBackend

GIB = 1 << 30


def sample(t: float, *gpus: GpuSample) -> HostSample:
    return HostSample(timestamp=t, hostname="h", backend="scripted", gpus=gpus)


def test_default_is_ten_minutes_at_the_interval():
    assert History().capacity == 600
    assert History(interval_s=2.0).capacity == 300
    assert History(window_s=60, interval_s=0.25).capacity == 240
    assert History(window_s=10, interval_s=3).capacity == 4


def test_never_grows_beyond_its_bound():
    h = History(window_s=600, interval_s=1)
    b = SimulatedBackend(8, start_time=0)
    samples = [b.sample() for _ in range(2000)]
    for s in samples:
        h.append(s)
    assert len(h) == 600
    for i in range(8):
        assert len(h.series(i, "gpu_util_pct")) == 600
        assert len(h.gpu(i).times) == 600  # type: ignore[union-attr]
    # the newest 600 are kept, oldest first
    assert h.times(0) == [float(t) for t in range(1400, 2000)]
    assert h.series(3, "temperature_c")[-1] == samples[-1].gpus[3].temperature_c
    assert h.series(3, "power_w")[0] == samples[1400].gpus[3].power_w


def test_values_and_gaps():
    h = History()
    ok = GpuSample(index=0, uuid="A", gpu_util_pct=50, memory_total_bytes=80 * GIB, memory_used_bytes=20 * GIB,
                   temperature_c=60, power_w=300.0)  # fmt: skip
    h.append(sample(1, ok))
    h.append(sample(2, GpuSample(index=0, uuid="A", state="lost", error="gone")))
    h.append(sample(3, GpuSample(index=0, uuid="A")))  # all N/A
    assert h.series(0, "gpu_util_pct") == [50.0, None, None]
    assert h.series(0, "memory_used_pct") == [25.0, None, None]
    assert h.series(0, "temperature_c") == [60.0, None, None]
    assert h.series(0, "power_w") == [300.0, None, None]
    assert h.times(0) == [1, 2, 3]


def test_a_different_gpu_at_an_index_starts_afresh():
    h = History()
    h.append(sample(1, GpuSample(index=0, uuid="A", gpu_util_pct=10)))
    h.append(sample(2, GpuSample(index=0, uuid="B", gpu_util_pct=20)))
    assert h.series(0, "gpu_util_pct") == [20.0]


def test_unknown_gpu_and_metric():
    h = History()
    assert h.series(5, "power_w") == [] and h.times(5) == [] and len(h) == 0
    with pytest.raises(KeyError):
        h.series(0, "fan")
    with pytest.raises(ValueError):
        History(window_s=0)
