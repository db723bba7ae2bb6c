"""tui/textual_fixes.py: a widget's render cache dies with the widget, and the fix draws the same."""

from __future__ import annotations

import asyncio
import gc
import weakref

from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.color import Color
from textual.widgets import Static

from tui import textual_fixes


class _Host(App):
    def compose(self) -> ComposeResult:
        yield Static("drawn once, then removed", id="gone")


def _render_cache_outlives_its_widget() -> bool:
    """Draw a Static, remove it, end the app: is the Static's StylesCache still alive? (On an
    event loop of its own, ended before the check: a running loop keeps the app's callbacks.)"""

    async def run() -> weakref.ref:
        app = _Host()
        async with app.run_test(size=(40, 4)) as pilot:
            await pilot.pause()
            static = app.query_one("#gone", Static)
            drawn = app.screen._compositor.render_strips()[0]
            assert "drawn once" in "".join(segment.text for segment in drawn)
            cache = weakref.ref(static._styles_cache)
            await static.remove()
            await pilot.pause()
        return cache

    cache = asyncio.run(run())
    gc.collect()
    return cache() is not None


def test_a_removed_widgets_render_cache_is_freed():
    textual_fixes.install()
    assert not _render_cache_outlives_its_widget()


def test_textual_itself_still_keeps_it(monkeypatch):
    """Textual's own get_inner_outer keeps it: when this fails, Textual fixed issue #6665 and
    tui/textual_fixes.py can go."""
    monkeypatch.setattr(StylesCache, "get_inner_outer", textual_fixes._TEXTUAL_GET_INNER_OUTER)
    assert _render_cache_outlives_its_widget()


def test_the_fix_answers_as_textual_does():
    cache = StylesCache()
    for base, background in [(Color(0, 0, 0), Color(255, 0, 0, 0.5)), (Color(30, 30, 30), Color(0, 0, 0, 0)),
                             (Color(250, 250, 250), Color(10, 120, 200))]:
        assert textual_fixes._get_inner_outer(cache, base, background) == \
            textual_fixes._TEXTUAL_GET_INNER_OUTER(cache, base, background)
