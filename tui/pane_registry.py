"""The app's tabs, in order: where a new pane plugs in (see tui/app.py's docstring).

Each `PaneSpec` names its tab, builds its widget (importing the widget's module only then) and
says how the pane takes a new plan. The app gives every registered pane a digit key and alt+digit
in registry order and lists it in the palette. It mounts a pane when its tab is first shown, when
help lists its keys, or in the background once nobody has typed for a while (tui/app.py's
PREFETCH_IDLE_S); at start-up only the shown pane and those whose `eager(app)` says they work
while hidden (the Monitor records samples and raises alerts; the Forecast tab refits in watch
mode). On every `PlanReady` it calls `on_plan(pane, plan, report)` for each mounted pane, with the
one immutable `Plan` and its `report` (`plan.to_dict()`, computed off the UI thread). Panes never
compute.

A pane widget's contract: `show(report)` (the default `on_plan`) renders a plan and does nothing
until the pane is mounted; on mount it renders `host.report` if a plan is already there (the
app may hand it a plan between its mount and its on_mount).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

PlanHandler = Callable[[Any, Any, dict], None]  # (pane, plan, report)


def show_report(pane: Any, plan: Any, report: dict) -> None:
    pane.show(report)


@dataclass(frozen=True, slots=True)
class PaneSpec:
    tab: str  # the TabPane id and the `action_tab` argument
    title: str  # the tab's label
    widget_id: str  # the pane widget's id
    build: Callable[[Any], Any]  # build(app) -> the pane widget (imports its module now)
    on_plan: PlanHandler | None = show_report  # None: the pane does not follow the plan
    mounted: Callable[[Any, Any], None] | None = None  # mounted(app, pane): after it is mounted
    eager: Callable[[Any], bool] | None = None  # eager(app): mount at start-up even while hidden


def _sizing(app: Any) -> Any:
    from .widgets.sizing import SizingPane

    return SizingPane(id="sizing-pane")


def _serving(app: Any) -> Any:
    from .widgets.serving import ServingPane  # the curve plot, figures and curve table (issue 13)

    return ServingPane(id="serving-pane")


def _training(app: Any) -> Any:
    from .widgets.training import TrainingPane

    return TrainingPane(id="training-pane")


def _forecast(app: Any) -> Any:
    from .widgets.forecast import ForecastPane

    return ForecastPane(id="forecast-pane")


def _forecast_plan(pane: Any, plan: Any, report: dict) -> None:
    pane.follow_plan(plan)  # fits only in watch mode, when the session's [forecast] asks (issue 12)


def _monitor(app: Any) -> Any:
    from .widgets.monitor import MonitorPane

    pane = MonitorPane(id="monitor-pane", interval_s=app.interval, recording=app.recording)
    if app.monitor_first:
        pane.call_after_refresh(pane.focus_default)
    return pane


def _monitor_mounted(app: Any, pane: Any) -> None:
    """The monitor starts from the newest sample and plan the app holds."""
    if app.sample is not None:
        pane.call_after_refresh(pane.update_sample, app.sample)
        if app.plan is not None:
            pane.call_after_refresh(pane.set_plan, app.plan)


def _monitor_plan(pane: Any, plan: Any, report: dict) -> None:
    pane.set_plan(plan)


def _records_samples(app: Any) -> bool:
    # its history and alerts accumulate while hidden, from whatever delivers samples (the Sampler
    # thread, a replay, a test): always mounted
    return True


def _fits_in_watch_mode(app: Any) -> bool:
    return getattr(app, "watch_path", None) is not None  # follow_plan fits the session's [forecast]


def _sessions(app: Any) -> Any:
    from .widgets.sessions_tab import SessionsPane

    return SessionsPane(lambda: app.store, id="sessions-pane")


def _search(app: Any) -> Any:
    from .widgets.search import SearchPane

    return SearchPane(id="search-pane")


def _search_plan(pane: Any, plan: Any, report: dict) -> None:
    pane.set_plan(plan)


PANES: tuple[PaneSpec, ...] = (
    PaneSpec("sizing", "Sizing", "sizing-pane", _sizing),
    PaneSpec("serving", "Serving", "serving-pane", _serving),
    PaneSpec("training", "Training", "training-pane", _training),
    PaneSpec("forecast", "Forecast", "forecast-pane", _forecast, on_plan=_forecast_plan,
             eager=_fits_in_watch_mode),
    PaneSpec("monitor", "Monitor", "monitor-pane", _monitor, on_plan=_monitor_plan, mounted=_monitor_mounted,
             eager=_records_samples),
    PaneSpec("sessions", "Sessions", "sessions-pane", _sessions, on_plan=None),
    PaneSpec("search", "Search", "search-pane", _search, on_plan=_search_plan),
)

BY_TAB: dict[str, PaneSpec] = {spec.tab: spec for spec in PANES}
TABS: tuple[str, ...] = tuple(spec.tab for spec in PANES)


@dataclass(frozen=True, slots=True)
class SessionTab:
    """A tab the app adds only while the session asks for it, keyed after the registered tabs
    (the next digit, alt+digit, Option+digit) and listed in help with its keys even while absent.
    `widget_classes()` imports the pane's widgets (for help); `when` says in help when it is there;
    `absent` is what its key says while it is not."""

    tab: str
    title: str
    widget_id: str
    widget_classes: Callable[[], tuple[type, ...]]
    when: str
    absent: str


def _fleet_classes() -> tuple[type, ...]:
    from .widgets.fleet import FleetPane
    from .widgets.fleet_table import FleetTable

    return (FleetPane, FleetTable)


# The Fleet tab: while the session names a Prometheus ([fleet] prometheus = URL; sync_fleet_tab in
# tui/widgets/fleet.py adds and removes it).
SESSION_TABS: tuple[SessionTab, ...] = (
    SessionTab("fleet-tab", "Fleet", "fleet-pane", _fleet_classes,
               "Shown while the session names a Prometheus (`[fleet] prometheus = \"http://HOST:9090\"`); "
               "full-screen in `gpuplan fleet --prometheus URL`.",
               "No Fleet tab: this session names no Prometheus. Add [fleet] prometheus = "
               "\"http://HOST:9090\" to it, or run gpuplan fleet --prometheus URL"),
)
SESSION_TAB_BY_TAB: dict[str, SessionTab] = {t.tab: t for t in SESSION_TABS}
