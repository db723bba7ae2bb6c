"""`gpuplan exporter` and `gpuplan fleet` as scripts call them: exit 2 with a clear message on bad
input or an unusable Prometheus, JSON and text snapshots against a recorded answer, and no
Textual import on the headless paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.fleet_fixture import fleet_results, mock_prometheus
from engine.telemetry import fleet as fleet_mod
from tests.prometheus_support import free_port
from tui import cli

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv,needle", [
    (["exporter", "--listen", "0.0.0.0:9400"], "--allow-remote"),
    (["exporter", "--listen", "10.0.0.5:9400", "--simulate", "2"], "not a loopback address"),
    (["exporter", "--listen", "nonsense"], "expected HOST:PORT"),
    (["exporter", "--interval", "0"], "must be > 0"),
    (["exporter", "--replay", "/nonexistent/trace.jsonl"], "trace.jsonl"),
    (["fleet", "--prometheus", "localhost:9090", "--once"], "not an http(s) URL"),
    (["fleet", "--prometheus", "http://127.0.0.1:9090", "--once", "--lookback", "soon"], "not a duration"),
    (["fleet", "--prometheus", "http://127.0.0.1:9090", "--once", "/nonexistent/session.toml"], "no such file"),
    (["fleet", "--prometheus", "http://127.0.0.1:9090", "--once", "--gpu-model", "H100"], "needs a session"),
])
def test_bad_input_exits_2_naming_the_problem(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert needle in err and out == ""


def test_an_unreachable_prometheus_exits_2_with_the_reason(capsys):
    code, out, err = run(capsys, "fleet", "--prometheus", f"http://127.0.0.1:{free_port()}", "--once",
                         "--timeout", "2")
    assert code == 2 and "cannot reach Prometheus at http://127.0.0.1:" in err


@pytest.fixture
def recorded(monkeypatch):
    """FleetQuery answered from a recorded 6-host response (host 4 stale, host 3 hot, host 5 Xid,
    host 1 uncorrected ECC errors on GPU 3)."""
    results = fleet_results(6, 4, now=NOW, stale_every=5, hot_every=4, xid_every=6, ecc_every=5)
    real_init = fleet_mod.FleetQuery.__post_init__

    def post_init(self):
        real_init(self)
        self.transport = httpx.MockTransport(mock_prometheus(results, self.queries))

    monkeypatch.setattr(fleet_mod.FleetQuery, "__post_init__", post_init)
    monkeypatch.setattr(fleet_mod.time, "time", lambda: NOW)
    return results


def test_once_json_has_the_documented_shape(capsys, recorded):
    code, out, err = run(capsys, "fleet", "--prometheus", "http://prom.example:9090", "--once", "--format", "json",
                         str(ROOT / "sessions/examples/default.toml"))
    assert code == 0, err
    doc = json.loads(out)
    assert [h["hostname"] for h in doc["hosts"]] == [f"gpu-node-{i:04d}" for i in range(6)]
    host = doc["hosts"][0]
    assert set(host) == {"hostname", "gpus", "stale", "last_seen_s", "alerts"}
    assert set(host["gpus"][0]) >= {"gpu", "uuid", "model", "util", "mem_used_gib", "mem_total_gib", "temp_c",
                                    "power_w"}
    stale = doc["hosts"][4]
    assert stale["stale"] is True and stale["last_seen_s"] == 600.0 and len(stale["gpus"]) == 4
    assert any(a["rule"] == "xid_critical" and a["message"].startswith("gpu-node-0005: ")
               for a in doc["hosts"][5]["alerts"])
    assert doc["need"]["gpu"] == "h100-sxm-80gb" and doc["replicas"] == sum(f["replicas"] for f in doc["fits"])
    assert all(f["hostname"] != "gpu-node-0004" for f in doc["fits"])
    # GPUs the monitor's health rules keep out are never counted, and are listed with why
    assert [(u["hostname"], u["gpus"]) for u in doc["unfit"]] == [
        ("gpu-node-0001", [{"gpu": 3, "reason": "uncorrected ECC errors"}]),
        ("gpu-node-0005", [{"gpu": 1, "reason": "Xid 79"}]),
    ]
    assert all(3 not in grp for f in doc["fits"] if f["hostname"] == "gpu-node-0001" for grp in f["gpus"])


def test_once_text_lists_the_unfit_gpus_with_the_reason(capsys, recorded):
    code, out, err = run(capsys, "fleet", "--prometheus", "http://prom.example:9090", "--once", "--format", "text",
                         str(ROOT / "sessions/examples/default.toml"))
    assert code == 0, err
    assert "Unfit (not counted, the monitor's health rules):" in out
    assert "  gpu-node-0001 GPU 3: uncorrected ECC errors" in out and "  gpu-node-0005 GPU 1: Xid 79" in out


def test_once_text_names_stale_hosts_and_alerts(capsys, recorded):
    code, out, err = run(capsys, "fleet", "--prometheus", "http://prom.example:9090", "--once")
    assert code == 0, err
    assert "6 hosts (1 stale), 24 GPUs" in out
    assert "STALE 10 min ago" in out
    assert "[critical] gpu-node-0005: GPU 1: Xid 79" in out


def test_headless_commands_never_load_textual():
    code = (
        "import sys\n"
        "from tui import cli\n"
        f"rc = cli.main(['fleet', '--prometheus', 'http://127.0.0.1:{free_port()}', '--once', '--timeout', '1'])\n"
        "rc2 = cli.main(['exporter', '--listen', '0.0.0.0:1'])\n"
        "assert rc == 2 and rc2 == 2, (rc, rc2)\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_the_sessions_fleet_table_names_the_prometheus(capsys, recorded, tmp_path):
    session = tmp_path / "s.toml"
    session.write_text((ROOT / "sessions/examples/default.toml").read_text()
                       + '\n[fleet]\nprometheus = "http://prom.example:9090"\nlookback = "2h"\n')
    code, out, err = run(capsys, "fleet", str(session), "--once", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["prometheus"] == "http://prom.example:9090"
    code, out, err = run(capsys, "fleet", "--once")
    assert code == 2 and "give --prometheus URL" in err


def test_watch_metrics_serves_the_apps_own_samples_and_its_plans_fit():
    from engine.telemetry.simulated import SimulatedBackend
    from tui.cli import plan_from_text
    from tui.fleet_cli import follow_plan, serve_watch_metrics

    with pytest.raises(ValueError, match="--allow-remote"):
        serve_watch_metrics(SimulatedBackend(n_gpus=1), "0.0.0.0:0")
    backend, server = serve_watch_metrics(SimulatedBackend(n_gpus=2, start_time=0.0), "127.0.0.1:0")
    try:
        plan = plan_from_text((ROOT / "sessions/examples/default.toml").read_text(), "default.toml")
        follow_plan(server, lambda: plan)
        assert "DCGM_FI_DEV_GPU_UTIL" not in httpx.get(server.url, timeout=5).text  # nothing sampled yet
        sample = backend.sample()  # what the app's sampler thread does each tick
        text = httpx.get(server.url, timeout=5).text
        assert 'DCGM_FI_DEV_FB_FREE{' in text and sample.gpus[0].uuid in text
        assert "gpuplan_fits_here{" in text
    finally:
        server.stop()


def test_gpuplan_watch_metrics_serves_what_the_apps_sampler_takes(monkeypatch):
    """`gpuplan watch --simulate 2 --metrics ADDR`: the app gets the publishing backend, the server
    answers while the app runs and is stopped when it exits. (The app itself is replaced by a stub
    that takes one sample, as its sampler thread would, and scrapes.)"""
    from tui import launch as app_mod

    port = free_port()
    scraped: list[str] = []

    def fake_run(self, mouse=True):
        self.telemetry_link.backend.sample()
        scraped.append(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        return 0

    monkeypatch.setattr(app_mod.GpuPlanApp, "run", fake_run)
    code = app_mod.run_app(None, monitor_first=True, simulate=2, metrics=f"127.0.0.1:{port}")
    assert code == 0
    assert "DCGM_FI_DEV_GPU_UTIL{" in scraped[0] and 'gpuplan_telemetry_up{' in scraped[0]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    # a refused address is bad input (exit 2 in the CLI), before any UI starts
    with pytest.raises(cli.BadInput, match="--allow-remote"):
        app_mod.run_app(None, simulate=1, metrics="0.0.0.0:0")
