"""Snapshots of the Monitor tab in the real app (`gpuplan watch` layout) at 80x24, 120x40 and
200x50: a healthy simulated host with a plan, the same host with a lost GPU and critical alerts,
and a host without an NVIDIA driver. Deterministic: samples replayed from a recorded trace with
fixed timestamps, UTC clock, a private GPUPLAN_HOME (tests/tui/conftest.py), no sampler thread.

Update after an intended change: pytest tests/tui/test_monitor_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from engine.telemetry.replay import read_trace

from .conftest import settle
from .monitor_support import TRACE_8GPU, deliver, no_driver_sample

SIZES = [(80, 24), (120, 40), (200, 50)]


def trace(n: int):
    return read_trace(TRACE_8GPU)[:n]


STATES = {
    # 12 samples: GPU 2 warming towards its slowdown threshold (a warning)
    "healthy": lambda: trace(12),
    # 24 samples: GPU 5 lost, Xid 13 on GPU 1, Xid 48 on GPU 3, GPU 2 at its slowdown threshold
    "lost_gpu": lambda: trace(24),
    "no_driver": lambda: [no_driver_sample()],
}


def monitor_app():
    from tui.app import GpuPlanApp

    return GpuPlanApp(None, monitor_first=True, telemetry=False)


def feeding(samples, keys=(), open_gpu=None, quiet=False):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for s in samples:
            deliver(pilot.app, s)
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        if open_gpu is not None:
            pilot.app.monitor_pane.open_gpu(open_gpu)
            await pilot.pause()
        if quiet:  # without the alert toasts over the screen
            pilot.app.clear_notifications()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_monitor_snapshot(snap_compare, state, size):
    assert snap_compare(monitor_app(), terminal_size=size, run_before=feeding(STATES[state]()))


def test_monitor_detail_view_snapshot(snap_compare):
    """The detail cards (key v) with the lost GPU, at 120x40."""
    assert snap_compare(monitor_app(), terminal_size=(120, 40), run_before=feeding(trace(24), keys=("v",)))


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_monitor_processes_snapshot(snap_compare, size):
    """The process table sorted by host %CPU (s pressed five times: GPU, T, %SM, %MBW, GPU MEM,
    %CPU) with the selected process's full command shown (c), and the host panel above it."""
    keys = ("s",) * 5 + ("c",)
    assert snap_compare(monitor_app(), terminal_size=size, run_before=feeding(trace(24), keys=keys, quiet=True))


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_monitor_gpu_detail_screen_snapshot(snap_compare, size):
    """GPU 3's detail screen after its Xid 48: every field, the plots with thresholds (hidden
    below 110 columns), its process and its alerts."""
    assert snap_compare(monitor_app(), terminal_size=size, run_before=feeding(trace(24), open_gpu=3, quiet=True))
