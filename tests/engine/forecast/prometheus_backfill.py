"""A real Prometheus over a backfilled TSDB, for the forecast integration tests.

The series are written as OpenMetrics, turned into TSDB blocks with `promtool tsdb
create-blocks-from openmetrics`, and served by `prometheus` on 127.0.0.1 with a free port, in its
own process group (stopped with SIGTERM, then SIGKILL, by the fixture's finalizer). Readiness is
a bounded poll of /-/ready, never a fixed sleep. Where the binaries are absent the tests skip
with a reason that `make test` prints (-rs).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterable

import pytest

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
SKIP_REASON = (
    "integration: `prometheus` and `promtool` are not on PATH (Debian package `prometheus`; .ci/run"
    " installs it), so the forecast-from-Prometheus tests were skipped"
)
requires_prometheus = pytest.mark.skipif(PROMETHEUS is None or PROMTOOL is None, reason=SKIP_REASON)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Prometheus:
    def __init__(self, tsdb: Path, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        self.log = workdir / "prometheus.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [
                PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=10y",  # backfilled weeks must not expire on load
                "--log.level=warn",
            ],
            stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> Prometheus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)  # a bounded poll for readiness, not a wait for a result
        raise AssertionError(f"prometheus not ready in {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log_file.close()
