""""Fits here": free memory against the per-GPU need, TP groups, and exactly why not."""

from __future__ import annotations

import pytest

from engine.telemetry.fits import fits_here
from engine.telemetry.nvml import LIBRARY_NOT_FOUND
from engine.telemetry.samples import GpuSample, HostSample
from engine.telemetry.simulated import SimulatedBackend

GIB = 1 << 30
TOTAL = 80 * GIB


def gpu(i: int, free_gib: float | None, state: str = "ok") -> GpuSample:
    free = None if free_gib is None else int(free_gib * GIB)
    return GpuSample(
        index=i,
        state=state,  # type: ignore[arg-type]
        memory_total_bytes=TOTAL,
        memory_free_bytes=free,
        memory_used_bytes=None if free is None else TOTAL - free,
    )


def host(*gpus: GpuSample, error: str | None = None, simulated: bool = False) -> HostSample:
    return HostSample(timestamp=0.0, hostname="h", backend="nvml", gpus=gpus, error=error, simulated=simulated)


def test_fits_on_one_gpu():
    v = fits_here(20 * GIB, 1, host(gpu(0, 10), gpu(1, 30), gpu(2, 50)))
    assert v.fits and v.groups == ((1,), (2,)) and v.eligible == (1, 2) and v.replicas == 2
    assert v.reason == "fits now on 2 GPUs with 20.0 GiB free (GPU 1, 2)"


def test_tp_groups_are_formed_from_free_gpus():
    s = host(*(gpu(i, 70 if i not in (1, 4) else 5) for i in range(8)))
    v = fits_here(60 * GIB, 2, s)
    assert v.fits
    assert v.eligible == (0, 2, 3, 5, 6, 7)
    assert v.groups == ((0, 2), (3, 5), (6, 7))
    assert v.reason == "fits now: 3 groups of 2 GPUs with 60.0 GiB free each (GPU 0+2, 3+5, 6-7)"
    v4 = fits_here(60 * GIB, 4, s)
    assert v4.fits and v4.groups == ((0, 2, 3, 5),)  # 6 free GPUs make one group of 4


def test_exactly_why_not():
    s = host(gpu(0, 70.1), gpu(1, 12), gpu(2, 3.5), gpu(3, 65))
    v = fits_here(int(61.2 * GIB), 4, s)
    assert not v.fits and v.groups == () and v.eligible == (0, 3)
    assert v.reason == (
        "needs 4 GPUs with 61.2 GiB free each; only 2 have (GPU 0: 70.1 GiB free, GPU 3: 65.0 GiB free); "
        "short: GPU 1: 12.0 GiB free, GPU 2: 3.5 GiB free"
    )


def test_none_has_enough():
    v = fits_here(50 * GIB, 1, host(gpu(0, 10)))
    assert v.reason == "needs 1 GPU with 50.0 GiB free each; only 0 have; short: GPU 0: 10.0 GiB free"


def test_lost_and_na_gpus_never_count():
    lost = GpuSample(index=1, state="lost", memory_total_bytes=TOTAL, memory_free_bytes=TOTAL)  # stale figures
    s = host(gpu(0, 70), lost, gpu(2, None), gpu(3, 70, state="backoff"))
    v = fits_here(10 * GIB, 2, s)
    assert not v.fits and v.eligible == (0,)
    assert "GPU 1: lost" in v.reason and "GPU 2: free memory N/A" in v.reason and "GPU 3: not responding" in v.reason
    assert "only 1 has (GPU 0: 70.0 GiB free)" in v.reason


def test_no_gpu_seen():
    v = fits_here(GIB, 1, host(error=LIBRARY_NOT_FOUND))
    assert not v.fits and v.reason == f"no GPU seen: {LIBRARY_NOT_FOUND}"
    assert v.reason.startswith("no GPU seen: NVML library not found")
    assert fits_here(GIB, 1, host()).reason == "no GPU seen: no NVIDIA GPU on this host"


def test_more_gpus_than_the_host_has():
    v = fits_here(GIB, 4, host(gpu(0, 70), gpu(1, 70)))
    assert not v.fits and v.reason == "needs 4 GPUs with 1.0 GiB free each; this host has only 2 GPUs"


def test_need_above_any_gpu_total():
    v = fits_here(90 * GIB, 1, host(gpu(0, 79), gpu(1, 79)))
    assert v.reason == "needs 1 GPU with 90.0 GiB free each; the largest GPU here has 80.0 GiB in total"


def test_gib_is_two_to_the_thirty_and_the_boundary_is_inclusive():
    s = host(GpuSample(index=0, memory_total_bytes=TOTAL, memory_free_bytes=40 * 2**30))
    assert fits_here(40 * 2**30, 1, s).fits
    assert not fits_here(40 * 2**30 + 1, 1, s).fits
    assert "40.0 GiB" in fits_here(40 * 2**30, 1, s).reason


def test_simulated_is_said():
    s = SimulatedBackend(8, start_time=0).sample()
    v = fits_here(70 * GIB, 2, s)
    assert v.simulated and v.reason.endswith("(simulated GPUs)")
    assert v.fits and v.groups == ((6, 7),)  # the two idle simulated GPUs


def test_bad_arguments():
    with pytest.raises(ValueError):
        fits_here(GIB, 0, host(gpu(0, 1)))
    with pytest.raises(ValueError):
        fits_here(-1, 1, host(gpu(0, 1)))
