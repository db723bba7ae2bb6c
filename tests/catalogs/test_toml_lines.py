"""The line finder behind `file:line: key` messages."""

from catalogs.toml_lines import TomlLines, decode_error_position, split_key

TEXT = """\
# comment
top = 1

[[model]]
id = "a"
"quoted key" = 2
layer_types = [
  "x = 1",
  "y",
]
after = 3

[model.config]
model_type = "llama"
quantization_config.quant_method = "fp8"

[model.config.rope]
factor = 8.0

[[model]]
id = "b"
config = { model_type = "llama" }
note = \"\"\"
fake = 1
\"\"\"
tail = true

[other]
x = 1
"""


def test_entries_and_keys():
    lines = TomlLines(TEXT, "model")
    assert lines.entry_lines == [4, 20]
    assert lines.key_line(0, "id") == 5
    assert lines.key_line(0, '"quoted key"') == 6
    assert lines.key_line(0, "after") == 11  # the array's lines are skipped
    assert lines.key_line(0, "config") == 13
    assert lines.key_line(0, "config.model_type") == 14
    assert lines.key_line(0, "config.quantization_config.quant_method") == 15
    assert lines.key_line(0, "config.rope.factor") == 18
    assert lines.key_line(0, "config.missing") == 13  # falls back to the table
    assert lines.key_line(1, "config.num_hidden_layers") == 22  # inline table
    assert lines.key_line(1, "fake") == 20  # inside a multi-line string: not a key
    assert lines.key_line(1, "tail") == 26
    assert lines.key_line(5, "id") is None
    assert lines.top_keys == {"top": 2, "other": 28}


def test_split_key_and_decode_position():
    assert split_key('config."a.b".c') == ("config", "a.b", "c")
    import tomllib

    try:
        tomllib.loads("a = 1\nb = \n")
    except tomllib.TOMLDecodeError as exc:
        assert decode_error_position(exc) == (2, 5, "Invalid value")
