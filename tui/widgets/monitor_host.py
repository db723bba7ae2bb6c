"""The Monitor's host panel: CPU, RAM, swap and load of the host itself, with history (as nvitop's).

One line; the sparklines take the width left over by the figures. Rendered from the latest
sample's `HostStats` and the pane's `History` (host series), refreshed only when the line changes.
"""

from __future__ import annotations

from typing import Callable

from rich.text import Text

from engine.telemetry.samples import HostStats

from .monitor_format import DIM, GIB, LABEL, pct_style, sparkline
from .text_lines import TextLines

SeriesFn = Callable[[str, int], list[float | None]]


def _gib(n: int | None) -> str:
    return "N/A" if n is None else f"{n / GIB:.0f}" if n >= 100 * GIB else f"{n / GIB:.1f}"


def host_line(h: HostStats | None, width: int, series: SeriesFn | None = None) -> Text:
    """'CPU  34.5% ▂▃▅  MEM 18.2% 184/1024G ▃▃▄  SWP 3.1% 0.3/8.0G  LOAD 21.9 20.8 19.7 /64'."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if h is None:
        out.append("host ", style=LABEL)
        out.append("CPU, RAM and load N/A (psutil unavailable)", style=DIM)
        return out
    cpu = "N/A" if h.cpu_pct is None else f"{h.cpu_pct:5.1f}%"
    mem = "N/A" if h.mem_pct is None else f"{h.mem_pct:5.1f}%"
    swp = "N/A" if h.swap_pct is None else f"{h.swap_pct:.1f}%"
    if not h.swap_total_bytes:
        swp = "none"
    load = "N/A" if h.load_1 is None else f"{h.load_1:.1f} {h.load_5 or 0:.1f} {h.load_15 or 0:.1f}"
    parts = [
        ("CPU ", cpu, pct_style(h.cpu_pct), "cpu_pct"),
        ("MEM ", f"{mem} {_gib(h.mem_used_bytes)}/{_gib(h.mem_total_bytes)}G", pct_style(h.mem_pct), "mem_pct"),
        ("SWP ", swp + (f" {_gib(h.swap_used_bytes)}/{_gib(h.swap_total_bytes)}G" if h.swap_total_bytes else ""),
         pct_style(h.swap_pct, 50, 80), None),
        ("LOAD ", load + (f" /{h.cpu_count}" if h.cpu_count else ""), "", None),
    ]
    fixed = sum(len(a) + len(b) + 2 for a, b, _s, _m in parts)
    n_sparks = sum(1 for *_r, m in parts if m)
    spark_w = max(0, min(30, (width - fixed - 2 * n_sparks) // max(1, n_sparks))) if series else 0
    for label, figure, style, metric in parts:
        out.append(label, style=LABEL)
        out.append(figure, style=style)
        if metric and spark_w >= 4 and series is not None:
            out.append(" ")
            lo, hi = 0.0, 100.0
            out.append_text(sparkline(series(metric, spark_w), spark_w, lo, hi,
                                      style="green" if metric == "cpu_pct" else "cyan"))
        out.append("  ")
    out.rstrip()
    return out


class HostPanel(TextLines):
    """The host's CPU, RAM, swap and load on one line (drawn through the line API: a sample
    that leaves the line as it was repaints nothing)."""

    DEFAULT_CSS = "HostPanel { height: 1; padding: 0 1; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stats: HostStats | None = None
        self.series: SeriesFn | None = None
        self._key: object = None

    def show(self, stats: HostStats | None, series: SeriesFn | None, points: int) -> None:
        key = (stats, points)
        if key == self._key:
            return
        self._key = key
        self.stats, self.series = stats, series
        self.refresh_lines()

    def lines(self, width: int) -> list[Text]:
        return [host_line(self.stats, width, self.series)]
