"""`prices_for` parses only the bundled prices whose text names that GPU (every `gpuplan plan`
asks for one GPU's prices), and answers exactly as a filter over every parsed entry would."""

import pytest

from catalogs import load_catalog
from catalogs.loader import gpu_hint


def eager_prices_for(catalog, gpu_id):
    found = [p for p in catalog.prices.values() if p.gpu is not None and p.gpu.casefold() == gpu_id.casefold()]
    return tuple(sorted(found, key=lambda p: p.source_date or "", reverse=True))


def every_gpu_named():
    everything = load_catalog(user_dir=None, hf_cache=False)
    return sorted({p.gpu for p in everything.prices.values() if p.gpu} | {"rtx-2060", "no-such-gpu"})


@pytest.mark.parametrize("gpu_id", every_gpu_named())
def test_same_answer_as_parsing_everything(gpu_id):
    lazy = load_catalog(user_dir=None, hf_cache=False)
    eager = load_catalog(user_dir=None, hf_cache=False)
    assert lazy.prices_for(gpu_id) == eager_prices_for(eager, gpu_id)
    assert lazy.prices_for(gpu_id.upper()) == eager_prices_for(eager, gpu_id)  # ids match case-insensitively


def test_other_gpus_prices_stay_unparsed():
    catalog = load_catalog(user_dir=None, hf_cache=False)
    found = catalog.prices_for("h100-sxm-80gb")
    assert found
    parsed = len(catalog.prices) - len(catalog.prices._loaders)
    assert parsed == len(found) < len(catalog.prices)


@pytest.mark.parametrize(
    ("block", "hint"),
    [
        ('[[price]]\nid = "a"\ngpu = "l4"\n', "l4"),
        ('[[price]]\nid = "a"\ngpu="l4"   # a comment\n', "l4"),
        ('[[price]]\nid = "a"\ngpu = \'l4\'\n', None),  # a literal string: left to TOML
        ('[[price]]\nid = "a"\ngpu = "l4"\ngpu = "l40s"\n', None),  # a duplicate key is TOML's error to report
        ('[[price]]\nid = "a"\n[price.extra]\ngpu = "l4"\n', None),  # a sub-table's key, not the entry's
        ('[[price]]\nid = "a"\ngpu = "l\\u0034"\n', None),  # an escape
        ('[[price]]\nid = "a"\ngpu = "l4" "x"\n', None),
        ('[[price]]\nid = "a"\nprovider = "x"\n', None),
    ],
)
def test_a_hint_only_where_the_text_leaves_no_doubt(block, hint):
    assert gpu_hint(block) == hint


def test_a_user_price_replacing_a_bundled_one_is_found_by_its_own_gpu(tmp_path):
    bundled = load_catalog(user_dir=None, hf_cache=False)
    victim = next(p for p in bundled.prices.values() if p.gpu == "h100-sxm-80gb")
    (tmp_path / "prices.toml").write_text(
        f'[[price]]\nid = "{victim.id}"\nprovider = "me"\ngpu = "l4"\nprice_per_gpu_hour = 0.5\nsource = "mine"\n'
    )
    catalog = load_catalog(user_dir=tmp_path, hf_cache=False)
    assert victim.id not in [p.id for p in catalog.prices_for("h100-sxm-80gb")]
    mine = [p for p in catalog.prices_for("l4") if p.id == victim.id]
    assert len(mine) == 1 and mine[0].provider == "me"
