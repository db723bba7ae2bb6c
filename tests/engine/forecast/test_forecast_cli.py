"""`gpuplan forecast` as users run it: formats, a session's [forecast] table and capacity, bad
input exiting 2 with the row named, and start-up never importing the forecasting libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main

from .series import synthetic, write_csv

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "sessions" / "examples"


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")
    t, v = synthetic(weeks=3, growth_per_week=0.05, noise=0.02)
    return write_csv(tmp_path_factory.mktemp("h") / "traffic.csv", t, v, header="timestamp,rps")


def _run(capsys, *argv):
    code = main(["forecast", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report_without_a_session(history, capsys):
    code, out, err = _run(capsys, str(history), "--horizon", "2d", "--format", "json")
    assert code == 0, err
    r = json.loads(out)
    assert {"points", "components", "backtest", "guardrails", "repairs", "capacity"} <= set(r)
    assert len(r["points"]) == 48 and r["capacity"] is None
    assert set(r["points"][0]) == {"t", "mean", "p80_low", "p80_high", "p95_low", "p95_high"}
    assert r["points"][0]["t"].endswith("Z")
    assert set(r["backtest"]) >= {"mase", "mase_seasonal_naive", "coverage_p80", "coverage_p95"}
    assert {"trend", "daily", "weekly", "residual"} <= set(r["components"])


def test_session_forecast_table_and_capacity(history, tmp_path, capsys):
    session = tmp_path / "chat.toml"
    session.write_text(
        (EXAMPLES / "chat-70b.toml").read_text()
        + f'\n[forecast]\nhistory = "{history.name}"\nhorizon = "3d"\nquantile = "p95"\n'
    )
    (tmp_path / history.name).write_text(history.read_text())  # relative to the session file
    code, out, err = _run(capsys, "--session", str(session), "--format", "json")
    assert code == 0, err
    r = json.loads(out)
    cap = r["capacity"]
    assert len(r["points"]) == 72 and cap["quantile"] == "p95"
    assert set(cap["scenarios"]) == {"base", "optimistic", "pessimistic", "spike"}
    assert len(cap["timeline"]) == 72 and cap["timeline"][0]["gpus"] % cap["gpus_per_replica"] == 0
    base, pess = cap["scenarios"]["base"], cap["scenarios"]["pessimistic"]
    assert pess["gpu_hours"] >= base["gpu_hours"] and base["cost"] is not None
    code, out, err = _run(capsys, "--session", str(session))
    assert code == 0 and "Capacity at p95 demand" in out and "pessimistic" in out


def test_text_and_csv(history, capsys):
    code, out, _ = _run(capsys, str(history), "--horizon", "1d")
    assert code == 0 and "Backtest" in out and "MASE" in out and "daily peak at" in out
    code, out, _ = _run(capsys, str(history), "--horizon", "1d", "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 25


@pytest.mark.parametrize(
    ("body", "argv", "message"),
    [
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,lots\n", [], "row 3, field 'value': not a number"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n", ["--horizon", "2x"], "--horizon '2x' is not a duration"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,2\n", [], "at least 2 days"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(tmp_path, capsys, body, argv, message):
    p = tmp_path / "bad.csv"
    p.write_text(body)
    code, out, err = _run(capsys, str(p), *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_no_history_and_both_sources(capsys, history):
    code, _, err = _run(capsys)
    assert code == 2 and "no history" in err
    code, _, err = _run(capsys, str(history), "--prometheus", "http://127.0.0.1:1", "--query", "up")
    assert code == 2 and "not both" in err


def test_without_the_extra_the_message_says_how_to_enable_it(monkeypatch, capsys, history):
    import engine.forecast

    monkeypatch.setattr(engine.forecast, "available", lambda: False)
    code, _, err = _run(capsys, str(history))
    assert code == 2 and "pip install" in err and "forecast" in err


def test_start_up_and_plan_never_import_the_forecasting_libraries():
    code = (
        "import sys, io, contextlib\n"
        "from tui import cli\n"
        "import tui.app\n"
        "cli._parser()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['plan', '--default', '--format', 'json'])\n"
        "print(sorted(m for m in ('statsmodels', 'pandas', 'scipy', 'httpx') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
