"""The Training tab: live figures from the plan as the user edits the run, errors beside the
knobs, and SVG snapshots at 80x24, 120x40 and 200x50 (regenerate with --snapshot-update and
look at them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Select

from sessions.io import parse_session
from sessions.store import SessionStore

from .conftest import make_app, settle, type_into

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "sessions" / "examples" / "lora-finetune.toml"
SIZES = [(80, 24), (120, 40), (200, 50)]
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


async def _training_tab(pilot) -> None:
    await settle(pilot)
    pilot.app.screen.set_focus(None)
    await pilot.pause()
    await pilot.press("3")
    await pilot.pause()
    await settle(pilot)


def _report(app) -> dict:
    return app.report["training"]


async def test_a_keystroke_replans_the_run(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(EXAMPLE.read_text(), encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(160, 50)) as pilot:
        await _training_tab(pilot)
        before = _report(app)
        await type_into(pilot, "#t-sequence-length", "8192")
        await settle(pilot)
        after = _report(app)
        assert app.doc.session.training.sequence_length == 8192
        assert after["breakdown_gib"]["activations"] > before["breakdown_gib"]["activations"]
        assert "FITS" in str(app.query_one("#training-title").render())


async def test_method_choice_and_bad_input_keep_the_last_plan(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(EXAMPLE.read_text(), encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(160, 50)) as pilot:
        await _training_tab(pilot)
        app.query_one("#t-method", Select).value = "full"
        await settle(pilot)
        assert app.doc.session.training.method == "full"
        full = _report(app)
        assert full["method"] == "full" and full["trainable_params"] > 8e9
        await type_into(pilot, "#t-micro-batch-size", "x")
        await settle(pilot)
        assert "expected a whole number" in str(app.query_one("#training-errors").render())
        assert _report(app) == full  # the last good plan stays on screen
        await type_into(pilot, "#t-zero-stage", "7")
        await settle(pilot)
        assert "ZeRO" in str(app.query_one("#training-errors").render())
        assert app.doc.session.training.zero_stage == 2  # the session keeps its last valid value


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_training_tab_snapshot(snap_compare, size):
    # a stored session (the header names it, not a temporary path) with fixed file times
    store = SessionStore()
    saved = store.save(parse_session(EXAMPLE.read_text()), "lora-finetune")
    os.utime(saved, (T0, T0))

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.open_stored("lora-finetune")
        await _training_tab(pilot)
        pilot.app.screen.set_focus(None)
        await pilot.pause()

    assert snap_compare(make_app(offer_recovery=False), terminal_size=size, run_before=run_before)
