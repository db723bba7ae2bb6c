"""KeptRender (tui/widgets/kept_render.py): a still widget overlapped by a repaint hands back its
last strips instead of drawing them again, and a change to it (content, title, an ancestor's
class, the theme) still reaches the screen, drawn as Textual draws it."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.widgets.kept_render import KeptRender, KeptStatic, KeptVertical

from .monitor_support import screen_lines


class _Host(App):
    CSS = """
    #box { height: 4; border-top: hkey red; padding: 0 1; }
    #box.-alarm { background: red 30%; }
    #ticker, #ticker2 { height: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static("tick 0", id="ticker")  # changes every sample: a repaint above the box
        with KeptVertical(id="box"):
            yield KeptStatic("still [b]bold[/b] [dim cyan]dim[/]", id="still")
        yield Static("tick 0", id="ticker2")  # and one below: the crop spans the box

    ticks = 0

    def tick(self) -> None:
        self.ticks += 1
        for name in ("#ticker", "#ticker2"):
            self.query_one(name, Static).update(f"tick {self.ticks}")


def _painted(app: App) -> list[list]:
    return [list(strip) for strip in app.screen._compositor.render_strips()]


def _fresh(app: App) -> list[list]:
    """The screen as Textual draws it with nothing kept."""
    for widget in app.screen.walk_children(with_self=True):
        widget._styles_cache.clear()
        if isinstance(widget, KeptRender):
            widget._kept_render = None
    return _painted(app)


async def test_a_still_widget_is_not_drawn_again_and_its_changes_reach_the_screen():
    app = _Host()
    async with app.run_test(size=(40, 8)) as pilot:
        app.tick()
        await pilot.pause()
        box, still = app.query_one("#box", KeptVertical), app.query_one("#still", KeptStatic)
        drawn: list[str] = []
        for widget in (box, still):
            cache = widget._styles_cache
            original = cache.render_widget

            def counting(w, crop, _original=original):
                drawn.append(w.id)
                return _original(w, crop)

            cache.render_widget = counting  # type: ignore[method-assign]
        app.tick()  # the box and its Static are under the repaint's crop, unchanged
        await pilot.pause()
        assert screen_lines(app)[0].startswith("tick 2")
        before = _painted(app)
        assert drawn == []  # handed back as they were
        assert before == _fresh(app)  # and they are what Textual draws

        still.update("changed")
        app.tick()
        await pilot.pause()
        assert any("changed" in line for line in screen_lines(app))
        assert "still" in drawn
        assert _painted(app) == _fresh(app)

        box.border_title = "Box title"
        await pilot.pause()
        assert "Box title" in screen_lines(app)[1]

        kept = _painted(app)
        box.add_class("-alarm")  # an ancestor's class: the Static's background changes
        await pilot.pause()
        alarm = _painted(app)
        assert alarm != kept and alarm == _fresh(app)

        app.theme = "textual-light"  # another ANSI theme: the truecolor filter is replaced
        await pilot.pause()
        light = _painted(app)
        assert light != alarm and light == _fresh(app)
