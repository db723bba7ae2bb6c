"""History readers: a file (CSV, Prometheus range-query JSON export, `watch --record` trace) or
a live Prometheus server. Each returns a :class:`~engine.forecast.history.RawHistory` and raises
:class:`~engine.forecast.errors.ForecastInputError` subclasses with clear messages."""

from __future__ import annotations

import os
from pathlib import Path

from engine.forecast.errors import HistoryError
from engine.forecast.history import RawHistory


def read_history_file(
    path: str | os.PathLike[str], *, column: str | None = None, timezone: str | None = None, sum_series: bool = False,
    select: dict[str, str] | None = None,
) -> RawHistory:
    """Read a history file, choosing the reader from its content: a trace starts with the
    gpuplan-trace header line, a Prometheus export is a JSON object, anything else is CSV."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        raise HistoryError(str(p), "no such file") from None
    except OSError as exc:
        raise HistoryError(str(p), f"cannot read: {exc.strerror or exc}") from None
    start = head.lstrip()[:1]
    if start in (b"{", b"["):
        first_line = head.lstrip().split(b"\n", 1)[0]
        if b'"gpuplan-trace"' in first_line:
            from .trace import read_trace_history

            return read_trace_history(p)
        from .prometheus import read_export_file

        return read_export_file(p, sum_series=sum_series, select=select)
    from .csv_reader import read_csv_history

    return read_csv_history(p, column=column, timezone=timezone)
