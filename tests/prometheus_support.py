"""Real servers for integration tests: a Prometheus server from the Debian package, and child
processes (exporters) in their own process groups, on free 127.0.0.1 ports.

Everything started here is stopped by the caller's finalizer (`stop()` kills the whole process
group, SIGTERM then SIGKILL). Waits are bounded polls on readiness, never fixed sleeps. Where the
`prometheus` binary is absent, `requires_prometheus` skips with a reason that `make test` prints.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import pytest

T = TypeVar("T")

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
SKIP_REASON = (
    "integration: the `prometheus` binary is not on PATH (install the Debian package `prometheus`; "
    ".ci/run does), so the real-Prometheus tests were skipped"
)
requires_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason=SKIP_REASON)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll `predicate` until it returns something truthy (returned) or `timeout` s pass (fail).
    Exceptions from the predicate count as 'not yet'; the last one is shown on failure."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - not ready yet
            last = exc
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}" + (f" (last error: {last!r})" if last else ""))
        time.sleep(interval)


def http_ok(url: str, timeout: float = 1.0) -> bool:
    import httpx

    return httpx.get(url, timeout=timeout).status_code == 200


class Process:
    """A child in its own session/process group, output to a log file; `stop()` ends the group."""

    def __init__(self, argv: Sequence[str], log: Path, env: dict[str, str] | None = None,
                 cwd: str | os.PathLike[str] | None = None) -> None:
        self.argv = list(argv)
        self.log_path = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env, cwd=cwd,
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 5.0) -> int | None:
        if self.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()
        return self.proc.returncode


class PrometheusServer:
    """`prometheus` on 127.0.0.1:<free port> with a generated config in `workdir`.

    `targets`: host:port strings scraped every `scrape_interval` as job "gpu". `tsdb`: an existing
    TSDB directory (e.g. backfilled with promtool) instead of a fresh one."""

    def __init__(self, workdir: Path, targets: Sequence[str] = (), *, scrape_interval: str = "1s",
                 tsdb: Path | None = None, extra_args: Sequence[str] = ()) -> None:
        if PROMETHEUS is None:
            pytest.skip(SKIP_REASON)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        lines = [
            "global:",
            f"  scrape_interval: {scrape_interval}",
            f"  evaluation_interval: {scrape_interval}",
            "scrape_configs:",
        ]
        if targets:
            lines += [
                "  - job_name: gpu",
                f"    scrape_interval: {scrape_interval}",
                f"    scrape_timeout: {scrape_interval}",
                "    static_configs:",
                "      - targets: [" + ", ".join(f"'{t}'" for t in targets) + "]",
            ]
        else:
            lines[-1] = "scrape_configs: []"
        config.write_text("\n".join(lines) + "\n")
        self.tsdb = tsdb or (workdir / "tsdb")
        self.process = Process(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.tsdb}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn", *extra_args],
            workdir / "prometheus.log",
        )

    def wait_ready(self, timeout: float = 30.0) -> "PrometheusServer":
        def ready() -> bool:
            if not self.process.alive:
                pytest.fail(f"prometheus exited: {self.process.output()[-2000:]}")
            return http_ok(f"{self.url}/-/ready")

        wait_until(ready, timeout, f"prometheus at {self.url}/-/ready")
        return self

    def query(self, promql: str) -> list[dict]:
        import httpx

        body = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5.0).json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def stop(self) -> None:
        self.process.stop()
