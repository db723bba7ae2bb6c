"""The Serving tab: the curve plot, the SLA line, the chosen point, the figures and the curve table,
following the plan as the user types; SVG snapshots at 80x24, 120x40 and 200x50."""

from __future__ import annotations

import os

import pytest

from sessions.io import parse_session
from sessions.store import SessionStore

from .conftest import SESSION, make_app, settle, type_into

SIZES = [(80, 24), (120, 40), (200, 50)]
T0 = 1_767_225_600


def _stored() -> None:
    path = SessionStore().save(parse_session(SESSION), "chat-70b")
    os.utime(path, (T0, T0))


async def _open_serving(pilot) -> None:
    app = pilot.app
    await settle(pilot)
    app.open_stored("chat-70b")
    await settle(pilot)
    app.action_tab("serving")
    for _ in range(200):
        await pilot.pause(0.01)
        pane = app.pane("serving-pane")
        if pane is not None and pane.ready:
            break
    await pilot.pause()


def _text(app, selector: str) -> str:
    from textual.widgets import Static

    widget = app.query_one(selector, Static)
    rendered = widget.content  # what the pane last put there (a str, Text or Table)
    console = app.console
    return "".join(seg.text for seg in console.render(rendered, console.options.update_width(200)))


async def test_the_serving_tab_follows_the_plan_and_names_what_binds():
    _stored()
    app = make_app(offer_recovery=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await _open_serving(pilot)
        inf = app.report["inference"]
        verdict = _text(app, "#serving-verdict")
        assert f"Batch {inf['batch']:,} per replica" in verdict and "SLA" in verdict
        figures = _text(app, "#serving-figures")
        assert "TTFT" in figures and "TPOT" in figures and "replicas for the traffic" in figures
        curve = _text(app, "#serving-curve")
        assert "TPOT ms" in curve and f"{inf['curve'][0]['batch']}" in curve
        plot = app.query_one("#serving-plot")
        assert plot.plt is not None
        before = inf["batch"]
        # A tighter ITL SLA lowers the batch the tab shows.
        await type_into(pilot, "#f-serving-sla-itl-ms", "30")
        await settle(pilot)
        after = app.report["inference"]["batch"]
        assert after < before
        assert f"Batch {after:,} per replica" in _text(app, "#serving-verdict")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_serving_tab(snap_compare, size):
    _stored()

    async def run_before(pilot) -> None:
        await _open_serving(pilot)
        pilot.app.screen.set_focus(None)
        await pilot.pause()

    assert snap_compare(make_app(offer_recovery=False), terminal_size=size, run_before=run_before)
