"""A backend that returns a fixed list of samples, for tests and UI scenarios.

An item may be an exception instance: `sample()` raises it (to exercise the Sampler's error path).
At the end it repeats the last sample (or starts over with `loop=True`).
"""

from __future__ import annotations

from typing import Sequence

from engine.telemetry.samples import HostSample


class ScriptedBackend:
    def __init__(
        self,
        samples: Sequence[HostSample | BaseException],
        *,
        loop: bool = False,
        name: str = "scripted",
        simulated: bool = False,
    ) -> None:
        if not samples:
            raise ValueError("ScriptedBackend needs at least one sample")
        self._items = list(samples)
        self._loop = loop
        self._name = name
        self.simulated = simulated
        self.calls = 0
        self.opened = 0
        self.closed = 0

    @property
    def name(self) -> str:
        return self._name

    def open(self) -> None:
        self.opened += 1

    def close(self) -> None:
        self.closed += 1

    def sample(self) -> HostSample:
        n = len(self._items)
        i = self.calls % n if self._loop else min(self.calls, n - 1)
        self.calls += 1
        item = self._items[i]
        if isinstance(item, BaseException):
            raise item
        return item
