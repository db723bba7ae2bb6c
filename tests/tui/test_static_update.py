"""update_static: new figures of the same height repaint without a layout pass; content that
needs more (or fewer) lines still resizes the widget, and what sits below it moves."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.widgets.static_update import update_static


class CountingStatic(Static):
    layouts = 0

    def refresh(self, *regions, repaint=True, layout=False, recompose=False):
        if layout and self.is_mounted:
            self.layouts += 1
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class Probe(App):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield CountingStatic("one\ntwo", id="figures")
            yield Static("below", id="below")
        with Vertical(id="hidden"):
            yield CountingStatic("x", id="hidden-figures")

    def on_mount(self) -> None:
        self.query_one("#hidden").display = False


async def test_same_height_repaints_without_layout_and_a_taller_content_resizes():
    app = Probe()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        figures = app.query_one("#figures", CountingStatic)
        below = app.query_one("#below")
        assert figures.size.height == 2 and below.region.y == 2
        figures.layouts = 0
        update_static(figures, "uno\ndos")
        await pilot.pause()
        assert figures.layouts == 0 and str(figures.render()) == "uno\ndos"
        update_static(figures, "uno\ndos\ntres")
        await pilot.pause()
        assert figures.size.height == 3 and below.region.y == 3  # the line below moved down
        update_static(figures, "a " * 30)  # one line that wraps to two at 40 columns
        await pilot.pause()
        assert figures.size.height == 2 and below.region.y == 2
        hidden = app.query_one("#hidden-figures", CountingStatic)
        hidden.layouts = 0
        update_static(hidden, "1\n2\n3")
        assert hidden.layouts == 0  # measured when shown
        app.query_one("#hidden").display = True
        await pilot.pause()
        assert hidden.size.height == 3
