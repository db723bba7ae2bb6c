"""Local Hugging Face configs: importing a config.json, saving it atomically, scanning the cache."""

import json
import os
import tomllib
from pathlib import Path

import pytest

from catalogs import CatalogError, load_catalog
from catalogs.hf import hf_hub_dir, import_config_json, normalize_id, save_user_model, scan_hf_cache

QWEN3_8B = {
    "architectures": ["Qwen3ForCausalLM"],
    "attention_bias": False,
    "head_dim": 128,
    "hidden_size": 4096,
    "intermediate_size": 12288,
    "max_position_embeddings": 40960,
    "model_type": "qwen3",
    "num_attention_heads": 32,
    "num_hidden_layers": 36,
    "num_key_value_heads": 8,
    "rope_scaling": None,
    "sliding_window": None,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "use_sliding_window": False,
    "vocab_size": 151936,
}


def snapshot(hub: Path, repo: str, config, rev="abc123", ref=True) -> Path:
    org, name = repo.split("/")
    repo_dir = hub / f"models--{org}--{name}"
    snap = repo_dir / "snapshots" / rev
    snap.mkdir(parents=True)
    path = snap / "config.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config, indent=2))
    if ref:
        (repo_dir / "refs").mkdir()
        (repo_dir / "refs" / "main").write_text(rev)
    return path


# ---------------------------------------------------------------- cache scan


def test_scan_lists_snapshots_and_counts_what_it_skips(tmp_path):
    hub = tmp_path / "hub"
    snapshot(hub, "Qwen/Qwen3-8B", QWEN3_8B)
    snapshot(hub, "someone/not-a-model", {"model_type": "vit"})  # no layers: cannot be sized
    snapshot(hub, "someone/broken", "{not json")
    (hub / "models--empty--repo" / "snapshots").mkdir(parents=True)
    (hub / "datasets--x--y").mkdir()
    scan = scan_hf_cache(hf_home=tmp_path)
    assert [e.id for e in scan] == ["hf:Qwen/Qwen3-8B"]
    entry = scan[0]
    assert entry.origin == "hf-cache" and entry.hf_repo == "Qwen/Qwen3-8B"
    assert entry.spec.num_layers == 36
    assert scan.skipped == 3


def test_scan_follows_refs_main_else_newest_snapshot(tmp_path):
    hub = tmp_path / "hub"
    snapshot(hub, "a/old", dict(QWEN3_8B, num_hidden_layers=10), rev="r1", ref=False)
    newer = hub / "models--a--old" / "snapshots" / "r2"
    newer.mkdir()
    (newer / "config.json").write_text(json.dumps(dict(QWEN3_8B, num_hidden_layers=20)))
    os.utime(newer, (2e9, 2e9))
    assert scan_hf_cache(tmp_path)[0].spec.num_layers == 20
    (hub / "models--a--old" / "refs").mkdir()
    (hub / "models--a--old" / "refs" / "main").write_text("r1")
    assert scan_hf_cache(tmp_path)[0].spec.num_layers == 10


def test_hub_location_honours_the_environment(tmp_path, monkeypatch):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert hf_hub_dir() == tmp_path / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert hf_hub_dir() == tmp_path / "hfhome" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hubcache"))
    assert hf_hub_dir() == tmp_path / "hubcache"
    snapshot(tmp_path / "hubcache", "Qwen/Qwen3-8B", QWEN3_8B)
    cat = load_catalog(user_dir=None, hf_cache=True)
    assert cat.model("hf:Qwen/Qwen3-8B").family == "qwen3"
    assert cat.model("hf:qwen/qwen3-8b").family == "qwen3"  # case-insensitive lookup
    assert cat.model_entry("qwen3-8b").origin == "bundled"


def test_missing_cache_is_empty(tmp_path):
    scan = scan_hf_cache(tmp_path / "nothing")
    assert list(scan) == [] and scan.skipped == 0


# ---------------------------------------------------------------- import


def test_import_takes_the_directory_name_as_id(tmp_path):
    model_dir = tmp_path / "My_Fine Tune.v2"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(json.dumps(QWEN3_8B))
    entry = import_config_json(model_dir / "config.json")
    assert entry.id == "my-fine-tune.v2"
    assert entry.origin == "imported"
    assert "rope_scaling" not in entry.config and "sliding_window" not in entry.config  # nulls dropped
    assert "rope_scaling" in entry.note
    assert entry.config["architectures"] == ["Qwen3ForCausalLM"]  # everything else verbatim
    assert import_config_json(model_dir, id="Custom ID").id == "custom-id"


def test_import_from_a_cache_snapshot_uses_org_and_name(tmp_path):
    path = snapshot(tmp_path / "hub", "Qwen/Qwen3-8B", QWEN3_8B)
    entry = import_config_json(path)
    assert entry.id == "qwen--qwen3-8b"
    assert entry.hf_repo == "Qwen/Qwen3-8B"


def test_import_errors_name_file_line_and_field(tmp_path):
    bad = tmp_path / "m" / "config.json"
    bad.parent.mkdir()
    bad.write_text('{\n  "model_type": "llama",\n  "hidden_size": 64,\n}\n')
    with pytest.raises(CatalogError) as info:
        import_config_json(bad)
    assert info.value.line == 4 and "invalid JSON" in str(info.value)
    bad.write_text(json.dumps(dict(QWEN3_8B, num_hidden_layers="many"), indent=2))
    with pytest.raises(CatalogError) as info:
        import_config_json(bad)
    assert info.value.key == "num_hidden_layers"
    assert info.value.line == bad.read_text().splitlines().index('  "num_hidden_layers": "many",') + 1
    with pytest.raises(CatalogError):
        import_config_json(tmp_path / "missing" / "config.json")


def test_normalize_id():
    assert normalize_id("Meta-Llama-3.1-8B-Instruct") == "meta-llama-3.1-8b-instruct"
    assert normalize_id("  a  b__c ") == "a-b-c"


# ---------------------------------------------------------------- save


EXISTING = """\
# my hand-written catalog: keep this comment
[[model]]
id = "tiny"
source = "by hand"

[model.config]
model_type = "llama"
num_hidden_layers = 2
hidden_size = 64
num_attention_heads = 4
vocab_size = 100

# the second one
[[model]]
id = "tiny-2"

[model.config]
model_type = "llama"
num_hidden_layers = 4
hidden_size = 64
num_attention_heads = 4
vocab_size = 100
"""


def imported(tmp_path, name="qwen-local", **changes):
    d = tmp_path / "src" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(dict(QWEN3_8B, **changes)))
    return import_config_json(d / "config.json")


def test_save_creates_the_file_and_the_loader_reads_it_back(tmp_path):
    user = tmp_path / "user"
    entry = imported(tmp_path)
    path = save_user_model(entry, user)
    assert path == user / "models.toml"
    cat = load_catalog(user_dir=user, hf_cache=False)
    back = cat.model_entry("qwen-local")
    assert back.origin == "user"
    assert back.config == entry.config
    assert back.spec == entry.spec.model_copy(update={"name": back.spec.name})
    assert "[model.config]" in path.read_text()  # sub-table, not an inline table


def test_save_keeps_existing_entries_and_comments(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "models.toml").write_text(EXISTING)
    save_user_model(imported(tmp_path), user)
    text = (user / "models.toml").read_text()
    assert text.startswith(EXISTING.rstrip("\n"))
    ids = [m["id"] for m in tomllib.loads(text)["model"]]
    assert ids == ["tiny", "tiny-2", "qwen-local"]


def test_save_refuses_an_existing_id_unless_replace(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "models.toml").write_text(EXISTING)
    entry = imported(tmp_path, name="tiny")
    with pytest.raises(CatalogError) as info:
        save_user_model(entry, user)
    assert info.value.line == 3 and "already" in str(info.value)
    assert (user / "models.toml").read_text() == EXISTING
    save_user_model(entry, user, replace=True)
    text = (user / "models.toml").read_text()
    models = tomllib.loads(text)["model"]
    assert [m["id"] for m in models] == ["tiny-2", "tiny"]
    assert models[1]["config"]["num_hidden_layers"] == 36
    assert "# my hand-written catalog: keep this comment" in text and "# the second one" in text


def test_save_never_touches_a_broken_user_file(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    broken = EXISTING + "oops = \n"
    (user / "models.toml").write_text(broken)
    with pytest.raises(CatalogError) as info:
        save_user_model(imported(tmp_path), user)
    assert info.value.line == 23
    assert (user / "models.toml").read_text() == broken


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    user = tmp_path / "user"
    user.mkdir()
    (user / "models.toml").write_text(EXISTING)

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_user_model(imported(tmp_path), user)
    assert (user / "models.toml").read_text() == EXISTING
    assert [p.name for p in user.iterdir()] == ["models.toml"]  # no temp file left behind


def test_save_defaults_to_the_user_catalog_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_HOME", str(tmp_path / "home"))
    path = save_user_model(imported(tmp_path))
    assert path == tmp_path / "home" / "catalog" / "models.toml"
    assert load_catalog(hf_cache=False).model_entry("qwen-local").origin == "user"
