"""The `GpuBackend` protocol every telemetry source implements, and a factory for the CLI/UI."""

from __future__ import annotations

from os import PathLike
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


def create_backend(
    *,
    simulate: int | None = None,
    replay: str | PathLike[str] | None = None,
    record: str | PathLike[str] | None = None,
    loop: bool = True,
    record_max_mb: float | None = None,
) -> GpuBackend:
    """The backend `gpuplan watch` / the Monitor tab use: `--simulate N`, `--replay FILE`, else NVML.

    With `record`, every sample is also appended to a trace (see replay.TraceWriter).
    Raises TraceError (a BackendUnavailable) for a replay file that is not a valid trace.
    """
    backend: GpuBackend
    if simulate is not None and replay is not None:
        raise ValueError("choose one of simulate and replay")
    if simulate is not None:
        from engine.telemetry.simulated import SimulatedBackend

        backend = SimulatedBackend(n_gpus=simulate)
    elif replay is not None:
        from engine.telemetry.replay import ReplayBackend

        backend = ReplayBackend(replay, loop=loop)
        backend.open()  # fail early, naming the file and line
    else:
        from engine.telemetry.nvml import NvmlBackend

        backend = NvmlBackend()
    if record is not None:
        from engine.telemetry.replay import RecordingBackend, TraceWriter

        max_bytes = None if record_max_mb is None else int(record_max_mb * (1 << 20))
        backend = RecordingBackend(backend, TraceWriter(record, max_bytes=max_bytes))
    return backend
