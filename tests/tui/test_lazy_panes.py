"""A tab costs nothing until it is shown: its pane is mounted when its tab is first switched to
(showing the current plan at once), when help lists its keys, or once the app has been left alone
for a while; the app never ends in the middle of a mount; a hidden sidebar (`gpuplan watch`, a
narrow terminal) builds its fields when first shown."""

from __future__ import annotations

from textual.widgets import TabbedContent

from tui import app as app_module
from tui.pane_registry import PANES
from tui.widgets.serving import verdict_text

from .conftest import make_app, send_keys, settle, type_into
from .monitor_support import plain


def mounted_tabs(app) -> set[str]:
    tabs = app.query_one(TabbedContent)
    return {spec.tab for spec in PANES if tabs.get_pane(spec.tab).children}


async def test_a_tab_is_mounted_when_first_shown_with_the_current_plan(session_file):
    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # the tab on screen, and the Monitor (it records samples while hidden)
        assert mounted_tabs(app) == {"sizing", "monitor"}
        await type_into(pilot, "#f-hardware-tensor-parallel", "8")
        await settle(pilot)
        tp8 = verdict_text(app.report).plain
        await pilot.press("escape", "2")  # a digit from no field: the Serving tab
        pane = app.pane("serving-pane")
        assert pane is not None and app.query_one(TabbedContent).active == "serving"
        await pilot.pause()
        assert pane.ready and pane.is_on_screen
        verdict = app.query_one("#serving-verdict")
        # it shows the plan typed before it existed, and follows the next one
        assert plain(verdict) == tp8 and tp8.startswith("Batch ")
        await type_into(pilot, "#f-hardware-tensor-parallel", "2")
        await settle(pilot)
        assert plain(verdict) == verdict_text(app.report).plain != tp8
        assert mounted_tabs(app) == {"sizing", "monitor", "serving"}


async def test_help_mounts_every_tab_to_list_its_keys_and_a_hidden_search_does_not_search(session_file):
    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert mounted_tabs(app) == {"sizing", "monitor"}
        await pilot.press("question_mark")
        assert mounted_tabs(app) == {spec.tab for spec in PANES}
        await pilot.press("escape")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "sizing"  # nothing switched
        search = app.pane("search-pane")
        assert search.ready and search.result is None  # a hidden Search tab does not search
        assert plain(app.query_one("#serving-verdict")) == verdict_text(app.report).plain  # on mount


async def test_left_alone_the_app_mounts_the_other_tabs_one_by_one(session_file, monkeypatch):
    monkeypatch.setattr(app_module, "PREFETCH_IDLE_S", 0.05)  # the app's own default is 2 s
    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        while mounted_tabs(app) != {spec.tab for spec in PANES}:
            await pilot.pause()  # the prefetch timer's state, no clock of the test's own
        assert app.query_one(TabbedContent).active == "sizing"  # nothing switched
        assert app.pane("search-pane").result is None  # a hidden Search tab does not search


async def test_the_app_ends_cleanly_in_the_middle_of_mounting_a_tab(session_file):
    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_tab("training")  # its Selects start mounting; the test ends at once
    assert app.return_code in (0, None) and app._exception is None


async def test_the_app_ends_cleanly_in_the_middle_of_building_the_sidebar(session_file):
    app = make_app(session_file, offer_recovery=False, monitor_first=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_toggle_sidebar()  # its fields (and Selects) start mounting; the test ends at once
    assert app.return_code in (0, None) and app._exception is None


async def test_a_hidden_sidebar_builds_its_fields_when_first_shown(session_file):
    app = make_app(session_file, offer_recovery=False, monitor_first=True)  # as `gpuplan watch`
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.sidebar.display is False and not app.sidebar.built and not app.sidebar.children
        assert app.plan is not None  # the plan does not wait for the fields
        send_keys(app, "ctrl+b")
        await settle(pilot)  # settled again only once the fields show the session
        assert app.sidebar.built and app.sidebar.display
        assert app.focused is app.query_one("#model-input")  # the first field, as ctrl+b gives
        await type_into(pilot, "#f-hardware-tensor-parallel", "8")
        await settle(pilot)
        assert app.doc.session.hardware.tensor_parallel == 8
        assert app.query_one("#f-hardware-tensor-parallel").value == "8"


async def test_once_every_tab_is_mounted_the_app_says_so_once(session_file, monkeypatch):
    """`after_prefetch` (launch.py freezes the start-up heap there) runs after the last tab has
    mounted, not before, and only once."""
    monkeypatch.setattr(app_module, "PREFETCH_IDLE_S", 0.05)
    app = make_app(session_file, offer_recovery=False)
    calls = []
    app.after_prefetch = lambda: calls.append(set(mounted_tabs(app)))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        while not calls:
            await pilot.pause()
        for _ in range(5):  # the prefetch timer has nothing left to do: no second call
            await pilot.pause(0.06)
    assert calls == [{spec.tab for spec in PANES}]
