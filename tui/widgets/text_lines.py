"""TextLines: a widget drawn line by line from Rich Text lines it builds itself, repainting only
the lines whose text changed (the Monitor's compact GPU rows and detail cards).

Textual's own `render()` path turns each Text into Content and Strips again on every refresh
(about a millisecond per line); here a refresh with new data compares the new lines with the
ones on screen and repaints only the lines that differ, keeping the Strip of every other line.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.filter import ANSIToTruecolor, DimFilter, LineFilter, Monochrome, NoColor
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static


def _memo_by_styles(widget: Widget, name: str, compute: Callable[[], Any]) -> Any:
    """`compute()`, kept on the widget under `name` until the styles of the widget or of an
    ancestor change (a class, focus, the theme)."""
    key = tuple(node.styles._cache_key for node in widget.ancestors_with_self)
    memo = widget.__dict__.get(name)
    if memo is not None and memo[0] == key:
        return memo[1]
    value = compute()
    widget.__dict__[name] = (key, value)
    return value


def memo_rich_style(widget: Widget) -> Style:
    """`widget.rich_style`, recomputed only when the styles of the widget or of an ancestor
    change: it walks every ancestor's rules (some 50 µs) and the Monitor's line widgets ask for
    it a few times a sample each."""
    return _memo_by_styles(widget, "_rich_style_memo", lambda: widget.rich_style)


def _plain_paint(widget: Widget) -> object | None:
    """The widget's background colour (what StylesCache hands the line filters) if Textual's
    StylesCache would draw its content lines unchanged: no border, outline, padding, tint,
    opacity, text opacity, hatch or link hover; else None. Kept as memo_rich_style is."""
    return _memo_by_styles(widget, "_plain_paint_memo", lambda: _plain_background(widget))


def _plain_background(widget: Widget) -> object | None:
    styles = widget.styles
    plain = (
        not any(edge for edge, _color in styles.border)
        and not any(edge for edge, _color in styles.outline)
        and not any(styles.padding)
        and not styles.tint.a
        and widget.opacity == 1.0
        and styles.text_opacity == 1.0
        and not (styles.has_rule("hatch") and styles.hatch != "none")
    )
    return widget.background_colors[1] if plain else None


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


class Line:
    """One line of styled text as runs of (text, style): what a Rich Text of ordered,
    non-overlapping spans renders to, kept as the runs themselves (no Text, no control-code
    pass, compared as tuples). A run with no style is in the line's `base` style; a styled run
    is in `base` plus its own, as Text.render styles a span. Built by monitor_format's
    LineBuilder, which merges unstyled neighbours as Text.render does, so `line_strip` makes
    the very segments `text_strip` makes of the equivalent Text (tests/tui/test_text_lines.py)."""

    __slots__ = ("runs", "base", "bare", "_plain")

    def __init__(self, runs: tuple[tuple[str, object], ...], base: object = "", *, bare: bool = False) -> None:
        self.runs = runs  # (text, style): style "" (the base), a style string, a Style or a tuple of them
        self.base = base
        self.bare = bare  # no span at all: drawn as one segment without the base, as Text.render does
        self._plain: str | None = None

    @property
    def plain(self) -> str:
        if self._plain is None:
            self._plain = "".join(t for t, _s in self.runs)
        return self._plain

    @property
    def cell_len(self) -> int:
        return cell_len(self.plain)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Line) and self.runs == other.runs and self.base == other.base
                and self.bare == other.bare)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Line({self.plain!r})"

    def to_text(self) -> Text:
        """The equivalent Rich Text (tests, and lines that need Rich's own layout)."""
        spans = []
        pos = 0
        for t, s in () if self.bare else self.runs:  # a span for each run: its cuts are the runs'
            for part in (s if isinstance(s, tuple) else (s,)):
                spans.append(Span(pos, pos + len(t), part))
            pos += len(t)
        if not spans and not self.bare:
            spans.append(Span(0, 0, ""))  # an empty line with a span: not drawn bare
        return Text(self.plain, style=self.base, spans=spans)


# Textual's line filters that map each segment by its style alone (text kept, no control codes
# in ours): for them a strip can be built already filtered, one style at a time
_PER_SEGMENT_FILTERS = (ANSIToTruecolor, DimFilter, Monochrome, NoColor)


class Filtering:
    """The app's line filters over one background (what StylesCache and `_paint_plain` apply to
    each painted line with `strip.apply_filter`), applied to a style at a time: a line built
    with it has the segments the filters would make of it, so it is not filtered again when
    painted (a new Strip and a pass over its segments for each of the 30-odd lines a sample
    changes). Made only for filters that map each segment by its style alone; one per
    (filters, background), see `filtering_for`."""

    __slots__ = ("filters", "background", "_styles")

    def __init__(self, filters: tuple[LineFilter, ...], background: object) -> None:
        self.filters, self.background = filters, background
        self._styles: dict[object, object] = {}

    def segments(self, segments: list[Segment]) -> list[Segment]:
        """`segments` through the filters, as `Strip.apply_filter` passes them."""
        for line_filter in self.filters:
            segments = line_filter.apply(segments, self.background)  # type: ignore[arg-type]
        return segments

    def style(self, style: Style) -> Style:
        """A segment's style once through the filters."""
        styles = self._styles
        got = styles.get(style)
        if got is None:
            if len(styles) > 4096:
                styles.clear()
            got = styles[style] = self.segments([Segment(" ", style)])[0].style
        return got  # type: ignore[return-value]

    def strip(self, strip: Strip) -> Strip:
        return Strip(self.segments(list(strip)), strip.cell_length)


_FILTERINGS: dict[tuple, Filtering] = {}


def filtering_for(filters: tuple[LineFilter, ...], background: object) -> Filtering | None:
    """The Filtering of these filters over `background`, the same object for the same pair (a
    theme change replaces the truecolor filter: a new one); None if a filter is not one that
    maps segments by style alone (its lines are filtered when painted, Textual's way)."""
    key = (filters, background)
    got = _FILTERINGS.get(key)
    if got is None:
        if not all(type(f) in _PER_SEGMENT_FILTERS for f in filters):
            return None
        if len(_FILTERINGS) > 64:
            _FILTERINGS.clear()
        got = _FILTERINGS[key] = Filtering(filters, background)
    return got


class _RunStyles:
    """Rich Style of each run style, under one widget style and line base (a few dozen distinct
    style strings in the Monitor: resolved once, not per run per sample)."""

    __slots__ = ("styles", "console")

    def __init__(self) -> None:
        self.styles: dict[tuple, Style] = {}
        self.console: Console | None = None

    def get(self, widget_style: Style, base: object, run: object, console: Console,
            filtering: Filtering | None = None) -> Style:
        if console is not self.console:
            self.styles.clear()
            self.console = console
        key = (widget_style, base, run, filtering)
        style = self.styles.get(key)
        if style is None:
            if len(self.styles) > 4096:
                self.styles.clear()
            null = Style.null()
            get_style = console.get_style
            resolved = get_style(base, default=null) if base else null
            if run:
                for part in (run if isinstance(run, tuple) else (run,)):
                    resolved = resolved + get_style(part, default=null)
            style = widget_style + resolved if widget_style else resolved
            if filtering is not None:
                style = filtering.style(style)
            self.styles[key] = style
        return style


_RUN_STYLES = _RunStyles()


def line_strip(line: Line, width: int, style: Style, console: Console,
               filtering: Filtering | None = None) -> Strip:
    """A Line as a Strip `width` cells wide in the widget's `style`: the segments text_strip
    makes of the equivalent Text, each run's style resolved once per distinct style; with
    `filtering`, what the line filters make of that Strip (each style filtered once too)."""
    get = _RUN_STYLES.get
    base, runs = line.base, line.runs
    size = cell_len(line.plain)
    if line.bare:  # as Text.render draws a Text without spans: one bare segment
        return _filtered(text_strip(Text(line.plain), width, style, console), filtering)
    if size > width:
        null = Style.null()
        return _filtered(Strip([Segment(t, get(null, base, s, console)) for t, s in runs]
                               ).crop_extend(0, width, style).apply_style(style), filtering)
    segments = [Segment(t, get(style, base, s, console, filtering)) for t, s in runs]
    if size < width:
        segments.append(Segment(" " * (width - size), style if filtering is None else filtering.style(style)))
    return Strip(segments, width)


def _filtered(strip: Strip, filtering: Filtering | None) -> Strip:
    return strip if filtering is None else filtering.strip(strip)


def any_line_strip(line: Text | Line, width: int, style: Style, console: Console,
                   filtering: Filtering | None = None) -> Strip:
    if isinstance(line, Line):
        return line_strip(line, width, style, console, filtering)
    return _filtered(text_strip(line, width, style, console), filtering)


class TextLines(Widget):
    """A widget drawn line by line (Textual's line API) from Rich Text lines it builds itself: no
    wrapping or markup pass per sample. `refresh_lines()` (new data) rebuilds the lines at once
    when the widget is on screen and repaints only those whose text changed; a line that did not
    change keeps its Strip, so neither it nor the compositor's caches are redone."""

    def lines(self, width: int) -> list[Text | Line]:  # pragma: no cover - overridden
        return []

    _strips: list[Strip] | None = None  # None: build when next painted
    _strips_key: tuple | None = None  # (width, rich style, Filtering or None) they were built for
    _texts: list[Text] = []

    def line_style(self) -> Style:
        return memo_rich_style(self)

    def _filtering(self, background: object | None = None) -> Filtering | None:
        """The line filters to build the lines through: the app's, over the widget's background
        (`_plain_paint`'s, when the caller has it), when the widget is painted by `_paint_plain`
        (which then filters nothing again); None when StylesCache paints it (it filters what it
        draws) or the app has no filter on."""
        if background is None:
            background = _plain_paint(self)
        if background is None:
            return None
        filters = tuple(self.get_line_filters())
        return filtering_for(filters, background) if filters else None

    def refresh_lines(self) -> None:
        width = self.size.width
        old = self._strips
        style = self.line_style()
        filtering = self._filtering()
        if old is None or not width or self._strips_key != (width, style, filtering) or not self.is_on_screen:
            self._strips = None  # off screen or not laid out: build lazily, when painted
            self.refresh()
            return
        self._strips = new = self._build(width, style, filtering)
        if len(new) != len(old):
            self.refresh()
            return
        # the changed lines in one refresh (each call walks the widget's geometry again);
        # neighbouring lines as one region
        regions: list[Region] = []
        start = -1
        for y, (a, b) in enumerate(zip(old, new)):
            if a is not b:
                if start < 0:
                    start = y
            elif start >= 0:
                regions.append(Region(0, start, width, y - start))
                start = -1
        if start >= 0:
            regions.append(Region(0, start, width, len(new) - start))
        if regions:
            self.refresh(*regions)

    def _build(self, width: int, style: Style | None = None, filtering: Filtering | None = None) -> list[Strip]:
        texts = self.lines(width)
        console = self.app.console
        if style is None:
            style = self.line_style()
        key = (width, style, filtering)
        reuse = self._strips is not None and self._strips_key == key
        old_texts, old_strips = self._texts, self._strips or []
        strips: list[Strip] = []
        for n, t in enumerate(texts):
            if reuse and n < len(old_texts) and n < len(old_strips) and old_texts[n] == t:
                strips.append(old_strips[n])  # unchanged line: the same Strip
                continue
            strips.append(any_line_strip(t, width, style, console, filtering))
        self._texts = texts
        self._strips_key = key
        return strips

    # while render_lines runs: the width (Widget.size walks the DOM) and the filters the lines
    # are built through (None: StylesCache paints and filters them)
    _paint_width: int | None = None
    _paint_filtering: Filtering | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        width = self.size.width
        plain = _plain_paint(self)
        hover = self.hover_style
        direct = plain is not None and self.region.size == self.size and not (
            self.auto_links and hover._link_id and hover._meta and "@click" in hover.meta)
        # (a link under the mouse: StylesCache styles it)
        filtering = self._filtering(plain) if direct else None
        # a new style (focus, a class, the theme) or other filters repaint the whole widget:
        # build afresh
        if self._strips is not None and self._strips_key != (width, self.line_style(), filtering):
            self._strips = None
        self._paint_width, self._paint_filtering = width, filtering
        try:
            if not direct:
                return super().render_lines(crop)
            return self._paint_plain(crop, width, plain, filtering)
        finally:
            self._paint_width = self._paint_filtering = None

    def _paint_plain(self, crop: Region, width: int, background: object,
                     filtering: Filtering | None) -> list[Strip]:
        """What StylesCache.render_widget makes of a widget with no border, outline, padding,
        tint, opacity or hatch: each content line as it is (ours are `width` cells in the
        widget's style), through the app's line filters (built in already when `filtering`).
        Done here for the Monitor's lines (StylesCache costs some 100 us a widget and 40 us a
        changed line in property lookups and copies, for 30-50 changed lines a sample);
        tests/tui/test_text_lines.py checks the lines are StylesCache's own. The StylesCache
        is left empty, so a widget that stops being plain (a class adds a border) is drawn by
        it afresh."""
        self._styles_cache.clear()
        render_line = self.render_line
        strips = [render_line(y) for y in crop.line_range]
        if any(strip.cell_length != width for strip in strips):
            self._strips = self._paint_filtering = None  # StylesCache's way, from unfiltered lines
            return super().render_lines(crop)
        if filtering is None:
            for line_filter in self.get_line_filters():
                strips = [strip.apply_filter(line_filter, background) for strip in strips]  # type: ignore[arg-type]
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def render_line(self, y: int) -> Strip:
        width = self._paint_width
        if width is None:
            width = self.size.width
        filtering = self._paint_filtering
        key = self._strips_key
        if self._strips is None or key is None or key[0] != width or key[2] is not filtering:
            self._strips = self._build(width, filtering=filtering)
        if y < len(self._strips):
            return self._strips[y]
        blank = Strip.blank(width, self.line_style())
        return blank if filtering is None else filtering.strip(blank)

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
