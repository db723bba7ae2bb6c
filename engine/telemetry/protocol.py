"""The `GpuBackend` protocol every telemetry source implements, and the error for a backend that
cannot start. Imports nothing but the samples: every backend and the factory depend on it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from engine.telemetry.samples import HostSample


class BackendUnavailable(RuntimeError):
    """A backend cannot start at all (e.g. a replay file that is missing or not a trace).

    NVML being absent is NOT this: NvmlBackend reports it as a HostSample with a host error.
    """


@runtime_checkable
class GpuBackend(Protocol):
    """A source of HostSamples. `sample()` is called from one sampler thread at a time and should
    never raise for per-device problems (those become GpuSample rows with a state)."""

    @property
    def name(self) -> str: ...

    def open(self) -> None: ...

    def sample(self) -> HostSample: ...

    def close(self) -> None: ...
