"""Backfilled history for the forecast integration tests: series written as OpenMetrics, turned
into a TSDB block with `promtool tsdb create-blocks-from openmetrics`, then served by the shared
real-Prometheus fixture (tests/prometheus_support.py: 127.0.0.1, a free port, its own process
group, stopped by the finalizer). Where the binaries are absent the tests skip with a reason that
`make test` prints (-rs).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterable

import pytest

from tests.prometheus_support import PROMETHEUS, PROMTOOL, PrometheusServer, free_port

__all__ = ["backfill", "free_port", "openmetrics", "requires_prometheus", "serve"]

SKIP_REASON = (
    "integration: `prometheus` and `promtool` are not on PATH (Debian package `prometheus`; .ci/run"
    " installs it), so the forecast-from-Prometheus tests were skipped"
)
requires_prometheus = pytest.mark.skipif(PROMETHEUS is None or PROMTOOL is None, reason=SKIP_REASON)


def openmetrics(name: str, series: Iterable[tuple[str, Iterable[tuple[float, float]]]]) -> str:
    """OpenMetrics text: one gauge family, each series a label string and (time s, value) pairs."""
    lines = [f"# TYPE {name} gauge"]
    for labels, samples in series:
        lines += [f"{name}{{{labels}}} {v:.6g} {t:.0f}" for t, v in samples]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backfill(text: str, workdir: Path) -> Path:
    source = workdir / "history.om"
    source.write_text(text)
    tsdb = workdir / "tsdb"
    tsdb.mkdir()
    done = subprocess.run(
        # one block for the whole history: the default 2-hour blocks take ~40 s to write for 3 weeks
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=4032h", str(source), str(tsdb)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, f"promtool failed: {done.stdout}\n{done.stderr}"
    return tsdb


def serve(tsdb: Path, workdir: Path) -> PrometheusServer:
    """Prometheus over the backfilled TSDB; weeks-old samples must not expire on load."""
    return PrometheusServer(workdir, scrape_interval="1h", tsdb=tsdb, extra_args=["--storage.tsdb.retention.time=10y"])
