"""The bundled catalog: every entry loads, parses and agrees with what its sources publish."""

import tomllib
from importlib import resources

import pytest

from catalogs import load_catalog
from catalogs.loader import ID_PATTERN, KINDS, TABLES, FILES, split_entries
from engine.model import count_params, kv_footprint

REQUIRED = {
    "models": [
        "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "llama-3.2-1b", "llama-3.2-3b", "llama-2-7b",
        "qwen2.5-7b", "qwen2.5-72b", "qwen3-8b", "qwen3-32b", "qwen3-30b-a3b", "qwen3-235b-a22b",
        "mistral-7b-v0.1", "mixtral-8x7b", "mixtral-8x22b", "gemma-2-9b", "gemma-2-27b", "gemma-3-27b",
        "deepseek-v3", "gpt-oss-20b", "gpt-oss-120b", "phi-3.5-mini", "falcon-40b", "gemma-7b", "qwen3-14b",
    ],
    "gpus": [
        "h100-sxm-80gb", "h100-pcie-80gb", "h100-nvl-94gb", "h200-sxm-141gb", "b200-sxm-180gb", "gb200",
        "a100-sxm-40gb", "a100-sxm-80gb", "a100-pcie-40gb", "a100-pcie-80gb", "l40s", "l4", "a10g", "a10",
        "v100-sxm2-32gb", "rtx-4090", "rtx-3090", "rtx-3060", "rtx-2060", "mi300x", "mi325x",
    ],
    "servers": ["dgx-h100", "hgx-h200", "dgx-b200", "dgx-a100", "supermicro-sys-821ge-tnhr", "dell-xe9680"],
}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(user_dir=None, hf_cache=False)


def test_issue_minimums_and_required_ids(catalog):
    assert len(catalog.models) >= 24 and len(catalog.gpus) >= 18 and len(catalog.servers) >= 6
    assert len(catalog.prices) >= 1
    for kind, ids in REQUIRED.items():
        missing = [i for i in ids if i not in catalog.entries(kind)]
        assert not missing, f"{kind} missing {missing}"
    assert any(s.gpu == "l40s" and s.gpus_per_node == 8 for s in catalog.servers.values())
    assert any(s.gpu == "h100-pcie-80gb" and s.gpus_per_node == 8 for s in catalog.servers.values())


@pytest.mark.parametrize("kind", KINDS)
def test_every_entry_validates_and_has_a_source(catalog, kind):
    for entry_id in catalog.entries(kind):
        spec = catalog.get(kind, entry_id)
        assert spec.id == entry_id
        assert ID_PATTERN.match(entry_id), entry_id
        assert spec.source.strip(), f"{kind} {entry_id} has no source"


@pytest.mark.parametrize("kind", KINDS)
def test_lazy_split_agrees_with_a_full_parse(kind):
    """The fast path (split by header, parse per entry) must see exactly the entries tomllib sees."""
    text = resources.files("catalogs").joinpath("data", FILES[kind]).read_text(encoding="utf-8")
    entries, ok = split_entries(text, TABLES[kind])
    assert ok
    full = tomllib.loads(text)[TABLES[kind]]
    assert [e[0] for e in entries] == [d["id"] for d in full]
    for (entry_id, block, line), data in zip(entries, full):
        assert tomllib.loads(block)[TABLES[kind]] == [data]
        assert text.splitlines()[line - 1].startswith(f"[[{TABLES[kind]}]]")


def test_loading_parses_nothing_until_asked():
    catalog = load_catalog(user_dir=None, hf_cache=False)
    assert all(len(catalog.entries(k)._loaders) == len(catalog.entries(k)) for k in KINDS)
    catalog.gpu("h100-sxm-80gb")
    assert len(catalog.gpus._loaders) == len(catalog.gpus) - 1


def test_every_model_config_is_sized(catalog):
    for entry in catalog.models.values():
        spec = entry.spec
        assert spec.num_layers > 0 and spec.head_dim > 0
        assert entry.config["model_type"] == spec.family
        counts = count_params(spec)
        assert counts.total > counts.embedding > 0


def test_parameter_counts_match_published_totals(catalog):
    checked = 0
    for entry in catalog.models.values():
        if entry.params_published is None:
            continue
        assert entry.params_published_source, entry.id
        total = count_params(entry.spec).total
        assert abs(total / entry.params_published - 1) < 0.01, (entry.id, total, entry.params_published)
        checked += 1
    assert checked >= 8


# DeepSeek publishes "37B activated" (README) and "36.7B incl. 0.9B embedding + 0.9B head"
# (README_WEIGHTS); the architecture gives 37.55B. Rounded figure: a looser bound.
ACTIVE_TOLERANCE = {"deepseek-v3": 0.02, "deepseek-r1": 0.02, "deepseek-r1-0528": 0.02}  # one architecture


def test_active_parameter_counts(catalog):
    checked = 0
    for entry in catalog.models.values():
        if entry.active_params_published is None:
            continue
        counts = count_params(entry.spec)
        active = counts.active
        if entry.spec.family == "gpt_oss":
            # OpenAI's active counts leave out the input embedding (gpt-oss model card).
            active -= counts.embedding
        tol = ACTIVE_TOLERANCE.get(entry.id, 0.01)
        assert abs(active / entry.active_params_published - 1) < tol, (entry.id, active, entry.active_params_published)
        checked += 1
    assert {"gpt-oss-20b", "gpt-oss-120b"} <= {e.id for e in catalog.models.values() if e.active_params_published}
    assert checked >= 4


def test_gemma_7b_is_not_7b(catalog):
    # vLLM issue #2418: 8.5B parameters and 448 KiB of KV cache per token.
    spec = catalog.model("gemma-7b")
    assert count_params(spec).total == pytest.approx(8.538e9, rel=0.001)
    assert kv_footprint(spec, 2.0).bytes_per_token == 458752


def test_kv_bytes_per_token_match_measurements(catalog):
    # shared/reference/measurements.toml: per-token KV bytes on one GPU at bf16.
    assert kv_footprint(catalog.model("llama-3.1-8b"), 2.0).bytes_per_token == 131072
    assert kv_footprint(catalog.model("qwen2.5-32b"), 2.0, tensor_parallel=2).bytes_per_token == 131072
    assert kv_footprint(catalog.model("qwen3-235b-a22b"), 2.0, tensor_parallel=4).bytes_per_token == 48128
    assert kv_footprint(catalog.model("qwen3-14b"), 2.0).bytes_per_token == 163840
    # MLA: (512 + 64) x 61 layers x 2 bytes.
    assert kv_footprint(catalog.model("deepseek-v3"), 2.0).bytes_per_token == 576 * 61 * 2


def test_architecture_details_survive(catalog):
    assert catalog.model("qwen3-32b").head_dim == 128  # not hidden/heads = 80
    assert catalog.model("gpt-oss-120b").sliding_window == 128
    assert catalog.model("gpt-oss-120b").native_quant == "mxfp4"
    assert catalog.model("deepseek-v3").native_quant == "fp8"
    assert catalog.model("gemma-3-27b").kinds.count("full") == 10
    assert catalog.model("falcon-40b").num_kv_heads == 8
    assert catalog.model("qwen2.5-7b").layer_kinds == ()  # window present but switched off


def test_servers_and_prices_reference_catalog_gpus(catalog):
    assert catalog.check_references() == []
    for server in catalog.servers.values():
        assert server.gpu in catalog.gpus, server.id
    for price in catalog.prices.values():
        assert price.gpu in catalog.gpus, price.id
        assert price.source_date, price.id
        assert price.representative is not None, price.id
        assert "NOT FOUND" not in price.source


def test_gpu_memory_is_what_cuda_reports(catalog):
    # 80 GB parts report about 79.2 GiB; no GPU reports more than its marketed capacity read as GiB.
    assert catalog.gpu("h100-sxm-80gb").memory_gib == pytest.approx(79.22)
    assert catalog.gpu("rtx-3090").memory_gib == pytest.approx(23.58)
    for gpu in catalog.gpus.values():
        if gpu.memory_gb_marketed:
            assert gpu.memory_gib < gpu.memory_gb_marketed, gpu.id
        if gpu.bf16_tflops and gpu.fp8_tflops:
            assert gpu.fp8_tflops == pytest.approx(2 * gpu.bf16_tflops, rel=0.03), gpu.id  # dense, both


def test_prices_for_a_gpu_newest_first(catalog):
    dates = [p.source_date for p in catalog.prices_for("h100-sxm-80gb")]
    assert len(dates) >= 3 and dates == sorted(dates, reverse=True)
    assert catalog.prices_for("rtx-2060") == ()
