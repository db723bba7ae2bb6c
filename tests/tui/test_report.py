"""One report model, every format: the same sections in text and markdown, each section's source
in the JSON and the CSV, and the JSON's existing keys as DESIGN section 3 lists them."""

from __future__ import annotations

import csv
import io
import json

import pytest

from sessions import example_text
from tui import report
from tui.cli import plan_from_text


@pytest.fixture(scope="module")
def plans():
    return {name: plan_from_text(example_text(name), name) for name in ("default", "lora-finetune")}


def sections(plan):
    return report.build_report(plan).sections


@pytest.mark.parametrize("name", ["default", "lora-finetune"])
def test_text_and_markdown_hold_the_same_sections(plans, name):
    plan = plans[name]
    text, md = report.render(plan, "text"), report.render(plan, "md")
    data = json.loads(report.render(plan, "json"))
    paths = {row["path"].split(".")[0].split("[")[0] for row in csv.DictReader(io.StringIO(report.render(plan, "csv")))}
    for s in sections(plan):
        assert f"\n{s.title}" in text and f"## {s.title}" in md, s.title
        for label, value in s.rows:
            assert label in text and value in text and value in md
        for label, sentence in s.notes:
            assert sentence in text and sentence in md
        assert s.key in data and s.key in paths


def test_markdown_carries_the_serving_line_and_the_power_and_price_basis(plans):
    plan = plans["default"]
    md = report.render(plan, "md")
    r = plan.to_dict()
    assert "## Serving speed" in md and "time to first token" in md
    assert r["physical"]["node_power_basis"] in md and r["cost"]["price_basis"] in md


def test_text_and_markdown_include_training(plans):
    plan = plans["lora-finetune"]
    assert plan.to_dict()["training"] is not None
    for fmt in ("text", "md"):
        out = report.render(plan, fmt)
        assert "Training" in out and "trainable parameters" in out and "GPU hours" in out
    assert report.build_report(plans["default"]).section("training") is None  # no [training]


def test_json_keeps_the_contract_keys(plans):
    r = json.loads(report.render(plans["default"], "json"))
    assert {"gpu_total_gib", "weights_gib", "activation_gib", "overhead_gib", "kv_pool_gib", "kv_bytes_per_token",
            "kv_capacity_tokens", "max_concurrency", "fits"} <= set(r["memory"])
    assert {"params_total", "params_active", "kv_bytes_per_token"} <= set(r["model"])
    for name in ("minimum", "recommended", "ideal"):
        assert {"nodes", "gpus", "replicas", "sessions_capacity", "power_kw", "rack_units", "heat_btu_hr",
                "cost_per_hour"} <= set(r["scenarios"][name])
    assert report.render(plans["default"], "json") == json.dumps(plans["default"].to_dict(), indent=2) + "\n"


def test_a_new_section_is_one_builder(plans, monkeypatch):
    def fleet(r):
        return report.Section("scenarios", "Fleet", rows=(("racks needed", "3"),))

    monkeypatch.setattr(report, "SECTION_BUILDERS", [*report.SECTION_BUILDERS, fleet])
    for fmt in ("text", "md"):
        out = report.render(plans["default"], fmt)
        assert "Fleet" in out and "racks needed" in out


def test_markdown_escapes_pipes_in_cells(plans, monkeypatch):
    def odd(r):
        return report.Section("warnings", "Odd", rows=(("a|b", "1|2"),))

    monkeypatch.setattr(report, "SECTION_BUILDERS", [odd])
    assert "| a\\|b | 1\\|2 |" in report.render(plans["default"], "md")


def test_a_plan_that_does_not_fit_carries_its_advice_in_every_format():
    """Issue 7 item 11: the changes that would fit, in text, markdown and the JSON `advice` list."""
    text = example_text("default").replace('"llama-3.1-8b"', '"llama-3.1-70b"')
    plan = plan_from_text(text, "big")
    assert not plan.fits
    data = json.loads(report.render(plan, "json"))
    messages = [a["message"] for a in data["advice"]]
    assert "fits with TP 2" in messages and data["advice"][0]["edits"]
    section = report.build_report(plan).section("advice")
    assert section is not None
    for line in messages:
        assert line in report.render(plan, "text") and line in report.render(plan, "md")
    fits = json.loads(report.render(plan_from_text(example_text("default"), "d"), "json"))
    assert fits["advice"] == [] and report.build_report(plan_from_text(example_text("default"), "d")).section("advice") is None


def test_whole_node_pricing_names_gpus_used_and_provisioned(plans):
    """Issue 7 item 10: '$29.80/h' beside '1 GPU' says that 8 are provisioned and paid for."""
    plan = plans["default"]
    data = json.loads(report.render(plan, "json"))
    z = data["scenarios"]["minimum"]
    assert (z["gpus"], z["gpus_provisioned"]) == (1, 8) and data["cost"]["cost_counts"] == "gpus_provisioned"
    for fmt in ("text", "md"):
        out = report.render(plan, fmt)
        assert "GPUs provisioned" in out
        assert "minimum uses 1 of 8 GPUs provisioned; the cost counts all 8 x $" in out
