"""Telemetry benchmarks (figures, never asserted as timed tests).

monitor_cpu_percent_1hz_8gpu: the whole monitor pipeline without the UI (Sampler thread at 1 Hz on
8 simulated GPUs, health rules + alert book, history, "fits here" per sample), as process CPU time
over wall time, in percent of one core. Target: under 1 %.
"""

from __future__ import annotations

import time

from engine.telemetry.fits import fits_here
from engine.telemetry.health import AlertBook, evaluate
from engine.telemetry.history import History
from engine.telemetry.sampler import Sampler
from engine.telemetry.samples import HostSample
from engine.telemetry.simulated import SimulatedBackend

GIB = 1 << 30


def _pipeline() -> tuple[History, AlertBook, list[int]]:
    return History(interval_s=1.0), AlertBook(), [0]


def monitor_cpu_percent_1hz_8gpu(seconds: float = 5) -> float:
    history, book, count = _pipeline()

    def on_sample(s: HostSample) -> None:
        book.update(evaluate(s))
        history.append(s)
        fits_here(40 * GIB, 4, s)
        count[0] += 1

    sampler = Sampler(SimulatedBackend(8), on_sample, interval_s=1.0)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    sampler.start()
    time.sleep(seconds)
    sampler.stop()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return cpu / wall * 100.0


def telemetry_sample_us_8gpu(n: int = 2000) -> float:
    """Mean microseconds for one simulated 8-GPU sample + health + alert book + history + fits."""
    backend = SimulatedBackend(8, start_time=0.0)
    history, book, _ = _pipeline()
    t0 = time.perf_counter()
    for _ in range(n):
        s = backend.sample()
        book.update(evaluate(s))
        history.append(s)
        fits_here(40 * GIB, 4, s)
    return (time.perf_counter() - t0) / n * 1e6


if __name__ == "__main__":
    print(f"telemetry_sample_us_8gpu        {telemetry_sample_us_8gpu():8.1f} us")
    print(f"monitor_cpu_percent_1hz_8gpu    {monitor_cpu_percent_1hz_8gpu():8.3f} % of a core")
