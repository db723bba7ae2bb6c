"""Loading, saving and the errors users see: file:line:col: field: message."""

from __future__ import annotations

import os
import tomllib

import pytest

from engine.inputs import CostInputs, ServingInputs, TrainingInputs
from sessions import (
    SCHEMA_VERSION,
    Session,
    SessionError,
    default_session,
    default_session_text,
    dump_session,
    example_names,
    example_text,
    examples_dir,
    load_session,
    parse_session,
    save_session,
    update_session,
)
from sessions.schema import TrainingSection

MINIMAL = '[model]\ncatalog = "llama-3.1-8b"\n[hardware]\ngpu = "h100-sxm-80gb"\n'


def error_of(text: str, filename: str = "s.toml") -> SessionError:
    with pytest.raises(SessionError) as info:
        parse_session(text, filename)
    return info.value


def line_of(text: str, needle: str) -> int:
    """The first line containing `needle` outside comments."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line.split("#")[0] or line == needle)


# -- examples and round trips --------------------------------------------------------------


def test_examples_are_bundled_and_include_the_default():
    names = example_names()
    assert {"default", "chat-70b", "deepseek-v3-fp8", "gpt-oss-120b", "inline-config", "lora-finetune"} <= set(names)
    assert (examples_dir() / "default.toml").is_file()
    assert default_session_text() == example_text("default")
    session = default_session()
    assert session.name == "chat-8b"
    assert session.model.catalog == "llama-3.1-8b" and session.hardware.server == "dgx-h100"
    assert session.serving.sla.ttft_ms == 1000 and session.serving.concurrent_sessions == 200


@pytest.mark.parametrize("name", example_names())
def test_every_example_round_trips(name):
    session = parse_session(example_text(name), f"{name}.toml")
    dumped = dump_session(session)
    assert parse_session(dumped) == session
    assert dump_session(parse_session(dumped)) == dumped  # stable text too


def test_examples_are_commented():
    for name in example_names():
        assert example_text(name).count("#") >= 5, name


def test_minimal_file_gets_the_engine_defaults():
    session = parse_session(MINIMAL)
    assert session.schema_version == SCHEMA_VERSION
    assert session.serving.memory_fraction == ServingInputs().memory_fraction
    assert session.serving.max_model_len is None
    assert session.costs.pue == CostInputs().pue
    assert session.training is None


def test_dump_follows_the_design_layout():
    text = dump_session(parse_session(example_text("lora-finetune")))
    order = [text.index(h) for h in ("schema_version", "name =", "[model]", "[hardware]", "[serving]",
                                     "[serving.sla]", "[training]", "[costs]")]
    assert order == sorted(order)
    assert "= None" not in text and "max_num_seqs = 256" in text  # explicit values are written


def test_training_section_mirrors_the_engine_inputs():
    assert set(TrainingSection.model_fields) == set(TrainingInputs.__dataclass_fields__)
    assert TrainingSection().model_dump() == {
        k: getattr(TrainingInputs(), k) for k in TrainingInputs.__dataclass_fields__
    }


# -- syntax errors -------------------------------------------------------------------------


def test_syntax_error_has_tomllib_line_and_column(default_text):
    text = default_text.replace('engine = "vllm"', "engine = vllm")
    err = error_of(text)
    assert (err.file, err.line, err.col) == ("s.toml", line_of(text, "engine = vllm"), 10)
    assert err.field == "serving.engine"
    assert str(err).startswith(f"s.toml:{err.line}:10: serving.engine: invalid value")


def test_syntax_error_at_end_of_document(default_text):
    err = error_of(default_text + '\nprovider = "unterminated')
    assert err.line == len((default_text + "\n").splitlines()) + 1
    assert err.field == "costs.provider"


def test_duplicate_key_is_named(default_text):
    text = default_text.replace("pue = 1.3", "pue = 1.3\npue = 1.4")
    err = error_of(text)
    assert err.line == line_of(text, "pue = 1.4") and err.field == "costs.pue"
    assert "twice" in err.message


def test_garbage_line_is_a_syntax_error(default_text):
    text = default_text.replace("[costs]", "[costs]\nhello world")
    err = error_of(text)
    assert err.line == line_of(text, "hello world") and err.field == "syntax"


# -- validation errors at the key's line ---------------------------------------------------


def test_unknown_key_at_its_line_with_a_suggestion(default_text):
    text = default_text.replace("max_num_seqs = 256", "max_num_seqs = 256\nmax_num_seq = 3")
    err = error_of(text)
    assert (err.line, err.col) == (line_of(text, "max_num_seq = 3"), 1)
    assert err.field == "serving.max_num_seq"
    assert "unknown key 'max_num_seq'" in err.message and "max_num_seqs" in err.message


def test_unknown_key_lists_the_valid_ones(default_text):
    err = error_of(default_text.replace("[costs]", "[costs]\nfoo = 1"))
    assert err.field == "costs.foo" and "pue" in err.message


def test_unknown_table_is_named(default_text):
    text = default_text + "\n[scenarios.best]\nkv_share = 0.5\n"
    err = error_of(text)
    assert err.field == "scenarios.best" and err.line == line_of(text, "[scenarios.best]")


def test_bad_value_at_its_line(default_text):
    text = default_text.replace("memory_fraction = 0.90", "memory_fraction = 1.5")
    err = error_of(text)
    assert err.line == line_of(text, "memory_fraction = 1.5")
    assert str(err) == f"s.toml:{err.line}:1: serving.memory_fraction: must be less than or equal to 1, got 1.5"


def test_nested_key_error(default_text):
    text = default_text.replace("itl_ms = 50 ", "itl_ms = -5 ")
    err = error_of(text)
    assert err.field == "serving.sla.itl_ms" and err.line == line_of(text, "itl_ms = -5")


def test_wrong_types_are_not_coerced(default_text):
    for bad in ('"1"', "true", "1.0"):
        text = default_text.replace("tensor_parallel = 1 ", f"tensor_parallel = {bad} ")
        err = error_of(text)
        assert err.field == "hardware.tensor_parallel" and "expected an integer" in err.message


def test_enum_value_suggests_the_closest(default_text):
    err = error_of(default_text.replace('weights = "bf16"', 'weights = "bf61"'))
    assert err.field == "model.weights" and "did you mean 'bf16'" in err.message


def test_nan_and_inf_are_refused(default_text):
    for bad in ("nan", "inf"):
        err = error_of(default_text.replace("requests_per_second = 8", f"requests_per_second = {bad}"))
        assert err.field == "serving.requests_per_second"


def test_inline_table_and_dotted_keys_are_located():
    text = MINIMAL + "[serving]\nsla = { ttft_ms = 100, itl_ms = 0 }\n"
    err = error_of(text)
    assert err.field == "serving.sla.itl_ms" and err.line == 6 and err.col == 24
    err = error_of('name = "x"\nserving . "sla".ttft_ms = -1\n' + MINIMAL)
    assert err.field == "serving.sla.ttft_ms" and (err.line, err.col) == (2, 1)


def test_several_problems_are_all_reported_in_line_order(default_text):
    text = default_text.replace("pue = 1.3", "pue = 0.5").replace("tensor_parallel = 1 ", "tensor_parallel = 0 ")
    err = error_of(text)
    assert [p.field for p in err.problems] == ["hardware.tensor_parallel", "costs.pue"]
    assert err.field == "hardware.tensor_parallel"
    assert len(err.details().splitlines()) == 2


def test_newer_schema_version_is_a_clear_error(default_text):
    text = default_text.replace("schema_version = 1", "schema_version = 2") + "\n[future]\nx = 1\n"
    err = error_of(text)
    assert err.field == "schema_version" and "upgrade gpuplan" in err.message and len(err.problems) == 1
    assert err.line == line_of(text, "schema_version = 2")


def test_missing_model_source_and_both_sources(default_text):
    err = error_of(default_text.replace('catalog = "llama-3.1-8b"', ""))
    assert err.field == "model.catalog" and err.line == line_of(default_text, "[model]")
    err = error_of(MINIMAL.replace("[hardware]", "[model.config]\nmodel_type = 'llama'\n[hardware]"))
    assert err.field == "model.config" and "not both" in err.message


def test_missing_tables():
    err = error_of('name = "x"\n')
    assert {p.field for p in err.problems} == {"model", "hardware"}
    assert err.line == 1 and "missing table [hardware]" in err.details()


def test_gpu_and_inline_gpu_spec_conflict():
    err = error_of(MINIMAL + "[hardware.gpu_spec]\nmemory_gib = 20\n")
    assert err.field == "hardware.gpu_spec" and err.line == 5


def test_inline_gpu_spec_requires_memory_and_knows_its_keys():
    text = '[model]\ncatalog = "x"\n[hardware.gpu_spec]\nname = "card"\nmemory_gb = 24\n'
    err = error_of(text)
    fields = {p.field: p for p in err.problems}
    assert fields["hardware.gpu_spec.memory_gb"].line == 5
    assert "memory_gib" in fields["hardware.gpu_spec.memory_gb"].message
    assert fields["hardware.gpu_spec.memory_gib"].message == "missing required key"
    assert fields["hardware.gpu_spec.memory_gib"].line == 3  # falls back to the table header


def test_inline_config_bad_key_is_located():
    text = example_text("inline-config").replace("num_attention_heads = 32", 'num_attention_heads = "x"')
    err = error_of(text)
    assert err.field == "model.config.num_attention_heads"
    assert err.line == line_of(text, 'num_attention_heads = "x"')


def test_inline_config_array_element_is_located():
    text = example_text("inline-config").replace(
        "head_dim = 64\n", "head_dim = 64\nlayer_types = [\n" + '  "full_attention",\n' * 3 + '  "bogus",\n' + '  "full_attention",\n' * 12 + "]\n"
    )
    err = error_of(text)
    assert err.field == "model.config.layer_types[3]" and err.line == line_of(text, '"bogus"')


def test_inline_config_missing_key_points_at_the_table():
    text = example_text("inline-config").replace("vocab_size = 128256\n", "")
    err = error_of(text)
    assert err.field == "model.config.vocab_size" and err.line == line_of(text, "[model.config]")


def test_training_layout_checked(default_text):
    text = default_text + "\n[training]\ngpus = 6\ntensor_parallel = 4\n"
    err = error_of(text)
    assert err.field == "training.gpus" and err.line == line_of(text, "gpus = 6")


# -- load_session --------------------------------------------------------------------------


def test_load_session_reads_a_file_and_strips_a_bom(tmp_path, default_text):
    path = tmp_path / "s.toml"
    path.write_bytes(b"\xef\xbb\xbf" + default_text.encode())
    assert load_session(path) == parse_session(default_text)


def test_load_session_names_the_file_on_every_failure(tmp_path):
    missing = tmp_path / "nope.toml"
    err = pytest.raises(SessionError, load_session, missing).value
    assert str(err).startswith(str(missing)) and "cannot read" in str(err)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'name = "x"\nname2 = "\xff"\n')
    err = pytest.raises(SessionError, load_session, bad).value
    assert (err.file, err.line, err.col, err.field) == (str(bad), 2, 10, "encoding")


def test_error_without_position_formats_without_it():
    assert str(SessionError("f.toml", 0, 0, "model.catalog", "unknown")) == "f.toml: model.catalog: unknown"


# -- save_session --------------------------------------------------------------------------


def test_save_then_load_is_identical(tmp_path, default_text):
    session = parse_session(default_text)
    path = save_session(session, tmp_path / "out.toml")
    assert load_session(path) == session
    assert tomllib.loads(path.read_text())["serving"]["memory_fraction"] == 0.9


def test_save_keeps_the_mode_of_an_existing_file(tmp_path, default_text):
    path = tmp_path / "s.toml"
    path.write_text("old")
    os.chmod(path, 0o640)
    save_session(parse_session(default_text), path)
    assert (path.stat().st_mode & 0o777) == 0o640


def test_save_through_a_symlink_writes_the_target(tmp_path, default_text):
    real = tmp_path / "real.toml"
    real.write_text("old")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    save_session(parse_session(default_text), link)
    assert link.is_symlink() and "chat-8b" in real.read_text()


# -- update_session (the app's field edits) ------------------------------------------------


def test_update_session_validates_and_names_the_field(default_text):
    session = parse_session(default_text)
    changed = update_session(session, {"serving.memory_fraction": 0.8, "serving.sla.itl_ms": 30})
    assert changed.serving.memory_fraction == 0.8 and changed.serving.sla.itl_ms == 30
    assert session.serving.memory_fraction == 0.9  # the original is untouched
    err = pytest.raises(SessionError, update_session, session, {"serving.memory_fraction": 0}).value
    assert err.field == "serving.memory_fraction"
    dropped = update_session(session, {"serving.max_model_len": None})
    assert dropped.serving.max_model_len is None
    assert isinstance(update_session(session, {"training": {"gpus": 4}}).training.gpus, int)


def test_session_is_immutable(default_text):
    session = parse_session(default_text)
    with pytest.raises(Exception):
        session.name = "other"  # type: ignore[misc]
    assert isinstance(session, Session)
