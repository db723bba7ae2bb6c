"""One GPU in full (enter on a GPU in the Monitor): every field, 10-minute plots of utilisation,
memory, temperature, power and clocks with their thresholds drawn, its processes and its alerts.

The screen reads the Monitor pane's state (latest sample, History, AlertBook); the pane calls
`show_sample()` after each sample while the screen is open. Plots (textual-plotext) are redrawn
only when a new point arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from engine.telemetry.samples import GpuSample

from .monitor_format import BAD, DIM, LABEL, OK, WARN, clock_text, gib, na, rate_kbps, short_uuid, throttle_text
from .monitor_tables import ProcessTable, RULE_WORDS, alert_state, alert_value

if TYPE_CHECKING:
    from .monitor import MonitorPane

# (metric in History, title, unit) of each plot
PLOTS: tuple[tuple[str, str, str], ...] = (
    ("gpu_util_pct", "utilisation", "%"),
    ("memory_used_pct", "memory used", "%"),
    ("temperature_c", "temperature", "°C"),
    ("power_w", "power", "W"),
    ("sm_clock_mhz", "SM clock", "MHz"),
)


def thresholds(g: GpuSample | None, metric: str) -> list[tuple[float, str, str]]:
    """(value, label, colour) lines drawn across a plot."""
    if g is None:
        return []
    out: list[tuple[float, str, str]] = []
    if metric == "temperature_c":
        if g.temp_slowdown_c is not None:
            out.append((float(g.temp_slowdown_c), "slowdown", "orange"))
        if g.temp_shutdown_c is not None:
            out.append((float(g.temp_shutdown_c), "shutdown", "red"))
    elif metric == "power_w" and g.power_limit_w:
        out.append((g.power_limit_w, "limit", "red"))
    elif metric == "sm_clock_mhz" and g.sm_clock_max_mhz:
        out.append((float(g.sm_clock_max_mhz), "max", "orange"))
    elif metric == "memory_used_pct":
        out.append((95.0, "alert", "orange"))
    return out


def field_lines(g: GpuSample) -> list[Text]:
    """Every field of the sample, label and value, in reading order."""
    (corr, corr_agg), (unc, unc_agg) = g.ecc_pair
    rows: list[tuple[str, str, str]] = [
        ("name", g.name or "N/A", ""),
        ("uuid", g.uuid or "N/A", DIM),
        ("bus id", g.bus_id or "N/A", DIM),
        ("state", g.state.upper() + (f" ({g.error})" if g.error else ""), OK if g.state == "ok" else BAD),
        ("utilisation", f"{na(g.gpu_util_pct, '{}%')}  memory bandwidth {na(g.mem_util_pct, '{}%')}", ""),
        ("video", f"encoder {na(g.encoder_util_pct, '{}%')}  decoder {na(g.decoder_util_pct, '{}%')}", ""),
        ("memory", f"{gib(g.memory_used_bytes)} used / {gib(g.memory_total_bytes)} GiB, free "
                   f"{gib(g.memory_free_bytes)}, reserved {gib(g.memory_reserved_bytes)}", ""),
        ("temperature", f"{na(g.temperature_c, '{} °C')}  slowdown {na(g.temp_slowdown_c, '{} °C')}  "
                        f"shutdown {na(g.temp_shutdown_c, '{} °C')}", ""),
        ("power", f"{na(g.power_w, '{:.0f}')} / {na(g.power_limit_w, '{:.0f}')} W "
                  f"(default {na(g.power_default_limit_w, '{:.0f}')} W)", ""),
        ("clocks", f"SM {na(g.sm_clock_mhz)}/{na(g.sm_clock_max_mhz)} MHz  memory "
                   f"{na(g.mem_clock_mhz)}/{na(g.mem_clock_max_mhz)} MHz", ""),
        ("perf state", na(g.pstate, "P{}"), ""),
        ("fan", na(g.fan_pct, "{}%"), ""),
        ("persistence", "N/A" if g.persistence_mode is None else ("on" if g.persistence_mode else "off"), ""),
        ("compute mode", (g.compute_mode or "N/A").replace("_", " "), ""),
        ("MIG", "N/A" if g.mig_mode is None else ("on" if g.mig_mode else "off")
         + (f", {g.mig_instances} instances" if g.mig_mode else ""), ""),
        ("PCIe", f"gen {na(g.pcie_gen)}/{na(g.pcie_gen_max)}  x{na(g.pcie_width)}/{na(g.pcie_width_max)}  "
                 f"tx {rate_kbps(g.pcie_tx_kbps)}  rx {rate_kbps(g.pcie_rx_kbps)}", ""),
        ("ECC corrected", f"{na(corr)} since the driver loaded, {na(corr_agg)} in total", ""),
        ("ECC uncorrected", f"{na(unc)} since the driver loaded, {na(unc_agg)} in total", BAD if unc else ""),
        ("row remapping", f"{na(g.remapped_rows_correctable)} correctable, {na(g.remapped_rows_uncorrectable)} "
                          f"uncorrectable" + (" PENDING" if g.remap_pending else "") + (" FAILED" if g.remap_failure
                                                                                         else ""),
         BAD if g.remap_pending or g.remap_failure else ""),
        ("retired pages", f"{na(g.retired_pages_sbe)} single-bit, {na(g.retired_pages_dbe)} double-bit"
                          + (" PENDING" if g.retired_pages_pending else ""), ""),
    ]
    out = []
    for label, value, style in rows:
        t = Text(f"{label:<16}", style=LABEL)
        t.append(value, style=style)
        out.append(t)
    t = Text(f"{'throttle':<16}", style=LABEL)
    t.append_text(throttle_text(g.clock_event_reasons))
    out.append(t)
    return out


class GpuDetailScreen(Screen[None]):
    """Everything about one GPU. `escape` goes back to the Monitor."""

    DEFAULT_CSS = """
    GpuDetailScreen { layout: vertical; }
    #gd-title { height: 1; padding: 0 1; background: $boost; }
    #gd-top { height: 1fr; }
    #gd-fields { width: 64; height: 1fr; padding: 0 1; overflow-y: auto; }
    #gd-plots { grid-size: 2; grid-gutter: 0 1; height: 1fr; }
    #gd-bottom { height: 10; }
    #gd-procs-box { width: 1fr; border-top: hkey $panel; }
    #gd-alerts { width: 1fr; border-top: hkey $panel; padding: 0 1; }
    GpuDetailScreen.-narrow #gd-fields { width: 1fr; }
    GpuDetailScreen.-narrow #gd-plots { display: none; }
    GpuDetailScreen.-short #gd-bottom { height: 6; }
    """

    BINDINGS = [Binding("escape,q", "back", "Back")]

    def __init__(self, pane: MonitorPane, index: int) -> None:
        super().__init__()
        self.pane = pane
        self.index = index
        self._plotted: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="gd-title")
        with Horizontal(id="gd-top"):
            yield Static("", id="gd-fields")
            with Grid(id="gd-plots"):
                from textual_plotext import PlotextPlot

                for metric, _title, _unit in PLOTS:
                    yield PlotextPlot(id=f"gd-plot-{metric}")
        with Horizontal(id="gd-bottom"):
            with Vertical(id="gd-procs-box"):
                yield ProcessTable(id="gd-procs")
            yield Static("", id="gd-alerts")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#gd-procs-box").border_title = "Processes"
        self.query_one("#gd-alerts").border_title = "Alerts"
        self.call_after_refresh(self.show_sample)  # is_mounted turns true after this handler
        self.query_one(ProcessTable).focus()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 110, "-narrow")
        self.set_class(self.size.height < 30, "-short")

    @property
    def gpu(self) -> GpuSample | None:
        s = self.pane.sample
        g = s.gpu(self.index) if s is not None else None
        if g is None and self.pane._last_good is not None:
            g = self.pane._last_good.gpu(self.index)
        return g

    def show_sample(self) -> None:
        if not self.is_attached:
            return
        g = self.gpu
        title = Text(f"GPU {self.index} ", style=LABEL)
        if g is None:
            title.append("not in the latest sample", style=WARN)
            self.query_one("#gd-title", Static).update(title)
            return
        # the state first: on a narrow terminal the tail of the line is what gets cut
        health = self.pane._health.get(self.index)
        if g.state != "ok":
            title.append(g.state.upper(), style=BAD)
        elif health is not None:
            title.append(f"{'CRIT' if health[0] == 'critical' else 'WARN'} {health[1]}",
                         style=BAD if health[0] == "critical" else WARN)
        else:
            title.append("OK", style=OK)
        title.append(f"  {g.name or ''}", style=LABEL)
        title.append(f"  {g.bus_id or ''}  {short_uuid(g.uuid)}", style=DIM)
        s = self.pane.sample
        if s is not None:
            title.append(f"  {clock_text(s.timestamp)}", style=DIM)
        title.no_wrap, title.overflow = True, "ellipsis"
        self.query_one("#gd-title", Static).update(title)
        self.query_one("#gd-fields", Static).update(Text("\n").join(field_lines(g)))
        self._plot(g)
        table = self.query_one(ProcessTable)
        table.show((g,), None if s is None else s.timestamp)
        self.query_one("#gd-procs-box").border_title = f"Processes ({table.row_count})"
        self._alerts()

    def _plot(self, g: GpuSample) -> None:
        if self.has_class("-narrow"):
            return
        history = self.pane.history
        times = history.times(self.index)
        n = len(times)
        if not n:
            return
        t_end = times[-1]
        for metric, title, unit in PLOTS:
            if self._plotted.get(metric) == n and n < history.capacity:
                continue
            self._plotted[metric] = n
            widget = self.query_one(f"#gd-plot-{metric}")
            plt = widget.plt
            plt.clear_data()
            plt.clear_figure()
            values = history.series(self.index, metric)
            xs = [t - t_end for t in times]
            pts = [(x, v) for x, v in zip(xs, values) if v is not None]
            if pts:
                plt.plot([p[0] for p in pts], [p[1] for p in pts], marker="braille")
            for value, label, colour in thresholds(g, metric):
                plt.hline(value, colour)
            if metric in ("gpu_util_pct", "memory_used_pct"):
                plt.ylim(0, 100)
            plt.xlim(-max(600.0, xs[0] * -1 if xs else 600.0), 0)
            plt.title(f"{title} ({unit}), last {max(1, round(-xs[0] / 60)) if xs else 0} min")
            widget.refresh()

    def _alerts(self) -> None:
        entries = [e for e in self.pane.alert_book.history() if e.gpu_index == self.index]
        if not entries:
            self.query_one("#gd-alerts", Static).update(Text("no alerts for this GPU", style=DIM))
            return
        t = Text()
        for e in entries[:20]:
            t.append(f"{clock_text(e.first_time)} ", style=DIM)
            t.append_text(alert_state(e))
            t.append(f" {RULE_WORDS.get(e.rule, e.rule)} {alert_value(e)}", style="" if e.active else DIM)
            t.append(f" ×{e.count}\n", style=DIM)
        t.rstrip()
        self.query_one("#gd-alerts", Static).update(t)

    def action_back(self) -> None:
        self.dismiss(None)
