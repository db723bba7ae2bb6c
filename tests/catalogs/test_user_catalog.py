"""User catalog directory: overrides, additions, and precise errors for bad files."""

from pathlib import Path

import pytest

from catalogs import CatalogError, UnknownEntry, load_catalog
from catalogs.loader import default_user_dir


def write(dir: Path, name: str, text: str) -> Path:
    dir.mkdir(parents=True, exist_ok=True)
    path = dir / name
    path.write_text(text)
    return path


GOOD_GPU = """\
# my lab's cards
[[gpu]]
id = "h100-sxm-80gb"
name = "H100 with ECC off"
memory_gib = 80.0
source = "torch.cuda.mem_get_info on node7"

[[gpu]]
id = "rtx-6000-ada"
name = "RTX 6000 Ada"
memory_gib = 47.5
bf16_tflops = 364.2
source = "our measurement"
"""

GOOD_MODEL = """\
[[model]]
id = "tiny-llama"
name = "Tiny"
source = "hand written"

[model.config]
model_type = "llama"
num_hidden_layers = 2
hidden_size = 256
intermediate_size = 512
num_attention_heads = 4
num_key_value_heads = 2
vocab_size = 1000
"""


def test_user_entries_override_and_add(tmp_path):
    write(tmp_path, "gpus.toml", GOOD_GPU)
    write(tmp_path, "models.toml", GOOD_MODEL)
    write(tmp_path, "servers.toml", '[[server]]\nid = "my-box"\ngpu = "rtx-6000-ada"\ngpus_per_node = 4\nsource = "x"\n')
    cat = load_catalog(user_dir=tmp_path, hf_cache=False)
    assert cat.gpu("h100-sxm-80gb").memory_gib == 80.0  # replaced whole
    assert cat.gpu("h100-sxm-80gb").bandwidth_tbs is None
    assert cat.gpu("rtx-6000-ada").bf16_tflops == 364.2
    assert cat.model_entry("tiny-llama").origin == "user"
    assert cat.model("tiny-llama").num_kv_heads == 2
    assert cat.server("my-box").gpus_per_node == 4
    assert cat.model_entry("llama-3.1-8b").origin == "bundled"  # the rest stays
    assert list(cat.gpus).index("h100-sxm-80gb") == 0  # an override keeps its place
    assert str(tmp_path / "gpus.toml") in cat.files


def test_missing_user_dir_is_fine(tmp_path):
    cat = load_catalog(user_dir=tmp_path / "nope", hf_cache=False)
    assert "h100-sxm-80gb" in cat.gpus


def test_gpuplan_home_decides_the_default_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_HOME", str(tmp_path))
    assert default_user_dir() == tmp_path / "catalog"
    write(tmp_path / "catalog", "gpus.toml", GOOD_GPU)
    assert load_catalog(hf_cache=False).gpu("rtx-6000-ada").memory_gib == 47.5


def error_for(tmp_path, name, text) -> CatalogError:
    path = write(tmp_path, name, text)
    with pytest.raises(CatalogError) as info:
        load_catalog(user_dir=tmp_path, hf_cache=False)
    err = info.value
    assert err.file == str(path)
    return err


def test_unknown_key_names_file_line_and_key(tmp_path):
    text = GOOD_GPU.replace('bf16_tflops = 364.2', 'bf16_tflop = 364.2')
    err = error_for(tmp_path, "gpus.toml", text)
    assert (err.line, err.key) == (12, "bf16_tflop")
    assert str(err).startswith(f"{tmp_path / 'gpus.toml'}:12: bf16_tflop: unknown key")
    assert "bf16_tflops" in str(err)  # the suggestion


def test_wrong_type_names_the_key_line(tmp_path):
    text = GOOD_GPU.replace("memory_gib = 47.5", 'memory_gib = "47.5"')
    err = error_for(tmp_path, "gpus.toml", text)
    assert (err.line, err.key) == (11, "memory_gib")
    assert "number" in str(err) and "'47.5'" in str(err)


def test_missing_required_key(tmp_path):
    err = error_for(tmp_path, "servers.toml", '[[server]]\nid = "box"\ngpu = "l4"\n')
    assert (err.line, err.key) == (1, "gpus_per_node")
    assert "missing" in str(err)


def test_toml_syntax_error_has_line_and_column(tmp_path):
    err = error_for(tmp_path, "gpus.toml", '[[gpu]]\nid = "x"\nmemory_gib = \n')
    assert (err.line, err.col, err.key) == (3, 14, "")
    assert str(err).startswith(f"{tmp_path / 'gpus.toml'}:3:14: TOML syntax error")


def test_bad_model_config_field(tmp_path):
    text = GOOD_MODEL.replace("num_hidden_layers = 2", 'num_hidden_layers = "two"')
    err = error_for(tmp_path, "models.toml", text)
    assert (err.line, err.key) == (8, "config.num_hidden_layers")
    assert "integer" in str(err)


def test_model_config_missing_a_field_points_at_the_config_table(tmp_path):
    text = GOOD_MODEL.replace("vocab_size = 1000\n", "")
    err = error_for(tmp_path, "models.toml", text)
    assert (err.line, err.key) == (6, "config.vocab_size")


def test_bad_moe_config_names_the_field(tmp_path):
    text = GOOD_MODEL + "num_local_experts = 4\nnum_experts_per_tok = 8\n"
    err = error_for(tmp_path, "models.toml", text)
    assert (err.line, err.key) == (15, "config.num_experts_per_tok")


def test_every_problem_in_a_file_is_reported(tmp_path):
    text = GOOD_GPU.replace("memory_gib = 47.5", "memory_gib = -1").replace('name = "H100 with ECC off"', "colour = 1")
    err = error_for(tmp_path, "gpus.toml", text)
    assert [(p.line, p.key) for p in err.problems] == [(4, "colour"), (11, "memory_gib")]
    assert len(str(err).splitlines()) == 2


def test_duplicate_ids_in_one_file(tmp_path):
    text = GOOD_GPU.replace('id = "rtx-6000-ada"', 'id = "h100-sxm-80gb"')
    err = error_for(tmp_path, "gpus.toml", text)
    assert (err.line, err.key) == (9, "id") and "first defined at line 3" in str(err)


def test_unknown_top_level_key_and_wrong_table_shape(tmp_path):
    err = error_for(tmp_path, "gpus.toml", 'colour = "red"\n' + GOOD_GPU)
    assert (err.line, err.key) == (1, "colour")
    err = error_for(tmp_path, "gpus.toml", '[gpu]\nid = "x"\nmemory_gib = 1.0\n')
    assert (err.line, err.key) == (1, "gpu") and "[[gpu]]" in str(err)


def test_ids_must_be_typeable(tmp_path):
    err = error_for(tmp_path, "gpus.toml", '[[gpu]]\nid = "My GPU"\nmemory_gib = 1.0\n')
    assert (err.line, err.key) == (2, "id")


def test_internal_keys_are_refused(tmp_path):
    err = error_for(tmp_path, "models.toml", GOOD_MODEL.replace('source = "hand written"', 'origin = "bundled"'))
    assert (err.line, err.key) == (4, "origin")


def test_server_must_name_a_known_gpu(tmp_path):
    err = error_for(tmp_path, "servers.toml", '[[server]]\nid = "box"\ngpu = "h100-sxm-80"\ngpus_per_node = 8\n')
    assert (err.line, err.key) == (3, "gpu") and "h100-sxm-80gb" in str(err)


def test_unknown_ids_suggest_close_matches():
    cat = load_catalog(user_dir=None, hf_cache=False)
    with pytest.raises(UnknownEntry) as info:
        cat.model("llama-3.1-8")
    assert info.value.suggestions[0] == "llama-3.1-8b"
    assert "did you mean 'llama-3.1-8b'" in str(info.value)
    with pytest.raises(UnknownEntry):
        cat.server("nothing-like-it-at-all-zzz")
    with pytest.raises(KeyError):  # UnknownEntry is a KeyError
        cat.price("x")
    assert cat.gpu("L40S").id == "l40s"  # case does not matter


def test_inline_config_table_errors_point_at_its_line(tmp_path):
    text = '[[model]]\nid = "m"\nconfig = { model_type = "llama", hidden_size = 64 }\n'
    err = error_for(tmp_path, "models.toml", text)
    assert (err.line, err.key) == (3, "config.num_hidden_layers")


def test_a_broken_bundled_entry_reports_its_absolute_line(monkeypatch):
    import catalogs.loader as loader

    text = (
        "# header\n\n[[gpu]]\nid = \"ok\"\nmemory_gib = 1.0\nsource = \"s\"\n\n"
        "[[gpu]]\nid = \"bad\"\nsource = \"s\"\nmemory_gib = \"lots\"\n"
    )
    real = loader._bundled_text
    monkeypatch.setattr(loader, "_bundled_text", lambda kind: (text, "gpus.toml") if kind == "gpus" else real(kind))
    cat = load_catalog(user_dir=None, hf_cache=False)
    assert cat.gpu("ok").memory_gib == 1.0
    with pytest.raises(CatalogError) as info:
        cat.gpu("bad")
    assert str(info.value).startswith("gpus.toml:11: memory_gib:")


def test_model_spec_is_built_once():
    cat = load_catalog(user_dir=None, hf_cache=False)
    entry = cat.model_entry("qwen3-8b")
    assert entry.spec is entry.spec
    assert cat.model("qwen3-8b") is entry.spec
