"""The GPU views of the Monitor tab: a compact one-row-per-GPU table and detail cards.

Both are plain widgets that render Rich text from the latest immutable sample; a new sample
only swaps the data and calls `refresh()`. Cards are mounted when the set of GPUs changes
(first sample, a different host in a replay), never per sample.
"""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message

from engine.telemetry.samples import GpuSample

from .monitor_format import (
    CARD_HEIGHT,
    RowContext,
    card_lines,
    compact_header,
    compact_row,
    layout_columns,
)
from .kept_render import KeptRender
from .text_lines import Line, TextLines

SparkFn = Callable[[int, str, int], Text | Line]
SpanFn = Callable[[int], str] | None


class GpuPicked(Message):
    """enter on a GPU (compact row or card): open its detail screen."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index


class GpuCursorMoved(Message):
    def __init__(self, delta: int) -> None:
        super().__init__()
        self.delta = delta


# Textual merges BINDINGS only from DOMNode classes: each view names them itself.
GPU_LIST_BINDINGS = [
    Binding("up", "gpu_cursor(-1)", "Previous GPU", show=False),
    Binding("down", "gpu_cursor(1)", "Next GPU", show=False),
    Binding("enter", "gpu_pick", "GPU detail"),
]


class GpuListKeys:
    """up/down move the GPU cursor, enter opens the GPU (mixed into the two scrolling views)."""

    selected: int | None = None

    def action_gpu_cursor(self, delta: int) -> None:
        self.post_message(GpuCursorMoved(delta))  # type: ignore[attr-defined]

    def action_gpu_pick(self) -> None:
        if self.selected is not None:
            self.post_message(GpuPicked(self.selected))  # type: ignore[attr-defined]


class GpuListScroll(GpuListKeys, VerticalScroll):
    """The compact view's scrolling rows."""

    BINDINGS = GPU_LIST_BINDINGS

    def on_focus(self) -> None:
        self.query_one(CompactRows).refresh_lines()

    def on_blur(self) -> None:
        self.query_one(CompactRows).refresh_lines()


def _no_span(width: int) -> str:
    return ""


def _no_spark(index: int, metric: str, width: int) -> Text:
    return Text(" " * max(0, width))


class CompactHeader(TextLines):
    """The column titles of the compact view (kept still while the rows scroll)."""

    DEFAULT_CSS = "CompactHeader { height: 1; }"

    def __init__(self, view: GpuCompactView, **kwargs) -> None:
        super().__init__(**kwargs)
        self._view = view

    def lines(self, width: int) -> list[Text | Line]:
        layout = self._view.layout_for(width)
        hist = next((w for c, w in layout if c.key == "util_hist"), 0)
        return [compact_header(layout, self._view.span_for(hist) if hist else "")]

    def refresh_if_changed(self) -> None:
        """Repaint only when the titles change (the history span grows now and then, not per
        sample)."""
        self.refresh_lines()


class CompactRows(TextLines):
    """One line per GPU."""

    DEFAULT_CSS = "CompactRows { height: auto; }"

    def __init__(self, view: GpuCompactView, **kwargs) -> None:
        super().__init__(**kwargs)
        self._view = view

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self._view.gpus))

    def lines(self, width: int) -> list[Text | Line]:
        view = self._view
        if not view.gpus:
            return [Text("no GPU rows", style="dim")]
        layout = view.layout_for(width)
        ctx = RowContext(spark=view.spark, fit_marks=view.fit_marks, warn_margin_c=view.warn_margin_c,
                         health=view.health)
        focused = self.parent is not None and self.parent.has_focus
        lines = []
        for g in view.gpus:
            line: Text | Line = compact_row(g, layout, width, ctx)
            if focused and g.index == view.selected:
                line = line.to_text()
                line.stylize("reverse", 0, 3)
            lines.append(line)
        return lines


class GpuCompactView(Vertical):
    """Header plus a scrolling list of one row per GPU (8 GPUs at 120x40, 4 or more at 80x24)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gpus: tuple[GpuSample, ...] = ()
        self.spark: SparkFn = _no_spark
        self.fit_marks: dict[int, Text] = {}
        self.warn_margin_c = 5
        self.span_for: SpanFn = _no_span
        self.health: dict[int, tuple[str, str]] = {}
        self.selected: int | None = None
        self._layout_key: tuple[int, bool] | None = None
        self._layout: list = []
        self.header = CompactHeader(self, id="mon-compact-header")
        self.rows = CompactRows(self, id="mon-compact-rows")

    def compose(self):
        yield self.header
        with GpuListScroll(id="mon-compact-scroll") as scroll:
            self.scroll = scroll
            yield self.rows

    def layout_for(self, width: int) -> list:
        key = (width, bool(self.fit_marks))
        if key != self._layout_key:
            self._layout_key = key
            self._layout = layout_columns(width, bool(self.fit_marks))
        return self._layout

    def select(self, index: int | None) -> None:
        self.selected = index
        if self.is_mounted:
            self.query_one(GpuListScroll).selected = index
            self.rows.refresh_lines()
            if index is not None:
                pos = next((k for k, g in enumerate(self.gpus) if g.index == index), 0)
                self.query_one(GpuListScroll).scroll_to(y=max(0, pos - 2), animate=False)

    def show(self, gpus: tuple[GpuSample, ...], spark: SparkFn, fit_marks: dict[int, Text], warn_margin_c: int,
             span_for: SpanFn = None, health: dict[int, tuple[str, str]] | None = None) -> None:
        count_changed = len(gpus) != len(self.gpus)
        self.span_for = span_for or _no_span
        self.health = health or {}
        self.gpus, self.spark, self.fit_marks, self.warn_margin_c = gpus, spark, fit_marks, warn_margin_c
        if count_changed:  # another height: a layout pass, once
            self.rows._strips = None
            self.rows.refresh(layout=True)
        else:
            self.rows.refresh_lines()
        self.header.refresh_if_changed()  # its history span grows with the samples


class GpuCard(TextLines):
    """A detail card: identity, utilization, memory, temperature, power/clocks, PCIe/throttle, ECC."""

    DEFAULT_CSS = f"GpuCard {{ height: {CARD_HEIGHT}; }}"

    def __init__(self, index: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.gpu: GpuSample | None = None
        self.spark: SparkFn = _no_spark
        self.fit_mark: Text | None = None
        self.warn_margin_c = 5
        self.span_for: SpanFn = _no_span
        self.health: tuple[str, str] | None = None

    def show(self, gpu: GpuSample, spark: SparkFn, fit_mark: Text | None, warn_margin_c: int,
             span_for: SpanFn = None, health: tuple[str, str] | None = None) -> None:
        self.gpu, self.spark, self.fit_mark, self.warn_margin_c = gpu, spark, fit_mark, warn_margin_c
        self.span_for = span_for or _no_span
        self.health = health
        critical = gpu.state != "ok" or (health is not None and health[0] == "critical")
        self.set_class(critical, "-failed")
        self.refresh_lines()

    def lines(self, width: int) -> list[Text]:
        if self.gpu is None:
            return [Text(f"GPU {self.index}: waiting for a sample", style="dim")]
        return card_lines(
            self.gpu, width, self.spark, warn_margin_c=self.warn_margin_c, fit_mark=self.fit_mark,
            span=self.span_for, health=self.health,
        )


class GpuDetailView(GpuListKeys, KeptRender, VerticalScroll):
    """The detail cards, one or two per row depending on the width."""

    BINDINGS = GPU_LIST_BINDINGS

    TWO_COLUMNS_FROM = 180  # cells of width

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cards: dict[int, GpuCard] = {}
        self._indices: tuple[int, ...] = ()

    def columns_for(self, width: int) -> int:
        return 2 if width >= self.TWO_COLUMNS_FROM else 1

    def on_resize(self) -> None:
        cols = self.columns_for(self.size.width)
        if self.styles.grid_size_columns != cols:
            self.styles.grid_size_columns = cols

    def sync(self, gpus: tuple[GpuSample, ...]) -> bool:
        """Mount/remove cards when the set of GPU indices changes; True if it did."""
        indices = tuple(g.index for g in gpus)
        if indices == self._indices:
            return False
        self._indices = indices
        for idx in [i for i in self.cards if i not in indices]:
            self.cards.pop(idx).remove()
        new = [GpuCard(i, id=f"mon-card-{i}") for i in indices if i not in self.cards]
        for card in new:
            self.cards[card.index] = card
        if new:
            self.mount_all(new)
        # keep index order
        ordered = [self.cards[i] for i in indices]
        if list(self.children) != ordered and len(self.children) == len(ordered):
            self.sort_children(key=lambda w: indices.index(w.index) if isinstance(w, GpuCard) else 0)
        return True

    def select(self, index: int | None) -> None:
        self.selected = index
        for i, card in self.cards.items():
            card.set_class(i == index, "-selected")
        card = self.cards.get(index) if index is not None else None
        if card is not None and self.is_mounted:
            self.scroll_to_widget(card, animate=False)

    def show(self, gpus: tuple[GpuSample, ...], spark: SparkFn, fit_marks: dict[int, Text], warn_margin_c: int,
             span_for: SpanFn = None, health: dict[int, tuple[str, str]] | None = None) -> None:
        if self.sync(gpus):
            self.select(self.selected)
        for g in gpus:
            card = self.cards.get(g.index)
            if card is not None:
                card.show(g, spark, fit_marks.get(g.index), warn_margin_c, span_for, (health or {}).get(g.index))
