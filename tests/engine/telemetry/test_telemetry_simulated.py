"""Simulated and scripted backends, and the sample helpers."""

from __future__ import annotations

import dataclasses

import pytest

from engine.telemetry.backend import GpuBackend, create_backend
from engine.telemetry.health import RULE_GPU_LOST, RULE_TEMP_NEAR_SLOWDOWN, RULE_TEMP_SLOWDOWN, RULE_THERMAL_THROTTLE, RULE_XID_CRITICAL, AlertBook, evaluate
from engine.telemetry.nvml import NvmlBackend
from engine.telemetry.replay import ReplayBackend
from engine.telemetry.samples import (
    CLOCK_EVENT_REASONS,
    GpuSample,
    HostSample,
    decode_clock_event_reasons,
    encode_clock_event_reasons,
    format_cuda_version,
)
from engine.telemetry.scripted import ScriptedBackend
from engine.telemetry.simulated import SimulatedBackend


def run(b: SimulatedBackend, n: int) -> list[HostSample]:
    return [b.sample() for _ in range(n)]


def test_deterministic_for_a_seed():
    a = run(SimulatedBackend(8, seed=1, start_time=0.0), 50)
    b = run(SimulatedBackend(8, seed=1, start_time=0.0), 50)
    c = run(SimulatedBackend(8, seed=2, start_time=0.0), 50)
    assert a == b and a != c


def test_plausible_and_varying():
    samples = run(SimulatedBackend(8, start_time=0.0), 600)
    assert all(s.simulated and s.backend == "simulated" and len(s.gpus) == 8 for s in samples)
    utils = set()
    for s in samples:
        for g in s.gpus:
            assert g.state == "ok"
            assert 0 <= g.gpu_util_pct <= 100  # type: ignore[operator]
            assert g.memory_used_bytes + g.memory_free_bytes + g.memory_reserved_bytes == g.memory_total_bytes  # type: ignore[operator]
            assert 20 <= g.temperature_c < g.temp_slowdown_c - 5  # type: ignore[operator]
            assert 0 < g.power_w <= g.power_limit_w  # type: ignore[operator]
            assert g.sm_clock_mhz <= g.sm_clock_max_mhz  # type: ignore[operator]
            utils.add(g.gpu_util_pct)
    assert len(utils) > 30  # it moves
    first = samples[0]
    assert first.gpus[0].processes and first.gpus[0].processes[0].command.startswith("python3 -m vllm")  # type: ignore[index, union-attr]
    assert first.gpus[7].processes == () and "gpu_idle" in first.gpus[7].clock_event_reasons  # type: ignore[operator]
    assert evaluate(samples[-1]) == []  # healthy unless scripted


def test_scripted_incidents_raise_alerts():
    b = SimulatedBackend(4, start_time=0.0, lose_gpu_at={2: 30}, thermal={1: (10, 25)}, xids=[(5, 3, 79)])
    book = AlertBook()
    raised = []
    for k in range(40):
        s = b.sample()
        raised += [(k, e.gpu_index, e.rule) for e in book.update(evaluate(s))]
        if k >= 30:
            assert s.gpus[2].state == "lost" and s.gpus[2].uuid is not None and s.gpus[0].state == "ok"
    assert (5, 3, RULE_XID_CRITICAL) in raised
    assert (30, 2, RULE_GPU_LOST) in raised
    thermal = [r for r in raised if r[1] == 1]
    assert [r[2] for r in thermal] == [RULE_TEMP_NEAR_SLOWDOWN, RULE_TEMP_SLOWDOWN, RULE_THERMAL_THROTTLE]
    assert thermal[0][0] < thermal[1][0]  # warn before critical


def test_timestamps():
    assert [s.timestamp for s in run(SimulatedBackend(1, start_time=10.0, interval_s=0.5), 3)] == [10.0, 10.5, 11.0]
    assert SimulatedBackend(1, wallclock=lambda: 7.0).sample().timestamp == 7.0


def test_scripted_backend():
    a, b = (HostSample(timestamp=t, hostname="h", backend="x") for t in (1.0, 2.0))
    sb = ScriptedBackend([a, b])
    assert [sb.sample() for _ in range(4)] == [a, b, b, b] and sb.calls == 4
    sl = ScriptedBackend([a, b], loop=True)
    assert [sl.sample() for _ in range(3)] == [a, b, a]
    with pytest.raises(KeyError):
        ScriptedBackend([KeyError("x")]).sample()
    with pytest.raises(ValueError):
        ScriptedBackend([])


def test_backends_satisfy_the_protocol(tmp_path):  # noqa: ANN001
    assert isinstance(SimulatedBackend(1), GpuBackend)
    assert isinstance(ScriptedBackend([HostSample(0.0, "h", "x")]), GpuBackend)
    assert isinstance(NvmlBackend(events=False), GpuBackend)
    assert isinstance(ReplayBackend(tmp_path / "x"), GpuBackend)
    assert isinstance(create_backend(simulate=2), SimulatedBackend)
    assert isinstance(create_backend(), NvmlBackend)
    with pytest.raises(ValueError):
        create_backend(simulate=1, replay=tmp_path / "x")


# ---- samples --------------------------------------------------------------------------------


def test_clock_event_reasons_decode():
    # nvml.h: HwSlowdown 0x8, SwThermalSlowdown 0x20, HwPowerBrakeSlowdown 0x80
    assert decode_clock_event_reasons(0x8 | 0x20 | 0x80) == ("hw_slowdown", "sw_thermal_slowdown", "hw_power_brake_slowdown")
    assert decode_clock_event_reasons(0) == ()
    assert decode_clock_event_reasons(None) is None
    assert decode_clock_event_reasons(0x1 | 0x400) == ("gpu_idle", "bit_0x400")
    everything = decode_clock_event_reasons(0x1FF)
    assert everything == CLOCK_EVENT_REASONS and len(everything) == 9
    assert encode_clock_event_reasons(everything) == 0x1FF
    assert encode_clock_event_reasons(("bit_0x400",)) == 0x400


def test_clock_reason_bits_match_pynvml():
    import pynvml

    names = {
        "gpu_idle": "GpuIdle",
        "applications_clocks_setting": "ApplicationsClocksSetting",
        "sw_power_cap": "SwPowerCap",
        "hw_slowdown": "HwSlowdown",
        "sync_boost": "SyncBoost",
        "sw_thermal_slowdown": "SwThermalSlowdown",
        "hw_thermal_slowdown": "HwThermalSlowdown",
        "hw_power_brake_slowdown": "HwPowerBrakeSlowdown",
        "display_clocks_setting": "DisplayClockSetting",
    }
    for word, suffix in names.items():
        assert encode_clock_event_reasons((word,)) == getattr(pynvml, f"nvmlClocksEventReason{suffix}")


def test_sample_helpers():
    g = GpuSample(index=2, memory_total_bytes=100, memory_used_bytes=40, memory_reserved_bytes=10,
                  temperature_c=80, temp_slowdown_c=87, power_w=350.0, power_limit_w=700.0,
                  clock_event_reasons=("sw_power_cap",))  # fmt: skip
    # used as NVML reports it (reserved apart); the memory-high rule reads used / (total - reserved)
    assert g.memory_used_fraction == 0.4 and g.memory_usable_fraction == 40 / 90
    assert g.temp_slowdown_margin_c == 7 and g.power_fraction == 0.5
    assert g.has_reason("sw_power_cap") and not g.has_reason("hw_slowdown") and g.label == "GPU 2"
    assert GpuSample(index=0).memory_used_fraction is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.index = 3  # type: ignore[misc]
    assert not hasattr(g, "__dict__")  # slots
    h = HostSample(0.0, "h", "x", gpus=(g, GpuSample(index=5, state="lost")))
    assert h.gpu(5).state == "lost" and h.gpu(9) is None and h.ok_gpus == (g,) and h.n_gpus == 2  # type: ignore[union-attr]
    assert format_cuda_version(12040) == "12.4" and format_cuda_version(11080) == "11.8"
    assert format_cuda_version(None) is None
