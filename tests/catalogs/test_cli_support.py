"""Rows and JSON for `gpuplan catalog ...`."""

import json

import pytest

from catalogs import load_catalog
from catalogs.cli_support import as_json, rows_for
from catalogs.loader import KINDS, ModelEntry


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(user_dir=None, hf_cache=False)


@pytest.mark.parametrize("kind", KINDS)
def test_rows_match_headers_and_catalog_order(catalog, kind):
    headers, rows = rows_for(kind, catalog)
    assert len(rows) == len(catalog.entries(kind))
    assert all(len(r) == len(headers) and all(isinstance(c, str) for c in r) for r in rows)
    assert [r[0] for r in rows] == list(catalog.entries(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_json_is_serialisable(catalog, kind):
    records = as_json(kind, catalog)
    assert len(records) == len(catalog.entries(kind))
    json.dumps(records)


def test_model_row_figures(catalog):
    headers, rows = rows_for("models", catalog)
    row = dict(zip(headers, next(r for r in rows if r[0] == "llama-3.1-8b")))
    assert row["params (B)"] == "8.03" and row["active (B)"] == "-"
    assert row["KV heads"] == "8" and row["head dim"] == "128" and row["context"] == "131,072"
    assert row["KV KiB/token (bf16)"] == "128"
    moe = dict(zip(headers, next(r for r in rows if r[0] == "mixtral-8x7b")))
    assert moe["active (B)"] == "12.88"
    mla = dict(zip(headers, next(r for r in rows if r[0] == "deepseek-v3")))
    assert mla["KV heads"] == "MLA" and mla["KV KiB/token (bf16)"] == "68.6"


def test_model_json_numbers(catalog):
    rec = next(r for r in as_json("models", catalog) if r["id"] == "deepseek-v3")
    assert rec["kv_bytes_per_token_bf16"] == 576 * 61 * 2
    assert rec["moe"] and rec["mla"] and rec["experts"] == 256
    assert rec["params_total"] > rec["params_active"] > 0


def test_gpu_and_price_rows(catalog):
    headers, rows = rows_for("gpus", catalog)
    h100 = dict(zip(headers, rows[0]))
    assert h100 == {
        "id": "h100-sxm-80gb", "name": "NVIDIA H100 SXM5 80GB", "memory (GiB)": "79.22", "TB/s": "3.35",
        "BF16 TFLOPS": "989", "FP8 TFLOPS": "1,978", "TDP (W)": "700", "origin": "bundled",
    }
    nvl = dict(zip(headers, next(r for r in rows if r[0] == "h100-nvl-94gb")))
    assert nvl["TB/s"] == "-"  # unknown, not zero
    headers, rows = rows_for("prices", catalog)
    runpod = dict(zip(headers, next(r for r in rows if r[0] == "runpod-h100-2026")))
    assert runpod["USD/GPU-hour"] == "2.69-4.76" and runpod["date"] == "2026-05"
    price = next(r for r in as_json("prices", catalog) if r["id"] == "runpod-h100-2026")
    assert price["representative_per_gpu_hour"] == pytest.approx((2.69 + 4.76) / 2)


def test_a_model_that_cannot_be_sized_is_a_row_not_a_crash(catalog):
    from catalogs.cli_support import _model_row, model_record

    bad = ModelEntry(id="hf:x/y", config={"model_type": "llama"}, origin="hf-cache")
    rec = model_record(bad)
    assert "num_hidden_layers" in rec["error"]
    assert _model_row(rec)[-2].startswith("error:")


def test_unknown_kind(catalog):
    with pytest.raises(ValueError):
        rows_for("cpus", catalog)
    with pytest.raises(ValueError):
        as_json("cpus", catalog)
