"""SVG snapshots of the Sizing tab and the Sessions diff at 80x24, 120x40 and 200x50.

Deterministic: a fixed session saved in a private GPUPLAN_HOME with fixed file times, UTC, a
no-GPU scripted backend, no clock anywhere on screen, no focus (no blinking cursor).
Regenerate with `pytest tests/tui/test_snapshots.py --snapshot-update` and look at the report.
"""

from __future__ import annotations

import os

import pytest

from sessions.io import parse_session, update_session
from sessions.store import SessionStore

from .conftest import SESSION, make_app, settle

SIZES = [(80, 24), (120, 40), (200, 50)]
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def _store_with_history() -> SessionStore:
    store = SessionStore()
    session = parse_session(SESSION)
    path = store.save(session, "chat-70b")
    os.utime(path, (T0, T0))
    changed = update_session(session, {"serving.prompt_tokens": 2000, "hardware.tensor_parallel": 8,
                                       "model.weights": "fp8"})
    path = store.save(changed, "chat-70b")
    os.utime(path, (T0 + 3600, T0 + 3600))
    other = update_session(session, {"name": "chat-8b", "model.catalog": "llama-3.1-8b",
                                     "hardware.tensor_parallel": 1})
    path = store.save(other, "chat-8b")
    os.utime(path, (T0 + 7200, T0 + 7200))
    return store


def _app():
    return make_app(offer_recovery=False)


async def _open(pilot, name: str) -> None:
    app = pilot.app
    await settle(pilot)
    app.open_stored(name)
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sizing_tab(snap_compare, size):
    store = SessionStore()
    path = store.save(parse_session(SESSION), "chat-70b")
    os.utime(path, (T0, T0))

    async def run_before(pilot) -> None:
        await _open(pilot, "chat-70b")
        pilot.app.screen.set_focus(None)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sessions_diff(snap_compare, size):
    _store_with_history()

    async def run_before(pilot) -> None:
        app = pilot.app
        await _open(pilot, "chat-70b")
        app.action_tab("sessions")
        await pilot.pause()
        for _ in range(100):
            await pilot.pause(0.02)
            if app.query_one("#diff-results").row_count and not any(
                w.group == "diff" and not w.is_finished for w in app.workers
            ):
                break
        app.screen.set_focus(None)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


def test_sizing_tab_with_an_invalid_field(snap_compare):
    """The red field and its reason, the last good plan still on screen (sidebar shown)."""
    store = SessionStore()
    path = store.save(parse_session(SESSION), "chat-70b")
    os.utime(path, (T0, T0))

    async def run_before(pilot) -> None:
        from .conftest import type_into

        await _open(pilot, "chat-70b")
        await type_into(pilot, "#f-serving-max-model-len", "-1")
        await settle(pilot)
        pilot.app.screen.set_focus(None)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, size):
    """Help fits the terminal (its box scrolls), every tab's keys generated from the bindings."""
    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.action_tab("monitor")  # help over the Monitor tab (help mounts every pane to list its keys)
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


def test_sizing_tab_with_the_sidebar_at_80x24(snap_compare):
    """80 columns with the inputs shown: the tables keep their figures whole (the pane scrolls
    sideways) instead of cutting them."""
    store = SessionStore()
    path = store.save(parse_session(SESSION), "chat-70b")
    os.utime(path, (T0, T0))

    async def run_before(pilot) -> None:
        await _open(pilot, "chat-70b")
        await pilot.press("ctrl+b")
        await settle(pilot)  # the fields are built as the sidebar is first shown
        pilot.app.screen.set_focus(None)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=run_before)
