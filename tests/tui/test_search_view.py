"""The Search tab as a user drives it: the ranked table follows the inputs, a picked row becomes
the session in one edit (and `u` takes it back), kept choices hold, and the snapshots at three
sizes."""

from __future__ import annotations

import os

import pytest

from sessions.io import parse_session
from sessions.store import SessionStore

from .conftest import SESSION, make_app, settle, type_into

SIZES = [(80, 24), (120, 40), (200, 50)]
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


async def searched(pilot, after: int = 0):
    """The Search pane once it shows the search for the newest plan and options (the pane's own
    signal: it wakes waiters whenever it shows a search or draws its plot; no clock)."""
    app = pilot.app
    pane = app.pane("search-pane")
    assert pane is not None, "settle() returns after the panes are mounted"
    await pane.wait_until(lambda p: p.result is not None and not p.searching and p.done_token > after)
    await pilot.pause()
    return pane


async def plotted(pane, gpu: str):
    """Wait until the plot shows `gpu` with its whole front (or says why it has none)."""
    await pane.wait_until(lambda p: p.plotted is not None and p.plotted.gpu == gpu and p.plotted.complete
                          and p.plotted.token == p.done_token)
    return pane.plotted


async def open_search(pilot):
    await settle(pilot)
    pilot.app.action_tab("search")
    return await searched(pilot)


async def test_the_table_follows_the_inputs_and_a_row_applies_in_one_undoable_edit(session_file):
    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(160, 45)) as pilot:
        pane = await open_search(pilot)
        first, seen = pane.result, pane.done_token
        assert first.winner is not None and pane.rows[0] is first.winner
        # An input changes: the search reruns on the new plan.
        await type_into(pilot, "#f-serving-concurrent-sessions", "2000")
        await settle(pilot)
        pane = await searched(pilot, after=seen)
        assert pane.result is not first
        assert pane.result.winner.cost_per_hour > first.winner.cost_per_hour
        # Apply the winner: the session takes its GPU, layout and formats, and is planned.
        before = app.documents.doc.session
        winner = pane.result.winner
        table = app.query_one("#search-table")
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await settle(pilot)
        s = app.documents.doc.session
        assert (s.hardware.gpu, s.hardware.tensor_parallel, s.model.weights, s.model.kv_cache, s.serving.engine) == (
            winner.gpu, winner.tensor_parallel, winner.weights, winner.kv_cache, winner.engine)
        assert app.report["scenarios"]["recommended"]["cost_per_hour"] == round(winner.cost_per_hour, 2)
        assert app.query_one("#f-hardware-tensor-parallel").value == str(winner.tensor_parallel)
        # One edit: `u` restores the session as it was.
        await pilot.press("u")
        await settle(pilot)
        assert app.documents.doc.session == before


async def test_kept_choices_hold_and_the_plot_follows_the_row(session_file):
    from engine.search import gpu_front

    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(200, 50)) as pilot:
        pane = await open_search(pilot)
        result = pane.result
        table = app.query_one("#search-table")
        table.focus()
        # GPUs the cost bound spared the full model: no front from the search itself.
        spared = [n for n, c in enumerate(pane.rows) if c.status == "pruned" and c.gpu not in result.pareto]
        assert len(spared) >= 2
        # Moving over one such row and on to the next: the plot ends on the row's GPU, with that
        # GPU's whole front (latest wins; the first one's front, landing later, draws nothing).
        first, second = pane.rows[spared[0]].gpu, pane.rows[spared[1]].gpu
        table.move_cursor(row=spared[0])
        await pane.wait_until(lambda p: p.plotted.gpu == first)
        table.move_cursor(row=spared[1])
        shown = await plotted(pane, second)
        catalog = app.catalog
        whole = gpu_front(pane._inputs, catalog.gpus[second], catalog.prices_for(second), pane._options())
        assert shown.points == len(whole) > 0 and shown.note == ""
        await pane.wait_until(lambda p: p._front_running is None)
        await pilot.pause()
        assert pane.plotted.gpu == second and pane.highlighted().gpu == second
        # Back on the first: its front was computed once and is drawn at once.
        table.move_cursor(row=spared[0])
        await pane.wait_until(lambda p: p.plotted.gpu == first)
        assert pane.plotted.complete and pane.plotted.points > 0 and pane._front_running is None
        # A GPU the step model cannot time says so instead of plotting nothing.
        slow = next(n for n, c in enumerate(pane.rows) if result.speed_unknown(c.gpu))
        table.move_cursor(row=slow)
        shown = await plotted(pane, pane.rows[slow].gpu)
        assert shown.points == 0 and shown.note.startswith("speed unknown")
        # Keeping the session's GPU: the search holds it, and the plot shows its front.
        seen = pane.done_token
        await pilot.press("g")
        pane = await searched(pilot, after=seen)
        assert {c.gpu for c in pane.result.candidates} == {"h100-sxm-80gb"}
        assert "GPU kept" in str(app.query_one("#search-keep").render())
        shown = await plotted(pane, "h100-sxm-80gb")
        assert shown.points > 0


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_search_tab_snapshot(snap_compare, size):
    """Deterministic as the other snapshots: a stored session with a fixed file time, no focus."""
    path = SessionStore().save(parse_session(SESSION), "chat-70b")
    os.utime(path, (T0, T0))

    async def run_before(pilot) -> None:
        pilot.app.animation_level = "none"  # the tab underline would be caught mid-slide
        await settle(pilot)
        pilot.app.open_stored("chat-70b")
        pane = await open_search(pilot)
        await plotted(pane, pane.result.winner.gpu)  # the winner's whole front, not the search's part
        pilot.app.screen.set_focus(None)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    assert snap_compare(make_app(offer_recovery=False), terminal_size=size, run_before=run_before)
