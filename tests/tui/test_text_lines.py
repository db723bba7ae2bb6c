"""The Monitor's line widgets (tui/widgets/text_lines.py): a line's Strip is what Textual's own
crop/extend/style makes of it, the memoised widget style follows a class change on an ancestor,
and a refresh with unchanged lines repaints nothing while a changed figure reaches the screen."""

from __future__ import annotations

import random

from rich.console import Console
from rich.style import Style
from rich.text import Span, Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.strip import Strip

from tui.widgets.text_lines import TextLines, memo_rich_style, text_strip

from .monitor_support import screen_lines


def test_text_strip_is_textuals_render_crop_extend_and_style():
    console = Console(width=200, force_terminal=True, color_system="truecolor")
    rng = random.Random(3)
    styles = [Style.null(), Style(color="white", bgcolor="black"), Style(bold=True)]
    for _ in range(3000):
        text = Text()
        for _ in range(rng.randint(0, 8)):
            text.append(rng.choice(["ab", "  ", "▁▂█", "°C", "…x"]) * rng.randint(0, 4),
                        style=rng.choice(["", "bold", "dim", "red", "green on blue"]))
        if rng.random() < 0.3:
            text.style = "bold"
        if rng.random() < 0.3:
            text.overflow = "ellipsis"
        if rng.random() < 0.2 and len(text):  # a span over others (nested, overlapping, empty)
            start = rng.randint(0, len(text))
            text.spans.append(Span(start, rng.randint(start, len(text)), "italic"))
        width, style = rng.randint(1, 60), rng.choice(styles)
        cut = text.copy()
        if cut.overflow == "ellipsis" and cut.cell_len > width:
            cut.truncate(width, overflow="ellipsis")
        expected = Strip(list(cut.render(console))).crop_extend(0, width, style).apply_style(style)
        got = text_strip(text, width, style, console)
        assert list(got) == list(expected), (text, width, style)
        assert got.cell_length == width


class _Lines(TextLines):
    DEFAULT_CSS = "_Lines { height: 3; }"

    def __init__(self) -> None:
        super().__init__()
        self.values = ["a", "b", "c"]
        self.built = 0
        self.repaints: list[tuple] = []  # the regions each refresh() asked for

    def refresh(self, *regions, **kwargs):
        self.repaints.append(regions)
        return super().refresh(*regions, **kwargs)

    def lines(self, width: int) -> list[Text]:
        self.built += 1
        # an ANSI colour, and a dim one (the truecolor filter blends it into the background)
        return [Text(f"line {v}", spans=[Span(0, 4, "red"), Span(5, 6, "dim cyan")]) for v in self.values]


class _Host(App):
    CSS = "Vertical.-alarm { background: red; }"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield _Lines()


async def test_unchanged_lines_repaint_nothing_and_a_change_reaches_the_screen():
    app = _Host()
    async with app.run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        widget = app.query_one(_Lines)
        widget.refresh_lines()
        await pilot.pause()  # painted: the steady state a new sample finds
        strips = list(widget._strips or [])
        assert len(strips) == 3
        widget.repaints.clear()
        widget.refresh_lines()  # the same lines: the same Strips, nothing repainted
        assert widget._strips is not None and all(a is b for a, b in zip(strips, widget._strips))
        assert widget.repaints == []
        widget.values[1] = "B!"
        widget.refresh_lines()  # one changed line: that line alone is repainted
        assert widget._strips[0] is strips[0] and widget._strips[2] is strips[2]
        assert widget._strips[1] is not strips[1]
        assert [r[0].y for r in widget.repaints] == [1] and widget.repaints[0][0].height == 1
        await pilot.pause()
        assert screen_lines(app)[1].startswith("line B!")


async def test_the_memoised_style_follows_an_ancestors_class():
    app = _Host()
    async with app.run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        widget = app.query_one(_Lines)
        before = memo_rich_style(widget)
        assert before == widget.rich_style
        app.query_one(Vertical).add_class("-alarm")
        await pilot.pause()
        after = memo_rich_style(widget)
        assert after == widget.rich_style and after != before
        assert after.bgcolor is not None and after.bgcolor.triplet == (255, 0, 0)
        # and the lines are drawn in it
        assert list(widget.render_line(0))[0].style.bgcolor == after.bgcolor


def test_a_built_line_draws_the_segments_of_its_text():
    """LineBuilder.line() drawn by line_strip is segment for segment what text_strip draws of the
    same pieces as one Rich Text (LineBuilder.text(), the path the Monitor took before): pieces
    plain and styled, Texts with a style of their own over spans (the bars), a base style, and
    the trailing blanks cut as Text.rstrip cuts them."""
    from tui.widgets.monitor_format import LineBuilder
    from tui.widgets.text_lines import line_strip

    console = Console(width=200, force_terminal=True, color_system="truecolor")
    rng = random.Random(5)
    styles = [Style.null(), Style(color="white", bgcolor="black"), Style(bold=True)]
    words = ["ab", "  ", "▁▂█", "°C", "x", ""]
    span_styles = ["", "bold", "dim", "red", "green on blue"]
    for _ in range(3000):
        b = LineBuilder()
        reference = Text()
        for _ in range(rng.randint(0, 8)):
            if rng.random() < 0.6:
                piece, style = rng.choice(words) * rng.randint(0, 3), rng.choice(span_styles)
                b.add(piece, style)
                reference.append(piece, style=style or None)
            else:  # a Text of its own: a style over it, spans in it (apart or overlapping)
                t = Text(rng.choice(words) * rng.randint(0, 3), style=rng.choice(span_styles))
                t.append(rng.choice(words), style=rng.choice(span_styles))
                if rng.random() < 0.3 and len(t):  # a span over others (overlapping, or empty)
                    start = rng.randint(0, len(t))
                    t.spans.append(Span(start, rng.randint(start, len(t)), "italic"))
                b.add_text(t)
                reference.append_text(t)
        base = rng.choice(["", "bold"])
        reference.style = base
        rstrip = rng.random() < 0.3
        if rstrip:
            reference.rstrip()
        width, style = rng.randint(1, 60), rng.choice(styles)
        line = b.line(base, rstrip=rstrip)
        assert line.plain == reference.plain
        expected = text_strip(reference, width, style, console)
        got = line_strip(line, width, style, console)
        assert list(got) == list(expected), (reference, line.runs, width, style)
        assert list(text_strip(line.to_text(), width, style, console)) == list(expected)


class _Boxed(_Host):
    CSS = "_Lines.-boxed { border: round red; padding: 0 1; } _Lines { background: $panel; }"


async def test_lines_painted_directly_are_the_styles_caches_own():
    """TextLines paints a plain widget's lines itself (no StylesCache): the strips are what
    Textual's StylesCache makes of them (through the app's line filters, whole or cropped),
    under an ancestor's opacity, and once a class gives the widget a border (StylesCache draws
    it)."""
    from textual.geometry import Region
    from textual.widget import Widget

    def both(widget):
        crop = Region(0, 0, widget.size.width, widget.size.height)
        ours = [list(s) for s in widget.render_lines(crop)]
        widget._styles_cache.clear()
        theirs = [list(s) for s in Widget.render_lines(widget, crop)]
        widget._styles_cache.clear()
        part = Region(2, 1, 5, 2)  # a crop inside the widget, as a partly covered widget gets
        ours_part = [list(s) for s in widget.render_lines(part)]
        widget._styles_cache.clear()
        return ours, theirs, ours_part, [list(s) for s in Widget.render_lines(widget, part)]

    app = _Boxed()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        widget = app.query_one(_Lines)
        widget.values = ["a", "wide line of text", "c"]
        widget.refresh_lines()
        ours, theirs, ours_part, theirs_part = both(widget)
        assert ours == theirs and ours_part == theirs_part
        assert "".join(t for t, _s, _c in ours[1]).startswith("line wide line")
        app.query_one(Vertical).styles.opacity = 0.5  # an ancestor's opacity: StylesCache's way
        await pilot.pause()
        ours, theirs, *_ = both(widget)
        assert ours == theirs
        app.query_one(Vertical).styles.opacity = 1.0
        widget.add_class("-boxed")
        await pilot.pause()
        ours, theirs, ours_part, theirs_part = both(widget)
        assert ours == theirs and ours_part == theirs_part
        assert ours[0][0].text.startswith("╭")


async def test_lines_built_through_the_filters_follow_a_theme_change():
    """A plain widget's lines are built already through the app's line filters; another theme
    (a new truecolor filter, another background) repaints them in its colours, and they are
    still what StylesCache makes of them; a changed line reaches the screen filtered."""
    from textual.widget import Widget

    app = _Host()
    async with app.run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        widget = app.query_one(_Lines)

        def painted():
            ours = [list(s) for s in widget.render_lines(widget.size.region)]
            widget._styles_cache.clear()
            theirs = [list(s) for s in Widget.render_lines(widget, widget.size.region)]
            widget._styles_cache.clear()
            assert ours == theirs
            return ours

        dark = painted()
        red = dark[0][0].style
        assert red.color.triplet is not None and not red.dim  # truecolor, as the filter makes it
        app.theme = "textual-light"
        await pilot.pause()
        light = painted()
        assert light != dark
        widget.values[0] = "x"
        widget.refresh_lines()
        await pilot.pause()
        assert "".join(seg.text for seg in painted()[0]).startswith("line x")
        assert screen_lines(app)[0].startswith("line x")


def test_a_line_built_through_the_filters_is_the_line_filtered():
    """line_strip with a Filtering gives the segments Strip.apply_filter gives of the unfiltered
    line, for each of Textual's filters as the app chains them: ANSI
    and truecolor colours, dim styles over the widget's background and over a span's, bare,
    padded and cut lines, and Rich Text lines."""
    from textual._ansi_theme import MONOKAI  # the dark themes' ANSI colours (App.ansi_theme_dark)
    from textual.color import Color
    from textual.filter import ANSIToTruecolor, DimFilter, Monochrome, NoColor

    from tui.widgets.monitor_format import LineBuilder
    from tui.widgets.text_lines import any_line_strip, filtering_for

    console = Console(width=200, force_terminal=True, color_system="truecolor")
    truecolor = ANSIToTruecolor(MONOKAI)
    # as App chains them: truecolor (off with native ANSI colours), then Monochrome or NoColor
    # under NO_COLOR, then DimFilter under TEXTUAL_FILTERS=dim
    chains = [(truecolor,), (truecolor, DimFilter()), (truecolor, Monochrome()), (NoColor(),),
              (truecolor, Monochrome(), DimFilter())]
    backgrounds = [Color(30, 30, 40), Color(250, 250, 250)]
    rng = random.Random(7)
    # a widget's style always has both colours (Textual's filters fail on a style without them)
    styles = [Style(color="white", bgcolor="black"), Style(color="#e0e0e0", bgcolor="#202030"),
              Style(bold=True, dim=True, color="#808080", bgcolor="#101010")]
    span_styles = ["", "bold", "dim", "red", "dim cyan", "green on blue", "dim #ff8800", "#10ff10 on #303030",
                   "dim bright_magenta on #000040", "reverse yellow"]
    words = ["ab", "  ", "▁▂█", "°C", "x"]
    for _ in range(1500):
        b = LineBuilder()
        for _ in range(rng.randint(0, 6)):
            b.add(rng.choice(words) * rng.randint(0, 3), rng.choice(span_styles))
        line = b.line(rng.choice(["", "bold", "dim"]))
        text = b.text()
        chain, background = rng.choice(chains), rng.choice(backgrounds)
        width, style = rng.randint(1, 40), rng.choice(styles)
        filtering = filtering_for(chain, background)
        assert filtering is not None
        for built in (line, text):
            plain = any_line_strip(built, width, style, console)
            expected = plain
            for line_filter in chain:
                expected = expected.apply_filter(line_filter, background)
            got = any_line_strip(built, width, style, console, filtering)
            assert list(got) == list(expected), (built, width, style, chain)
            assert got.cell_length == width


def test_a_kept_bar_is_the_bar_appended():
    """monitor_format.add_bar (a bar's runs kept per shape) builds what appending bar() does."""
    from tui.widgets.monitor_format import LineBuilder, add_bar, bar

    for fraction in (None, 0.0, 0.04, 0.5, 0.999, 1.0, 1.7):
        for width in (0, 1, 12):
            for style in ("green", "bold red"):
                kept, appended = LineBuilder(), LineBuilder()
                for b in (kept, appended):
                    b.add("mem ", "bold")
                add_bar(kept, fraction, width, style=style)
                add_bar(kept, fraction, width, style=style)  # the second time from the memo
                appended.add_text(bar(fraction, width, style=style))
                appended.add_text(bar(fraction, width, style=style))
                assert kept.line() == appended.line(), (fraction, width, style)


def test_a_sparkline_line_is_the_sparkline_text_added():
    """sparkline_line (runs straight from the points) is what adding sparkline()'s Text to a
    line gives: gaps, padding, no style, a full or empty history."""
    from tui.widgets.monitor_format import LineBuilder, sparkline, sparkline_line

    rng = random.Random(11)
    for _ in range(2000):
        points = [None if rng.random() < 0.2 else rng.uniform(-10, 110) for _ in range(rng.randint(0, 30))]
        width, style = rng.randint(0, 25), rng.choice(["", "green", "bold red"])
        as_text, as_line = LineBuilder(), LineBuilder()
        for b in (as_text, as_line):
            b.add("util ", "dim")
        as_text.add_text(sparkline(points, width, 0.0, 100.0, style=style))
        as_line.add_line(sparkline_line(points, width, 0.0, 100.0, style=style))
        assert as_line.line() == as_text.line(), (points, width, style)
        alone = LineBuilder()
        alone.add_text(sparkline(points, width, 0.0, 100.0, style=style))
        assert sparkline_line(points, width, 0.0, 100.0, style=style) == alone.line()
