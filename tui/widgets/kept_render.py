"""KeptRender: a widget that hands the compositor the strips it drew last time when nothing they
are made of has changed (the Monitor's containers and still Statics).

Textual repaints a screen update as one crop around all the dirty regions, and every widget that
overlaps it draws its whole region again through its StylesCache: on the Monitor, whose status
line (top) and process table (bottom) change every second, that is every widget on screen each
sample, though the boxes, the pane, the badge and the alert line have nothing new. StylesCache
keeps their lines, but each call still looks up the background colours (a walk up the DOM), the
titles, the content region and the filters and passes each line through them again: some 0.1 ms
a widget. Here a call with the same crop, the same styles (the widget's and its ancestors'), the
same line filters and hover style, no dirty line, and the very same cached lines in the
StylesCache returns the previous call's strips: a refresh marks lines dirty or clears the cache,
so anything new is drawn by StylesCache as before. tests/tui/test_kept_render.py checks a change
of content, title or style still reaches the screen.
"""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static


class KeptRender:
    """Mixin (before the widget class): `render_lines` kept while its inputs are the same."""

    _kept_render: tuple | None = None  # (key, the StylesCache's lines, the strips returned)

    def render_lines(self, crop: Region) -> list[Strip]:
        widget: Widget = self  # type: ignore[assignment]
        cache = widget._styles_cache
        key = (
            crop,
            widget.region,
            tuple(node.styles._cache_key for node in widget.ancestors_with_self),
            tuple(widget.get_line_filters()),
            widget.hover_style,
        )
        kept = self._kept_render
        if kept is not None and kept[0] == key and not cache._dirty_lines:
            lines = cache._cache
            if all(lines.get(y) is line for y, line in zip(crop.line_range, kept[1])):
                return list(kept[2])
        strips = super().render_lines(crop)  # type: ignore[misc]
        lines = cache._cache
        self._kept_render = (key, [lines.get(y) for y in crop.line_range], strips)
        return list(strips)


class KeptHorizontal(KeptRender, Horizontal):
    pass


class KeptVertical(KeptRender, Vertical):
    pass


class KeptStatic(KeptRender, Static):
    pass


__all__ = ["KeptHorizontal", "KeptRender", "KeptStatic", "KeptVertical"]
