"""The factory that picks the telemetry backend for the CLI/UI. The `GpuBackend` protocol and
`BackendUnavailable` live in engine/telemetry/protocol.py (re-exported here), so the backends
import the protocol without importing this factory back."""

from __future__ import annotations

from os import PathLike

from engine.telemetry.protocol import BackendUnavailable, GpuBackend

__all__ = ["BackendUnavailable", "GpuBackend", "create_backend"]


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
