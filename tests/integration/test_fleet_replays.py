"""Real parts for the PCIe replay counter: `gpuplan exporter --replay TRACE` serving a recorded
marginal PCIe link (its replay counter rising), a real Prometheus scraping it, and the fleet layer
reading the counter back and raising the monitor's replay warning with the host named. Skips,
saying why, where the `prometheus` binary is absent."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from engine.telemetry.fleet import FleetQuery
from engine.telemetry.replay import TraceWriter
from engine.telemetry.simulated import SimulatedBackend
from tests.prometheus_support import PrometheusServer, Process, free_port, requires_prometheus, wait_until

pytestmark = requires_prometheus

ROOT = Path(__file__).resolve().parents[2]


def test_a_rising_replay_counter_reaches_the_fleet_as_the_monitors_warning(tmp_path, request):
    trace = tmp_path / "marginal-link.jsonl"
    b = SimulatedBackend(2, seed=7, start_time=1_700_000_000.0, pcie_replays={1: 0}, slow_every=1)
    with TraceWriter(trace, source="test") as w:
        for _ in range(400):  # GPU 1's counter rises 3 a sample; a replay at 0.5 s loops after 200 s
            w.write(b.sample())
    addr = f"127.0.0.1:{free_port()}"
    proc = Process([sys.executable, "-m", "tui.cli", "exporter", "--replay", str(trace), "--listen", addr,
                    "--hostname", "node-r", "--interval", "0.5"], tmp_path / "exporter.log", cwd=ROOT)
    request.addfinalizer(proc.stop)

    def up():
        assert proc.alive, proc.output()
        return httpx.get(f"http://{addr}/metrics", timeout=1.0).status_code == 200

    wait_until(up, 30, f"exporter at {addr}")
    prom = PrometheusServer(tmp_path, [addr], scrape_interval="1s")
    request.addfinalizer(prom.stop)
    prom.wait_ready()
    with FleetQuery(prom.url, timeout_s=5.0, lookback_s=300, stale_after_s=30) as query:
        def warned():
            snap = query.snapshot()
            h = snap.host("node-r")
            hits = [a for a in (h.alerts if h else ()) if a.rule == "pcie_replay"]
            return (snap, hits[0]) if hits else None

        snap, alert = wait_until(warned, 40, "the replay warning on node-r", interval=0.5)
    assert (alert.hostname, alert.gpu, alert.severity) == ("node-r", 1, "warn")
    assert alert.message.startswith("node-r: GPU 1: PCIe replay counter rose by ")
    g0, g1 = snap.host("node-r").gpus
    assert g1.pcie_replay_count is not None and g1.pcie_replay_count > 0  # read back from Prometheus
    assert g0.pcie_replay_count is None  # 0 on a healthy link: not among the non-zero signals
    assert not [a for a in snap.alerts if a.gpu == 0]
