"""`gpuplan search` as users and scripts call it, and the round trip that makes it trustworthy:
the winner written back into the session and planned again gives the same figures."""

from __future__ import annotations

import csv
import io
import json

import pytest

from engine.plan import plan
from engine.search import SearchOptions
from sessions.examples import default_session_text
from sessions.io import parse_session
from sessions.resolve import to_plan_inputs
from tui import cli
from tui.search_cli import apply_candidate, search_session


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))


@pytest.fixture(scope="module")
def catalog():
    from catalogs.loader import load_catalog

    return load_catalog(user_dir=None, hf_cache=False)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _figures(p) -> tuple:
    sc, inf = p["scenarios"]["recommended"], p["inference"]
    return (sc["replicas"], sc["gpus"], sc["gpus_provisioned"], sc["cost_per_hour"], inf["batch"], inf["itl_ms"],
            inf["ttft_ms"], sc["power_kw"])


def _candidate_figures(c) -> tuple:
    return (c.replicas, c.gpus, c.gpus_provisioned, round(c.cost_per_hour, 2), c.batch, round(c.itl_ms, 2),
            round(c.ttft_ms, 1), round(c.power_kw, 2))


@pytest.mark.parametrize("example", ["default", "chat-70b", "owned"])
def test_written_back_candidates_plan_to_the_same_figures(catalog, example):
    from sessions import example_text

    if example == "owned":  # the user owns H100s: capex written off over 4 years
        text = example_text("default").replace("[costs]\n", "[costs]\ncapex = 30000\namortization_years = 4\n")
    else:
        text = example_text(example)
    session = parse_session(text, example)
    result = search_session(session, catalog, SearchOptions(top=5, exhaustive=example == "owned"))
    assert result.winner is not None
    others = [c for c in result.candidates if c.feasible and c.gpu != result.winner.gpu][:3]
    if example == "owned":
        owned = [c for c in result.candidates if c.feasible and c.price_kind == "owned"]
        rented = [c for c in result.candidates if c.feasible and c.gpu == "h100-sxm-80gb" and c.price_kind != "owned"]
        assert owned and rented
        others += [owned[0], rented[0]]
    for c in [result.winner, *others]:
        edited = apply_candidate(session, catalog, c)
        planned = plan(to_plan_inputs(edited, catalog)).to_dict()
        assert _figures(planned) == _candidate_figures(c), c.label
        assert planned["inference"]["meets_sla"] is True


def test_cli_text_ranks_cheapest_first_and_says_why_others_lost(capsys):
    code, out, err = run(capsys, "search", "--default")
    assert code == 0, err
    assert "cheapest:" in out and "why not first" in out and "cheapest that meets the SLA" in out
    assert "price unknown" in out  # a GPU without a catalog price is listed, not dropped


def test_cli_json_contract_and_gpu_filter(capsys):
    code, out, _ = run(capsys, "search", "--default", "--format", "json", "--gpu", "l40s", "a100-sxm-80gb", "--top", "5")
    assert code == 0
    data = json.loads(out)
    assert 0 < len(data["candidates"]) <= 5
    assert {c["gpu"] for c in data["candidates"]} <= {"l40s", "a100-sxm-80gb"}
    first = data["candidates"][0]
    assert first["feasible"] and first["cost_per_hour"] == data["winner"]["cost_per_hour"]
    costs = [c["cost_per_hour"] for c in data["candidates"] if c["feasible"]]
    assert costs == sorted(costs)


def test_cli_csv_has_a_header_and_a_row_per_candidate(capsys):
    code, out, _ = run(capsys, "search", "--default", "--format", "csv", "--gpu", "l4")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {"gpu", "cost_per_hour", "why_not_first", "reason"} <= set(rows[0])
    assert all(r["gpu"] == "l4" for r in rows)


def test_cli_bad_input_exits_2_with_a_clear_message(tmp_path, capsys):
    code, _, err = run(capsys, "search", "--default", "--gpu", "h100-sxm-8gb")
    assert code == 2 and "h100-sxm-8gb" in err and "h100-sxm-80gb" in err  # with a suggestion
    code, _, err = run(capsys, "search", "--default", "--max-gpus", "0")
    assert code == 2 and "--max-gpus" in err
    bad = tmp_path / "bad.toml"
    bad.write_text(default_session_text().replace("itl_ms = 50", "itl_ms = -5"))
    code, _, err = run(capsys, "search", str(bad))
    assert code == 2 and "bad.toml" in err and "itl_ms" in err


def test_cli_save_winner_writes_a_new_session_and_never_overwrites(tmp_path, capsys, catalog):
    out = tmp_path / "winner.toml"
    code, text, _ = run(capsys, "search", "--default", "--save-winner", str(out), "--format", "json")
    assert code == 0
    winner = json.loads(text)["winner"]
    planned = plan(to_plan_inputs(parse_session(out.read_text()), catalog)).to_dict()
    assert planned["hardware"]["gpu"] == winner["gpu"]
    assert planned["scenarios"]["recommended"]["cost_per_hour"] == winner["cost_per_hour"]
    before = out.read_text()
    code, _, err = run(capsys, "search", "--default", "--save-winner", str(out))
    assert code == 2 and "refusing to overwrite" in err and out.read_text() == before


def test_cli_impossible_sla_names_the_nearest_miss(tmp_path, capsys):
    f = tmp_path / "fast.toml"
    f.write_text(default_session_text().replace("itl_ms = 50", "itl_ms = 0.5"))
    code, out, _ = run(capsys, "search", str(f), "--gpu", "h100-sxm-80gb", "b200-sxm-180gb")
    assert code == 0
    assert "nothing meets the SLA" in out and "nearest miss" in out
