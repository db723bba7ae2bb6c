"""Malformed session files: whatever the edit, parse_session returns a Session or raises
SessionError with a position inside the file, never any other exception."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sessions import SessionError, dump_session, example_names, example_text, parse_session

BASES = [example_text(n) for n in example_names()]
GARBAGE = st.one_of(
    st.text(max_size=20),
    st.sampled_from(['"', "'''", '"""', "[", "]]", "{", "}", "=", "nan", "-inf", "1e999", "true", "0x1F",
                     "1979-05-27T07:32:00Z", "[[model]]", "[model.config]", "x.y.z = 1", "\\u0000",
                     "99999999999999999999999", "-1", "0", "1.5", '"bf16"', "[]", "{}", "{ a = 1 }",
                     "[serving]", "schema_version = 2", "model = 1", "layer_types = [1]"]),
)
UNKNOWN_KEYS = st.sampled_from(["foo", "memory_fracton", "gpu_spec", "catalog", "weights", "sla", "ttft_ms", "kv"])


@st.composite
def mutated(draw) -> str:
    lines = draw(st.sampled_from(BASES)).split("\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "value", "insert", "unknown", "truncate"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {draw(GARBAGE)}"
        elif op == "insert":
            lines.insert(i, draw(GARBAGE))
        elif op == "unknown":
            lines.insert(i, f"{draw(UNKNOWN_KEYS)} = {draw(GARBAGE)}")
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def check(text: str) -> None:
    try:
        session = parse_session(text, "fuzz.toml")
    except SessionError as err:
        n_lines = text.count("\n") + 1
        for problem in err.problems:
            assert problem.file == "fuzz.toml"
            assert 1 <= problem.line <= n_lines, (problem, n_lines)
            assert problem.col >= 1 and problem.message
            assert str(problem).startswith(f"fuzz.toml:{problem.line}:{problem.col}: ")
        return
    # whatever parses, saves and reloads to the same session
    assert parse_session(dump_session(session)) == session


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
@example("model = 1\nhardware = 2")
@example("[model]\ncatalog = 'x'\n[model.config]\nmodel_type = 'llama'\n[hardware]\ngpu = 'y'")
@example("[model.config]\nmodel_type = 'llama'\nnum_hidden_layers = 2\nhidden_size = 8\nnum_attention_heads = 2\n"
         "vocab_size = 10\nfull_attention_interval = 0\nmlp_only_layers = 5\n[hardware.gpu_spec]\nmemory_gib = 1")
@example("[model.config]\nmodel_type = 'qwen3_next'\nnum_hidden_layers = 2\nhidden_size = 8\n"
         "num_attention_heads = 2\nvocab_size = 10\nfull_attention_interval = 0\n[hardware]\ngpu = 'x'")
@example("a = " + "[" * 2000)
def test_mutated_files_never_crash(text):
    check(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text):
    check(text)
