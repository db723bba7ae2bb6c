"""Issue 10 items 7-8 in session files: inline GPUs and inline model configs get the same bounds
and architecture checks as the catalog, each an error on its own key and line."""

from __future__ import annotations

import pytest

from sessions import SessionError, parse_session

INLINE = """\
schema_version = 1
name = "inline"

[model.config]
model_type = "llama"
num_hidden_layers = 32
hidden_size = 4096
num_attention_heads = 32
num_key_value_heads = {kv}
vocab_size = 128256

[hardware.gpu_spec]
memory_gib = {mem}
"""


@pytest.mark.parametrize("mem", ["inf", "nan", "1e308", "-1.0", "0.0"])
def test_inline_gpu_memory_must_be_finite_and_plausible(mem):
    err = pytest.raises(SessionError, parse_session, INLINE.format(kv=8, mem=mem), "s.toml").value
    assert (err.field, err.line) == ("hardware.gpu_spec.memory_gib", 13), str(err)


def test_inline_config_with_seven_kv_heads_names_the_key_and_line():
    err = pytest.raises(SessionError, parse_session, INLINE.format(kv=7, mem="80.0"), "s.toml").value
    assert (err.field, err.line) == ("model.config.num_key_value_heads", 9), str(err)
    assert "do not divide" in err.message


def test_inline_config_with_a_hundred_million_layers_is_refused():
    text = INLINE.format(kv=8, mem="80.0").replace("num_hidden_layers = 32", "num_hidden_layers = 100000000")
    err = pytest.raises(SessionError, parse_session, text, "s.toml").value
    assert (err.field, err.line) == ("model.config.num_hidden_layers", 6)
