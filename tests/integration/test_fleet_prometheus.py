"""Real parts: three `gpuplan exporter --simulate` processes (three hosts), a real Prometheus
scraping them every second, the fleet layer and `gpuplan fleet --once` against it; then one
exporter is stopped and its host must show as stale, never dropped. Skips, saying why, where the
`prometheus` binary is absent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.fleet_fixture import fleet_results
from engine.telemetry.fleet import GIB, QUERIES, FleetQuery, PlanNeed
from tests.prometheus_support import PrometheusServer, Process, free_port, requires_prometheus, wait_until

pytestmark = requires_prometheus

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ("node-a", "node-b", "node-c")
GPUS = 2
H100_TOTAL_GIB = 81559 / 1024  # what the simulated H100s report (nvidia-smi's 81559 MiB)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, request):
    work = tmp_path_factory.mktemp("fleet")
    exporters: dict[str, tuple[Process, str]] = {}
    for host in HOSTS:
        addr = f"127.0.0.1:{free_port()}"
        plan = ["--session", str(ROOT / "sessions/examples/default.toml")] if host == "node-a" else []
        proc = Process([sys.executable, "-m", "tui.cli", "exporter", "--simulate", str(GPUS), "--listen", addr,
                        "--hostname", host, "--interval", "0.5", *plan], work / f"{host}.log", cwd=ROOT)
        request.addfinalizer(proc.stop)
        exporters[host] = (proc, addr)
    prom = PrometheusServer(work, [addr for _, addr in exporters.values()], scrape_interval="1s")
    request.addfinalizer(prom.stop)
    for host, (proc, addr) in exporters.items():
        def up(proc=proc, addr=addr):
            assert proc.alive, proc.output()
            return httpx.get(f"http://{addr}/metrics", timeout=1.0).status_code == 200
        wait_until(up, 30, f"exporter {host} at {addr}")
    prom.wait_ready()
    return exporters, prom


def _live(prom: PrometheusServer) -> FleetQuery:
    return FleetQuery(prom.url, timeout_s=5.0, lookback_s=300, stale_after_s=30)


def test_exporter_output_parses_with_dcgm_names_and_labels(fleet):
    exporters, _ = fleet
    _, addr = exporters["node-a"]
    text = httpx.get(f"http://{addr}/metrics", timeout=5.0).text
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    for name in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
                 "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_XID_ERRORS"):
        samples = fams[name].samples
        assert len(samples) == GPUS
        assert {"gpu", "UUID", "device", "modelName", "Hostname"} <= set(samples[0].labels)
        assert {s.labels["Hostname"] for s in samples} == {"node-a"}
    # node-a was given a session: it exports whether that plan fits there now
    assert fams["gpuplan_fits_here"].samples[0].labels == {"Hostname": "node-a"}
    assert fams["gpuplan_fits_here_need_bytes"].samples[0].value > 0


def test_fleet_layer_sees_every_host_then_a_stopped_one_goes_stale(fleet, capsys):
    exporters, prom = fleet
    query = _live(prom)
    request_hosts = set(HOSTS)

    def all_live():
        snap = query.snapshot()
        live = {h.hostname for h in snap.hosts if not h.stale and len(h.gpus) == GPUS
                and all(g.util is not None for g in h.gpus)}
        return snap if live == request_hosts else None

    snap = wait_until(all_live, 40, "Prometheus to hold all three hosts' GPUs", interval=0.3)
    assert snap.queries == len(QUERIES) <= 10  # a fixed handful, whatever the fleet's size
    # the UUIDs Prometheus returns are the ones each exporter serves
    for host in HOSTS:
        text = httpx.get(f"http://{exporters[host][1]}/metrics", timeout=5.0).text
        uuids = {s.labels["UUID"] for f in text_string_to_metric_families(text) if f.name == "DCGM_FI_DEV_FB_FREE"
                 for s in f.samples}
        h = snap.host(host)
        assert {g.uuid for g in h.gpus} == uuids
        for g in h.gpus:
            assert g.model == "NVIDIA H100 80GB HBM3"
            assert 0 <= g.util <= 100 and 20 <= g.temp_c <= 100 and 0 < g.power_w <= 700
            assert g.mem_total_bytes / GIB == pytest.approx(H100_TOTAL_GIB, abs=0.01)
            used = g.mem_used_bytes + g.mem_free_bytes + (g.mem_reserved_bytes or 0)
            assert used == pytest.approx(g.mem_total_bytes, rel=1e-6)
        assert h.last_seen_s is not None and h.last_seen_s < 10
    # the recorded fixture the bench and the snapshots use has the shape of the real answer
    real, _ = query.fetch(snap.time)
    fake = fleet_results(1, 1)
    for name, rows in real.items():
        if rows and fake[name]:
            assert set(rows[0]["metric"]) == set(fake[name][0]["metric"]), name

    # `gpuplan fleet --once --format json` against the same server, with a plan
    from tui import cli

    code = cli.main(["fleet", "--prometheus", prom.url, "--once", "--format", "json", "--lookback", "5m",
                     str(ROOT / "sessions/examples/default.toml")])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert sorted(h["hostname"] for h in doc["hosts"]) == sorted(HOSTS)
    assert all(len(h["gpus"]) == GPUS and not h["stale"] for h in doc["hosts"])
    assert doc["replicas"] == sum(f["replicas"] for f in doc["fits"])
    assert doc["need"]["gpu"] == "h100-sxm-80gb"

    # stop node-b: Prometheus marks its series stale on the next failed scrape
    proc, _ = exporters["node-b"]
    proc.stop()

    def b_stale():
        s = query.snapshot()
        return s if s.host("node-b") is not None and s.host("node-b").stale else None

    snap = wait_until(b_stale, 20, "node-b to show as stale", interval=0.3)
    b = snap.host("node-b")
    assert 0 <= b.last_seen_s < 20 and len(b.gpus) == GPUS  # kept, with its GPUs
    assert not snap.host("node-a").stale and not snap.host("node-c").stale
    # a fresh query (nothing remembered) still knows node-b from Prometheus's lookback window
    with _live(prom) as fresh:
        again = fresh.snapshot(PlanNeed(10 * GIB, 1, "h100-sxm-80gb"))
    b2 = again.host("node-b")
    assert b2 is not None and b2.stale and b2.last_seen_s is not None and b2.last_seen_s < 30
    assert len(b2.gpus) == GPUS
    assert "node-b" not in {f.hostname for f in again.fits}
    query.close()
