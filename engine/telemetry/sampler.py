"""A UI-free sampling loop: one thread calls `backend.sample()` on a coalescing tick.

The next call starts only after the previous one finished (a slow NVML call never queues more
calls); the interval is measured from the start of a sample, so a 1 s tick with a 0.2 s sample
sleeps 0.8 s, and an overrunning sample is followed at once (after `min_gap_s`) by the next.
A backend that raises produces a HostSample with a host error; the thread never dies of it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Callable

from engine.telemetry.backend import BackendUnavailable, GpuBackend
from engine.telemetry.samples import HostSample

log = logging.getLogger("gpuplan.telemetry")


def error_sample(backend: GpuBackend, exc: BaseException) -> HostSample:
    if isinstance(exc, BackendUnavailable):
        message = str(exc)
    else:
        message = f"telemetry backend {getattr(backend, 'name', '?')} failed: {type(exc).__name__}: {exc}"
    return HostSample(
        timestamp=time.time(),
        hostname=socket.gethostname(),
        backend=str(getattr(backend, "name", "unknown")),
        simulated=bool(getattr(backend, "simulated", False)),
        error=message,
    )


def safe_sample(backend: GpuBackend) -> HostSample:
    """One sample; an exception becomes a HostSample with `error` (for one-shot CLI use too)."""
    try:
        return backend.sample()
    except Exception as e:  # noqa: BLE001
        return error_sample(backend, e)


class Sampler:
    def __init__(
        self,
        backend: GpuBackend,
        callback: Callable[[HostSample], None],
        interval_s: float = 1.0,
        *,
        min_gap_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        thread_name: str = "gpuplan-telemetry",
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.backend = backend
        self.callback = callback
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s
        self._clock = clock
        self._thread_name = thread_name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples_taken = 0
        self.last_sample: HostSample | None = None
        self._last_error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Sample now instead of at the next tick (coalesced: several wakes give one sample)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop and close the backend (from the sampling thread). False if a call is still stuck."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is None:
            return True
        t.join(timeout)
        if t.is_alive():
            return False
        self._thread = None
        return True

    def _run(self) -> None:
        try:
            try:
                self.backend.open()
            except Exception as e:  # noqa: BLE001 - reported through a sample below
                log.warning("telemetry backend open failed: %s", e)
            while not self._stop.is_set():
                t0 = self._clock()
                s = safe_sample(self.backend)
                if self._stop.is_set():
                    break
                self.samples_taken += 1
                self.last_sample = s
                if s.error != self._last_error:
                    if s.error:
                        log.warning("telemetry: %s", s.error)
                    self._last_error = s.error
                try:
                    self.callback(s)
                except Exception:  # noqa: BLE001 - a consumer bug must not stop sampling
                    log.exception("telemetry sample callback failed")
                delay = max(self.min_gap_s, self.interval_s - (self._clock() - t0))
                self._wake.wait(delay)
                self._wake.clear()
        finally:
            try:
                self.backend.close()
            except Exception:  # noqa: BLE001
                log.exception("telemetry backend close failed")
