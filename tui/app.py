"""The gpuplan app: live sizing panes over one session, sessions that save and reload, watch mode,
and the telemetry wiring for the Monitor tab.

Data flow (DESIGN section 2): an input changes -> the session model validates it (an invalid value
marks its field and keeps the last plan) -> `plan()` runs latest-wins in a thread worker -> one
`PlanReady` -> every pane renders from that plan. Telemetry: a `Sampler` thread posts coalesced
`HostSampleReady` messages. Workers never touch widgets; failures go to the JSON log.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from . import logs
from .fields import BY_PATH, FieldInputError, field_for, get_path, parse_value
from .hostinfo import host_summary
from .messages import FieldEdited, HostSampleReady, ModelPicked, PlanFailed, PlanReady
from .themes import THEMES
from .widgets.header import AppHeader
from .widgets.sidebar import Sidebar

if TYPE_CHECKING:  # the session layer and the engine are imported after the first frame
    from engine.telemetry.samples import HostSample
    from sessions.errors import SessionError
    from sessions.schema import Session
    from sessions.store import RecoveryFile, SessionStore

    from .document import Document
    from .widgets.monitor import MonitorPane
    from .widgets.sessions_tab import DiffRequested, SessionAction, SessionsPaneMounted, VersionRef


def _pane(name: str, store: Callable[[], Any]) -> Any:
    """A tab's pane; its module is imported here, after the first frame."""
    if name == "sizing":
        from .widgets.sizing import SizingPane

        return SizingPane(id="sizing-pane")
    if name == "sessions":
        from .widgets.sessions_tab import SessionsPane

        return SessionsPane(store, id="sessions-pane")
    if name == "forecast":
        from .widgets.forecast import ForecastPane

        return ForecastPane(id="forecast-pane")
    from .widgets import panes

    cls = {"serving": panes.ServingPane, "training": panes.TrainingPane, "forecast": panes.ForecastPane}[name]
    return cls(id=f"{name}-pane")


def _commands_provider() -> type:
    """The palette's provider, imported when the palette first opens."""
    from .commands import GpuPlanCommands

    return GpuPlanCommands


log = logging.getLogger("gpuplan.app")

TABS = ("sizing", "serving", "training", "forecast", "monitor", "sessions")
NARROW = 100  # below this width the sidebar starts hidden and panes stack
WIDE = 160
RECOVERY_EVERY_S = 3.0
WATCH_EVERY_S = 0.5


@dataclass(frozen=True, slots=True)
class _Boot:
    """What the boot worker hands the UI thread."""

    catalog: Any
    entries: list
    document: Document | None
    error: SessionError | None
    recovery: Any  # sessions.store.Recovery | None
    catalog_error: str | None
    first_plan: Any = None  # (plan, report) for document.session


class DiffReady(Message):
    """Two sessions planned and compared (Sessions tab)."""

    def __init__(self, a: VersionRef, b: VersionRef, inputs: list, results: list, error: str | None) -> None:
        super().__init__()
        self.a, self.b, self.inputs, self.results, self.error = a, b, inputs, results, error


class Booted(Message):
    def __init__(self, boot: _Boot) -> None:
        super().__init__()
        self.boot = boot


class GpuPlanApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "gpuplan"
    COMMANDS = App.COMMANDS | {_commands_provider}
    ENABLE_COMMAND_PALETTE = True
    AUTO_FOCUS = "#sidebar Input"  # the model picker; nothing when the sidebar starts hidden
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+o", "open", "Open", priority=True),
        Binding("ctrl+n", "new", "New", show=False, priority=True),
        Binding("ctrl+b", "toggle_sidebar", "Inputs", priority=True),
        # Priority, so `?` opens help from a sidebar field too (FieldInput leaves `?` to the app);
        # in a dialog's text field it types a `?`.
        Binding("question_mark,f1", "help", "Help", key_display="?", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        *[Binding(f"{n + 1}", f"tab('{t}')", t.title(), show=False) for n, t in enumerate(TABS)],
        *[Binding(f"alt+{n + 1}", f"tab('{t}')", t.title(), show=False, priority=True) for n, t in enumerate(TABS)],
    ]

    def __init__(
        self,
        session_path: Path | str | None = None,
        *,
        watch: bool = False,
        monitor_first: bool = False,
        interval: float = 1.0,
        backend: Any = None,
        store: SessionStore | None = None,
        recovery: RecoveryFile | None = None,
        catalog: Any = None,
        offer_recovery: bool = True,
        telemetry: bool = True,
        recording: Path | str | None = None,
    ) -> None:
        super().__init__()
        if monitor_first:
            # The sidebar starts hidden: never auto-focus its model picker, or keys typed at the
            # monitor would edit the session. The monitor pane takes focus once mounted.
            self.AUTO_FOCUS = None  # type: ignore[misc]
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = _load_theme_choice() or "gpuplan-dark"
        self.session_path = Path(session_path).expanduser() if session_path is not None else None
        self.watch_path = self.session_path if watch and self.session_path is not None else None
        self.monitor_first = monitor_first
        self.interval = interval
        self._store = store
        self._recovery = recovery
        self.catalog = catalog
        self.offer_recovery = offer_recovery
        self.telemetry = telemetry
        self.recording = str(recording) if recording is not None else None
        self._exiting = False
        self._backend = backend
        self._sampler: Any = None
        self._panes_mounted = False
        # state
        self.doc: Document | None = None
        self.plan: Any = None
        self.report: dict[str, Any] | None = None
        self.plan_generation = 0
        self.planned_generation = 0
        self.field_errors: dict[str, str] = {}
        self.resolve_errors: dict[str, str] = {}
        self.load_error: str | None = None
        self.sample: HostSample | None = None
        self._newest_sample: HostSample | None = None
        self._sample_posted = False
        self._sample_lock = threading.Lock()
        self._watch_key: tuple[int, int] | None = None
        self._recovery_text: str | None = None
        self.booted = False
        self._first_frame_shown = False

    # ------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield AppHeader(id="header")
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="main"):
                yield Static("", id="banner", markup=False)
                with TabbedContent(initial="monitor" if self.monitor_first else "sizing", id="tabs"):
                    # The panes are mounted (and their modules imported) just after the first
                    # frame, which comes up about as fast as a bare Textual app's; a pane pulls
                    # the current plan when it mounts.
                    yield TabPane("Sizing", id="sizing")
                    yield TabPane("Serving", id="serving")
                    yield TabPane("Training", id="training")
                    yield TabPane("Forecast", id="forecast")
                    yield TabPane("Monitor", id="monitor")
                    yield TabPane("Sessions", id="sessions")
        yield Footer()

    @property
    def sidebar(self) -> Sidebar:
        return self._widgets["sidebar"]

    def pane(self, widget_id: str) -> Any:
        """A lazily mounted pane by id, or None while it is not mounted yet."""
        widget = self._widgets.get(widget_id)
        if widget is None:
            try:
                widget = self._widgets[widget_id] = self.query_one(f"#{widget_id}")
            except NoMatches:
                return None
        return widget

    @property
    def monitor_pane(self) -> MonitorPane | None:
        """The Monitor tab's pane (mounted just after the first frame)."""
        return self._widgets.get("monitor")

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            from sessions.store import SessionStore

            self._store = SessionStore()
        return self._store

    @property
    def recovery(self) -> RecoveryFile:
        if self._recovery is None:
            from sessions.store import RecoveryFile

            self._recovery = RecoveryFile()
        return self._recovery

    def on_mount(self) -> None:
        # Looked up once: a plan renders many times a second while typing.
        self._widgets = {
            "sidebar": self.query_one("#sidebar", Sidebar),
            "header": self.query_one("#header", AppHeader),
            "banner": self.query_one("#banner", Static),
        }
        width = self.size.width
        self._apply_width(width)
        if self.monitor_first or width < NARROW:
            self._set_sidebar(False, focus=False)
        self._widgets["header"].show_session("loading...", False, "")
        # The first frame is drawn before the session layer, the engine, the catalog, the
        # fields and the panes are loaded: the rest starts right after it (_display).

    def _display(self, screen: Screen, renderable: Any) -> None:
        """Textual hands each frame to the terminal here: the first one starts the loading."""
        super()._display(screen, renderable)
        if renderable is not None and not self._first_frame_shown and not self._batch_count:
            self._first_frame_shown = True
            self.call_later(self._after_first_frame)

    def _after_first_frame(self) -> None:
        """Load the rest: the catalog, session and first plan in a thread, the visible pane now,
        the sidebar's fields and the other panes once the first plan is on screen (or after a
        second): the plan shows up as early as it can."""
        self._boot()
        self._mount_panes(["monitor" if self.monitor_first else "sizing"])
        if self.telemetry:
            self._start_telemetry()
        self.set_interval(RECOVERY_EVERY_S, self._write_recovery, name="recovery")
        if self.watch_path is not None:
            self.set_interval(WATCH_EVERY_S, self._poll_watch, name="watch")
        self.set_timer(1.0, self._mount_other_panes)

    def _mount_panes(self, names: Iterable[str]) -> None:
        tabs = self.query_one(TabbedContent)
        for name in names:
            holder = tabs.get_pane(name)
            if holder.children:
                continue
            if name == "monitor":
                from .widgets.monitor import MonitorPane

                pane = self._widgets["monitor"] = MonitorPane(
                    id="monitor-pane", interval_s=self.interval, recording=self.recording
                )
                if self.monitor_first:
                    pane.call_after_refresh(pane.focus_default)
            else:
                pane = _pane(name, lambda: self.store)
            holder.mount(pane)
            if name == "monitor" and self.sample is not None:
                pane.call_after_refresh(pane.update_sample, self.sample)
                if self.plan is not None:
                    pane.call_after_refresh(pane.set_plan, self.plan)

    def _mount_other_panes(self) -> None:
        if not self._panes_mounted and self.alive:
            self._panes_mounted = True
            self.sidebar.build()
            self._mount_panes(TABS)

    def on_resize(self, event: Any) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        self.set_class(width < NARROW, "-narrow")
        self.set_class(width >= WIDE, "-wide")

    # ------------------------------------------------------------------------------------
    # boot: catalog, the first session, recovered work (off the UI thread)
    # ------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="boot", exit_on_error=False, name="boot")
    def _boot(self) -> None:
        from catalogs.loader import load_catalog
        from sessions.errors import SessionError
        from sessions.io import load_session, parse_session

        from .document import Document, default_session_text
        from .model_index import catalog_entries

        catalog, catalog_error = self.catalog, None
        if catalog is None:
            try:
                catalog = load_catalog()
            except Exception as exc:  # noqa: BLE001 - a bad user catalog: use the bundled one
                catalog_error = f"{exc}\n\nUsing the bundled catalog only."
                logs.log_exception("catalog", exc)
                catalog = load_catalog(user_dir=None, hf_cache=False)
        entries = catalog_entries(catalog)
        document, error = None, None
        if self.session_path is not None:
            try:
                session = load_session(self.session_path)
                document = Document.file(session, self.session_path)
            except SessionError as exc:
                error = exc
        if document is None:
            session = parse_session(default_session_text(), "<default session>")
            document = Document.new(session)
        recovery = None
        if self.offer_recovery:
            found = self.recovery.read()
            explicit = str(self.session_path) if self.session_path is not None else None
            if found is not None and (explicit is None or found.origin == explicit):
                recovery = found
        first = None  # the first plan, here rather than in one more worker: it is on screen sooner
        try:
            first = self._compute(document.session, catalog)
        except SessionError:
            pass  # request_plan reports it on the field
        self.post_message(Booted(_Boot(catalog, entries, document, error, recovery, catalog_error, first)))

    def on_booted(self, message: Booted) -> None:
        from .document import Document
        if not self.alive:
            return
        boot = message.boot
        self.catalog = boot.catalog
        self.sidebar.set_catalog(list(boot.catalog.gpus), list(boot.catalog.servers), boot.entries)
        self.booted = True
        if boot.error is not None:
            self._show_load_error(boot.error, modal=self.watch_path is None)
        self._set_document(boot.document, plan=boot.first_plan is None)
        if boot.first_plan is not None:
            self.plan_generation += 1
            plan, report = boot.first_plan
            self.on_plan_ready(PlanReady(plan, report, boot.document.session, self.plan_generation))
        if self.watch_path is not None:
            self._watch_key = _stat_key(self.watch_path)
            if boot.error is not None:  # not loaded: it becomes the document once it is fixed
                self.doc = Document.new(self.doc.session)
        if boot.catalog_error:
            self._error("Your catalog has a problem", boot.catalog_error)
        if boot.recovery is not None:
            self._offer_recovery(boot.recovery)

    # ------------------------------------------------------------------------------------
    # the document
    # ------------------------------------------------------------------------------------
    def _set_document(self, doc: Document, *, force_fields: bool = True, plan: bool = True) -> None:
        self.doc = doc
        if force_fields:
            self.field_errors = {}
        self.sidebar.show_session(doc.session.model_dump(mode="python"), force=force_fields)
        self._mark_fields()
        self._update_header()
        if plan:
            self.request_plan()
        self._refresh_sessions_pane(select=doc.name if doc.kind == "store" else None)

    def _edit(self, session: Session) -> None:
        assert self.doc is not None
        if session == self.doc.session:
            return
        self.doc = self.doc.edited(session)
        self._update_header()
        self.request_plan()

    def _update_header(self) -> None:
        if self.doc is None:
            return
        source = self.doc.source_label
        if self.watch_path is not None:
            source = f"watching {self.watch_path}"
        self._widgets["header"].show_session(self.doc.session.name, self.doc.dirty, source)
        pane = self.pane("sessions-pane")
        if pane is None:
            return
        pane.open_name = self.doc.name if self.doc.kind == "store" else None
        pane.open_dirty = self.doc.dirty

    @property
    def alive(self) -> bool:
        """False once the app is exiting: late worker/sampler messages are dropped."""
        return self.is_running and not self._exit

    @property
    def dirty(self) -> bool:
        return self.doc is not None and self.doc.dirty

    # ------------------------------------------------------------------------------------
    # edits from the sidebar
    # ------------------------------------------------------------------------------------
    def on_field_edited(self, message: FieldEdited) -> None:
        if self.doc is None:  # controls report their first values while the app starts
            return
        from sessions.errors import SessionError
        from sessions.io import update_session

        path = message.path
        spec = BY_PATH[path]
        if spec.kind == "choice":
            value = message.value
        else:
            try:
                value = parse_value(spec, message.value)
            except FieldInputError as exc:
                self._set_field_error(path, str(exc))
                return
        data = self.doc.session.model_dump(mode="python")
        if get_path(data, path) == value and type(get_path(data, path)) is type(value):
            self._set_field_error(path, None)
            return
        changes: dict[str, Any] = {path: value}
        if path == "hardware.gpu" and value is not None:
            changes["hardware.gpu_spec"] = None
        try:
            session = update_session(self.doc.session, changes)
        except SessionError as exc:
            self._set_field_error(path, _field_message(exc, path))
            return
        self._set_field_error(path, None)
        self._edit(session)

    def on_model_picked(self, message: ModelPicked) -> None:
        if self.doc is None:  # controls report their first values while the app starts
            return
        from sessions.errors import SessionError
        from sessions.io import update_session

        model_id = message.entry.id
        models = getattr(self.catalog, "models", None)
        if models is not None and hasattr(models, "resolve"):
            try:  # a typed id: only a catalog model enters the session (case-insensitive)
                model_id = models.resolve(model_id)
            except KeyError as exc:
                self._set_field_error("model.catalog", str(exc))
                return
        try:
            session = update_session(self.doc.session, {"model.catalog": model_id, "model.config": None})
        except SessionError as exc:
            self._set_field_error("model.catalog", _field_message(exc, "model.catalog"))
            return
        self._set_field_error("model.catalog", None)
        self._edit(session)

    def _set_field_error(self, path: str, message: str | None) -> None:
        if message is None:
            if self.field_errors.pop(path, None) is None:
                return
        else:
            self.field_errors[path] = message
        self._mark_fields()

    def _mark_fields(self) -> None:
        errors = {**self.resolve_errors, **self.field_errors}
        self.sidebar.mark_errors(errors)

    # ------------------------------------------------------------------------------------
    # planning: latest wins, off the UI thread
    # ------------------------------------------------------------------------------------
    def request_plan(self) -> None:
        if self.doc is None or self.catalog is None:
            return
        self.plan_generation += 1
        self.run_worker(
            partial(self._plan_job, self.doc.session, self.catalog, self.plan_generation),
            thread=True, exclusive=True, group="plan", exit_on_error=False, name="plan",
        )

    @staticmethod
    def _compute(session: Session, catalog: Any) -> tuple[Any, dict[str, Any]]:
        """Resolve and plan (any thread). Raises SessionError for what the user can fix."""
        from engine.plan import plan
        from sessions.resolve import to_plan_inputs

        result = plan(to_plan_inputs(session, catalog))
        return result, result.to_dict()

    def _plan_job(self, session: Session, catalog: Any, generation: int) -> None:
        from sessions.errors import SessionError

        worker = get_current_worker()
        try:
            result, report = self._compute(session, catalog)
        except SessionError as exc:
            if not worker.is_cancelled:
                self.post_message(PlanFailed(exc, generation))
            return
        if not worker.is_cancelled:
            self.post_message(PlanReady(result, report, session, generation))

    def on_plan_ready(self, message: PlanReady) -> None:
        if message.generation != self.plan_generation or not self.alive:
            return  # superseded by a newer input
        self.plan, self.report = message.plan, message.report
        self.planned_generation = message.generation
        report = message.report
        for name in ("sizing-pane", "serving-pane", "training-pane"):
            pane = self.pane(name)
            if pane is not None:
                pane.show(report)
        if self.monitor_pane is not None:
            self.monitor_pane.set_plan(message.plan)
        if not self._panes_mounted:
            self.call_after_refresh(self._mount_other_panes)
        if self.resolve_errors:
            self.resolve_errors = {}
            self._mark_fields()
        warnings: dict[str, list[str]] = {}
        for w in message.plan.warnings:
            spec = field_for(w.field) if w.field else None
            if spec is not None and w.severity != "info":
                warnings.setdefault(spec.path, []).append(w.message)
        self.sidebar.mark_warnings(warnings)

    def on_plan_failed(self, message: PlanFailed) -> None:
        if message.generation != self.plan_generation or not self.alive:
            return
        self.planned_generation = message.generation
        errors: dict[str, str] = {}
        for problem in message.error.problems:
            spec = field_for(problem.field)
            errors[spec.path if spec else "model.catalog"] = problem.message
        self.resolve_errors = errors
        self._mark_fields()

    @property
    def plan_settled(self) -> bool:
        """True when the newest input has been planned (or refused)."""
        return self.booted and self.planned_generation == self.plan_generation

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one path for worker failures: the JSON log and a short notice, never a traceback."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            where = logs.log_exception(f"worker.{event.worker.name or 'worker'}", event.worker.error)
            if event.worker.name == "plan":
                self.planned_generation = self.plan_generation
            self.notify(f"{event.worker.name or 'a task'} failed: {type(event.worker.error).__name__}. "
                        f"Details in {where}", title="Internal error", severity="error", timeout=8)

    # ------------------------------------------------------------------------------------
    # telemetry
    # ------------------------------------------------------------------------------------
    def _start_telemetry(self) -> None:
        from engine.telemetry.sampler import Sampler

        backend = self._backend
        if backend is None:
            from engine.telemetry.backend import create_backend

            backend = self._backend = create_backend()
        self._sampler = Sampler(backend, self._sample_arrived, interval_s=self.interval)
        self._sampler.start()

    def _sample_arrived(self, sample: HostSample) -> None:
        """Sampler thread: keep the newest; at most one message in flight (coalescing)."""
        with self._sample_lock:
            self._newest_sample = sample
            if self._sample_posted:
                return
            self._sample_posted = True
        self.post_message(HostSampleReady(sample))

    def on_host_sample_ready(self, message: HostSampleReady) -> None:
        with self._sample_lock:
            sample = self._newest_sample or message.sample
            self._newest_sample = None
            self._sample_posted = False
        if not self.alive or self._exiting:
            return  # a sample that arrived while the app is shutting down
        self.sample = sample
        level = "simulated" if sample.simulated else ("none" if not sample.gpus else "ok")
        if any(g.state != "ok" for g in sample.gpus):
            level = "bad"
        try:
            self._widgets["header"].show_host(host_summary(sample), level)
            if self.monitor_pane is not None:
                self.monitor_pane.update_sample(sample)
        except NoMatches:  # widgets already torn down on exit
            return

    def on_monitor_pane_alerts_changed(self, message: MonitorPane.AlertsChanged) -> None:
        if not self.alive:
            return
        tab = self.query_one(TabbedContent).get_tab("monitor")
        if message.critical:
            tab.label = f"Monitor [b red]{message.critical}![/]"
        elif message.active:
            tab.label = f"Monitor [b yellow]{message.active}[/]"
        else:
            tab.label = "Monitor"

    def _stop_telemetry(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop(timeout=2.0)

    def exit(self, *args: Any, **kwargs: Any) -> None:
        # Stop sampling before the widgets unmount, so no sample lands on a half-gone screen.
        self._exiting = True
        self._stop_telemetry()
        super().exit(*args, **kwargs)

    async def on_unmount(self) -> None:
        self._stop_telemetry()

    # ------------------------------------------------------------------------------------
    # watch mode
    # ------------------------------------------------------------------------------------
    def _poll_watch(self) -> None:
        path = self.watch_path
        if path is None or not self.booted:
            return
        key = _stat_key(path)
        if key == self._watch_key:
            return
        self._watch_key = key
        if key is None:
            self._set_banner(f"{path}: missing (deleted or moved?); showing the last good plan, watching for it")
            return
        self.reload_watched()

    def reload_watched(self) -> None:
        """Read the watched file again; a broken edit shows its error and keeps the last plan."""
        from sessions.errors import SessionError
        from sessions.io import parse_session
        from sessions.resolve import to_plan_inputs

        from .document import Document

        path = self.watch_path
        assert path is not None and self.doc is not None
        try:
            text = path.read_text("utf-8")
            session = parse_session(text, str(path))
            if self.catalog is not None:
                to_plan_inputs(session, self.catalog, file=str(path), text=text)
        except SessionError as exc:
            self._show_load_error(exc, modal=False)
            return
        except (OSError, UnicodeDecodeError) as exc:
            self._set_banner(f"{path}: cannot read: {exc}; showing the last good plan")
            return
        self._set_banner(None)
        self.load_error = None
        if self.doc.kind == "file" and self.doc.path == path and session == self.doc.baseline \
                and session == self.doc.session:
            return  # our own save, or a touch
        if self.doc.dirty and self.doc.kind == "file":
            self.notify(f"{path.name} changed on disk and was reloaded; unsaved edits here were replaced.",
                        severity="warning")
        else:
            self.notify(f"Reloaded {path.name}", timeout=2)
        self._set_document(Document.file(session, path))

    def action_reload(self) -> None:
        if self.watch_path is not None:
            self._watch_key = _stat_key(self.watch_path)
            self.reload_watched()

    def _show_load_error(self, error: SessionError, *, modal: bool) -> None:
        self.load_error = str(error)
        more = f" (+{len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        keep = "showing the last good plan" if self.plan is not None else "showing the default session"
        if self.watch_path is not None:
            keep += "; fix the file and it reloads"
        self._set_banner(f"✖ {error}{more} — {keep}")
        if modal:
            self._error("Cannot open the session", error.details(),
                        "The file was not changed. Fix it and open it again (ctrl+o).")

    def _set_banner(self, text: str | None) -> None:
        banner = self._widgets["banner"]
        banner.update(text or "")
        banner.set_class(bool(text), "-shown")

    # ------------------------------------------------------------------------------------
    # recovery
    # ------------------------------------------------------------------------------------
    def _write_recovery(self) -> None:
        """Every few seconds: unsaved work goes to the recovery file (and away once saved)."""
        from sessions.io import dump_session
        try:
            if self.doc is None:
                return
            if not self.doc.dirty:
                if self._recovery_text is not None:
                    self.recovery.clear()
                    self._recovery_text = None
                return
            text = dump_session(self.doc.session)
            if text != self._recovery_text:
                self.recovery.write(text, self.doc.origin)
                self._recovery_text = text
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the app
            logs.log_exception("recovery", exc)

    def handle_signal(self, signum: int, frame: Any = None) -> None:
        """SIGHUP/SIGTERM (a dropped SSH connection): write unsaved work, then exit cleanly."""
        from sessions.io import dump_session
        try:
            if self.doc is not None and self.doc.dirty:
                self.recovery.write(dump_session(self.doc.session), self.doc.origin)
                self._recovery_text = None
            log.info("signal %s: %s", signum, "recovery written" if self.dirty else "nothing unsaved")
        except Exception as exc:  # noqa: BLE001
            logs.log_exception("signal", exc)
        loop = getattr(self, "_loop", None)
        code = 128 + int(signum)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(partial(self.exit, return_code=code))
        else:
            self.exit(return_code=code)

    def _offer_recovery(self, found: Any) -> None:
        from sessions.errors import SessionError
        from sessions.io import parse_session

        from .screens.dialogs import RestoreScreen

        try:
            session = parse_session(found.text, "<recovered work>")
        except SessionError as exc:
            logs.log_exception("recovery", exc)
            self.recovery.clear()
            return
        when = found.saved_at.astimezone().strftime("%Y-%m-%d %H:%M")

        def answer(restore: bool | None) -> None:
            if not restore:
                self.recovery.clear()
                return
            self._restore(session, found.origin)

        self.push_screen(RestoreScreen(session.name, found.origin, when), answer)

    def _restore(self, session: Session, origin: str | None) -> None:
        from sessions.errors import SessionError
        from sessions.io import load_session

        from .document import Document, parse_origin
        kind, name, path = parse_origin(origin)
        doc = Document(session, "new")  # baseline None: dirty until saved
        if kind == "store" and name:
            try:
                doc = Document(session, "store", baseline=self.store.load(name), name=name)
            except (SessionError, OSError, ValueError):
                pass  # the stored session is gone: save asks a name
        elif kind == "file" and path is not None:
            try:
                doc = Document(session, "file", baseline=load_session(path), path=path)
            except SessionError:
                pass  # never overwrite a file that no longer loads: save asks a name
        self._set_document(doc)
        self.notify(f"Restored unsaved work on '{session.name}'. Save it with ctrl+s.")

    # ------------------------------------------------------------------------------------
    # saving, opening, renaming, deleting
    # ------------------------------------------------------------------------------------
    def action_save(self) -> None:
        if self.doc is None:
            return
        if self.doc.kind == "file" and self.doc.path is not None:
            self._save_file(self.doc.path)
        elif self.doc.kind == "store" and self.doc.name:
            self._save_store(self.doc.name)
        else:
            self.action_save_as()

    def action_save_as(self, then: Callable[[], None] | None = None) -> None:
        from .screens.dialogs import PromptScreen

        if self.doc is None:
            return
        current = self.doc.session.name

        def chosen(name: str | None) -> None:
            if not name:
                return
            if self.store.exists(name) and not (self.doc and self.doc.kind == "store" and self.doc.name == name):
                self._confirm(f"Replace '{name}'?", f"A saved session named '{name}' exists. Replace it? "
                              "(its current content is kept as a version)",
                              lambda yes: yes and self._save_store(name, then), danger=True)
                return
            self._save_store(name, then)

        self.push_screen(PromptScreen("Save session", "Name (saved in your sessions folder):", current,
                                      check=_name_problem), chosen)

    def _save_store(self, name: str, then: Callable[[], None] | None = None) -> None:
        from sessions.errors import SessionError
        from sessions.io import update_session
        from sessions.store import InvalidSessionName

        from .document import Document
        assert self.doc is not None
        try:
            session = self.doc.session
            if session.name != name:
                session = update_session(session, {"name": name})
            path = self.store.save(session, name)
        except (OSError, SessionError, InvalidSessionName) as exc:
            self._error("Save failed", str(exc))
            return
        renamed = session.name != self.doc.session.name
        self.doc = Document.stored(session, name)
        self._after_save(f"Saved '{name}' ({path})")
        if renamed:
            self.request_plan()  # the report carries the name
        if then:
            then()

    def _save_file(self, path: Path) -> None:
        from sessions.io import save_session
        assert self.doc is not None
        try:
            save_session(self.doc.session, path)
        except OSError as exc:
            self._error("Save failed", f"{path}: {exc}", "The file was not changed.")
            return
        if self.watch_path is not None and path == self.watch_path:
            self._watch_key = _stat_key(path)
        self.doc = self.doc.saved()
        self._after_save(f"Saved {path}")

    def _after_save(self, note: str) -> None:
        if self.field_errors:
            note += f" — {len(self.field_errors)} invalid field(s) were not saved"
        self.recovery.clear()
        self._recovery_text = None
        self._update_header()
        self.sidebar.show_session(self.doc.session.model_dump(mode="python"))
        self._refresh_sessions_pane()
        self.notify(note, timeout=3)

    def _guard_unsaved(self, what: str, proceed: Callable[[], None]) -> None:
        """Run `proceed` now, or after asking to save/discard unsaved changes."""
        from .screens.dialogs import QuitScreen

        if not self.dirty:
            proceed()
            return

        def answer(choice: str | None) -> None:
            if choice == "save":
                self._save_then(proceed)
            elif choice == "discard":
                proceed()

        assert self.doc is not None
        self.push_screen(QuitScreen(self.doc.session.name, what), answer)

    def _save_then(self, proceed: Callable[[], None]) -> None:
        assert self.doc is not None
        if self.doc.kind == "new":
            self.action_save_as(then=proceed)
            return
        self.action_save()
        if not self.dirty:
            proceed()

    def action_open(self) -> None:
        from .screens.browser import SessionBrowser

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is None:
                return
            kind, value = choice
            self.open_stored(value) if kind == "store" else self.open_file(Path(value))

        self._guard_unsaved("open another session", lambda: self.push_screen(SessionBrowser(self.store), chosen))

    def open_stored(self, name: str, version: str | None = None) -> None:
        from sessions.errors import SessionError
        from sessions.store import InvalidSessionName

        from .document import Document
        try:
            if version is None:
                session = self.store.load(name)
                doc = Document.stored(session, name)
            else:
                session = self.store.load_version(name, version)
                doc = Document.stored(session, name, baseline=self.store.load(name))
        except (SessionError, OSError, KeyError, InvalidSessionName) as exc:
            self._error("Cannot open the session", str(exc), "Nothing was changed.")
            return
        self._set_banner(None)
        self._set_document(doc)
        self.action_tab("sizing")

    def open_file(self, path: Path) -> None:
        from sessions.errors import SessionError
        from sessions.io import load_session

        from .document import Document
        try:
            session = load_session(path)
        except SessionError as exc:
            self._error("Cannot open the session", exc.details(), "The file was not changed.")
            return
        self._set_banner(None)
        self._set_document(Document.file(session, path))

    def action_new(self) -> None:
        from sessions.io import parse_session

        from .document import Document, default_session_text
        def fresh() -> None:
            self._set_banner(None)
            self._set_document(Document.new(parse_session(default_session_text(), "<default session>")))

        self._guard_unsaved("start a new session", fresh)

    def action_rename(self, old: str | None = None) -> None:
        from sessions.errors import SessionError
        from sessions.io import update_session
        from sessions.store import InvalidSessionName

        from .document import Document
        from .screens.dialogs import PromptScreen

        if self.doc is None:
            return
        open_name = self.doc.name if self.doc.kind == "store" else None
        target = old or open_name
        current = target or self.doc.session.name

        def chosen(new: str | None) -> None:
            if not new or new == current:
                return
            if target is None:  # not saved in the store: just the name field
                self._edit(update_session(self.doc.session, {"name": new}))
                return
            try:
                self.store.rename(target, new)
                stored = self.store.load(new)
                self.store.save(update_session(stored, {"name": new}), new)
            except (OSError, SessionError, InvalidSessionName) as exc:
                self._error("Rename failed", str(exc))
                return
            if target == open_name:
                self.doc = Document(update_session(self.doc.session, {"name": new}), "store",
                                    baseline=self.store.load(new), name=new)
                self._update_header()
            self._refresh_sessions_pane(select=new)
            self.notify(f"Renamed '{target}' to '{new}'")

        self.push_screen(PromptScreen("Rename session", f"New name for '{current}':", current,
                                      check=_name_problem), chosen)

    def action_delete(self, name: str | None = None) -> None:
        from sessions.store import InvalidSessionName

        from .document import Document
        if self.doc is None:
            return
        open_name = self.doc.name if self.doc.kind == "store" else None
        target = name or open_name
        if target is None:
            self.notify("This session is not saved in your sessions folder: nothing to delete.",
                        severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            try:
                where = self.store.delete(target)
            except (OSError, InvalidSessionName) as exc:
                self._error("Delete failed", str(exc))
                return
            if target == open_name and self.doc is not None:
                self.doc = Document(self.doc.session, "new")  # still on screen, now unsaved
                self._update_header()
            self._refresh_sessions_pane()
            self.notify(f"Moved '{target}' to the trash ({where.parent})")

        self._confirm("Delete session", f"Move '{target}' and its versions to the trash?", answer, danger=True)

    # ------------------------------------------------------------------------------------
    # the Sessions tab
    # ------------------------------------------------------------------------------------
    def _refresh_sessions_pane(self, select: str | None = None) -> None:
        self._update_header()
        pane = self.pane("sessions-pane")
        if pane is not None and self.booted:
            pane.reload(select)

    def on_sessions_pane_mounted(self, message: SessionsPaneMounted) -> None:
        if self.doc is not None:
            self._refresh_sessions_pane(select=self.doc.name if self.doc.kind == "store" else None)

    def on_session_action(self, message: SessionAction) -> None:
        from .widgets.sessions_tab import CURRENT, UNSAVED

        ref = message.ref
        if message.action == "open":
            if ref.version == UNSAVED:
                self.action_tab("sizing")
                return
            version = None if ref.version == CURRENT else ref.version
            if self.doc is not None and self.doc.kind == "store" and self.doc.name == ref.name and version is None \
                    and not self.dirty:
                self.action_tab("sizing")
                return
            self._guard_unsaved("open another session", lambda: self.open_stored(ref.name, version))
        elif message.action == "rename":
            self.action_rename(ref.name)
        elif message.action == "delete":
            self.action_delete(ref.name)

    def on_diff_requested(self, message: DiffRequested) -> None:
        editor = self.doc.session if self.doc is not None else None
        self._diff_job(message.a, message.b, editor)

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False, name="diff")
    def _diff_job(self, a: VersionRef, b: VersionRef, editor: Session | None) -> None:
        from sessions.errors import SessionError
        from engine.plan import plan
        from sessions.diff import diff_inputs, diff_results
        from sessions.resolve import to_plan_inputs

        from .widgets.sessions_tab import CURRENT, UNSAVED

        def load(ref: VersionRef) -> Session:
            if ref.version == UNSAVED and editor is not None:
                return editor
            if ref.version == CURRENT:
                return self.store.load(ref.name)
            return self.store.load_version(ref.name, ref.version)

        try:
            sa, sb = load(a), load(b)
            inputs = diff_inputs(sa, sb)
            ra = plan(to_plan_inputs(sa, self.catalog)).to_dict()
            rb = plan(to_plan_inputs(sb, self.catalog)).to_dict()
            results = diff_results(ra, rb)
            error = None
        except (SessionError, OSError, KeyError, ValueError) as exc:
            inputs, results, error = [], [], str(exc)
        if not get_current_worker().is_cancelled:
            self.post_message(DiffReady(a, b, inputs, results, error))

    def on_diff_ready(self, message: DiffReady) -> None:
        if not self.alive:
            return
        pane = self.pane("sessions-pane")
        if pane is not None:
            pane.show_diff(message.a, message.b, message.inputs, message.results,
                           message.error)

    # ------------------------------------------------------------------------------------
    # export and import
    # ------------------------------------------------------------------------------------
    def action_export(self, fmt: str) -> None:
        from .screens.dialogs import PromptScreen

        if self.plan is None or self.doc is None:
            self.notify("No plan to export yet.", severity="warning")
            return
        ext = {"text": "txt", "md": "md", "json": "json", "csv": "csv"}[fmt]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", self.doc.session.name).strip("-") or "plan"
        default = str(Path.cwd() / f"{slug}.{ext}")
        plan_now = self.plan

        def chosen(target: str | None) -> None:
            if not target:
                return
            path = Path(target).expanduser()
            problem = self._export_problem(path)
            if problem:
                self._error("Export refused", problem)
                return
            if path.exists():
                self._confirm("Replace file?", f"{path} exists. Replace it with the report?",
                              lambda yes: yes and self._write_export(path, plan_now, fmt), danger=True)
                return
            self._write_export(path, plan_now, fmt)

        self.push_screen(PromptScreen(f"Export report ({fmt})", "Write the report to:", default), chosen)

    def _export_problem(self, path: Path) -> str | None:
        if path.is_dir():
            return f"{path} is a folder"
        protected = [p for p in (self.session_path, self.doc.path if self.doc else None) if p is not None]
        for p in protected:
            try:
                if path.resolve() == p.resolve():
                    return f"{path} is the session file: a report never replaces it"
            except OSError:
                pass
        if path.suffix.lower() == ".toml" and path.exists():
            return f"{path} is an existing TOML file: refusing to replace it with a report"
        return None

    def _write_export(self, path: Path, plan_now: Any, fmt: str) -> None:
        from catalogs.files import atomic_write_text

        from .report import render

        try:
            atomic_write_text(path, render(plan_now, fmt))
        except OSError as exc:
            self._error("Export failed", f"{path}: {exc}")
            return
        self.notify(f"Wrote {path}", timeout=4)

    def action_import_config(self) -> None:
        from .screens.dialogs import PromptScreen

        def chosen(target: str | None) -> None:
            if target:
                self.import_config(Path(target).expanduser())

        self.push_screen(PromptScreen("Import a Hugging Face config.json", "Path to config.json (or its folder):",
                                      "", placeholder="~/models/my-model/config.json"), chosen)

    def import_config(self, path: Path) -> None:
        from sessions.errors import SessionError
        from sessions.io import update_session
        from catalogs.errors import CatalogError
        from catalogs.hf import import_config_json

        assert self.doc is not None
        try:
            entry = import_config_json(path)
            config = dict(entry.config)
            config.setdefault("_name_or_path", entry.hf_repo or entry.name or entry.id)
            session = update_session(self.doc.session, {"model.catalog": None, "model.config": config})
        except (CatalogError, SessionError, OSError, ValueError) as exc:
            self._error("Cannot import the config", str(exc))
            return
        self._set_field_error("model.catalog", None)
        self._edit(session)
        self.sidebar.show_session(session.model_dump(mode="python"))
        self.notify(f"Sizing {config['_name_or_path']} from {path} (inlined into the session)")

    # ------------------------------------------------------------------------------------
    # view actions
    # ------------------------------------------------------------------------------------
    def action_toggle_sidebar(self) -> None:
        self._set_sidebar(not self.sidebar.display)

    def _set_sidebar(self, show: bool, focus: bool = True) -> None:
        sidebar = self.sidebar
        sidebar.display = show
        self.set_class(not show, "-sidebar-hidden")
        if show and focus:
            for control in sidebar.query("Input, Select"):
                if control.focusable:
                    control.focus()
                    break
        elif not show and self.focused is not None and sidebar in self.focused.ancestors:
            self.screen.set_focus(None)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    MAIN_SCREEN_ACTIONS = frozenset({"save", "open", "new", "toggle_sidebar", "tab", "help"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a dialog is up, the app's keys (ctrl+s, ctrl+b, ...) wait for it to close."""
        if action in self.MAIN_SCREEN_ACTIONS and self.screen is not self.default_screen:
            return False
        return True

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_cycle_theme(self) -> None:
        names = [t.name for t in THEMES]
        nxt = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.theme = nxt
        _save_theme_choice(nxt)
        self.notify(f"Theme: {nxt}", timeout=2)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit",):  # ours asks about unsaved work
                yield command

    async def action_quit(self) -> None:
        def leave() -> None:
            self.recovery.clear()
            self.exit()

        self._guard_unsaved("quit", leave)

    # ------------------------------------------------------------------------------------
    # small helpers
    # ------------------------------------------------------------------------------------
    def _error(self, title: str, message: str, hint: str = "") -> None:
        from .screens.dialogs import ErrorScreen

        self.push_screen(ErrorScreen(title, message, hint))

    def _confirm(self, title: str, message: str, then: Callable[[bool], Any], danger: bool = False) -> None:
        from .screens.dialogs import ConfirmScreen

        self.push_screen(ConfirmScreen(title, message, danger=danger), lambda yes: then(bool(yes)))

    def _handle_exception(self, error: Exception) -> None:
        """Anything unexpected goes to the JSON log; the terminal gets one line, not a traceback."""
        self._crash_log = logs.log_exception("app", error)
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        where = getattr(self, "_crash_log", None)
        if self._exit_renderables and where is not None:
            import sys

            err = self._exception
            print(f"gpuplan: internal error: {type(err).__name__}: {err} (details in {where})", file=sys.stderr)
            self._exit_renderables.clear()
            return
        super()._print_error_renderables()


# ----------------------------------------------------------------------------------------
# module helpers
# ----------------------------------------------------------------------------------------


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _field_message(error: SessionError, path: str) -> str:
    for problem in error.problems:
        if problem.field == path or problem.field.startswith(path):
            return problem.message
    return error.problems[0].message


def _name_problem(name: str) -> str | None:
    from sessions.store import InvalidSessionName, check_name
    try:
        check_name(name)
    except InvalidSessionName as exc:
        return str(exc)
    return None


def _settings_path() -> Path:
    """`settings.json` in the state dir (logs.state_dir / catalogs.files.app_dir("state"), worked
    out here without importing the catalogs: it is read before the first frame)."""
    home = os.environ.get("GPUPLAN_HOME")
    if home:
        return Path(home).expanduser() / "state" / "settings.json"
    import platformdirs

    return Path(platformdirs.user_state_dir("gpuplan", appauthor=False)) / "settings.json"


def _load_theme_choice() -> str | None:
    import json

    try:
        theme = json.loads(_settings_path().read_text("utf-8")).get("theme")
    except (OSError, ValueError, AttributeError):
        return None
    return theme if isinstance(theme, str) and theme in {t.name for t in THEMES} else None


def _save_theme_choice(theme: str) -> None:
    import json

    from catalogs.files import atomic_write_text

    try:
        path = _settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"theme": theme}))
    except OSError as exc:
        logs.log_exception("settings", exc)


# ----------------------------------------------------------------------------------------
# entry point (tui/cli.py)
# ----------------------------------------------------------------------------------------


def run_app(
    session_path: Path | None = None,
    watch_file: bool = False,
    monitor_first: bool = False,
    interval: float = 1.0,
    replay: Path | None = None,
    simulate: int | None = None,
    record: Path | None = None,
    mouse: bool = True,
) -> int:
    """Pick the telemetry backend, install the SIGHUP/SIGTERM handlers, run the app."""
    from engine.telemetry.backend import BackendUnavailable, create_backend

    logs.configure()
    try:
        backend = create_backend(simulate=simulate, replay=replay, record=record)
    except (BackendUnavailable, OSError, ValueError) as exc:
        from .cli import BadInput

        raise BadInput(str(exc)) from exc
    app = GpuPlanApp(session_path, watch=watch_file, monitor_first=monitor_first, interval=interval,
                     backend=backend, recording=record)
    previous = {}
    for sig in (signal.SIGHUP, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, app.handle_signal)
        except (ValueError, OSError):  # not the main thread / not supported here
            pass
    try:
        result = app.run(mouse=mouse)
    except OSError as exc:  # the terminal went away under us (after a hangup)
        logs.log_exception("run", exc)
        result = app.return_code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    code = app.return_code if app.return_code is not None else (result or 0)
    return int(code or 0)
