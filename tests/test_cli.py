"""The headless CLI as users and scripts call it: exit codes 0/2/1, messages naming file, line
and field, files never overwritten."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions import example_names, example_text
from tui import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return tmp_path / "home"


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_plan_as_json_has_the_contract(capsys):
    code, out, err = run(capsys, "plan", "--default", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["memory"]["fits"] is True
    assert report["scenarios"]["recommended"]["nodes"] >= 1
    assert report["units"]["memory"] == "GiB (2^30 bytes)"


@pytest.mark.parametrize("name", example_names())
@pytest.mark.parametrize("fmt", ["text", "md", "csv", "json"])
def test_every_example_plans_in_every_format(tmp_path, capsys, name, fmt):
    path = tmp_path / f"{name}.toml"
    path.write_text(example_text(name))
    code, out, err = run(capsys, "plan", str(path), "--format", fmt)
    assert code == 0, err
    assert "GiB" in out or fmt in ("json", "csv")
    if fmt == "csv":
        assert out.startswith("path,value\n") and "memory.kv_pool_gib," in out


def test_text_report_labels_units_and_scenarios(capsys):
    code, out, _ = run(capsys, "plan", "--default")
    assert code == 0
    assert "2^30" in out
    for word in ("minimum", "recommended", "ideal", "KV cache pool", "verdict"):
        assert word in out


def test_bad_value_exits_2_naming_file_line_and_field(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    text = example_text("default").replace("memory_fraction = 0.90", "memory_fraction = 1.70")
    assert text != example_text("default")
    path.write_text(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("memory_fraction = 1.70"))
    code, out, err = run(capsys, "plan", str(path))
    assert code == 2 and out == ""
    assert f"{path}:{line}" in err and "serving.memory_fraction" in err


def test_unknown_model_suggests_and_names_the_line(tmp_path, capsys):
    path = tmp_path / "typo.toml"
    path.write_text(example_text("default").replace('"llama-3.1-8b"', '"llama-3.1-7b"'))
    code, _, err = run(capsys, "plan", str(path))
    assert code == 2
    assert "model.catalog" in err and "llama-3.1-8b" in err and f"{path}:" in err


def test_missing_file_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "plan", str(tmp_path / "nope.toml"))
    assert code == 2 and "no such file" in err


def test_output_never_overwrites_the_session_file(tmp_path, capsys):
    path = tmp_path / "s.toml"
    original = example_text("default")
    path.write_text(original)
    code, _, err = run(capsys, "plan", str(path), "--format", "json", "--output", str(path))
    assert code == 2 and "refusing" in err
    assert path.read_text() == original


def test_output_written_atomically(tmp_path, capsys):
    out_path = tmp_path / "report.md"
    code, out, _ = run(capsys, "plan", "--default", "--format", "md", "--output", str(out_path))
    assert code == 0 and out == ""
    assert out_path.read_text().startswith("# gpuplan")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_internal_error_exits_1_and_is_logged(monkeypatch, capsys, home):
    import engine.plan

    def boom(_inputs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(engine.plan, "plan", boom)
    code, _, err = run(capsys, "plan", "--default")
    assert code == 1 and "internal error" in err and "engine exploded" in err
    log = (home / "state" / "gpuplan.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["message"].startswith("RuntimeError: engine exploded")


@pytest.mark.parametrize("kind", ["models", "gpus", "servers", "prices"])
def test_catalog_lists(capsys, kind):
    code, out, err = run(capsys, "catalog", kind)
    assert code == 0, err
    assert len(out.splitlines()) > 3
    code, out, _ = run(capsys, "catalog", kind, "--json")
    assert code == 0 and isinstance(json.loads(out), list)


def test_catalog_import_then_plan_with_it(tmp_path, capsys):
    cfg = {"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 512, "intermediate_size": 1024,
           "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 32000,
           "max_position_embeddings": 4096}
    (tmp_path / "tiny-llama").mkdir()
    (tmp_path / "tiny-llama" / "config.json").write_text(json.dumps(cfg))
    code, out, err = run(capsys, "catalog", "import", str(tmp_path / "tiny-llama" / "config.json"))
    assert code == 0, err
    session = tmp_path / "s.toml"
    session.write_text(example_text("default").replace('"llama-3.1-8b"', '"tiny-llama"'))
    code, out, err = run(capsys, "plan", str(session), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["model"]["id"] == "tiny-llama"


def test_app_without_a_terminal_says_use_plan():
    proc = subprocess.run([sys.executable, "-m", "tui.cli"], cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "gpuplan plan" in proc.stderr


LINES = example_text("default").splitlines()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    index=st.integers(0, len(LINES) - 1),
    junk=st.one_of(st.text(max_size=30), st.sampled_from(["= =", "[[", "x = ", "tensor_parallel = -1",
                                                           "engine = 'tgi'", "max_model_len = 1e99", "\x00"])),
    mode=st.sampled_from(["replace", "insert", "delete"]),
)
def test_malformed_session_files_exit_2_never_a_traceback(tmp_path, capsys, index, junk, mode):
    lines = list(LINES)
    if mode == "replace":
        lines[index] = junk
    elif mode == "insert":
        lines.insert(index, junk)
    else:
        del lines[index]
    path = tmp_path / "fuzz.toml"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    code, _, err = run(capsys, "plan", str(path), "--format", "json")
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        assert str(path) in err


def test_a_server_that_does_not_hold_the_gpu_exits_2_naming_the_fields(tmp_path, capsys):
    """Issue 7 item 9: an H200 in a DGX H100 is an error naming [hardware] server and gpu and the
    server that holds an H200 (the app moves the server with the GPU instead)."""
    path = tmp_path / "h200.toml"
    path.write_text(example_text("chat-70b").replace('gpu = "h100-sxm-80gb"', 'gpu = "h200-sxm-141gb"'))
    code, out, err = run(capsys, "plan", str(path))
    assert code == 2 and out == ""
    assert f"{path}:13:1: hardware.server: server 'dgx-h100' holds h100-sxm-80gb" in err
    assert 'gpu = "h200-sxm-141gb"' in err and 'server = "hgx-h200"' in err
    path.write_text(path.read_text().replace('"dgx-h100"', '"hgx-h200"'))
    code, out, err = run(capsys, "plan", str(path))
    assert code == 0, err
