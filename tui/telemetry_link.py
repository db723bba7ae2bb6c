"""The telemetry link: one `Sampler` thread over the backend, coalesced into at most one message
in flight (DESIGN section 2: a slow NVML call never queues more calls, and a busy UI thread never
falls behind on samples: it always renders the newest).

No widgets here: `post` hands the UI thread a `HostSampleReady`; the app renders what `take`
returns. Testable with a scripted backend and a list as `post`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from .messages import HostSampleReady

if TYPE_CHECKING:
    from engine.telemetry.samples import HostSample


class TelemetryLink:
    def __init__(self, post: Callable[[Any], None], *, backend: Any = None, interval_s: float = 1.0) -> None:
        self._post = post
        self.backend = backend  # None: create_backend() picks NVML when started
        self.interval_s = interval_s
        self._sampler: Any = None
        self._newest: HostSample | None = None
        self._posted = False
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._sampler is not None

    def start(self) -> None:
        from engine.telemetry.sampler import Sampler

        if self.backend is None:
            from engine.telemetry.backend import create_backend

            self.backend = create_backend()
        self._sampler = Sampler(self.backend, self.arrived, interval_s=self.interval_s)
        self._sampler.start()

    def stop(self, timeout: float = 2.0) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop(timeout=timeout)

    def arrived(self, sample: HostSample) -> None:
        """Sampler thread: keep the newest; at most one message in flight (coalescing)."""
        with self._lock:
            self._newest = sample
            if self._posted:
                return
            self._posted = True
        self._post(HostSampleReady(sample))

    def take(self, message: HostSampleReady) -> HostSample:
        """UI thread: the newest sample (perhaps newer than the message's); the next one posts."""
        with self._lock:
            sample = self._newest or message.sample
            self._newest = None
            self._posted = False
        return sample


def host_level(sample: HostSample) -> str:
    """The header's health word for a sample: simulated, none (no GPUs), bad or ok."""
    level = "simulated" if sample.simulated else ("none" if not sample.gpus else "ok")
    if any(g.state != "ok" for g in sample.gpus):
        level = "bad"
    return level
