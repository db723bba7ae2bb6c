"""Issue 10, items 7-10: bad values are errors on their own key, with the file and line, in the
catalog loader, the Hugging Face importer and the CLI alike; user entries that replace bundled
ones say so."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from catalogs import CatalogError, load_catalog
from catalogs.bounds import LIMITS
from catalogs.cli_support import as_json, rows_for
from catalogs.hf import import_config_json
from engine.model import ModelConfigError, from_hf_config
from tui import cli

LLAMA = {
    "model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336,
    "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
}
MIXTRAL = {**LLAMA, "model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 2}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return tmp_path / "home"


def gpu_file(dir: Path, line: str) -> Path:
    dir.mkdir(parents=True, exist_ok=True)
    path = dir / "gpus.toml"
    path.write_text(f'[[gpu]]\nid = "big"\nmemory_gib = 80.0\n{line}\nsource = "x"\n')
    return path


# -- item 7: every number finite and plausible ---------------------------------------------------

@pytest.mark.parametrize(
    "key, value",
    [("tdp_w", "inf"), ("bandwidth_tbs", "1e308"), ("bf16_tflops", "nan"), ("fp8_tflops", "-inf"),
     ("interconnect_gbs", "1e300"), ("memory_gb_marketed", "inf")],
)
def test_gpu_number_not_finite_or_absurd_is_an_error_on_its_line(tmp_path, key, value):
    path = gpu_file(tmp_path / "cat", f"{key} = {value}")
    err = pytest.raises(CatalogError, load_catalog, user_dir=tmp_path / "cat", hf_cache=False).value
    assert err.key == key and err.line == 4 and err.file == str(path), str(err)


def test_memory_inf_is_refused_too(tmp_path):
    d = tmp_path / "cat"
    d.mkdir()
    (d / "gpus.toml").write_text('[[gpu]]\nid = "x"\nmemory_gib = inf\n')
    err = pytest.raises(CatalogError, load_catalog, user_dir=d, hf_cache=False).value
    assert (err.key, err.line) == ("memory_gib", 3) and "finite" in str(err)


def test_price_and_server_bounds(tmp_path):
    d = tmp_path / "cat"
    d.mkdir()
    (d / "prices.toml").write_text('[[price]]\nid = "p"\nprovider = "x"\ngpu = "h100-sxm-80gb"\nprice_per_gpu_hour = 1e308\n')
    err = pytest.raises(CatalogError, load_catalog, user_dir=d, hf_cache=False).value
    assert (err.key, err.line) == ("price_per_gpu_hour", 5)
    (d / "prices.toml").unlink()
    (d / "servers.toml").write_text('[[server]]\nid = "s"\ngpus_per_node = 100000000\nmax_power_kw = inf\n')
    err = pytest.raises(CatalogError, load_catalog, user_dir=d, hf_cache=False).value
    assert {p.key for p in err.problems} == {"gpus_per_node", "max_power_kw"}


def test_session_gpu_bounds_match_the_catalog():
    from sessions.schema import GpuSpecSection

    for key, field in GpuSpecSection.model_fields.items():
        if key in LIMITS["gpus"]:
            (le,) = [m.le for m in field.metadata if getattr(m, "le", None) is not None]
            assert le == LIMITS["gpus"][key], key


def test_a_hundred_million_layers_is_refused_fast_not_planned_for_minutes():
    start = time.perf_counter()
    for layers in (10**8, 10**13):
        err = pytest.raises(ModelConfigError, from_hf_config, {**LLAMA, "num_hidden_layers": layers}, id="x").value
        assert err.field == "num_hidden_layers" and "plausible" in err.message
    assert time.perf_counter() - start < 1.0


def test_inf_anywhere_in_a_config_names_the_key():
    err = pytest.raises(ModelConfigError, from_hf_config, {**LLAMA, "rope_theta": float("inf")}, id="x").value
    assert err.field == "rope_theta"


# -- item 8: impossible architectures, each on its own key ----------------------------------------

@pytest.mark.parametrize(
    "change, key, words",
    [
        ({"num_key_value_heads": 7}, "num_key_value_heads", "do not divide"),
        ({"num_key_value_heads": 64}, "num_key_value_heads", "do not divide"),
        ({"head_dim": 0}, "head_dim", "at least 1"),
        ({"hidden_size": 2047}, "hidden_size", "does not split"),
        ({"num_hidden_layers": 0}, "num_hidden_layers", "at least 1"),
        ({"num_attention_heads": 0}, "num_attention_heads", "at least 1"),
        ({"hidden_size": 0}, "hidden_size", "at least 1"),
        ({"vocab_size": 10**9}, "vocab_size", "plausible"),
    ],
)
def test_impossible_dense_architecture(change, key, words):
    err = pytest.raises(ModelConfigError, from_hf_config, {**LLAMA, **change}, id="x").value
    assert err.field == key and words in err.message


def test_explicit_head_dim_allows_an_uneven_hidden_size():
    spec = from_hf_config({**LLAMA, "hidden_size": 2047, "head_dim": 128}, id="x")
    assert spec.head_dim == 128


def test_mixtral_without_experts_is_not_planned_as_dense():
    err = pytest.raises(ModelConfigError, from_hf_config, {**MIXTRAL, "num_local_experts": 0}, id="x").value
    assert err.field == "num_local_experts" and "mixture of experts" in err.message
    no_key = {k: v for k, v in MIXTRAL.items() if k != "num_local_experts"}
    assert pytest.raises(ModelConfigError, from_hf_config, no_key, id="x").value.field == "num_local_experts"
    err = pytest.raises(ModelConfigError, from_hf_config, {**MIXTRAL, "num_experts_per_tok": 0}, id="x").value
    assert err.field == "num_experts_per_tok"


def test_huge_config_is_an_error_not_a_memory_error():
    cfg = {**LLAMA, "num_hidden_layers": 10_000, "layer_types": ["full_attention"] * 9_999}
    err = pytest.raises(ModelConfigError, from_hf_config, cfg, id="x").value
    assert err.field == "layer_types" and err.message


def test_every_bundled_model_still_sizes():
    catalog = load_catalog(user_dir=None, hf_cache=False)
    for entry_id in catalog.ids("models"):
        assert catalog.model(entry_id).num_layers > 0


def test_hf_import_names_the_json_line(tmp_path):
    d = tmp_path / "my-model"
    d.mkdir()
    cfg = {**LLAMA, "num_key_value_heads": 7}
    (d / "config.json").write_text(json.dumps(cfg, indent=2))
    err = pytest.raises(CatalogError, import_config_json, d).value
    assert err.key == "num_key_value_heads" and err.line == 7
    (d / "config.json").write_text(json.dumps({**LLAMA, "rope_theta": float("inf")}, indent=2))
    err = pytest.raises(CatalogError, import_config_json, d).value
    assert err.key == "rope_theta" and err.line is not None


def test_user_catalog_model_with_bad_heads_names_file_and_line(tmp_path):
    d = tmp_path / "cat"
    d.mkdir()
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {**LLAMA, "num_key_value_heads": 7}.items())
    (d / "models.toml").write_text(f'[[model]]\nid = "m"\nsource = "x"\n\n[model.config]\n{body}\n')
    err = pytest.raises(CatalogError, load_catalog, user_dir=d, hf_cache=False).value
    assert err.key == "config.num_key_value_heads" and err.line == 11


# -- item 9: a user entry that replaces a bundled one says so -------------------------------------

def test_user_override_of_a_bundled_id_is_flagged(tmp_path, capsys, home):
    d = home / "catalog"
    d.mkdir(parents=True)
    (d / "models.toml").write_text(
        '[[model]]\nid = "llama-3.1-70b"\nsource = "mine"\n\n[model.config]\nmodel_type = "llama"\n'
        "num_hidden_layers = 2\nhidden_size = 256\nnum_attention_heads = 4\nvocab_size = 1000\n"
    )
    (d / "gpus.toml").write_text('[[gpu]]\nid = "h100-sxm-80gb"\nmemory_gib = 80.0\n\n[[gpu]]\nid = "mine"\nmemory_gib = 8.0\n')
    catalog = load_catalog(hf_cache=False)
    assert catalog.origin_label("models", "llama-3.1-70b") == "user, overrides bundled"
    assert catalog.origin_label("models", "llama-3.1-8b") == "bundled"
    assert catalog.origin_label("gpus", "mine") == "user"
    headers, rows = rows_for("gpus", catalog)
    assert dict(zip(headers, next(r for r in rows if r[0] == "h100-sxm-80gb")))["origin"] == "user, overrides bundled"
    assert next(r for r in as_json("models", catalog) if r["id"] == "llama-3.1-70b")["overrides_bundled"]
    assert cli.main(["catalog", "models"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("llama-3.1-70b "))
    assert line.endswith("user, overrides bundled")


# -- item 10: one reader for the CLI and the app --------------------------------------------------

def test_bom_size_and_encoding_read_the_same_in_cli_and_app(tmp_path, capsys):
    from sessions import example_text, load_session

    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + example_text("default").encode())
    assert cli.main(["plan", str(bom)]) == 0
    assert load_session(bom).name
    capsys.readouterr()

    big = tmp_path / "big.toml"
    big.write_bytes(example_text("default").encode() + b"#" * (17 << 20) + b"\n")
    assert cli.main(["plan", str(big)]) == 2
    cli_err = capsys.readouterr().err
    app_err = str(pytest.raises(ValueError, load_session, big).value)
    assert "larger than 16 MiB" in cli_err and app_err in cli_err

    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'schema_version = 1\nname = "caf\xe9"\n')
    assert cli.main(["plan", str(latin)]) == 2
    cli_err = capsys.readouterr().err
    app_err = str(pytest.raises(ValueError, load_session, latin).value)
    assert f"{latin}:2:12" in app_err and app_err in cli_err


def test_a_fifo_is_refused_at_once_not_read(tmp_path, capsys):
    import os

    from sessions import load_session

    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    assert "FIFO" in str(pytest.raises(ValueError, load_session, fifo).value)
    assert cli.main(["plan", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert time.perf_counter() - start < 2
