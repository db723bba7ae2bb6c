"""TextLines: a widget drawn line by line from Rich Text lines it builds itself, repainting only
the lines whose text changed (the Monitor's compact GPU rows and detail cards).

Textual's own `render()` path turns each Text into Content and Strips again on every refresh
(about a millisecond per line); here a refresh with new data compares the new lines with the
ones on screen and repaints only the lines that differ, keeping the Strip of every other line.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class TextLines(Widget):
    """A widget drawn line by line (Textual's line API) from Rich Text lines it builds itself: no
    wrapping or markup pass per sample. `refresh_lines()` (new data) rebuilds the lines at once
    when the widget is on screen and repaints only those whose text changed; a line that did not
    change keeps its Strip, so neither it nor the compositor's caches are redone."""

    def lines(self, width: int) -> list[Text]:  # pragma: no cover - overridden
        return []

    _strips: list[Strip] | None = None  # None: build when next painted
    _strips_key: tuple | None = None  # (width, rich style) the strips were built for
    _texts: list[Text] = []

    def refresh_lines(self) -> None:
        width = self.size.width
        old = self._strips
        style = self.rich_style
        if old is None or not width or self._strips_key != (width, style) or not self.is_on_screen:
            self._strips = None  # off screen or not laid out: build lazily, when painted
            self.refresh()
            return
        self._strips = new = self._build(width, style)
        if len(new) != len(old):
            self.refresh()
            return
        for y, (a, b) in enumerate(zip(old, new)):
            if a is not b:
                self.refresh(Region(0, y, width, 1))

    def _build(self, width: int, style: Style | None = None) -> list[Strip]:
        texts = self.lines(width)
        console = self.app.console
        if style is None:
            style = self.rich_style
        key = (width, style)
        reuse = self._strips is not None and self._strips_key == key
        old_texts, old_strips = self._texts, self._strips or []
        strips: list[Strip] = []
        for n, t in enumerate(texts):
            if reuse and n < len(old_texts) and n < len(old_strips) and old_texts[n] == t:
                strips.append(old_strips[n])  # unchanged line: the same Strip
                continue
            segments = list(t.render(console))
            strips.append(Strip(segments).crop_extend(0, width, style).apply_style(style))
        self._texts = texts
        self._strips_key = key
        return strips

    def render_lines(self, crop: Region) -> list[Strip]:
        # a new style (focus, a class, the theme) repaints the whole widget: build afresh
        if self._strips is not None and self._strips_key != (self.size.width, self.rich_style):
            self._strips = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._strips is None or self._strips_key is None or self._strips_key[0] != width:
            self._strips = self._build(width)
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)

    def on_resize(self) -> None:
        self._strips = None
