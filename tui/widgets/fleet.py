"""The Fleet tab: every GPU host a Prometheus server knows, one row per host expanding to its GPUs.

Data comes from `engine.telemetry.fleet` (a FleetQuery's snapshot); this pane only renders. A
thread worker refreshes it on an interval and coalesces: a tick that finds a refresh running asks
for one more after it and nothing else, so a slow Prometheus never queues queries. A failed
refresh keeps the last snapshot on screen and says why. The table is virtual (fleet_table.py):
only rows in view are formatted and drawn, so 1,000 hosts x 8 GPUs stay responsive.

Keys: enter/space expand or collapse a host, e expand/collapse all, s sort by name or worst
first, r refresh now.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from engine.telemetry.fleet import (
    GIB,
    SEVERITY_RANK,
    FleetError,
    FleetGpu,
    FleetHost,
    FleetQuery,
    FleetSnapshot,
    HostFit,
    PlanNeed,
)
from engine.telemetry.fleet_text import age_text

from .fleet_table import FleetTable

# widths fit 120 columns; narrower terminals scroll sideways (the worst alert is last)
COLUMNS = (("Host", 16), ("State", 13), ("GPUs", 4), ("Model", 14), ("Util", 4), ("Memory", 11), ("Power", 7),
           ("Temp", 5), ("Fits", 13), ("Worst alert", 23))
SEVERITY_STYLE = {"critical": "bold red", "warn": "yellow"}


def _load_css() -> str:
    try:
        return Path(__file__).with_name("fleet.tcss").read_text(encoding="utf-8")
    except OSError:  # a broken install: run unstyled rather than not at all
        return ""


def _num(v: float | None, fmt: str, unit: str = "") -> str:
    return "-" if v is None else f"{v:{fmt}}{unit}"


def _mem(used: float | None, total: float | None) -> str:
    if used is None or not total:
        return "-"
    return f"{used / GIB:.0f}/{total / GIB:.0f} GiB"


def _alert_cell(alerts, more: bool = True) -> Text:
    if not alerts:
        return Text("-", style="dim")
    worst = max(alerts, key=lambda a: SEVERITY_RANK.get(a.severity, 0))
    text = Text(worst.rule.replace("_", " "), style=SEVERITY_STYLE.get(worst.severity, ""))
    if more and len(alerts) > 1:
        text.append(f" +{len(alerts) - 1}", style="dim")
    return text


def _short_model(name: str | None) -> str:
    return "-" if not name else name.removeprefix("NVIDIA ")


def plan_need(plan: object) -> PlanNeed:
    """What one replica of a Plan needs on the fleet: the serving engine's memory budget free on
    each of TP x PP GPUs of the plan's GPU kind (as the monitor's "fits here")."""
    inputs = plan.inputs  # type: ignore[attr-defined]
    gpus = max(1, inputs.tensor_parallel * inputs.pipeline_parallel)
    return PlanNeed(int(round(plan.memory.budget_bytes)), gpus, inputs.gpu.id)  # type: ignore[attr-defined]


class FleetPane(Widget, can_focus=False):
    """Public API: `show(snapshot)`, `refresh_now()`, `snapshot`, `error`, `expanded`."""

    DEFAULT_CSS = _load_css()

    BINDINGS = [
        Binding("enter,space", "toggle_host", "Expand"),
        Binding("e", "toggle_all", "Expand all"),
        Binding("s", "toggle_sort", "Sort"),
        Binding("r", "refresh_now", "Refresh"),
    ]

    class SnapshotReady(Message):
        def __init__(self, snapshot: FleetSnapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    class RefreshFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        source: Callable[[], FleetSnapshot] | None = None,
        *,
        interval_s: float = 5.0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.source = source
        self.interval_s = interval_s
        self.need: PlanNeed | None = None
        self._query: FleetQuery | None = None
        self.snapshot: FleetSnapshot | None = None
        self.error: str | None = None
        self.expanded: set[str] = set()
        self.sort_worst = False
        self.refreshes = 0  # completed refreshes (tests wait on it)
        self._busy = False
        self._pending = False
        self._fits: dict[str, HostFit] = {}

    @classmethod
    def for_prometheus(cls, url: str, *, lookback_s: int = 3600, interval_s: float = 5.0,
                       need: PlanNeed | None = None, **kw: object) -> "FleetPane":
        """A pane that asks `url` itself (the app's Fleet tab); `set_need()` follows the plan."""
        query = FleetQuery(url, lookback_s=lookback_s)
        pane = cls(None, interval_s=interval_s, **kw)  # type: ignore[arg-type]
        pane._query = query
        pane.need = need
        pane.source = lambda: query.snapshot(pane.need)
        return pane

    def set_need(self, need: PlanNeed | None) -> None:
        """The plan changed: "fits where" answers for the new one at the next refresh (now)."""
        if need != self.need:
            self.need = need
            self.refresh_now()

    def on_unmount(self) -> None:
        if self._query is not None:
            self._query.close()

    def compose(self) -> ComposeResult:
        yield Static("Fleet: waiting for the first answer from Prometheus…", id="fleet-summary")
        yield FleetTable(COLUMNS, self._cells, id="fleet-table")
        yield Static("", id="fleet-fits")

    def on_mount(self) -> None:
        if self.source is not None:
            self.refresh_now()
            self.set_interval(self.interval_s, self._tick)

    def _tick(self) -> None:
        # a Fleet tab in the background asks nothing (1,000 hosts cost a core for a while);
        # it refreshes the moment it is shown again
        if self.region.width and self.region.height:
            self.refresh_now()

    def on_show(self) -> None:
        if self.snapshot is not None:
            self.refresh_now()

    # ---- refreshing (coalesced) ------------------------------------------------------------

    def refresh_now(self) -> None:
        if self.source is None:
            return
        if self._busy:
            self._pending = True
            return
        self._busy = True
        self._refresh_worker()

    def action_refresh_now(self) -> None:
        self.refresh_now()

    @work(thread=True, group="fleet-refresh", exit_on_error=False)
    def _refresh_worker(self) -> None:
        assert self.source is not None
        try:
            snap = self.source()
        except FleetError as exc:
            self.post_message(self.RefreshFailed(str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown, never a crash of the app
            self.post_message(self.RefreshFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.SnapshotReady(snap))

    def _done(self) -> None:
        self._busy = False
        self.refreshes += 1
        if self._pending:
            self._pending = False
            self.refresh_now()

    def on_fleet_pane_snapshot_ready(self, message: SnapshotReady) -> None:
        message.stop()
        self.error = None
        self.show(message.snapshot)
        self._done()

    def on_fleet_pane_refresh_failed(self, message: RefreshFailed) -> None:
        message.stop()
        self.error = message.error
        self._render_summary()
        self._done()

    # ---- rendering ------------------------------------------------------------------------

    def show(self, snapshot: FleetSnapshot) -> None:
        self.snapshot = snapshot
        self._fits = {f.hostname: f for f in snapshot.fits}
        self._render_summary()
        self._render_table()
        self._render_fits()

    def _hosts(self) -> list[FleetHost]:
        hosts = list(self.snapshot.hosts) if self.snapshot else []
        if self.sort_worst:
            def badness(h: FleetHost) -> tuple:
                worst = h.worst_alert
                return (-(SEVERITY_RANK.get(worst.severity, 0) if worst else 0), not h.stale, h.hostname)
            hosts.sort(key=badness)
        return hosts

    def _render_summary(self) -> None:
        out = Text()
        s = self.snapshot
        if s is None:
            out.append("Fleet: waiting for the first answer from Prometheus…")
        else:
            crit = sum(1 for a in s.alerts if a.severity == "critical")
            warn = len(s.alerts) - crit
            out.append("Fleet ", style="bold")
            out.append(f"{s.prometheus}  ")
            out.append(f"{len(s.hosts)} hosts")
            if s.stale_hosts:
                out.append(f" ({len(s.stale_hosts)} stale)", style="yellow")
            out.append(f" · {s.n_gpus} GPUs · ")
            if crit:
                out.append(f"{crit} critical ", style="bold red")
            if warn:
                out.append(f"{warn} warn ", style="yellow")
            if not s.alerts:
                out.append("no alerts ", style="green")
            out.append(f"· at {time.strftime('%H:%M:%S', time.gmtime(s.time))} UTC", style="dim")
        if self.error:
            out.append(f"\n⚠ refresh failed, showing the last answer: {self.error}", style="bold red")
        self.query_one("#fleet-summary", Static).update(out)

    def _cells(self, row: tuple) -> list[Text]:
        return self._host_cells(row[1]) if row[0] == "h" else self._gpu_cells(row[1], row[2])

    def _host_cells(self, h: FleetHost) -> list[Text]:
        fit = self._fits.get(h.hostname)
        mark = "▾ " if h.hostname in self.expanded else "▸ "
        age = age_text(h.last_seen_s).removesuffix(" ago")
        state = Text(f"stale {age}", style="bold yellow") if h.stale else Text("ok", style="green")
        fits = Text("-", style="dim")
        if fit is not None:
            fits = Text(f"{fit.replicas} replica{'s' if fit.replicas != 1 else ''}" if fit.replicas else "none",
                        style="green" if fit.replicas else "dim")
            if fit.unfit:  # GPUs left out for their health: the count, the reasons on the GPU rows
                fits.append(f" ✗{len(fit.unfit)}", style="bold red")
        return [
            Text(mark + h.hostname, style="bold" if not h.stale else "yellow"),
            state,
            Text(str(len(h.gpus))),
            Text(_short_model(h.model)),
            Text(_num(h.util_avg, ".0f", "%")),
            Text(_mem(h.mem_used_bytes, h.mem_total_bytes)),
            Text(_num(h.power_w, ".0f", " W")),
            Text(_num(h.temp_max_c, ".0f", " °C")),
            fits,
            _alert_cell(h.alerts),
        ]

    def _gpu_cells(self, h: FleetHost, g: FleetGpu) -> list[Text]:
        fit = self._fits.get(h.hostname)
        alerts = [a for a in h.alerts if a.gpu == g.gpu]
        mark = Text("")
        if fit is not None:
            unfit = dict(fit.unfit)
            if any(g.gpu in grp for grp in fit.groups):
                mark = Text("✓ replica", style="green")
            elif g.gpu in fit.eligible_gpus:
                mark = Text("✓ free", style="dim green")
            elif g.gpu in unfit:
                mark = Text(f"✗ {unfit[g.gpu]}", style="bold red")
        state = Text(g.state, style="green" if g.state == "ok" else "bold red")
        if h.stale:
            state = Text("no data", style="dim")
        return [
            Text(f"    GPU {g.gpu}", style="dim" if h.stale else ""),
            state,
            Text(""),
            Text(_short_model(g.model)),
            Text(_num(g.util, ".0f", "%")),
            Text(_mem(g.mem_used_bytes, g.mem_total_bytes)),
            Text(_num(g.power_w, ".0f", " W")),
            Text(_num(g.temp_c, ".0f", " °C")),
            mark,
            _alert_cell(alerts, more=True),
        ]

    def _render_table(self, keep: str | None = None) -> None:
        rows: list[tuple[str, tuple]] = []
        for h in self._hosts():
            rows.append((f"h\x00{h.hostname}", ("h", h)))
            if h.hostname in self.expanded:
                rows.extend((f"g\x00{h.hostname}\x00{g.gpu}", ("g", h, g)) for g in h.gpus)
        self.query_one("#fleet-table", FleetTable).set_rows(rows, keep=keep)

    def _render_fits(self) -> None:
        s = self.snapshot
        widget = self.query_one("#fleet-fits", Static)
        if s is None or s.need is None:
            widget.update(Text("Fits where: open a session (gpuplan fleet SESSION --prometheus URL) to see "
                               "which hosts can take its plan now.", style="dim"))
            return
        n = s.need
        taking = [f for f in s.fits if f.replicas > 0]
        out = Text()
        out.append("Fits where ", style="bold")
        out.append(f"(a replica needs {n.gpus_per_replica} × {n.gpu or 'any GPU'} with "
                   f"{n.per_gpu_bytes / GIB:.1f} GiB free; GiB = 2^30 bytes): ")
        out.append(f"{s.replicas} replica{'s' if s.replicas != 1 else ''} today", style="bold green" if s.replicas else "bold red")
        out.append(f" on {len(taking)} host{'s' if len(taking) != 1 else ''}")
        unfit = s.unfit
        if unfit:  # never silently, and before the best hosts: the GPUs the health rules keep out
            gpus = sum(len(f.unfit) for f in unfit)
            out.append(f"\nNot counted: {gpus} GPU{'s' if gpus != 1 else ''} on {len(unfit)} "
                       f"host{'s' if len(unfit) != 1 else ''} — ", style="bold red")
            shown = [f"{f.hostname} GPU {i} ({why})" for f in unfit for i, why in f.unfit]
            out.append(", ".join(shown[:4]) + (f" … (+{len(shown) - 4})" if len(shown) > 4 else ""))
        if taking:
            best = ", ".join(f"{f.hostname} ×{f.replicas}" for f in taking[:6])
            out.append(("\n" if unfit else " — ") + f"best: {best}" + (" …" if len(taking) > 6 else ""), style="dim")
        widget.update(out)

    # ---- actions --------------------------------------------------------------------------

    def _cursor_host(self) -> str | None:
        key = self.query_one("#fleet-table", FleetTable).cursor_key
        parts = str(key).split("\x00") if key is not None else []
        return parts[1] if len(parts) > 1 else None

    def action_toggle_host(self) -> None:
        host = self._cursor_host()
        if host is None:
            return
        self.expanded.symmetric_difference_update({host})
        self._render_table(keep=f"h\x00{host}")

    def action_toggle_all(self) -> None:
        hosts = {h.hostname for h in self.snapshot.hosts} if self.snapshot else set()
        host = self._cursor_host()
        self.expanded = set() if self.expanded >= hosts and hosts else hosts
        self._render_table(keep=f"h\x00{host}" if host else None)

    def action_toggle_sort(self) -> None:
        self.sort_worst = not self.sort_worst
        self._render_table()

    def on_fleet_table_selected(self, event: FleetTable.Selected) -> None:
        event.stop()
        self.action_toggle_host()


FLEET_TAB_ID = "fleet-tab"
FLEET_TAB_INTERVAL_S = 5.0  # seconds between refreshes while the tab is shown


def sync_fleet_tab(tabs: object, session: object, plan: object | None) -> FleetPane | None:
    """Keep an app's Fleet tab in step with the session: added when the session names a
    Prometheus in its [fleet] table, re-pointed when that changes, removed when it goes away; its
    "fits where" follows the newest plan. `tabs` is the app's TabbedContent. Returns the pane."""
    from textual.widgets import TabPane

    from engine.telemetry.fleet import parse_duration

    fleet = getattr(session, "fleet", None)
    existing = tabs.query(f"#{FLEET_TAB_ID}")  # type: ignore[attr-defined]
    pane = existing.first().query_one(FleetPane) if existing else None
    want = (fleet.prometheus, parse_duration(fleet.lookback)) if fleet is not None else None
    if pane is not None and (want is None or (pane._query.url, pane._query.lookback_s) != (  # type: ignore[union-attr]
            want[0].rstrip("/"), want[1])):
        tabs.remove_pane(FLEET_TAB_ID)  # type: ignore[attr-defined]
        pane = None
    if want is None:
        return None
    need = plan_need(plan) if plan is not None else None
    if pane is None:
        pane = FleetPane.for_prometheus(want[0], lookback_s=want[1], need=need, interval_s=FLEET_TAB_INTERVAL_S,
                                        id="fleet-pane")
        tabs.add_pane(TabPane("Fleet", pane, id=FLEET_TAB_ID))  # type: ignore[attr-defined]
    else:
        pane.set_need(need)
    return pane
