"""`gpuplan plan` on a session with a [forecast] table: the report carries a `forecast` block with
the figures `gpuplan forecast --session` prints (summarised), every format shows it, a bad
history exits 2 naming the session file, line and field, the block says how to enable the extra
when it is missing, and a session without [forecast] imports no forecasting library."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.forecast.series import synthetic, write_csv
from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "sessions" / "examples" / "chat-70b.toml").read_text()
TABLE = '\n[forecast]\nhistory = "traffic.csv"\nhorizon = "3d"\nquantile = "p95"\n'


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A session beside its three-week hourly history, named relative to the session file."""
    folder = tmp_path_factory.mktemp("plan-forecast")
    t, v = synthetic(weeks=3, growth_per_week=0.05, noise=0.02)
    write_csv(folder / "traffic.csv", t, v, header="timestamp,rps")
    (folder / "chat.toml").write_text(BASE + TABLE)
    return folder


@pytest.fixture(scope="module")
def reports(folder, tmp_path_factory):
    """The plan's JSON report and `gpuplan forecast --session`'s, computed once."""
    pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GPUPLAN_HOME", str(tmp_path_factory.mktemp("home")))
        session = str(folder / "chat.toml")
        code, plan_out, err = _main("plan", session, "--format", "json")
        assert code == 0, err
        code, fc_out, err = _main("forecast", "--session", session, "--format", "json")
        assert code == 0, err
    return json.loads(plan_out), json.loads(fc_out)


def _expand(steps: list[dict], times: list[str], key: str) -> list[int]:
    """The hourly values back from the steps (each held until the next)."""
    at = {s["t"]: s[key] for s in steps}
    out, now = [], None
    for t in times:
        now = at.get(t, now)
        out.append(now)
    return out


def test_the_json_block_holds_the_forecasts_figures(reports):
    plan, fc = reports
    block = plan["forecast"]
    assert {"memory", "scenarios", "inference"} <= set(plan)  # the plan report is all still there
    assert block["status"] == "ok" and block["horizon_hours"] == 72
    for key in ("backtest", "guardrails", "repairs", "models", "weights", "source", "unit", "metric"):
        assert block[key] == fc[key], key
    points = fc["points"]
    assert block["start"] == points[0]["t"] and block["end"] == points[-1]["t"]
    for key in ("mean", "p80_high", "p95_high"):
        assert block["peak"][key]["value"] == pytest.approx(max(p[key] for p in points))
    assert [d["date"] for d in block["daily_peaks"]] == sorted({p["t"][:10] for p in points})
    assert block["components"]["daily"] == fc["components"]["daily"]["explanation"]

    cap, full = block["capacity"], fc["capacity"]
    assert cap["quantile"] == "p95" and cap["today_gpus"] == full["today_gpus"] > 0
    times = [p["t"] for p in points]
    assert _expand(cap["timeline"], times, "gpus") == [r["gpus"] for r in full["timeline"]]
    assert len(cap["timeline"]) < len(full["timeline"])  # steps, not every hour
    assert set(cap["scenarios"]) == {"base", "optimistic", "pessimistic", "spike"}
    for name, sc in cap["scenarios"].items():
        ref = full["scenarios"][name]
        assert sc["first_more_gpus"] == ref["first_more_gpus"] and sc["peak_gpus"] == ref["peak_gpus"]
        assert sc["cost"] == pytest.approx(ref["cost"]) and sc["cost"] > 0
        assert _expand(sc["steps"], times, "replicas") == ref["replicas"]


def test_text_markdown_and_csv_show_the_forecast(reports, folder):
    session = str(folder / "chat.toml")
    code, text, err = _main("plan", session)
    assert code == 0, err
    section = text[text.index("\nDemand forecast\n"):]
    assert "peak demand: mean / P80 / P95" in section and "capacity at p95 demand" in section
    assert "pessimistic" in section and ("more GPUs from" in section or "within today's plan" in section)
    assert "backtest MASE" in section
    code, md, _ = _main("plan", session, "--format", "md")
    assert code == 0 and "## Demand forecast" in md and "| peak demand: mean / P80 / P95 |" in md
    code, csv_text, _ = _main("plan", session, "--format", "csv")
    assert code == 0 and "forecast.capacity.scenarios.spike.first_more_gpus," in csv_text
    assert "forecast.backtest.mase," in csv_text


def test_a_missing_history_exits_2_naming_the_session_line_and_field(tmp_path):
    session = tmp_path / "chat.toml"
    session.write_text(BASE + TABLE.replace("traffic.csv", "missing.csv"))
    line = (BASE + TABLE).splitlines().index('history = "traffic.csv"') + 1
    code, out, err = _main("plan", str(session), "--format", "json")
    assert code == 2 and out == ""
    assert f"{session}:{line}:1: forecast.history: " in err and "missing.csv: no such file" in err
    assert "Traceback" not in err


def test_a_malformed_history_names_its_row(tmp_path):
    pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")
    (tmp_path / "traffic.csv").write_text("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,x\n")
    (tmp_path / "chat.toml").write_text(BASE + TABLE)
    code, _, err = _main("plan", str(tmp_path / "chat.toml"))
    assert code == 2 and "forecast.history: " in err and "traffic.csv, row 3, field 'value': not a number" in err


def test_several_series_say_how_to_choose_in_the_session(tmp_path):
    pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")
    series = [{"metric": {"pod": pod}, "values": [[1_704_067_200 + 3600 * i, "1"] for i in range(3)]} for pod in "ab"]
    (tmp_path / "export.json").write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": series}}))
    (tmp_path / "chat.toml").write_text(BASE + TABLE.replace("traffic.csv", "export.json"))
    code, _, err = _main("plan", str(tmp_path / "chat.toml"))
    assert code == 2 and "forecast.series: " in err and "2 series" in err and "sum = true" in err


def test_without_the_extra_the_block_says_how_to_enable_it(tmp_path, monkeypatch):
    import engine.forecast

    monkeypatch.setattr(engine.forecast, "available", lambda: False)
    (tmp_path / "chat.toml").write_text(BASE + TABLE)
    code, out, err = _main("plan", str(tmp_path / "chat.toml"), "--format", "json")
    assert code == 0, err
    block = json.loads(out)["forecast"]
    assert block["status"] == "unavailable" and "pip install" in block["message"]
    code, text, _ = _main("plan", str(tmp_path / "chat.toml"))
    assert code == 0 and "Demand forecast" in text and "pip install -e '.[forecast]'" in text


def test_a_table_without_a_history_says_so(tmp_path):
    (tmp_path / "chat.toml").write_text(BASE + '\n[forecast]\nhorizon = "3d"\n')
    code, out, err = _main("plan", str(tmp_path / "chat.toml"), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["forecast"]["status"] == "no_history"


def test_plan_imports_the_forecasting_libraries_only_for_a_forecast_table(folder, tmp_path):
    """Measured in a fresh interpreter: without [forecast] none of them is loaded; with one the
    same probe sees statsmodels (so the probe itself can fail)."""
    pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")
    plain = tmp_path / "plain.toml"
    plain.write_text(BASE)
    code = (
        "import sys, io, contextlib\n"
        "from tui.cli import main\n"
        "heavy = lambda: sorted(m for m in ('statsmodels', 'pandas', 'engine.forecast.model') if m in sys.modules)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['plan', {str(plain)!r}, '--format', 'json']) == 0\n"
        "print(heavy())\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['plan', {str(folder / 'chat.toml')!r}, '--format', 'json']) == 0\n"
        "print(heavy())\n"
    )
    env = {**__import__("os").environ, "GPUPLAN_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    without, with_table = out.stdout.strip().splitlines()[-2:]
    assert without == "[]"
    assert "statsmodels" in with_table and "pandas" in with_table
