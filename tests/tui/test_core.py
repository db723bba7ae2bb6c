"""The app's plain-Python parts: field parsing, host summary, model filter, document state."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.inputs import KV_FORMATS, SERVING_ENGINES, WEIGHT_FORMATS
from engine.telemetry.samples import GpuSample, HostSample
from sessions.io import parse_session, update_session
from tui import fields
from tui.document import Document, parse_origin
from tui.fields import BY_PATH, FieldInputError, field_for, format_value, parse_value
from tui.hostinfo import host_summary, short_gpu_name
from tui.model_index import ModelEntry, filter_entries

from .conftest import SESSION

CONTEXT = BY_PATH["serving.max_model_len"]
FRACTION = BY_PATH["serving.memory_fraction"]
SESSIONS = BY_PATH["serving.concurrent_sessions"]
RPS = BY_PATH["serving.requests_per_second"]


def test_sidebar_choices_match_the_engine():
    assert fields.WEIGHT_FORMATS == WEIGHT_FORMATS
    assert fields.KV_FORMATS == KV_FORMATS
    assert fields.SERVING_ENGINES == SERVING_ENGINES


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        (CONTEXT, "8192", 8192),
        (CONTEXT, "8,192", 8192),
        (CONTEXT, "8_192", 8192),
        (CONTEXT, "32k", 32768),
        (CONTEXT, "1M", 1 << 20),
        (CONTEXT, "", None),  # the model's own limit
        (SESSIONS, "2k", 2000),  # not a token count: k is a thousand
        (FRACTION, "0.85", 0.85),
        (FRACTION, "85%", 0.85),
        (RPS, "2.5", 2.5),
        (RPS, "1e3", 1000.0),
    ],
)
def test_parse_value(spec, text, value):
    assert parse_value(spec, text) == value


@pytest.mark.parametrize(("spec", "text"), [(CONTEXT, "abc"), (CONTEXT, "8.5"), (SESSIONS, ""), (FRACTION, "x%")])
def test_parse_value_refuses(spec, text):
    with pytest.raises(FieldInputError):
        parse_value(spec, text)


@given(st.text(max_size=20))
def test_parse_value_never_raises_anything_else(text):
    for spec in fields.NUMERIC_FIELDS:
        try:
            parse_value(spec, text)
        except FieldInputError:
            pass


@given(st.integers(min_value=1, max_value=10**12))
def test_int_fields_round_trip(n):
    assert parse_value(CONTEXT, format_value(CONTEXT, n)) == n


def test_problems_land_on_a_sidebar_field():
    assert field_for("serving.sla").path == "serving.sla.ttft_ms"
    assert field_for("model.config.num_hidden_layers").path == "model.catalog"
    assert field_for("hardware.gpu_spec.memory_gib").path == "hardware.gpu"
    assert field_for("serving.max_num_seqs").path == "serving.max_num_seqs"  # its own field (issue 7 item 11)
    assert field_for("costs.pue") is None


def _gpu(i: int, name: str = "NVIDIA H100 80GB HBM3", state: str = "ok") -> GpuSample:
    return GpuSample(index=i, name=name, state=state)  # type: ignore[arg-type]


def test_host_summary():
    assert host_summary(None) == "GPUs: ..."
    assert host_summary(HostSample(0.0, "h", "nvml", error="NVML library not found")) == "no GPU"
    assert host_summary(HostSample(0.0, "h", "nvml", gpus=tuple(_gpu(i) for i in range(8)))) == "8 x H100 80GB"
    assert host_summary(HostSample(0.0, "h", "sim", simulated=True, gpus=(_gpu(0), _gpu(1)))) == "SIMULATED 2 GPUs"
    mixed = (_gpu(0, "NVIDIA A100-SXM4-80GB"), _gpu(1), _gpu(2, state="lost"))
    assert host_summary(HostSample(0.0, "h", "nvml", gpus=mixed)) == "1 x A100-SXM4-80GB, 2 x H100 80GB (1 lost)"
    assert short_gpu_name(None) == "GPU"


def test_model_filter_ranks_prefix_then_origin():
    entries = [
        ModelEntry("hf:org/llama-3.1-8b-ft", "org/llama-3.1-8b-ft", "hf-cache"),
        ModelEntry("llama-3.1-70b", "Llama 3.1 70B", "bundled"),
        ModelEntry("llama-3.1-8b", "Llama 3.1 8B", "bundled"),
        ModelEntry("my-llama", "My Llama", "user"),
    ]
    assert [e.id for e in filter_entries(entries, "llama-3.1-8")] == ["llama-3.1-8b", "hf:org/llama-3.1-8b-ft"]
    assert [e.id for e in filter_entries(entries, "8b")][0] == "llama-3.1-8b"
    assert [e.id for e in filter_entries(entries, "user")] == ["my-llama"]
    assert len(filter_entries(entries, "")) == 4
    assert filter_entries(entries, "qwen") == []


def test_document_dirty_and_origin(tmp_path):
    session = parse_session(SESSION)
    new = Document.new(session)
    assert not new.dirty and new.origin is None
    edited = new.edited(update_session(session, {"serving.prompt_tokens": 10}))
    assert edited.dirty
    assert not edited.edited(session).dirty  # back to what it started as: clean again
    stored = Document.stored(session, "chat")
    assert stored.origin == "store:chat" and parse_origin(stored.origin) == ("store", "chat", None)
    on_disk = Document.file(session, tmp_path / "a.toml")
    assert parse_origin(on_disk.origin) == ("file", None, tmp_path / "a.toml")
    assert Document(session, "new").dirty  # recovered work: unsaved until saved
