"""The serving keys of issue 13 in a session file: [serving] batch, [serving.speculative],
[hardware] expert_parallel and data_parallel_attention; bad values name the field."""

from __future__ import annotations

import pytest

from sessions import SessionError, parse_session
from sessions.resolve import to_plan_inputs

TEXT = """\
schema_version = 1
name = "r1"
[model]
catalog = "llama-3.1-70b"
weights = "bf16"
[hardware]
gpu = "h100-sxm-80gb"
tensor_parallel = 8
expert_parallel = 8
data_parallel_attention = true
[serving]
engine = "sglang"
batch = 64
[serving.speculative]
method = "mtp"
tokens = 2
acceptance = 0.8
"""


def test_the_serving_keys_reach_the_engine(catalog):
    inputs = to_plan_inputs(parse_session(TEXT, "r1.toml"), catalog, file="r1.toml", text=TEXT)
    assert inputs.expert_parallel == 8 and inputs.dp_attention is True
    assert inputs.serving.batch == 64
    spec = inputs.serving.speculative
    assert (spec.method, spec.tokens, spec.acceptance) == ("mtp", 2, 0.8)


@pytest.mark.parametrize("bad, field", [
    ("batch = 0", "batch"),
    ("acceptance = 1.5", "acceptance"),
    ("expert_parallel = 0", "expert_parallel"),
])
def test_bad_serving_values_name_the_field(bad, field):
    key = bad.split(" = ")[0]
    text = "\n".join(bad if line.startswith(key + " =") else line for line in TEXT.splitlines())
    with pytest.raises(SessionError) as info:
        parse_session(text, "r1.toml")
    assert field in str(info.value) and "r1.toml" in str(info.value)
