"""TextLines: a widget drawn line by line from Rich Text lines it builds itself, repainting only
the lines whose text changed (the Monitor's compact GPU rows and detail cards).

Textual's own `render()` path turns each Text into Content and Strips again on every refresh
(about a millisecond per line); here a refresh with new data compares the new lines with the
ones on screen and repaints only the lines that differ, keeping the Strip of every other line.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static


def memo_rich_style(widget: Widget) -> Style:
    """`widget.rich_style`, recomputed only when the styles of the widget or of an ancestor
    change (a class, focus, the theme): it walks every ancestor's rules (some 50 µs) and the
    Monitor's line widgets ask for it a few times a sample each."""
    key = tuple(node.styles._cache_key for node in widget.ancestors_with_self)
    memo = widget.__dict__.get("_rich_style_memo")
    if memo is not None and memo[0] == key:
        return memo[1]
    style = widget.rich_style
    widget.__dict__["_rich_style_memo"] = (key, style)
    return style


def _render_text(text: Text, console: Console) -> list[Segment]:
    """`list(text.render(console))` for a Text whose spans are in order and do not overlap (what
    the Monitor's LineBuilder and Text.append make): each gap in the Text's own style, each span
    in it plus the span's style, split where Text.render splits. Other Texts go to Text.render."""
    spans = text.spans
    plain = text.plain
    if not spans:
        return [Segment(plain)]
    end = 0
    for start, stop, _style in spans:
        if start < end or stop < start:
            return list(text.render(console))  # nested or out of order: Rich's style stack
        end = stop
    if end > len(plain):
        return list(text.render(console))
    get_style = console.get_style
    null = Style.null()
    base = get_style(text.style, default=null) if text.style else null
    out: list[Segment] = []
    pos = 0
    for start, stop, span_style in spans:
        if start > pos:
            out.append(Segment(plain[pos:start], base))
        if stop > start:
            out.append(Segment(plain[start:stop], base + get_style(span_style, default=null)))
        pos = stop
    if len(plain) > pos:
        out.append(Segment(plain[pos:], base))
    return out


def text_strip(text: Text, width: int, style: Style, console: Console) -> Strip:
    """One line of Rich Text as a Strip `width` cells wide in the widget's `style` (a no_wrap
    ellipsis Text ends in '…' when cut, as Textual's own rendering does)."""
    if text.overflow == "ellipsis" and text.cell_len > width:
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
    segments = _render_text(text, console)
    size = sum(cell_len(t) for t, _s, _c in segments)
    if size > width or any(c for _t, _s, c in segments):
        return Strip(segments).crop_extend(0, width, style).apply_style(style)
    # in one pass what crop_extend(0, width, style).apply_style(style) makes of a short line
    if style:
        add = style.__add__
        line = [Segment(t, add(s)) for t, s, _c in segments]
    else:  # apply_style leaves a line alone under a null style
        line = segments
    if size < width:
        line.append(Segment(" " * (width - size), style))
    return Strip(line, width)


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

    def line_style(self) -> Style:
        return memo_rich_style(self)

    def refresh_lines(self) -> None:
        width = self.size.width
        old = self._strips
        style = self.line_style()
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
            style = self.line_style()
        key = (width, style)
        reuse = self._strips is not None and self._strips_key == key
        old_texts, old_strips = self._texts, self._strips or []
        strips: list[Strip] = []
        for n, t in enumerate(texts):
            if reuse and n < len(old_texts) and n < len(old_strips) and old_texts[n] == t:
                strips.append(old_strips[n])  # unchanged line: the same Strip
                continue
            strips.append(text_strip(t, width, style, console))
        self._texts = texts
        self._strips_key = key
        return strips

    def render_lines(self, crop: Region) -> list[Strip]:
        # a new style (focus, a class, the theme) repaints the whole widget: build afresh
        if self._strips is not None and self._strips_key != (self.size.width, self.line_style()):
            self._strips = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._strips is None or self._strips_key is None or self._strips_key[0] != width:
            self._strips = self._build(width)
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.line_style())

    def on_resize(self) -> None:
        self._strips = None


class TextStatic(Static):
    """A Static showing one line of Rich Text, drawn through the line API: the line's Strip is
    built once per new content (Textual's Content path costs about a millisecond per line and
    the status line changes every sample). A line wider than the widget (Textual cuts it at a
    word) and any other content render as a Static does."""

    _line: tuple[object, int, Style, Strip] | None = None  # (content, width, style, strip)

    def render_line(self, y: int) -> Strip:
        content = self.content
        width = self.size.width
        if not isinstance(content, Text) or "\n" in content.plain or content.cell_len > width:
            return super().render_line(y)  # Textual wraps a line too long at a word: its own way
        style = memo_rich_style(self)
        if y:
            return Strip.blank(width, style)
        cached = self._line
        if cached is None or cached[0] is not content or cached[1] != width or cached[2] != style:
            cached = self._line = (content, width, style, text_strip(content, width, style, self.app.console))
        return cached[3]
