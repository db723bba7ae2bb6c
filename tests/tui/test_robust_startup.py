"""Issue 7 item 4: recovery is offered before input is taken (keys typed at once at start-up never
reach the tabs, the sidebar or a field before the recovery choice; with nothing to recover they
are replayed in order). Issue 10 item 2 in watch mode: an external edit that does not parse, then
ctrl+s, asks before replacing it and keeps it as a version."""

from __future__ import annotations

import os

from textual.widgets import Input, TabbedContent

from sessions import parse_session
from sessions.filesave import FileVersions
from sessions.recovery import RecoveryStore
from tui.pane_registry import TABS
from tui.screens.robust_dialogs import FileChangedScreen, RecoveryListScreen

from .conftest import SESSION, make_app, send_keys, settle, type_into


def _left_by_a_dead_instance(session_file, output_tokens: int) -> None:
    """Unsaved work recorded by an instance that is gone (its lock released, its record kept)."""
    gone = RecoveryStore(instance="4242-gone")
    gone.start()
    assert gone.write(SESSION.replace("output_tokens = 500", f"output_tokens = {output_tokens}"), str(session_file))
    gone.close()
    assert len(RecoveryStore().pending()) == 1


async def test_keys_typed_at_start_up_wait_for_the_recovery_choice(session_file):
    _left_by_a_dead_instance(session_file, 777)
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        tabs = app.query_one(TabbedContent)
        first_tab, sidebar_shown = tabs.active, bool(app.sidebar.display)
        # all at once, as a terminal delivers a fast typist's keys, before the boot has ended:
        # a tab key, the sidebar key, then digits and tab meant for a field
        send_keys(app, "2", "ctrl+b", "9", "9", "tab", "8", "alt+3")
        await settle(pilot)
        assert isinstance(app.screen, RecoveryListScreen)
        assert tabs.active == first_tab and bool(app.sidebar.display) == sidebar_shown
        assert app.doc.session.serving.output_tokens == 500 and not app.dirty
        assert app.held_input == 0  # the gate is open: the dialog takes the keys from now on
        await pilot.press("r")
        await settle(pilot)
        assert app.screen is app.default_screen
        assert app.doc.session.serving.output_tokens == 777
        assert app.query_one("#f-serving-output-tokens", Input).value == "777"
        assert tabs.active == first_tab and bool(app.sidebar.display) == sidebar_shown
        assert not [w.id for w in app.sidebar.query(Input) if "99" in w.value]  # no field took the digits


async def test_keys_typed_at_start_up_are_replayed_in_order_when_nothing_is_to_recover(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        send_keys(app, "2", "3")  # before the boot ends: held, then replayed in order
        await settle(pilot)
        assert app.held_input == 0 and app.screen is app.default_screen
        assert app.query_one(TabbedContent).active == TABS[2]


def _bump(path, seconds: int) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 10**9))


BROKEN = SESSION.replace("prompt_tokens = 4000", 'prompt_tokens = "lots"  # half-way through an edit')


async def test_watch_mode_save_over_an_unparseable_external_edit_asks_and_keeps_it(session_file):
    app = make_app(session_file, watch=True, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-serving-output-tokens", "321")
        await settle(pilot)
        assert app.dirty
        session_file.write_text(BROKEN)  # someone else's editor, mid-edit
        _bump(session_file, 5)
        app._poll_watch()  # what the watch timer does
        await pilot.pause()
        assert app.query_one("#banner").has_class("-shown")  # the broken edit is said...
        assert app.dirty and app.doc.session.serving.output_tokens == 321  # ...and ours is kept

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FileChangedScreen)  # asked, not overwritten
        assert session_file.read_text() == BROKEN
        await pilot.press("r")  # reload: the file does not parse, so nothing is replaced
        await pilot.pause()
        assert session_file.read_text() == BROKEN
        assert app.doc.session.serving.output_tokens == 321
        while app.screen is not app.default_screen:  # the "cannot reload" message
            await pilot.press("escape")

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FileChangedScreen)  # asked again: still not ours on disk
        await pilot.press("o")  # overwrite, knowingly
        await settle(pilot)
        assert not app.dirty and parse_session(session_file.read_text()).serving.output_tokens == 321
    kept = [v.read_text() for v in FileVersions().list(session_file)]
    assert BROKEN in kept  # the replaced edit is a version, byte for byte


async def test_watch_mode_save_as_leaves_an_unparseable_external_edit_alone(session_file):
    app = make_app(session_file, watch=True, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-serving-output-tokens", "654")
        await settle(pilot)
        session_file.write_text(BROKEN)
        _bump(session_file, 5)
        app._poll_watch()
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FileChangedScreen)
        await pilot.press("a")  # save as: ours under another name
        await pilot.pause()
        prompt = app.screen.query_one(Input)
        prompt.value = "mine"
        await pilot.press("enter")
        await settle(pilot)
        assert app.store.load("mine").serving.output_tokens == 654
    assert session_file.read_text() == BROKEN
