"""GPU telemetry: backends (NVML, replay, simulated, scripted), immutable samples, health rules
and alerts, "fits here", history, and a UI-free sampler. Importing this never loads pynvml."""

import logging

# Library etiquette: without this, Python's last-resort handler would print our warnings to
# stderr, over a full-screen UI. The app configures real handlers ("gpuplan.alerts" -> JSON log).
logging.getLogger("gpuplan").addHandler(logging.NullHandler())

from engine.telemetry.backend import BackendUnavailable, GpuBackend, create_backend
from engine.telemetry.fits import FitVerdict, GpuFit, fits_here
from engine.telemetry.health import (
    Alert,
    AlertBook,
    AlertEntry,
    HealthThresholds,
    evaluate,
)
from engine.telemetry.history import History
from engine.telemetry.nvml import NvmlBackend
from engine.telemetry.replay import (
    RecordingBackend,
    ReplayBackend,
    TraceError,
    TraceWriter,
    read_trace,
    sample_from_dict,
    sample_to_dict,
)
from engine.telemetry.sampler import Sampler, safe_sample
from engine.telemetry.samples import GpuProcess, GpuSample, HostSample, XidEvent
from engine.telemetry.scripted import ScriptedBackend
from engine.telemetry.simulated import SimulatedBackend

__all__ = [
    "Alert",
    "AlertBook",
    "AlertEntry",
    "BackendUnavailable",
    "FitVerdict",
    "GpuBackend",
    "GpuFit",
    "GpuProcess",
    "GpuSample",
    "HealthThresholds",
    "History",
    "HostSample",
    "NvmlBackend",
    "RecordingBackend",
    "ReplayBackend",
    "Sampler",
    "ScriptedBackend",
    "SimulatedBackend",
    "TraceError",
    "TraceWriter",
    "XidEvent",
    "create_backend",
    "evaluate",
    "fits_here",
    "read_trace",
    "safe_sample",
    "sample_from_dict",
    "sample_to_dict",
]
