"""A `gpuplan watch --record` trace as demand history: the sum of GPU utilisation over the GPUs
that answered, in busy-GPU equivalents (100 % on two GPUs = 2.0). Utilisation is a proxy for
demand: it saturates at 100 % and counts any work, not only serving."""

from __future__ import annotations

from pathlib import Path

from engine.forecast.errors import HistoryError
from engine.forecast.history import RawHistory, Repair


def read_trace_history(path: Path) -> RawHistory:
    from engine.telemetry.replay import TraceError, iter_trace

    times: list[float] = []
    values: list[float] = []
    without = 0
    try:
        for sample in iter_trace(path):
            utils = [g.gpu_util_pct for g in sample.ok_gpus if g.gpu_util_pct is not None]
            if not utils:
                without += 1
                continue
            times.append(float(sample.timestamp))
            values.append(sum(utils) / 100.0)
    except TraceError as exc:
        raise HistoryError(str(path), exc.reason, row=exc.line) from None
    if not times:
        raise HistoryError(str(path), "no sample in the trace has GPU utilisation")
    history = RawHistory(source=str(path), times=times, values=values, unit="busy GPUs", metric="busy_gpus")
    if without:
        history.repairs.append(Repair("missing_values", without, f"{without} samples without GPU utilisation skipped"))
    return history
