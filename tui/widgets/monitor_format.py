"""Text building blocks for the Monitor tab: sparklines, bars, units, throttle words, and the
adaptive column layout of the compact one-row-per-GPU view.

Plain functions over immutable samples returning Rich `Text`; no widget state, so the widgets
stay thin and these are cheap to test. Sizes in GiB are 2**30 bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from rich.cells import cell_len
from rich.text import Span, Text

from .text_lines import Line

from engine.telemetry.samples import GpuSample

GIB = 1 << 30

# ---- styles (Rich style strings; the widgets' CSS handles backgrounds and borders) ----------
OK = "green"
WARN = "yellow"
BAD = "bold red"
DIM = "dim"
LABEL = "bold"
SPARK_STYLES = {
    "gpu_util_pct": "green",
    "memory_used_pct": "cyan",
    "temperature_c": "yellow",
    "power_w": "magenta",
}

_BLOCKS = "▁▂▃▄▅▆▇█"
_BAR_FULL = "█"
_BAR_PARTS = " ▏▎▍▌▋▊▉"


# ---- numbers and units ------------------------------------------------------------------------


def na(value: object, fmt: str = "{}") -> str:
    return "N/A" if value is None else fmt.format(value)


def gib(n: int | float | None, digits: int = 1) -> str:
    return "N/A" if n is None else f"{n / GIB:.{digits}f}"


def rate_kbps(kbps: int | None) -> str:
    """NVML's PCIe throughput is KB/s; shown as MB/s or GB/s (decimal, like nvidia-smi)."""
    if kbps is None:
        return "N/A"
    if kbps >= 1_000_000:
        return f"{kbps / 1_000_000:.1f} GB/s"
    return f"{kbps / 1000:.1f} MB/s"


def clock_text(ts: float | None) -> str:
    """Local wall-clock time of a sample, HH:MM:SS."""
    if ts is None:
        return "--:--:--"
    return time.strftime("%H:%M:%S", time.localtime(ts))


def short_name(name: str | None, *, memory: bool = True) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'H100 80GB HBM3' (the vendor is the same on every row);
    without `memory`, also drop the memory kind: 'H100 80GB'."""
    if not name:
        return "GPU"
    for prefix in ("NVIDIA ", "Nvidia "):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    if not memory:
        head, _, last = name.rpartition(" ")
        if head and (last.startswith("HBM") or last.startswith("GDDR")):
            name = head
    return name


def short_uuid(uuid: str | None, keep: int = 8) -> str:
    """'GPU-6c1fd3a2-....' -> 'GPU-6c1fd3a2…'."""
    if not uuid:
        return "N/A"
    head = uuid[: 4 + keep]
    return head + "…" if len(uuid) > len(head) else uuid


def fit(text: str, width: int) -> str:
    """Truncate to `width` cells with an ellipsis."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…" if width > 1 else text[:1]


# ---- severities ------------------------------------------------------------------------------


def temp_style(g: GpuSample, warn_margin_c: int = 5) -> str:
    t, slow = g.temperature_c, g.temp_slowdown_c
    if t is None:
        return DIM
    if slow is None:
        return "" if t < 80 else WARN
    if t >= slow:
        return BAD
    if t >= slow - warn_margin_c:
        return WARN
    return ""


def pct_style(pct: float | None, warn: float = 90.0, bad: float = 95.0) -> str:
    if pct is None:
        return DIM
    if pct > bad:
        return BAD
    if pct >= warn:
        return WARN
    return ""


# Clock event ("throttle") reasons in words, with how worrying each is.
REASON_WORDS: dict[str, tuple[str, str]] = {
    "gpu_idle": ("idle", DIM),
    "applications_clocks_setting": ("app clocks", ""),
    "sw_power_cap": ("power cap", WARN),
    "hw_slowdown": ("HW slowdown", BAD),
    "sync_boost": ("sync boost", ""),
    "sw_thermal_slowdown": ("SW thermal", BAD),
    "hw_thermal_slowdown": ("HW thermal", BAD),
    "hw_power_brake_slowdown": ("power brake", BAD),
    "display_clocks_setting": ("display clocks", ""),
}


def throttle_text(reasons: tuple[str, ...] | None, *, empty: str = "none") -> Text:
    """Decoded clock event reasons as words, worst styled loudest; N/A when not reported."""
    if reasons is None:
        return Text("N/A", style=DIM)
    if not reasons:
        return Text(empty, style=DIM)
    out = Text()
    for k, r in enumerate(reasons):
        word, style = REASON_WORDS.get(r, (r.replace("_", " "), ""))
        if k:
            out.append(", ")
        out.append(word, style=style)
    return out


# ---- sparklines and bars ---------------------------------------------------------------------


def bucketed(values: Sequence[float | None], width: int, bucket: int, end_index: int) -> list[float | None]:
    """Max per bucket of `bucket` consecutive points, newest bucket last, at most `width` buckets.

    Buckets are aligned to the absolute index of the points (`end_index` is the absolute index
    one past the newest point), so the picture does not shimmer as new points arrive.
    """
    n = len(values)
    if n == 0 or width <= 0:
        return []
    if bucket <= 1:
        tail = values[-width:]
        return list(tail)
    first_abs = end_index - n
    out: list[float | None] = []
    # walk buckets from the newest backwards
    hi = n
    b_id = (end_index - 1) // bucket
    while hi > 0 and len(out) < width:
        lo = max(0, b_id * bucket - first_abs)
        chunk = [v for v in values[lo:hi] if v is not None]
        out.append(max(chunk) if chunk else None)
        hi = lo
        b_id -= 1
    out.reverse()
    return out


def sparkline(
    points: Sequence[float | None], width: int, lo: float, hi: float, *, style: str = "", pad: bool = True
) -> Text:
    """Block-character sparkline of `points` (already bucketed), right-aligned in `width` cells.
    A gap (None: N/A or a lost GPU) is a dim '·'; cells before the history starts are blank.

    Built as one string and its spans at once (it is redrawn for every GPU and metric each
    sample): the same Text as appending the padding, each run of blocks and each gap."""
    if width <= 0:
        return Text()
    pts = list(points)[-width:]
    span = hi - lo if hi > lo else 1.0
    top = len(_BLOCKS) - 1
    blocks = _BLOCKS
    lead = " " * (width - len(pts)) if pad and len(pts) < width else ""
    if None not in pts:  # the usual case: one run of blocks
        memo = _block_memo(lo, hi)
        chars = "".join([memo.get(v) or _block(memo, v, lo, hi, span, top) for v in pts])
        n = len(lead)
        return Text(lead + chars, spans=[Span(n, n + len(chars), style)] if style and chars else None)
    parts = [lead]
    spans: list[Span] = []
    n = len(lead)
    run = n
    for v in pts:
        if v is None:
            if style and n > run:
                spans.append(Span(run, n, style))
            parts.append("·")
            spans.append(Span(n, n + 1, DIM))
            n += 1
            run = n
            continue
        parts.append(blocks[int(round((min(max(v, lo), hi) - lo) / span * top))])
        n += 1
    if style and n > run:
        spans.append(Span(run, n, style))
    return Text("".join(parts), spans=spans)


def sparkline_line(points: Sequence[float | None], width: int, lo: float, hi: float, *, style: str = "") -> Line:
    """`sparkline(...)` as a Line (the runs LineBuilder.add_text makes of that Text), built
    straight from the points: the Monitor draws 32 of them a sample."""
    if width <= 0:
        return Line((), bare=True)
    pts = list(points)[-width:]
    span = hi - lo if hi > lo else 1.0
    top = len(_BLOCKS) - 1
    lead = " " * (width - len(pts)) if len(pts) < width else ""
    memo = _block_memo(lo, hi)
    if None not in pts:
        chars = "".join([memo.get(v) or _block(memo, v, lo, hi, span, top) for v in pts])
        if not style or not chars:
            return Line(((lead + chars, ""),) if lead or chars else (), bare=True)
        return Line(((lead, ""), (chars, style)) if lead else ((chars, style),))
    runs: list[tuple[str, object]] = [(lead, "")] if lead else []
    block = ""
    for v in pts:
        if v is None:
            if block:
                runs.append((block, style) if style else (block, ""))
                block = ""
            runs.append(("·", DIM))
            continue
        block += memo.get(v) or _block(memo, v, lo, hi, span, top)
    if block:
        runs.append((block, style) if style else (block, ""))
    merged: list[tuple[str, object]] = []
    for t, st in runs:  # unstyled neighbours join, as LineBuilder.add joins them
        if not st and merged and not merged[-1][1]:
            merged[-1] = (merged[-1][0] + t, "")
        else:
            merged.append((t, st))
    return Line(tuple(merged))


_BLOCK_MEMOS: dict[tuple[float, float], dict[float, str]] = {}


def _block_memo(lo: float, hi: float) -> dict[float, str]:
    """The block character of each value seen on the scale lo..hi (a sparkline redraws the same
    few dozen values, sample after sample)."""
    memo = _BLOCK_MEMOS.get((lo, hi))
    if memo is None or len(memo) > 4096:
        if len(_BLOCK_MEMOS) > 64:
            _BLOCK_MEMOS.clear()
        memo = _BLOCK_MEMOS[(lo, hi)] = {}
    return memo


def _block(memo: dict[float, str], v: float, lo: float, hi: float, span: float, top: int) -> str:
    c = memo[v] = _BLOCKS[int(round((min(max(v, lo), hi) - lo) / span * top))]
    return c


_BAR_LINES: dict[tuple, Line] = {}


def bar_line(fraction: float | None, width: int, *, style: str = "") -> Line:
    """`bar(...)` as a Line (the runs LineBuilder.add_text makes of it), kept per shape: the
    Monitor draws 8 to 16 bars a sample from some hundred distinct shapes."""
    eighths = None if fraction is None else int(round(min(1.0, max(0.0, fraction)) * width * 8))
    key = (eighths, width, style)
    line = _BAR_LINES.get(key)
    if line is None:
        if len(_BAR_LINES) > 4096:
            _BAR_LINES.clear()
        one = LineBuilder()
        one.add_text(bar(fraction, width, style=style))
        line = _BAR_LINES[key] = one.line()
    return line


def add_bar(out: "LineBuilder", fraction: float | None, width: int, *, style: str = "") -> None:
    """out.add_text(bar(fraction, width, style=style)), from the kept runs."""
    out.add_line(bar_line(fraction, width, style=style))


def bar(fraction: float | None, width: int, *, style: str = "") -> Text:
    """A horizontal bar with eighth-cell resolution on a dim track."""
    if width <= 0:
        return Text()
    if fraction is None:
        return Text("·" * width, style=DIM)
    f = min(1.0, max(0.0, fraction))
    eighths = int(round(f * width * 8))
    full, part = divmod(eighths, 8)
    filled = _BAR_FULL * full + (_BAR_PARTS[part] if part and full < width else "")
    out = Text(filled, style=style)
    rest = width - len(filled)
    if rest > 0:
        out.append("░" * rest, style=DIM)
    return out


# ---- the compact view's columns -------------------------------------------------------------


@dataclass(frozen=True)
class RowContext:
    """What a row needs besides its GpuSample: sparkline data, the plan fit, thresholds."""

    spark: Callable[[int, str, int], Text | Line]  # (gpu index, metric, width) -> sparkline
    fit_marks: dict[int, Text]
    warn_margin_c: int = 5
    health: dict[int, tuple[str, str]] | None = None  # index -> (severity, reason) of active alerts


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int  # minimum width
    priority: int  # lower is kept longer when the terminal is narrow
    # a Text, or (text, style) for a cell in one style (no Text to build: some 100 cells a sample)
    cell: Callable[[GpuSample, int, RowContext], Text | Line | tuple[str, str]]
    flex: int = 0  # share of the spare width
    max_width: int = 0  # 0: no maximum
    justify: str = "left"


def _util_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    return na(g.gpu_util_pct, "{}%").rjust(w), pct_style(g.gpu_util_pct, 101, 101)


def _util_hist(g: GpuSample, w: int, ctx: RowContext) -> Text:
    return ctx.spark(g.index, "gpu_util_pct", w)


def _mem_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    used = g.memory_used_bytes  # as NVML reports it (nvidia-smi's figure); reserved is apart
    frac = g.memory_used_fraction
    if used is None and g.memory_total_bytes is None:
        return "N/A".rjust(w), DIM
    text = f"{gib(used)}/{gib(g.memory_total_bytes)}G"
    return text.rjust(w), pct_style(None if frac is None else frac * 100)


def _mem_bar(g: GpuSample, w: int, ctx: RowContext) -> Line:
    frac = g.memory_used_fraction
    return bar_line(frac, w, style=pct_style(None if frac is None else frac * 100) or "cyan")


def _memutil_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    return na(g.mem_util_pct, "{}%").rjust(w), ""


def _temp_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    return na(g.temperature_c, "{}°C").rjust(w), temp_style(g, ctx.warn_margin_c)


def _power_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    if g.power_w is None:
        text = "N/A"
    elif g.power_limit_w:
        text = f"{g.power_w:.0f}/{g.power_limit_w:.0f}W"
    else:
        text = f"{g.power_w:.0f}W"
    frac = g.power_fraction
    return text.rjust(w), pct_style(None if frac is None else frac * 100, 97, 101)


def _clock_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    return na(g.sm_clock_mhz, "{}MHz").rjust(w), ""


def _pstate_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    return na(g.pstate, "P{}"), ""


def _fan_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    return na(g.fan_pct, "{}%").rjust(w), DIM if g.fan_pct is None else ""


def _pcie_cell(g: GpuSample, w: int, ctx: RowContext) -> tuple[str, str]:
    if g.pcie_gen is None and g.pcie_width is None:
        return "N/A", DIM
    style = ""
    if g.pcie_width is not None and g.pcie_width_max and g.pcie_width < g.pcie_width_max:
        style = WARN  # a link trained below its width is a hardware problem; low gen is just idle
    return f"{na(g.pcie_gen)}x{na(g.pcie_width)}", style


def _ecc_cell(g: GpuSample, w: int, ctx: RowContext) -> Text:
    return ecc_short(g)


def _throttle_cell(g: GpuSample, w: int, ctx: RowContext) -> Text:
    t = throttle_text(g.clock_event_reasons, empty="-")
    t.truncate(w, overflow="ellipsis")
    return t


def _fit_cell(g: GpuSample, w: int, ctx: RowContext) -> Text:
    return ctx.fit_marks.get(g.index, Text("", style=DIM))


def ecc_short(g: GpuSample) -> Text:
    """Uncorrected ECC errors (volatile) plus remap/retirement trouble, in a few cells."""
    bad = []
    if g.ecc_uncorrected_volatile:
        bad.append(f"{g.ecc_uncorrected_volatile} uncorr")
    if g.remap_failure:
        bad.append("remap fail")
    if g.remap_pending:
        bad.append("remap pend")
    if g.retired_pages_pending:
        bad.append("retire pend")
    if bad:
        return Text(" ".join(bad), style=BAD)
    if g.ecc_uncorrected_volatile is None and g.remap_pending is None and g.retired_pages_pending is None:
        return Text("N/A", style=DIM)
    corr = g.ecc_corrected_volatile
    return Text("ok" if not corr else f"{corr} SBE", style=DIM if not corr else WARN)


COMPACT_COLUMNS: tuple[Column, ...] = (
    Column("name", "NAME", 9, 6, lambda g, w, c: (fit(short_name(g.name, memory=False), w), ""), flex=1,
           max_width=22),
    Column("util", "UTIL", 4, 0, _util_cell, justify="right"),
    Column("util_hist", "UTIL", 8, 3, _util_hist, flex=3, max_width=60),
    Column("mem", "MEM (NVML)", 11, 0, _mem_cell, justify="right"),  # NVML's total, above CUDA's
    Column("mem_bar", "", 6, 5, _mem_bar, flex=1, max_width=16),
    Column("memutil", "MBW", 4, 8, _memutil_cell, justify="right"),
    Column("temp", "TEMP", 5, 0, _temp_cell, justify="right"),
    Column("power", "POWER", 9, 1, _power_cell, justify="right"),
    Column("clock", "SM CLK", 7, 7, _clock_cell, justify="right"),
    Column("pstate", "P", 3, 9, _pstate_cell),
    Column("fan", "FAN", 4, 11, _fan_cell, justify="right"),
    Column("pcie", "PCIE", 5, 10, _pcie_cell),
    Column("ecc", "ECC", 4, 4, _ecc_cell, max_width=12),
    Column("throttle", "THROTTLE", 9, 2, _throttle_cell, flex=2, max_width=30),
    Column("fit", "FIT", 3, 1, _fit_cell),
)
INDEX_WIDTH = 4  # "  0 " / " 12 "


def layout_columns(width: int, has_plan: bool) -> list[tuple[Column, int]]:
    """Pick the columns that fit `width` (dropping the least important first) and share out the
    spare cells to the flexible ones. Each column is followed by one space."""
    cols = [c for c in COMPACT_COLUMNS if has_plan or c.key != "fit"]
    avail = width - INDEX_WIDTH

    def need(cs: Iterable[Column]) -> int:
        return sum(c.width + 1 for c in cs)

    while cols and need(cols) > avail:
        worst = max(cols, key=lambda c: c.priority)
        if worst.priority == 0:
            break
        cols.remove(worst)
    spare = max(0, avail - need(cols))
    widths = {c.key: c.width for c in cols}
    flexers = [c for c in cols if c.flex]
    while spare > 0 and flexers:
        total = sum(c.flex for c in flexers)
        given = 0
        for c in list(flexers):
            share = max(1, spare * c.flex // total)
            cap = (c.max_width or 10_000) - widths[c.key]
            add = min(share, cap, spare - given)
            if add <= 0:
                if cap <= 0:
                    flexers.remove(c)
                continue
            widths[c.key] += add
            given += add
            if widths[c.key] >= (c.max_width or 10_000):
                flexers.remove(c)
        if given == 0:
            break
        spare -= given
    return [(c, widths[c.key]) for c in cols]


class LineBuilder:
    """A line built piece by piece as runs of (text, style), ending as a `Line` (drawn straight
    into segments, see text_lines.line_strip) or a Rich Text: what Text.append/append_text do,
    without their per-call checks and copies (a compact row is some 50 pieces and a card line
    some 15, redrawn for every GPU each sample). Neighbouring unstyled pieces merge into one
    run, as Text.render draws a gap between spans as one segment. Strings must hold no control
    codes (all of ours are formatted figures and names)."""

    __slots__ = ("runs", "n", "_open", "_spanned", "_marks")

    def __init__(self) -> None:
        self.runs: list[tuple[str, object]] = []
        self.n = 0
        self._open = True  # an unstyled run last may take more text (no span boundary after it)
        self._spanned = False  # a span was added (Text.render draws a Text without spans bare)
        self._marks: list[int] = []  # where empty spans sit (an empty styled Text appended)

    def add(self, s: str, style: object = "") -> None:
        if s:
            runs = self.runs
            if not style:
                if runs and self._open and not runs[-1][1]:
                    runs[-1] = (runs[-1][0] + s, "")
                else:
                    runs.append((s, ""))
                self._open = True
            else:
                runs.append((s, style))
                self._spanned = True
            self.n += len(s)

    def add_text(self, t: Text) -> None:
        """A Rich Text's pieces as Text.render would style them: its own style, if any, under
        each span's (spans overlapping or not)."""
        plain, spans, base = t.plain, t.spans, t.style
        if not spans:
            if plain or not base:
                self.add(plain, base)
            else:  # Text.append_text of an empty styled Text: an empty span, a cut in the line
                self._spanned, self._open = True, False
                self._marks.append(self.n)
            return
        size = len(plain)
        self._spanned = True
        if not base and all(b.start >= a.end for a, b in zip(spans, spans[1:])) and \
                all(a.start < a.end <= size for a in spans):
            pos = 0
            for start, end, style in spans:  # ordered, apart: the gaps plain, each span styled
                if start > pos:
                    self.add(plain[pos:start])
                self.add(plain[start:end], style if style else ("",))
                pos = end
            if size > pos:
                self.add(plain[pos:])
            return
        # Rich's own walk (Text.render): a cut at each end of each span, each piece in the Text's
        # style plus the spans over it, in their order; a piece is never joined across a cut
        ends = {min(max(0, e), size) for span in spans for e in (span.start, span.end)}
        self._marks.extend(self.n + min(a, size) for a, b, _st in spans if a >= b)
        cuts = sorted(ends | {0, size})
        if 0 in ends:
            self._open = False
        for lo, hi in zip(cuts, cuts[1:]):
            style = ((base,) if base else ()) + tuple(st for a, b, st in spans if a <= lo and b >= hi)
            self.add(plain[lo:hi], style if len(style) != 1 else (style[0] or ("",)))
            self._open = False
        self._open = size not in ends

    def add_line(self, line: Line) -> None:
        """A Line's runs, as add_text of its Text would add them."""
        for t, st in line.runs:
            self.add(t, st)
        if not line.bare:
            self._spanned = True

    def cell_len(self) -> int:
        return cell_len("".join([t for t, _s in self.runs]))

    def text(self, style: object = "") -> Text:
        return self.line(style).to_text()

    def line(self, base: object = "", *, rstrip: bool = False) -> Line:
        runs = self.runs
        bare = not self._spanned
        if rstrip and runs:  # Text.rstrip: the trailing whitespace goes, spans cut with it
            plain = "".join([t for t, _s in runs])
            keep = len(plain.rstrip())
            if keep < len(plain):
                out, pos = [], 0
                for t, st in runs:
                    if pos >= keep:
                        break
                    out.append((t[: keep - pos], st) if pos + len(t) > keep else (t, st))
                    pos += len(t)
                runs = out
                # the spans past the cut went with it
                bare = not any(st for _t, st in runs) and not any(m < keep for m in self._marks)
        return Line(tuple(runs), base, bare=bare)


def _place(out: LineBuilder, cell: Text | Line | tuple[str, str], w: int, justify: str) -> None:
    if type(cell) is tuple:
        plain, style = cell
        size = cell_len(plain)
        if size <= w:  # what the Text of it makes, below
            if justify == "right":
                out.add(" " * (w - size))
                out.add(plain, style)
                out.add(" ")
            else:
                out.add(plain, style)
                out.add(" " * (w - size + 1))
            return
        cell = Text(plain, style=style)
    elif isinstance(cell, Line):
        size = cell.cell_len
        if size <= w:
            if justify == "right":
                out.add(" " * (w - size))
                out.add_line(cell)
                out.add(" ")
            else:
                out.add_line(cell)
                out.add(" " * (w - size + 1))
            return
        cell = cell.to_text()
    size = cell.cell_len
    if size > w:
        cell = cell.copy()
        cell.truncate(w, overflow="ellipsis")
        size = cell.cell_len
    padn = w - size
    if justify == "right":
        out.add(" " * padn)
        out.add_text(cell)
        out.add(" ")
    else:
        out.add_text(cell)
        out.add(" " * (padn + 1))


def span_text(seconds: float) -> str:
    """How much history a sparkline covers: '45s', '3m', '10m', '2h'."""
    if seconds < 60:
        return f"{max(0, int(seconds))}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    return f"{seconds / 3600:.0f}h"


def compact_header(layout: list[tuple[Column, int]], span: str = "") -> Line:
    out = LineBuilder()
    out.add("GPU ")
    for col, w in layout:
        title = f"UTIL {span}" if col.key == "util_hist" and span else col.header
        _place(out, Text(title, style=LABEL), w, col.justify)
    return out.line(LABEL, rstrip=True)


# "backoff" only comes from old traces (now a lost/error row carries `retry_in_s`)
STATE_WORDS = {"lost": "LOST", "error": "ERROR", "backoff": "ERROR"}


def state_style(state: str) -> str:
    """A GPU that does not answer is critical, whether or not NVML is backing off from it."""
    return BAD


def failure_detail(g: GpuSample) -> str:
    """'retry in 23 s, 4 failures': the backoff as a detail of a lost/error row."""
    parts = []
    if g.retry_in_s is not None:
        parts.append(f"retry in {g.retry_in_s} s")
    if g.failures and g.failures > 1:
        parts.append(f"{g.failures} failures")
    return ", ".join(parts)


def health_mark(ctx_health: dict[int, tuple[str, str]] | None, index: int) -> Text:
    """One cell after the GPU index: '!' red for critical alerts, yellow for warnings."""
    h = (ctx_health or {}).get(index)
    if h is None:
        return Text(" ")
    return Text("!", style=BAD if h[0] == "critical" else WARN)


def compact_row(g: GpuSample, layout: list[tuple[Column, int]], width: int, ctx: RowContext) -> Line:
    out = LineBuilder()
    out.add(f"{g.index:>2}")
    out.add_text(health_mark(ctx.health, g.index) if g.state == "ok" else Text("!", style=BAD))
    out.add(" ")
    if g.state != "ok":
        # an error row: name, the state in capitals, the retry countdown (short, before the
        # reason, so it is never the part cut off) and the reason, across the rest of the line
        name_w = next((w for c, w in layout if c.key == "name"), 0)
        if name_w:
            _place(out, Text(fit(short_name(g.name, memory=False), name_w)), name_w, "left")
        msg = Text(f"{STATE_WORDS.get(g.state, g.state.upper())}  ", style=state_style(g.state))
        detail = failure_detail(g)
        if detail:
            msg.append(f"({detail})  ", style=DIM)
        msg.append(g.error or "no detail", style=state_style(g.state))
        rest = width - out.cell_len()
        msg.truncate(max(0, rest), overflow="ellipsis")
        out.add_text(msg)
        return out.line(LABEL)
    for col, w in layout:
        _place(out, col.cell(g, w, ctx), w, col.justify)
    return out.line(LABEL, rstrip=True)


# ---- the detail card -------------------------------------------------------------------------

CARD_HEIGHT = 7
CARD_LEFT = 62  # cells of figures before the sparkline column
SPARK_LABEL = 10  # " util 10m "


def temp_scale(g: GpuSample) -> tuple[float, float]:
    hi = g.temp_shutdown_c or (g.temp_slowdown_c + 5 if g.temp_slowdown_c else 100)
    return 20.0, float(hi)


def power_scale(g: GpuSample) -> tuple[float, float]:
    return 0.0, float(g.power_limit_w or g.power_default_limit_w or 1000.0)


def _pair(cur: int | None, mx: int | None, unit: str) -> str:
    if cur is None and mx is None:
        return "N/A"
    return f"{na(cur)}/{na(mx)} {unit}"


# The title and ECC lines of a card change only with the GPU's identity, modes, fit and alerts
# (or its ECC counters): kept by what they are drawn from, so a sample that leaves them as they
# were builds neither (the returned Texts are shared: callers never modify them).
_CARD_STATIC: dict[tuple, Text] = {}


def _remember(key: tuple, build: Callable[[], Text]) -> Text:
    text = _CARD_STATIC.get(key)
    if text is None:
        if len(_CARD_STATIC) > 512:
            _CARD_STATIC.clear()
        text = _CARD_STATIC[key] = build()
    return text


def _card_title(g: GpuSample, width: int, fit_mark: Text | None, health: tuple[str, str] | None) -> Text:
    mark = None if fit_mark is None else (fit_mark.plain, str(fit_mark.style), tuple(fit_mark.spans))
    key = ("title", width, g.index, g.name, g.bus_id, g.uuid, g.state, g.pstate, g.mig_mode, g.mig_instances,
           g.persistence_mode, g.compute_mode, mark, health, g.retry_in_s, g.failures)
    return _remember(key, lambda: _build_card_title(g, width, fit_mark, health))


def _build_card_title(g: GpuSample, width: int, fit_mark: Text | None, health: tuple[str, str] | None) -> Text:
    title = LineBuilder()
    title.add(f"GPU {g.index} ", LABEL)
    title.add(short_name(g.name), LABEL)
    title.add(f"  {g.bus_id or 'bus N/A'}  {short_uuid(g.uuid)}", DIM)
    right = LineBuilder()
    if g.state == "ok":
        right.add(na(g.pstate, "P{}"))
        mig = "MIG on" if g.mig_mode else "MIG off" if g.mig_mode is not None else "MIG N/A"
        if g.mig_mode and g.mig_instances is not None:
            mig += f" ({g.mig_instances} inst)"
        right.add(f"  {mig}")
        if g.persistence_mode is not None:
            right.add(f"  persist {'on' if g.persistence_mode else 'off'}", "" if g.persistence_mode else WARN)
        if g.compute_mode is not None:
            right.add(f"  {g.compute_mode.replace('_', ' ')}", DIM if g.compute_mode == "default" else WARN)
        right.add("  ")
        if fit_mark is not None and fit_mark.plain:
            right.add("fit ")
            right.add_text(fit_mark)
            right.add("  ")
        if health is None:
            right.add("OK", OK)
        else:  # the card says what its alerts say, never "OK" over a critical one
            sev, reason = health
            right.add(f"{'CRIT' if sev == 'critical' else 'WARN'} {reason}", BAD if sev == "critical" else WARN)
    else:
        right.add(STATE_WORDS.get(g.state, g.state.upper()), state_style(g.state))
        detail = failure_detail(g)
        if detail:
            right.add(f" ({detail})", DIM)
    right_text = right.text()
    gap = width - title.cell_len() - right_text.cell_len
    if gap < 1:
        head = title.text()
        head.truncate(max(0, width - right_text.cell_len - 1), overflow="ellipsis")
        gap = width - head.cell_len - right_text.cell_len
        title = LineBuilder()
        title.add_text(head)
    title.add(" " * max(1, gap))
    title.add_text(right_text)
    return title.text()


def _card_ecc(g: GpuSample, width: int) -> Text:
    key = ("ecc", width, g.ecc_pair, g.remapped_rows_correctable, g.remapped_rows_uncorrectable, g.remap_pending,
           g.remap_failure, g.retired_pages_sbe, g.retired_pages_dbe, g.retired_pages_pending)
    return _remember(key, lambda: _build_card_ecc(g, width))


def _build_card_ecc(g: GpuSample, width: int) -> Text:
    t = LineBuilder()
    t.add("ecc   ", LABEL)
    (corr, corr_agg), (unc, unc_agg) = g.ecc_pair  # never a total below its part
    t.add(f"corr {na(corr)} (agg {na(corr_agg)})  ")
    t.add(f"uncorr {na(unc)}", BAD if unc else "")
    t.add(f" (agg {na(unc_agg)})")
    if g.remapped_rows_correctable is not None or g.remap_pending is not None:
        t.add(f"  remapped rows {na(g.remapped_rows_correctable)} corr {na(g.remapped_rows_uncorrectable)} unc")
        if g.remap_pending:
            t.add(" PENDING", BAD)
        if g.remap_failure:
            t.add(" FAILED", BAD)
    if g.retired_pages_sbe is not None or g.retired_pages_dbe is not None or g.retired_pages_pending:
        t.add(f"  retired pages {na(g.retired_pages_sbe)} sbe {na(g.retired_pages_dbe)} dbe")
        if g.retired_pages_pending:
            t.add(" PENDING", BAD)
    line = t.text()
    line.truncate(width, overflow="ellipsis")
    return line


def _fitted(t: LineBuilder, width: int) -> Text | Line:
    """The line, cut to `width` cells with an ellipsis when longer (Rich's truncate)."""
    if t.cell_len() <= width:
        return t.line()
    line = t.text()
    line.truncate(width, overflow="ellipsis")
    return line


def card_lines(
    g: GpuSample,
    width: int,
    spark: Callable[[int, str, int], Text | Line],
    *,
    warn_margin_c: int = 5,
    fit_mark: Text | None = None,
    span: Callable[[int], str] | None = None,
    health: tuple[str, str] | None = None,
) -> list[Text | Line]:
    """The CARD_HEIGHT lines of a GPU's detail card (each built in one pass, see LineBuilder)."""
    lines: list[Text | Line] = [_card_title(g, width, fit_mark, health)]

    spark_w = width - CARD_LEFT - SPARK_LABEL if width >= CARD_LEFT + SPARK_LABEL + 8 else 0

    def with_spark(left: Text | LineBuilder, metric: str, label: str) -> Text | Line:
        if isinstance(left, LineBuilder):  # a figures line: pad it to CARD_LEFT in the builder
            size = left.cell_len()
            if spark_w <= 0 or size > CARD_LEFT:
                left = left.text()
            else:
                left.add(" " * (CARD_LEFT - size))
                return _spark_tail(left, metric, label).line()
        if spark_w <= 0:
            left.truncate(width, overflow="ellipsis")
            return left
        left.truncate(CARD_LEFT, overflow="ellipsis", pad=True)
        left.append(spark_label(metric, label), style=DIM)
        drawn = spark(g.index, metric, spark_w)
        left.append_text(drawn.to_text() if isinstance(drawn, Line) else drawn)
        return left

    def spark_label(metric: str, label: str) -> str:
        shown = span(spark_w) if metric == "gpu_util_pct" and span is not None else ""
        return f" {f'{label} {shown}' if shown else label:<{SPARK_LABEL - 2}} "

    def _spark_tail(left: LineBuilder, metric: str, label: str) -> LineBuilder:
        left.add(spark_label(metric, label), DIM)
        drawn = spark(g.index, metric, spark_w)
        if isinstance(drawn, Line):
            left.add_line(drawn)
        else:
            left.add_text(drawn)
        return left

    if g.state != "ok":
        msg = Text(f"{STATE_WORDS.get(g.state, g.state.upper())}: ", style=state_style(g.state))
        msg.append(g.error or "no detail")
        lines.append(with_spark(msg, "gpu_util_pct", "util"))
        hint = {
            "lost": "the GPU fell off the bus or stopped answering: check dmesg for Xid 79, reset or drain the node",
            "error": "NVML queries fail for this GPU; the other GPUs keep updating",
            "backoff": "NVML queries fail for this GPU; the other GPUs keep updating",
        }.get(g.state, "")
        if g.retry_in_s is not None:
            hint += f" (queried again in {g.retry_in_s} s)"
        lines.append(with_spark(Text(hint, style=DIM), "memory_used_pct", "mem"))
        lines.append(with_spark(Text(""), "temperature_c", "temp"))
        lines.append(with_spark(Text(""), "power_w", "pwr"))
        while len(lines) < CARD_HEIGHT:
            lines.append(Text(""))
        return lines

    # utilization
    t = LineBuilder()
    t.add("util  ", LABEL)
    t.add(na(g.gpu_util_pct, "{:>3}%"))
    t.add(" ")
    add_bar(t, None if g.gpu_util_pct is None else g.gpu_util_pct / 100, 12, style="green")
    t.add(f"  mem bw {na(g.mem_util_pct, '{}%')}  enc {na(g.encoder_util_pct, '{}%')}"
          f"  dec {na(g.decoder_util_pct, '{}%')}")
    lines.append(with_spark(t, "gpu_util_pct", "util"))

    # memory
    frac = g.memory_used_fraction
    used = g.memory_used_bytes  # as NVML reports it; reserved (driver/firmware) shown apart
    t = LineBuilder()
    t.add("mem   ", LABEL)
    t.add(f"{gib(used)}/{gib(g.memory_total_bytes)} GiB", pct_style(None if frac is None else frac * 100))
    t.add(" ")
    add_bar(t, frac, 12, style=pct_style(None if frac is None else frac * 100) or "cyan")
    t.add(f"  free {gib(g.memory_free_bytes)}")
    if g.memory_reserved_bytes is not None:
        t.add(f"  rsvd {gib(g.memory_reserved_bytes)}", DIM)
    lines.append(with_spark(t, "memory_used_pct", "mem"))

    # temperature
    t = LineBuilder()
    t.add("temp  ", LABEL)
    t.add(na(g.temperature_c, "{} °C"), temp_style(g, warn_margin_c))
    t.add(f"  slowdown {na(g.temp_slowdown_c, '{} °C')}  shutdown {na(g.temp_shutdown_c, '{} °C')}")
    t.add(f"  fan {na(g.fan_pct, '{}%')}")
    lines.append(with_spark(t, "temperature_c", "temp"))

    # power and clocks
    t = LineBuilder()
    t.add("power ", LABEL)
    pw = "N/A" if g.power_w is None else f"{g.power_w:.0f}"
    pl = "N/A" if g.power_limit_w is None else f"{g.power_limit_w:.0f}"
    pfrac = g.power_fraction
    t.add(f"{pw}/{pl} W", pct_style(None if pfrac is None else pfrac * 100, 97, 101))
    if g.power_default_limit_w is not None and g.power_limit_w is not None and \
            abs(g.power_default_limit_w - g.power_limit_w) >= 1:
        t.add(f" (default {g.power_default_limit_w:.0f})", WARN)
    t.add(f"  SM {_pair(g.sm_clock_mhz, g.sm_clock_max_mhz, 'MHz')}")
    t.add(f"  mem {_pair(g.mem_clock_mhz, g.mem_clock_max_mhz, 'MHz')}")
    lines.append(with_spark(t, "power_w", "pwr"))

    # PCIe and throttle reasons: full width
    t = LineBuilder()
    t.add("pcie  ", LABEL)
    t.add(f"gen {na(g.pcie_gen)}/{na(g.pcie_gen_max)} x{na(g.pcie_width)}/{na(g.pcie_width_max)}")
    t.add(f"  tx {rate_kbps(g.pcie_tx_kbps)} rx {rate_kbps(g.pcie_rx_kbps)}")
    t.add("   throttle ", LABEL)
    t.add_text(throttle_text(g.clock_event_reasons))
    lines.append(_fitted(t, width))

    lines.append(_card_ecc(g, width))  # ECC and memory repair
    return lines


def series_scale(g: GpuSample | None, metric: str) -> tuple[float, float]:
    if metric in ("gpu_util_pct", "memory_used_pct"):
        return 0.0, 100.0
    if g is None:
        return (20.0, 100.0) if metric == "temperature_c" else (0.0, 1000.0)
    return temp_scale(g) if metric == "temperature_c" else power_scale(g)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


__all__ = [
    "CARD_HEIGHT",
    "COMPACT_COLUMNS",
    "Column",
    "RowContext",
    "bar",
    "bucketed",
    "card_lines",
    "ceil_div",
    "clock_text",
    "compact_header",
    "compact_row",
    "layout_columns",
    "series_scale",
    "sparkline",
    "throttle_text",
]
