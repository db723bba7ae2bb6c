"""The Monitor tab: live GPU health, history, processes, alerts, and whether the plan fits here.

The app owns the sampler thread; on its UI thread it calls `update_sample(sample)` with each new
immutable `HostSample` and `set_plan(plan)` with each new `Plan`. The pane evaluates the health
rules into its `AlertBook` (de-duplication, cooldown, JSON log), keeps the 10-minute `History`,
checks "fits here" against the same sample, and renders:

- a status line (host, driver, CUDA, sample time, SIMULATED / REPLAY badge, staleness),
- a notice for host-level failures (no NVIDIA driver, a broken trace),
- the GPUs as a compact one-row-per-GPU table or as detail cards (key `v`; compact automatically
  when the cards would not fit),
- the "fits here" verdict for the current plan,
- processes keyed by PID, and the alert list (key `a` acknowledges the selected alert, `A` all).

Rendering is cheap: widgets are mounted once (cards when the set of GPUs changes), a sample
only swaps data and refreshes; tables update changed cells in place; nothing is rendered while
the tab is hidden (the latest sample is drawn when it is shown again).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.scalar import Unit
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from engine.telemetry.fits import FitVerdict, fits_here
from engine.telemetry.health import (
    DEFAULT_THRESHOLDS,
    RULE_GPU_LOST,
    AlertBook,
    AlertEntry,
    HealthThresholds,
    alert_reason,
    evaluate,
    unhealthy_gpus,
)
from engine.telemetry.history import DEFAULT_WINDOW_S, History
from engine.telemetry.samples import GpuSample, HostSample

from .monitor_format import (
    BAD,
    CARD_HEIGHT,
    DIM,
    GIB,
    LABEL,
    OK,
    SPARK_STYLES,
    WARN,
    ceil_div,
    clock_text,
    series_scale,
    short_name,
    span_text,
    sparkline_line,
)
from .monitor_fits import FITS_MAX_ROWS, FitsLine, fits_lines
from .monitor_gpus import GpuCompactView, GpuCursorMoved, GpuDetailView, GpuPicked
from .kept_render import KeptHorizontal, KeptRender, KeptStatic, KeptVertical
from .monitor_host import HostPanel
from .monitor_spark import SparkPoints
from .monitor_tables import RULE_WORDS, AlertTable, ProcessTable, alert_value, elapsed_text
from .text_lines import Line, TextStatic

if TYPE_CHECKING:
    from engine.plan import Plan

ViewMode = Literal["auto", "compact", "detail"]

NO_DRIVER_PREFIX = "NVML library not found"
# rows kept for the fits line and the process/alert tables below the detail cards
RESERVED_ROWS = 17
# Under the compact GPU list on a short terminal (80x24), the process box keeps a title, its
# header and one row, the alert box (stacked under it) a title, one row and its message: every
# GPU's row stays on screen, those the fits line names among them (issue 7, item 6).
PROCS_MIN_ROWS = 3
ALERTS_ROWS = 6
ALERTS_MIN_ROWS = 3
NARROW_BELOW = 160  # columns: below this the alert list sits under the processes (which need the width)


def _load_css() -> str:
    try:
        return (Path(__file__).with_name("monitor.tcss")).read_text(encoding="utf-8")
    except OSError:  # a broken install: run unstyled rather than not at all
        return ""


class MonitorPane(KeptRender, Widget):
    """Live GPU monitor. Public API: `update_sample`, `set_plan`, `view_mode`, `alert_book`."""

    DEFAULT_CSS = _load_css()

    BINDINGS = [
        Binding("v", "toggle_view", "Compact/detail"),
        Binding("a", "acknowledge", "Ack alert"),
        Binding("A", "acknowledge_all", "Ack all", show=False),
        Binding("s", "sort_next", "Sort processes"),
        Binding("S", "sort_reverse", "Reverse the sort", show=False),
        Binding("slash", "filter", "Filter processes", key_display="/"),
        Binding("c", "toggle_command", "Full command", show=False),
    ]

    # A sample older than this (seconds, wall clock since the last update) marks the view stale:
    # the sampler is stuck in a slow NVML call or the backend died. Class attribute so a test
    # can change it.
    STALE_AFTER_S: float = 10.0

    class AlertsChanged(Message):
        """The alert list changed: new alerts (already logged by the AlertBook) or an ack.
        The app can show `active`/`critical` on the Monitor tab's label."""

        def __init__(self, active: int, critical: int, new: list[AlertEntry]) -> None:
            super().__init__()
            self.active = active
            self.critical = critical
            self.new = new

    def __init__(
        self,
        *,
        thresholds: HealthThresholds | None = None,
        alert_book: AlertBook | None = None,
        history_window_s: float = DEFAULT_WINDOW_S,
        interval_s: float = 1.0,
        notify_alerts: bool = True,
        recording: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.thresholds = thresholds or DEFAULT_THRESHOLDS
        self.alert_book = alert_book if alert_book is not None else AlertBook()
        self.history = History(window_s=history_window_s, interval_s=interval_s)
        self.interval_s = interval_s
        self.notify_alerts = notify_alerts
        self.recording = recording  # the trace `gpuplan watch --record FILE` writes, shown as REC
        self.sample: HostSample | None = None
        self.plan: Plan | None = None
        self.verdict: FitVerdict | None = None
        self.view_mode: ViewMode = "auto"
        self.samples_seen = 0
        self.renders = 0  # full renders done (tests/bench: hidden panes do not render)
        self._last_good: HostSample | None = None  # the last sample that had GPU rows
        self._last_ok_gpu: dict[int, GpuSample] = {}
        self._points: dict[int, int] = {}  # points appended per GPU (aligns sparkline buckets)
        self._spark_cache: dict[tuple[int, str, int], Line] = {}
        self._spark_points = SparkPoints()
        self._received_at: float | None = None
        self._dirty = False
        self._compact_now: tuple[bool, bool] | None = None
        self._alert_sig: tuple | None = None
        self._status_cache: tuple | None = None
        self._fits_cache: object = None
        self._notice_cache: object = None
        self._fit_marks: dict[int, Text] = {}
        self._health: dict[int, tuple[str, str]] = {}  # GPU -> (severity, reason) of its alerts
        self._unhealthy: dict[int, str] = {}
        self._badge = ""
        self._mounted_at = time.monotonic()
        self.selected_gpu: int | None = None
        self.show_command = False
        self.detail_screen = None  # the GpuDetailScreen while it is open

    # ---- composition ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with KeptHorizontal(id="mon-status"):
            yield TextStatic(waiting_text(0.0), id="mon-status-text")
            yield KeptStatic("", id="mon-badge")
        yield KeptStatic("", id="mon-notice")
        yield GpuCompactView(id="mon-compact")
        yield GpuDetailView(id="mon-detail")
        yield FitsLine(id="mon-fits")
        yield HostPanel(id="mon-host")
        with KeptHorizontal(id="mon-bottom"):
            with KeptVertical(id="mon-procs-box"):
                yield Input(placeholder="filter: user:NAME gpu:N pid:N or any text · enter keeps · esc clears",
                            id="mon-proc-filter")
                yield ProcessTable(id="mon-procs")
                yield KeptStatic("", id="mon-proc-detail")
            with KeptVertical(id="mon-alerts-box"):
                yield AlertTable(id="mon-alerts")
                yield KeptStatic("", id="mon-alert-detail")

    def on_mount(self) -> None:
        self.query_one("#mon-procs-box").border_title = "Processes"
        self.query_one("#mon-alerts-box").border_title = "Alerts"
        self.query_one("#mon-detail").display = False
        self.query_one("#mon-notice").display = False
        self._render_fits()
        # ticks while waiting for the first sample and while the samples are stale; asleep
        # while they keep coming (_arm_stale_deadline)
        self._stale_ticker = self.set_interval(1.0, self._check_stale, name="monitor-stale")

    # ---- the app's API -------------------------------------------------------------------

    def update_sample(self, sample: HostSample) -> None:
        """Take a new sample (UI thread). Alerts and history always update; the widgets only
        when the tab is shown."""
        self.sample = sample
        self.samples_seen += 1
        self._received_at = time.monotonic()
        self._arm_stale_deadline()
        self.history.append_host(sample)
        previous = self._last_good  # for the rules comparing two samples (PCIe replays)
        if sample.gpus:
            self._last_good = sample
            self.history.append(sample)
            for g in sample.gpus:
                self._points[g.index] = self._points.get(g.index, 0) + 1
                if g.state == "ok":
                    self._last_ok_gpu[g.index] = g
            self._spark_cache.clear()
            new = self.alert_book.update(evaluate(sample, self.thresholds, previous=previous))
            if new:
                self._announce(new)
        elif sample.host_events:  # NVML events with no GPU rows to show: still alerts
            new = self.alert_book.update(evaluate(sample, self.thresholds))
            if new:
                self._announce(new)
        self._update_health()
        self._update_verdict()
        if self.selected_gpu is None and sample.gpus:
            self._select_gpu(sample.gpus[0].index)
        if self._shown():
            self.refresh_view()
        else:
            self._dirty = True
        screen = self.detail_screen
        if screen is not None and screen.is_attached and self.app.screen is screen:
            screen.show_sample()

    def set_plan(self, plan: Plan | None) -> None:
        """Take a new plan: the "fits here" verdict is recomputed against the latest sample."""
        self.plan = plan
        self._update_verdict()
        if self._shown():
            self.refresh_view()
        else:
            self._dirty = True

    def focus_default(self) -> None:
        """Focus the process table (the app can call this when the Monitor tab is activated)."""
        self.query_one(ProcessTable).focus()

    # ---- derived state -------------------------------------------------------------------

    @property
    def compact(self) -> bool:
        """Whether the compact one-row-per-GPU view is the one shown."""
        if self.view_mode == "compact":
            return True
        if self.view_mode == "detail":
            return False
        return self._auto_compact()

    def _auto_compact(self) -> bool:
        n = len(self._gpus())
        if n == 0:
            return True
        height = self.size.height
        detail = self.query_one(GpuDetailView) if self.is_mounted else None
        cols = detail.columns_for(self.size.width) if detail is not None else 1
        needed = ceil_div(n, cols) * CARD_HEIGHT
        return needed > height - RESERVED_ROWS

    def _compact_room(self) -> int:
        """Rows the compact GPU list may take, its header included: the pane less the status,
        fits and host lines, a notice as last laid out, and the least the process and alert
        boxes need."""
        used = 1 + 1 + FITS_MAX_ROWS  # the status, host and fits lines (the fits line's most: it
        # is written after this, and a wrap more would push the alerts under the footer)
        notice = self.query_one("#mon-notice")
        used += notice.outer_size.height if notice.display else 0
        # what the process box shows on demand: its filter line, a process's full command
        procs = PROCS_MIN_ROWS + (1 if self.query_one("#mon-proc-filter").has_class("-shown") else 0)
        procs += 3 if self.query_one("#mon-proc-detail").has_class("-shown") else 0
        alerts = ALERTS_MIN_ROWS if self.has_class("-narrow") else 0  # side by side, beside the processes
        return self.size.height - used - procs - alerts

    def _fit_bottom(self, spare: int | None) -> None:
        """Stacked, the alert box gives up rows before the GPU list does (down to 3; `spare`:
        the rows the compact list leaves it beyond that, None in the detail view); beside the
        processes it takes the stylesheet's height."""
        box = self.query_one("#mon-alerts-box")
        if not self.has_class("-narrow"):
            if box.styles.inline.has_rule("height"):
                box.styles.height = None  # back to the stylesheet's (once: each set is a layout)
            return
        rows = ALERTS_ROWS
        if spare is not None:
            rows = max(ALERTS_MIN_ROWS, min(ALERTS_ROWS, ALERTS_MIN_ROWS + spare))
        _set_height(box, rows)

    def _gpus(self) -> tuple[GpuSample, ...]:
        s = self.sample
        if s is not None and s.gpus:
            return s.gpus
        return self._last_good.gpus if self._last_good is not None else ()

    def span_for(self, width: int) -> str:
        """How much history a sparkline `width` cells wide shows now ('45s' ... '10m'): one cell
        per sample while the history is short, then buckets up to the whole window."""
        n = min(len(self.history), self.history.capacity)
        if not n or width <= 0:
            return ""
        bucket = max(1, n // width)
        return span_text(min(n, bucket * width) * self.interval_s)

    @property
    def plan_need(self) -> tuple[int, int] | None:
        """(bytes free needed per GPU, GPUs per replica) for the current plan.

        The serving engine's budget: vLLM and SGLang refuse to start unless the memory fraction
        times the GPU's total is free; TensorRT-LLM takes weights, activations and overhead plus
        its KV pool. Pipeline stages need GPUs too, so a replica is TP x PP GPUs."""
        p = self.plan
        if p is None:
            return None
        need = int(round(p.memory.budget_bytes))
        return need, max(1, p.inputs.tensor_parallel * p.inputs.pipeline_parallel)

    def _update_health(self) -> None:
        """Per GPU, the worst of its alerts: critical ones make it unhealthy (unfit for the plan,
        "CRIT" on its card) until the condition clears or, for an event, it is acknowledged."""
        self._unhealthy = unhealthy_gpus(self.alert_book.unhealthy_alerts())
        health = {i: ("critical", why) for i, why in self._unhealthy.items()}
        for e in self.alert_book.active():
            if e.gpu_index is not None and e.gpu_index not in health and e.rule != RULE_GPU_LOST:
                health[e.gpu_index] = (e.severity, alert_reason(e.alert))
        self._health = health

    def _update_verdict(self) -> None:
        need = self.plan_need
        s = self.sample
        if need is None or s is None:
            self.verdict = None
            self._fit_marks = {}
            return
        # no GPU rows (telemetry failing): "now" is unknown, the verdict says no GPU seen
        self.verdict = fits_here(need[0], need[1], s, self._unhealthy)
        marks: dict[int, Text] = {}
        v = self.verdict
        if self.plan is not None and self.plan.memory.fits:
            group_of = {i: k for k, grp in enumerate(v.groups) for i in grp}
            for f in v.gpus:
                if f.index in group_of:
                    marks[f.index] = Text(f"✓{group_of[f.index] + 1}", style=OK)
                elif f.eligible:
                    marks[f.index] = Text("✓", style="dim green")
                else:
                    failing = f.note in ("lost", "not responding") or f.note.startswith("unhealthy")
                    marks[f.index] = Text("✗", style=BAD if failing else WARN)
        else:
            for f in v.gpus:
                marks[f.index] = Text("✗", style=WARN)
        self._fit_marks = marks

    # ---- visibility ----------------------------------------------------------------------

    def _shown(self) -> bool:
        return self.is_mounted and _displayed(self)

    def on_show(self, event: events.Show) -> None:
        if self._dirty:
            self.refresh_view()
        # `gpuplan watch` starts here with nothing (visible) focused: take the keyboard so v/a/A
        # and the arrows work at once; never take it from a widget the user can see
        self.call_after_refresh(self._claim_focus)

    def _claim_focus(self) -> None:
        focused = self.app.focused
        if self._shown() and (focused is None or not _displayed(focused)):
            self.focus_default()

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        if self.sample is not None:
            self._apply_view()
        self._render_fits()  # its wording follows the width

    # ---- rendering -----------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Render the latest sample into the widgets (what changed only)."""
        if not self.is_mounted:
            return
        self._dirty = False
        self.renders += 1
        self._render_status()
        self._render_notice()
        self._apply_view()
        self._render_fits()
        self._render_host()
        self._render_processes()
        self._render_alerts()

    def _render_host(self) -> None:
        s = self.sample
        h = self.history

        def series(metric: str, width: int) -> list[float | None]:
            return h.host_tail(metric, width)  # not a copy of the whole ring

        self.query_one(HostPanel).show(None if s is None else s.host, series, h.host_points)

    def _apply_view(self) -> None:
        gpus = self._gpus()
        compact = self.compact
        compact_view = self.query_one(GpuCompactView)
        detail_view = self.query_one(GpuDetailView)
        has_gpus = bool(gpus)
        if (compact, has_gpus) != self._compact_now:
            self._compact_now = (compact, has_gpus)
            focused = self.app.focused if self.is_attached else None
            hidden_focus = focused is not None and (
                focused is detail_view or focused in compact_view.query("*")
            )
            compact_view.display = compact and has_gpus
            detail_view.display = (not compact) and has_gpus
            self._status_cache = None
            if hidden_focus:
                # keep the keyboard on the GPU list the user was in
                target = self.query_one("#mon-compact-scroll") if compact else detail_view
                target.focus() if has_gpus else self.focus_default()
        height = self.size.height
        room = max(4, height - RESERVED_ROWS)
        if compact:
            fit_room = self._compact_room()
            rows = min(len(gpus), max(room, fit_room - 1)) if gpus else 1
            _set_height(compact_view, rows + 1)
            self._fit_bottom(fit_room - (rows + 1))
            compact_view.show(gpus, self._spark, self._fit_marks, self.thresholds.temp_warn_margin_c, self.span_for,
                              self._health)
        else:
            cols = detail_view.columns_for(self.size.width)
            needed = ceil_div(len(gpus), cols) * CARD_HEIGHT
            _set_height(detail_view, min(needed, max(room, CARD_HEIGHT)))
            self._fit_bottom(None)
            detail_view.show(gpus, self._spark, self._fit_marks, self.thresholds.temp_warn_margin_c, self.span_for,
                             self._health)

    def _spark(self, index: int, metric: str, width: int) -> Line:
        key = (index, metric, width)
        cached = self._spark_cache.get(key)
        if cached is not None:
            return cached
        ring = self.history.ring(index, metric)
        n = 0 if ring is None else len(ring)
        # one cell per sample while the history is short, then coarser up to the whole window
        # (10 minutes by default); buckets stay aligned to absolute sample numbers, and the
        # maxima of complete buckets are kept from sample to sample (monitor_spark)
        bucket = max(1, min(n, self.history.capacity) // max(1, width))
        points = self._spark_points.points(key, ring, width, bucket, self._points.get(index, n))
        lo, hi = series_scale(self._last_ok_gpu.get(index), metric)
        text = sparkline_line(points, width, lo, hi, style=SPARK_STYLES.get(metric, ""))
        self._spark_cache[key] = text
        return text

    def _render_status(self) -> None:
        s = self.sample
        active = self.alert_book.active()
        n_crit = sum(1 for e in active if e.severity == "critical")
        stale = self._stale_for()
        key = (
            None if s is None else (s.timestamp, s.hostname, s.backend, s.driver_version, s.cuda_version,
                                    tuple(g.state for g in s.gpus), s.error, s.simulated),
            len(active), n_crit, self.compact, self.view_mode, stale, self.recording,
        )
        if key == self._status_cache:
            return
        self._status_cache = key
        text = Text()
        badge = ""
        if s is None:
            text.append_text(waiting_text(time.monotonic() - self._mounted_at))
        else:
            text.append(s.hostname, style=LABEL)
            gpus = self._gpus()
            if gpus:
                bad = [g for g in gpus if g.state != "ok"]
                text.append(f"  {len(gpus)} GPU{'s' if len(gpus) != 1 else ''}")
                if len(bad) > 2:
                    text.append(f" ({len(bad)} failing)", style=BAD)
                elif bad:
                    # name them: at 80x24 their rows may be scrolled out of view
                    text.append(" (" + ", ".join(f"GPU {g.index} {g.state}" for g in bad) + ")", style=BAD)
            elif s.error:
                text.append("  no GPU telemetry", style=BAD)
            else:
                text.append("  no GPU", style=WARN)
            if stale:
                text.append(f"  STALE {stale:.0f} s", style=BAD)
            if self.recording:  # early in the line: the tail is cut first on a narrow terminal
                text.append("  ● REC ", style=BAD)
                text.append(Path(self.recording).name, style=DIM)
            if active:
                text.append("  ")
                text.append(
                    f"{len(active)} alert{'s' if len(active) != 1 else ''}" + (f" ({n_crit} critical)" if n_crit else ""),
                    style=BAD if n_crit else WARN,
                )
            text.append(f"  {clock_text(s.timestamp)}", style=DIM)
            if s.driver_version:
                text.append(f"  driver {s.driver_version}", style=DIM)
            if s.cuda_version:
                text.append(f"  CUDA {s.cuda_version}", style=DIM)
            if s.nvml_version:
                text.append(f"  NVML {s.nvml_version}", style=DIM)
            if not s.simulated and s.backend != "replay":
                text.append(f"  {s.backend}", style=DIM)
            if s.simulated:
                badge = "SIMULATED"
            elif s.backend == "replay":
                badge = "REPLAY"
        text.no_wrap = True
        text.overflow = "ellipsis"
        # fixed one-line widgets: no layout pass needed (a layout per sample is the main cost)
        self.query_one("#mon-status-text", Static).update(text, layout=False)
        b = self.query_one("#mon-badge", Static)
        label = f" {badge} " if badge else ""
        if label != self._badge:
            self._badge = label
            b.update(label)
        self.set_class(s is not None and s.simulated, "-simulated")
        self.set_class(s is not None and not s.simulated and s.backend == "replay", "-replay")

    def _render_notice(self) -> None:
        s = self.sample
        key = None if s is None else (s.error, bool(s.gpus), self._last_good is not None)
        if key == self._notice_cache:
            return
        self._notice_cache = key
        notice = self.query_one("#mon-notice", Static)
        if s is not None and not s.error and not s.gpus and self._last_good is None:
            notice.update(Text.assemble(
                ("no NVIDIA GPU: ", WARN),
                "NVML is loaded but reports no device on this host. Everything else works.",
            ))
            notice.display = True
            return
        if s is None or not s.error:
            notice.display = False
            self.remove_class("-no-driver")
            self.remove_class("-host-error")
            return
        text = Text()
        no_driver = s.error.startswith(NO_DRIVER_PREFIX) and not s.gpus
        if no_driver:
            head, _, rest = s.error.partition(": ")
            text.append(f"no NVIDIA driver: {head}\n", style=BAD)
            text.append(rest[:1].upper() + rest[1:] + ".\n" if rest else "")
            text.append(
                "Everything else works: plan, compare and save sessions as usual. "
                "To see the monitor: gpuplan watch --simulate 8, or --replay TRACE.",
                style=DIM,
            )
        else:
            text.append("GPU telemetry failed: ", style=BAD)
            text.append(s.error)
            if self._last_good is not None and not s.gpus:
                text.append(f"\nshowing the last good sample, from {clock_text(self._last_good.timestamp)}",
                            style=DIM)
        notice.update(text)
        notice.display = True
        self.set_class(no_driver, "-no-driver")
        self.set_class(not no_driver, "-host-error")

    def _render_fits(self) -> None:
        widget = self.query_one(FitsLine)
        p, v, s = self.plan, self.verdict, self.sample
        width = widget.content_size.width
        key = (id(p), v, None if s is None else s.simulated, width)
        if key == self._fits_cache:
            return
        self._fits_cache = key
        head, body = fits_lines(p, self.plan_need, v, s, width)
        # the height may grow while the plan, the width and the outcome stay (FitsLine)
        widget.show(head, body, (id(p), width, None if v is None else v.fits))

    def _render_processes(self) -> None:
        table = self.query_one(ProcessTable)
        gpus = self.sample.gpus if self.sample is not None else ()
        n, unknown = table.show(gpus, None if self.sample is None else self.sample.timestamp)
        box = self.query_one("#mon-procs-box")
        title = f"Processes ({n})" if n == table.total else f"Processes ({n} of {table.total})"
        if table.filter_text:
            title += f" filter: {table.filter_text}"
        sort = dict((k, label) for k, label, _w in ProcessTable.COLUMNS)[table.sort_key]
        if table.sort_key != "gpu" or table.sort_reverse:
            title += f" · by {sort}{' ▼' if table.sort_reverse else ''}"
        failing = [g.index for g in gpus if g.state != "ok"]
        notes = []
        if unknown:
            notes.append(f"N/A on GPU {','.join(map(str, unknown))} (no permission?)")
        if failing:
            notes.append(f"GPU {','.join(map(str, failing))} not answering")
        if box.border_title != title:
            box.border_title = title
        subtitle = "; ".join(notes)
        if box.border_subtitle != subtitle:
            box.border_subtitle = subtitle
        self._render_process_detail()

    def _render_process_detail(self) -> None:
        """The selected process in full (key c): its whole command line and what is known."""
        detail = self.query_one("#mon-proc-detail", Static)
        detail.set_class(self.show_command, "-shown")
        if not self.show_command:
            return
        r = self.query_one(ProcessTable).selected_row()
        if r is None:
            detail.update(Text("no process selected", style=DIM))
            return
        p = r.process
        t = Text()
        t.append(f"PID {p.pid} ", style=LABEL)
        if r.visible:
            t.append(f"{p.user or '?'}  up {elapsed_text(r.elapsed_s)}  ", style=DIM)
        else:
            t.append("not in this PID namespace (a container's process, or it exited): "
                     "NVML's name and memory only  ", style=WARN)
        t.append(p.command or "?")
        detail.update(t)

    def _render_alerts(self, force: bool = False) -> None:
        history = self.alert_book.history()
        sig = tuple((e.id, e.count, e.acknowledged, e.resolved) for e in history)
        if sig == self._alert_sig and not force:
            return
        self._alert_sig = sig
        table = self.query_one(AlertTable)
        table.show(history)
        active = sum(1 for e in history if e.active)
        box = self.query_one("#mon-alerts-box")
        box.border_title = f"Alerts ({active} active)" if history else "Alerts"
        box.border_subtitle = "a ack · A ack all" if active else ""
        self._render_alert_detail()

    def _render_alert_detail(self) -> None:
        table = self.query_one(AlertTable)
        e = table.selected_entry()
        detail = self.query_one("#mon-alert-detail", Static)
        if e is None:
            detail.update(Text("no alerts" if not table.row_count else "", style=DIM), layout=False)
            return
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(e.message, style=BAD if e.active and e.severity == "critical" else "")
        t.append(
            f"  (first {clock_text(e.first_time)}, last {clock_text(e.last_time)}, seen {e.count}×)",
            style=DIM,
        )
        detail.update(t, layout=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if isinstance(event.data_table, AlertTable):
            self._render_alert_detail()
        elif isinstance(event.data_table, ProcessTable):
            self._render_process_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, ProcessTable):  # enter on a process: its full command
            event.stop()
            self.action_toggle_command()

    # ---- processes: sort, filter, full command -------------------------------------------

    def action_sort_next(self) -> None:
        """Sort the processes by the next column (numbers largest first)."""
        self.query_one(ProcessTable).sort_next()
        self._render_processes()

    def action_sort_reverse(self) -> None:
        self.query_one(ProcessTable).reverse_sort()
        self._render_processes()

    def action_filter(self) -> None:
        box = self.query_one("#mon-proc-filter", Input)
        box.add_class("-shown")
        box.focus()
        self._room_changed()

    def action_toggle_command(self) -> None:
        self.show_command = not self.show_command
        self._render_process_detail()
        self._room_changed()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "mon-proc-filter":
            event.stop()
            self.query_one(ProcessTable).set_filter(event.value)
            self._render_processes()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "mon-proc-filter":
            event.stop()
            if not event.value:
                event.input.remove_class("-shown")
                self._room_changed()
            self.query_one(ProcessTable).focus()

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#mon-proc-filter", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            box.value = ""
            box.remove_class("-shown")
            self.query_one(ProcessTable).set_filter("")
            self._render_processes()
            self.query_one(ProcessTable).focus()
            self._room_changed()

    def _room_changed(self) -> None:
        """The process box grew or shrank (filter line, full command): the GPU list follows."""
        if self.sample is not None:
            self._apply_view()

    # ---- GPU cursor and the detail screen ------------------------------------------------

    def _select_gpu(self, index: int | None) -> None:
        self.selected_gpu = index
        if self.is_mounted:
            self.query_one(GpuCompactView).select(index)
            self.query_one(GpuDetailView).select(index)

    def on_gpu_cursor_moved(self, message: GpuCursorMoved) -> None:
        message.stop()
        indices = [g.index for g in self._gpus()]
        if not indices:
            return
        pos = indices.index(self.selected_gpu) if self.selected_gpu in indices else 0
        self._select_gpu(indices[max(0, min(len(indices) - 1, pos + message.delta))])

    def on_gpu_picked(self, message: GpuPicked) -> None:
        message.stop()
        self.open_gpu(message.index)

    def open_gpu(self, index: int) -> None:
        """Push the detail screen of GPU `index`."""
        from .monitor_detail import GpuDetailScreen

        self._select_gpu(index)
        self.detail_screen = GpuDetailScreen(self, index)
        self.app.push_screen(self.detail_screen)

    # ---- alerts --------------------------------------------------------------------------

    def _announce(self, new: list[AlertEntry]) -> None:
        active = self.alert_book.active()
        crit = sum(1 for e in active if e.severity == "critical")
        self.post_message(self.AlertsChanged(len(active), crit, list(new)))
        if not self.notify_alerts or not self.is_mounted:
            return
        critical = [e for e in new if e.severity == "critical"]
        if len(critical) == 1:
            e = critical[0]
            self.app.notify(e.message, title="GPU alert", severity="error", timeout=8, markup=False)
        elif critical:
            gpus = sorted({e.gpu_index for e in critical if e.gpu_index is not None})
            self.app.notify(
                f"{len(critical)} critical alerts on GPU {', '.join(map(str, gpus))}",
                title="GPU alerts",
                severity="error",
                timeout=8,
                markup=False,
            )

    def action_acknowledge(self) -> None:
        """Acknowledge the alert under the cursor in the alert list."""
        table = self.query_one(AlertTable)
        e = table.selected_entry()
        if e is None or not self.alert_book.acknowledge(e.id):
            return
        row = table.cursor_row
        self._after_ack()
        # the acknowledged alert sinks below the active ones: stay on the same line, so repeated
        # presses acknowledge one alert after another
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)
            self._render_alert_detail()

    def action_acknowledge_all(self) -> None:
        if self.alert_book.acknowledge_all():
            self._after_ack()

    def _after_ack(self) -> None:
        # an acknowledged critical event no longer makes its GPU unhealthy
        self._update_health()
        self._update_verdict()
        if self.sample is not None:
            self._apply_view()
        self._render_fits()
        self._render_alerts()
        self._status_cache = None
        self._render_status()
        active = self.alert_book.active()
        crit = sum(1 for e in active if e.severity == "critical")
        self.post_message(self.AlertsChanged(len(active), crit, []))

    # ---- view toggle ---------------------------------------------------------------------

    def action_toggle_view(self) -> None:
        """Switch between the compact rows and the detail cards (leaves the automatic choice)."""
        self.view_mode = "detail" if self.compact else "compact"
        self._status_cache = None
        if self.sample is not None:
            self._apply_view()
            self._render_status()

    # ---- staleness -----------------------------------------------------------------------

    def _stale_for(self) -> float | None:
        if self._received_at is None:
            return None
        age = time.monotonic() - self._received_at
        limit = max(self.STALE_AFTER_S, 3 * self.interval_s)
        return age if age > limit else None

    _stale_ticker = None  # the 1 s Timer, once mounted
    _stale_deadline: asyncio.TimerHandle | None = None

    def _arm_stale_deadline(self) -> None:
        """A sample came: no ticking until it would turn stale, then one call at that moment.
        A timer firing every second beside samples that come every second was a wake-up of its
        own each second (0.1-0.2 ms of CPU each on the VMs measured, issue 9); a cancelled
        deadline wakes nothing (asyncio drops it from the head of its queue)."""
        if self._stale_ticker is None:
            return
        self._stale_ticker.pause()  # it wakes at most once more, then waits to be resumed
        if self._stale_deadline is not None:
            self._stale_deadline.cancel()
        limit = max(self.STALE_AFTER_S, 3 * self.interval_s)
        self._stale_deadline = asyncio.get_running_loop().call_later(limit + 0.05, self._stale_due)

    def _stale_due(self) -> None:
        self._stale_deadline = None
        if self.is_attached and self._stale_ticker is not None:
            self._check_stale()
            self._stale_ticker.resume()  # the stale line counts the seconds

    def on_unmount(self) -> None:
        if self._stale_deadline is not None:
            self._stale_deadline.cancel()

    def _check_stale(self) -> None:
        if self._shown() and (self._received_at is not None or self.sample is None):
            if self.sample is None:
                self._status_cache = None  # the waiting line counts the seconds
            self._render_status()


def waiting_text(elapsed_s: float) -> Text:
    """The status line before the first sample: painted at once, NVML starts off the UI thread."""
    t = Text("waiting for NVML: ", style=WARN)
    t.append("starting the GPU library and taking the first sample (off the UI thread)", style=DIM)
    if elapsed_s >= 1:
        t.append(f"  {elapsed_s:.0f} s", style=DIM)
    return t


def _set_height(widget: Widget, rows: int) -> None:
    """Set a fixed height only when it changes (each change costs a layout pass)."""
    h = widget.styles.height
    if h is None or h.unit != Unit.CELLS or h.value != rows:
        widget.styles.height = rows


def _displayed(widget: Widget) -> bool:
    node: object = widget
    while isinstance(node, Widget):
        if not node.display:
            return False
        node = node.parent
    return True


def describe_alert(e: AlertEntry) -> str:
    """One line for logs and tests: 'GPU 3 gpu_lost lost'."""
    gpu = "-" if e.gpu_index is None else str(e.gpu_index)
    return f"GPU {gpu} {RULE_WORDS.get(e.rule, e.rule)} {alert_value(e)}".strip()


__all__ = ["MonitorPane", "describe_alert", "GIB", "short_name"]
