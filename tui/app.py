"""The gpuplan app: it composes the screen and routes messages between the widgets and three
controllers, each a plain object that a test drives without a screen:

- `tui/planning.py` PlanningController: latest-wins plan jobs over the session model (a newer
  input supersedes an older run; a plan answering an older input is dropped; a plan result never
  writes into a field), the current Plan and the field marks it implies.
- `tui/persistence.py` DocumentController: the open document and its files (save, open,
  versions, rename, delete, recovery, watch mode, export, import, diff).
- `tui/telemetry_link.py` TelemetryLink: the Sampler thread, coalesced `HostSampleReady`s.
- `tui/editing.py`: a field's text or a picked model applied to the session (pure functions).

Data flow (DESIGN section 2): an input changes -> `editing` validates it against the session
model (an invalid value marks its field and keeps the last plan) -> the planning controller runs
`plan()` latest-wins in a thread worker -> one `PlanReady` -> every registered pane renders from
that one immutable Plan. Telemetry: the link posts coalesced `HostSampleReady` messages. Workers
never touch widgets; failures go to the JSON log (one `Worker.StateChanged` error path).

Adding a tab (Serving curve, Training, Forecast, Fleet, Search, ...): write the pane widget in
`tui/widgets/` with `show(report)` (guarded until mounted; it renders `app.report` on mount)
and add one `PaneSpec` to `PANES` in `tui/pane_registry.py`. The app then mounts it when its tab
is first shown, gives it the next digit key and alt+digit, lists it in the palette and hands it
every plan (`on_plan`, by default `pane.show(report)`). Nothing in this file changes. A pane
that needs more than the plan (a sample, a worker of its own) posts messages the app routes to
a controller; panes never compute and never import the engine at module level.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from . import logs, textual_fixes
from .editing import Edit, edit_field, pick_model
from .file_actions import FileActions
from .hostinfo import host_summary
from .input_gate import StartupInputGate
from .keys import OPTION_DIGIT_KEYS
from .messages import FieldEdited, HostSampleReady, ModelPicked, PlanFailed, PlanReady
from .pane_registry import BY_TAB, PANES, SESSION_TAB_BY_TAB, SESSION_TABS, TABS
from .persistence import Boot, DocumentController, DocumentProblem
from .planning import PlanningController
from .telemetry_link import TelemetryLink, host_level
from .themes import THEMES, load_theme_choice, save_theme_choice
from .widgets.header import AppHeader
from .widgets.sidebar import Sidebar

if TYPE_CHECKING:  # the session layer and the engine are imported after the first frame
    from engine.telemetry.samples import HostSample
    from sessions.errors import SessionError
    from sessions.schema import Session
    from sessions.recovery import RecoveryStore
    from sessions.store import SessionStore

    from .document import Document
    from .widgets.monitor import MonitorPane


def _commands_provider() -> type:
    """The palette's provider, imported when the palette first opens."""
    from .commands import GpuPlanCommands

    return GpuPlanCommands


log = logging.getLogger("gpuplan.app")
textual_fixes.install()  # Textual 8.2.8 keeps dead widgets' render caches (tui/textual_fixes.py)

NARROW = 100  # below this width the sidebar starts hidden and panes stack
WIDE = 160
RECOVERY_EVERY_S = 3.0
WATCH_EVERY_S = 0.5
# Tabs not shown yet are mounted one at a time once nobody has typed for this long, so that a
# later switch is instant (a first visit that mounts its pane takes ~3x a revisit: bench
# tab_first_visit_ms); a tab switched to before that is mounted as it is shown. None: never (the
# app tests, so that what is mounted depends on what the test did, not on how long it took).
PREFETCH_IDLE_S: float | None = 2.0


class Booted(Message):
    def __init__(self, boot: Boot) -> None:
        super().__init__()
        self.boot = boot


class GpuPlanApp(FileActions, StartupInputGate, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "gpuplan"
    COMMANDS = App.COMMANDS | {_commands_provider}
    ENABLE_COMMAND_PALETTE = True
    # Nothing has focus at start-up: the digit keys switch tabs and typing edits nothing until
    # the user enters a field (tab, a click, ctrl+b); escape leaves it again (issue 7 item 2).
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+o", "open", "Open", priority=True),
        Binding("ctrl+n", "new", "New", show=False, priority=True),
        Binding("ctrl+b", "toggle_sidebar", "Inputs", priority=True),
        # Priority, so `?` opens help from a sidebar field too (FieldInput leaves `?` to the app);
        # in a dialog's text field it types a `?`.
        Binding("question_mark,f1", "help", "Help", key_display="?", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Digits switch tabs wherever they are not text (nothing has focus at start-up; escape
        # leaves a field); alt+digit switches from anywhere, a field included, and so do the
        # characters a macOS terminal sends for Option+digit (Option+2 is "™"), never typed.
        *[Binding(f"{n + 1}", f"tab('{t}')", t.title(), show=False) for n, t in enumerate(TABS)],
        *[Binding(f"alt+{n + 1}", f"tab('{t}')", t.title(), show=False, priority=True) for n, t in enumerate(TABS)],
        *[Binding(key, f"tab('{t}')", t.title(), show=False, priority=True)
          for key, t in zip(OPTION_DIGIT_KEYS, TABS)],
        # the tabs a session adds (Fleet, while it names a Prometheus) take the next digits
        *[Binding(f"{n + 1}", f"tab('{s.tab}')", s.title, show=False) for n, s in enumerate(SESSION_TABS, len(TABS))],
        *[Binding(f"alt+{n + 1}", f"tab('{s.tab}')", s.title, show=False, priority=True)
          for n, s in enumerate(SESSION_TABS, len(TABS))],
        *[Binding(key, f"tab('{s.tab}')", s.title, show=False, priority=True)
          for key, s in zip(OPTION_DIGIT_KEYS[len(TABS):], SESSION_TABS)],
        Binding("escape", "leave_field", "Leave field", show=False),
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
        recovery: RecoveryStore | None = None,
        catalog: Any = None,
        offer_recovery: bool = True,
        telemetry: bool = True,
        recording: Path | str | None = None,
        planner: Callable[[Session, Any], tuple[Any, dict[str, Any]]] | None = None,
    ) -> None:
        super().__init__()
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = load_theme_choice() or "gpuplan-dark"
        path = Path(session_path).expanduser() if session_path is not None else None
        self.documents = DocumentController(path, watch=watch, store=store, recovery=recovery,
                                            offer_recovery=offer_recovery)
        if offer_recovery:
            self.close_input_gate()  # until the boot says whether there is work to recover (input_gate.py)
        self.planning = PlanningController(self._run_plan_job, self.post_message, planner)
        self.telemetry_link = TelemetryLink(self.post_message, backend=backend, interval_s=interval)
        self.monitor_first = monitor_first
        self.interval = interval
        self.catalog = catalog
        self.telemetry = telemetry
        self.recording = str(recording) if recording is not None else None
        self._exiting = False
        self._panes_mounted = False
        self.after_prefetch: Callable[[], None] | None = None  # once every tab is mounted (launch.py)
        self._last_input_at = 0.0  # monotonic time of the last key, paste or click
        self._mounting: list[tuple[Any, Any]] = []  # (widget, its mount) in flight: exit awaits them
        self._widgets: dict[str, Any] = {}
        self.sample: HostSample | None = None
        self.booted = False
        self._first_frame_shown = False
        self._banner_text: str | None = None  # the banner's message, without the storage warning
        # Set whenever something a waiter may be waiting for happened (boot done, a plan or a
        # refusal landed, the fields mounted, a worker ended, the app exits): tests and the bench
        # wait on it (`wait_for_progress`), never on a clock.
        self._progress = asyncio.Event()

    # ------------------------------------------------------------------------------------
    # the controllers' state, as the panes, the palette and the tests read it
    # ------------------------------------------------------------------------------------
    @property
    def doc(self) -> Document | None:
        return self.documents.doc

    @doc.setter
    def doc(self, doc: Document | None) -> None:
        self.documents.doc = doc

    @property
    def plan(self) -> Any:
        return self.planning.plan

    @property
    def report(self) -> dict[str, Any] | None:
        return self.planning.report

    @property
    def dirty(self) -> bool:
        return self.documents.dirty

    @property
    def session_path(self) -> Path | None:
        return self.documents.session_path

    @property
    def watch_path(self) -> Path | None:
        return self.documents.watch_path

    @property
    def load_error(self) -> str | None:
        return self.documents.load_error

    @property
    def store(self) -> SessionStore:
        return self.documents.store

    @property
    def recovery(self) -> RecoveryStore:
        return self.documents.recovery

    @property
    def field_errors(self) -> dict[str, str]:
        return self.planning.field_errors

    @property
    def plan_settled(self) -> bool:
        """True when the newest input has been planned (or refused)."""
        return self.booted and self.planning.settled()

    @property
    def settled(self) -> bool:
        """Booted, the fields on screen and the newest input planned (no plan job running)."""
        sidebar = self._widgets.get("sidebar")
        # a hidden sidebar builds its fields when first shown (`gpuplan watch`, a narrow terminal)
        fields = sidebar is not None and (sidebar.built and sidebar.synced or
                                          (self._panes_mounted and not sidebar.built and not sidebar.display))
        return (self.plan_settled and fields
                and not any(w.group in ("plan", "boot") and not w.is_finished for w in self.workers))

    def _note_progress(self) -> None:
        self._progress.set()

    async def wait_for_progress(self) -> None:
        """Return at the next sign of progress (see `_progress`); at once while exiting."""
        self._progress.clear()
        if self._exit or not self.is_running:
            return
        await self._progress.wait()

    @property
    def alive(self) -> bool:
        """False once the app is exiting: late worker/sampler messages are dropped."""
        return self.is_running and not self._exit

    # ------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield AppHeader(id="header")
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="main"):
                yield Static("", id="banner", markup=False)
                yield Static("", id="stale", markup=False)
                with TabbedContent(initial="monitor" if self.monitor_first else "sizing", id="tabs"):
                    # A pane is mounted (and its module imported) when its tab is first shown,
                    # after the first frame, which comes up about as fast as a bare Textual
                    # app's; a pane pulls the current plan when it mounts.
                    for spec in PANES:
                        yield TabPane(spec.title, id=spec.tab)
        yield Footer()

    @property
    def pane_specs(self) -> tuple[Any, ...]:
        """The registered tabs, in order (help and the palette list them)."""
        return PANES

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
        return self._widgets.get(BY_TAB["monitor"].widget_id)

    def on_sidebar_ready(self, message: Sidebar.Ready) -> None:
        self._note_progress()

    def on_mount(self) -> None:
        # Looked up once: a plan renders many times a second while typing.
        self._widgets.update({
            "sidebar": self.query_one("#sidebar", Sidebar),
            "header": self.query_one("#header", AppHeader),
            "banner": self.query_one("#banner", Static),
            "stale": self.query_one("#stale", Static),
        })
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
        the sidebar's fields and the panes that work while hidden once the first plan is on
        screen (or after a second): the plan shows up as early as it can."""
        self._boot()
        self._mount_panes(["monitor" if self.monitor_first else "sizing"])
        if self.telemetry:
            self.telemetry_link.start()
        self.set_interval(RECOVERY_EVERY_S, self._write_recovery, name="recovery")
        if self.watch_path is not None:
            self.set_interval(WATCH_EVERY_S, self._poll_watch, name="watch")
        self.set_timer(1.0, self._mount_other_panes)

    def _mount_panes(self, names: Iterable[str]) -> list[Any]:
        """Mount the panes of these tabs that are not mounted yet; their mounts, to await."""
        tabs = self.query_one(TabbedContent)
        stale = self._widgets["stale"].has_class("-shown")
        mounts = []
        for name in names:
            spec = BY_TAB[name]
            holder = tabs.get_pane(name)
            if holder.children:
                continue
            pane = self._widgets[spec.widget_id] = spec.build(self)
            pane.set_class(stale, "-stale")
            mounts.append(holder.mount(pane))
            self._track_mount(pane, mounts[-1])
            if spec.mounted is not None:
                spec.mounted(self, pane)
        return mounts

    def _track_sidebar(self, mount: Any) -> None:
        if mount is not None:  # the fields' container, mounting
            self._track_mount(self.sidebar.children[-1], mount)

    def _track_mount(self, widget: Any, mount: Any) -> None:
        self._mounting = [(w, m) for w, m in self._mounting if not w.is_mounted]
        if mount is not None:
            self._mounting.append((widget, mount))

    def _mount_other_panes(self) -> None:
        """Once the first plan is on screen: the sidebar's fields (when shown) and the panes that
        work while hidden; the others wait for their tab (pane_registry.py)."""
        if not self._panes_mounted and self.alive:
            self._panes_mounted = True
            if self.sidebar.display:
                self._track_sidebar(self.sidebar.build())
            self._mount_panes([spec.tab for spec in PANES if spec.eager is not None and spec.eager(self)])
            if PREFETCH_IDLE_S is not None:
                self.set_timer(PREFETCH_IDLE_S, self._prefetch_pane, name="prefetch")
            self._note_progress()

    def _prefetch_pane(self) -> None:
        """While nobody types, no plan is running and no dialog is up: mount the next tab not
        shown yet, one every quarter second."""
        if not self.alive:
            return
        idle_for = time.monotonic() - self._last_input_at
        if idle_for < PREFETCH_IDLE_S or not self.planning.settled() or self.screen is not self.default_screen:
            self.set_timer(max(0.1, PREFETCH_IDLE_S - idle_for), self._prefetch_pane, name="prefetch")
            return
        tabs = self.query_one(TabbedContent)
        waiting = [spec.tab for spec in PANES if not tabs.get_pane(spec.tab).children]
        if waiting:
            self._mount_panes(waiting[:1])
            self.set_timer(0.25, self._prefetch_pane, name="prefetch")
        elif self.after_prefetch is not None:
            done, self.after_prefetch = self.after_prefetch, None
            done()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste, events.MouseDown)):
            self._last_input_at = time.monotonic()
        await super().on_event(event)

    async def _shutdown(self) -> None:
        """A pane still mounting is let finish before the widgets are torn down: a Select whose
        on_mount runs on a half-removed tree raises (seen when the app ended mid-mount)."""
        pending = [m for w, m in self._mounting if not w.is_mounted]
        if pending:
            try:
                await asyncio.wait_for(asyncio.gather(*(_wait(m) for m in pending)), timeout=5.0)
            except Exception:  # noqa: BLE001 - never hold the exit: a mount that fails is the log's business
                log.warning("exit: a pane was still mounting", exc_info=True)
        await super()._shutdown()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = event.pane.id
        if tab in BY_TAB and self._first_frame_shown:
            self._mount_panes([tab])

    def on_resize(self, event: Any) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        self.set_class(width < NARROW, "-narrow")
        self.set_class(width >= WIDE, "-wide")
        self._apply_cramped()

    def _apply_cramped(self) -> None:
        """Narrow with the sidebar shown: the panes keep their figures whole and scroll sideways."""
        sidebar = self._widgets.get("sidebar")
        self.set_class(self.has_class("-narrow") and sidebar is not None and bool(sidebar.display), "-cramped")

    # ------------------------------------------------------------------------------------
    # boot: catalog, the first session, recovered work (off the UI thread)
    # ------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="boot", exit_on_error=False, name="boot")
    def _boot(self) -> None:
        self.post_message(Booted(self.documents.boot(self.catalog, self.planning.compute)))

    def on_booted(self, message: Booted) -> None:
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
            plan, report = boot.first_plan
            self.on_plan_ready(self.planning.first_plan(plan, report, boot.document.session))
        self.documents.booted(boot)
        if boot.catalog_error:
            self._error("Your catalog has a problem", boot.catalog_error)
        if boot.storage_problem:
            self._set_banner(None)  # shows the storage problem while it lasts
            self.notify(boot.storage_problem, severity="warning", timeout=15)
        if boot.recovery:
            self._offer_recovery(boot.recovery)
        self._release_startup_input()
        self._note_progress()

    def _release_startup_input(self) -> None:
        """Keys typed during start-up: replayed, unless a dialog (recovery, a load error) came first."""
        dropped = self.release_input_gate(drop=self.screen is not self.default_screen)
        if dropped:
            self.notify(f"{dropped} key{'s' if dropped != 1 else ''} typed during start-up "
                        f"{'were' if dropped != 1 else 'was'} not applied: answer this first.", timeout=6)

    # ------------------------------------------------------------------------------------
    # the document
    # ------------------------------------------------------------------------------------
    def _set_document(self, doc: Document, *, force_fields: bool = True, plan: bool = True) -> None:
        self.documents.doc = doc
        if force_fields:
            self.planning.field_errors.clear()
        self.sidebar.show_session(doc.session.model_dump(mode="python"), force=force_fields)
        self._mark_fields()
        self._update_header()
        if plan:
            self.request_plan()
        self._refresh_sessions_pane(select=self.documents.open_name)

    def _edit(self, session: Session) -> None:
        if self.documents.edit(session):
            self._update_header()
            self.request_plan()

    def apply_session(self, session: Session) -> None:
        """Replace the session by an edited one as a single edit (the Search tab's applied row):
        the sidebar shows it and it is planned."""
        self.sidebar.show_session(session.model_dump(mode="python"))
        self._edit(session)

    def _update_header(self) -> None:
        if self.doc is None:
            return
        self._widgets["header"].show_session(self.doc.session.name, self.doc.dirty, self.documents.source_label())
        pane = self.pane("sessions-pane")
        if pane is None:
            return
        pane.open_name = self.documents.open_name
        pane.open_dirty = self.doc.dirty

    # ------------------------------------------------------------------------------------
    # edits from the sidebar
    # ------------------------------------------------------------------------------------
    def on_field_edited(self, message: FieldEdited) -> None:
        if self.doc is None:  # controls report their first values while the app starts
            return
        edit = edit_field(self.doc.session, message.path, message.value, self.catalog)
        self._apply_edit(edit)
        if edit.note and edit.session is not None:
            self.sidebar.show_session(edit.session.model_dump(mode="python"))  # the server picker
            self.notify(edit.note, timeout=5)

    def on_model_picked(self, message: ModelPicked) -> None:
        if self.doc is None:  # controls report their first values while the app starts
            return
        self._apply_edit(pick_model(self.doc.session, self.catalog, message.entry.id))

    def _apply_edit(self, edit: Edit) -> None:
        self._set_field_error(edit.path, edit.error)
        if edit.session is not None:
            self._edit(edit.session)

    def _set_field_error(self, path: str, message: str | None) -> None:
        if self.planning.set_field_error(path, message):
            self._mark_fields()

    def _mark_fields(self) -> None:
        errors = self.planning.errors()
        self.sidebar.mark_errors(errors)
        self._show_stale(errors)

    def _show_stale(self, errors: dict[str, str]) -> None:
        """Above every pane: the figures are the last valid plan, and which field holds it back."""
        from .planning import stale_notice

        text = stale_notice(errors, self.planning.session) if self.plan is not None else None
        stale = self._widgets["stale"]
        stale.update(text or "")
        stale.set_class(bool(text), "-shown")
        for spec in PANES:
            pane = self.pane(spec.widget_id)
            if pane is not None:
                pane.set_class(bool(text), "-stale")

    # ------------------------------------------------------------------------------------
    # planning: latest wins, off the UI thread (tui/planning.py)
    # ------------------------------------------------------------------------------------
    def request_plan(self) -> None:
        if self.doc is None or self.catalog is None:
            return
        self.planning.request(self.doc.session, self.catalog)

    def _run_plan_job(self, job: Callable[[Callable[[], bool]], None]) -> None:
        """The planning controller's jobs run here: one exclusive thread worker, so a newer
        input cancels the older run."""
        def run() -> None:
            worker = get_current_worker()
            job(lambda: worker.is_cancelled)

        self.run_worker(run, thread=True, exclusive=True, group="plan", exit_on_error=False, name="plan")

    def on_plan_ready(self, message: PlanReady) -> None:
        had_resolve_errors = bool(self.planning.resolve_errors)
        if not self.alive or not self.planning.accept(message):
            return  # superseded by a newer input
        plan, report = message.plan, message.report
        for spec in PANES:
            if spec.on_plan is None:
                continue
            pane = self.pane(spec.widget_id)
            if pane is not None:
                spec.on_plan(pane, plan, report)
        from .widgets.fleet import sync_fleet_tab  # a Fleet tab while the session names a Prometheus

        sync_fleet_tab(self.query_one(TabbedContent), message.session, plan)
        if not self._panes_mounted:
            self.call_after_refresh(self._mount_other_panes)
        if had_resolve_errors or self.planning.errors():
            self._mark_fields()
        self.sidebar.mark_warnings(self.planning.warnings_by_field(plan))
        self._note_progress()

    def on_plan_failed(self, message: PlanFailed) -> None:
        if not self.alive or not self.planning.refuse(message):
            return
        self._mark_fields()
        self._note_progress()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one path for worker failures: the JSON log and a short notice, never a traceback."""
        if event.worker.is_finished:
            self._note_progress()
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            where = logs.log_exception(f"worker.{event.worker.name or 'worker'}", event.worker.error)
            if event.worker.name == "plan":
                self.planning.job_crashed()
            self.notify(f"{event.worker.name or 'a task'} failed: {type(event.worker.error).__name__}. "
                        f"Details in {where}", title="Internal error", severity="error", timeout=8)

    # ------------------------------------------------------------------------------------
    # telemetry (tui/telemetry_link.py)
    # ------------------------------------------------------------------------------------
    def on_host_sample_ready(self, message: HostSampleReady) -> None:
        sample = self.telemetry_link.take(message)
        if not self.alive or self._exiting:
            return  # a sample that arrived while the app is shutting down
        self.sample = sample
        try:
            self._widgets["header"].show_host(host_summary(sample), host_level(sample))
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
        self.telemetry_link.stop(timeout=2.0)

    def exit(self, *args: Any, **kwargs: Any) -> None:
        # Stop sampling before the widgets unmount, so no sample lands on a half-gone screen.
        self._exiting = True
        self._stop_telemetry()
        super().exit(*args, **kwargs)
        self._note_progress()

    async def on_unmount(self) -> None:
        self._stop_telemetry()
        self.documents.close()  # the recovery lock goes; unsaved work stays for the next start

    # ------------------------------------------------------------------------------------
    # watch mode
    # ------------------------------------------------------------------------------------
    def _poll_watch(self) -> None:
        if self.watch_path is None or not self.booted:
            return
        change = self.documents.watch_changed()
        if change == "missing":
            self._set_banner(f"{self.watch_path}: missing (deleted or moved?); showing the last good plan, "
                             "watching for it")
        elif change == "changed":
            self.reload_watched()

    def reload_watched(self) -> None:
        """Read the watched file again; a broken edit shows its error and keeps the last plan."""
        from .document import Document

        path = self.watch_path
        assert path is not None and self.doc is not None
        read = self.documents.read_watched(self.catalog)
        if read.error is not None:
            self._show_load_error(read.error, modal=False)
            return
        if read.unreadable is not None:
            self._set_banner(f"{path}: cannot read: {read.unreadable}; showing the last good plan")
            return
        session = read.session
        assert session is not None
        self._set_banner(None)
        self.documents.load_error = None
        if self.documents.is_own_copy(session):
            return  # our own save, or a touch
        if self.doc.dirty and self.doc.kind == "file":
            self.notify(f"{path.name} changed on disk and was reloaded; unsaved edits here were replaced.",
                        severity="warning")
        else:
            self.notify(f"Reloaded {path.name}", timeout=2)
        self._set_document(Document.file(session, path))

    def action_reload(self) -> None:
        if self.watch_path is not None:
            self.documents.watch_changed()
            self.reload_watched()

    def _show_load_error(self, error: SessionError, *, modal: bool) -> None:
        self.documents.load_error = str(error)
        more = f" (+{len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        keep = "showing the last good plan" if self.plan is not None else "showing the default session"
        if self.watch_path is not None:
            keep += "; fix the file and it reloads"
        self._set_banner(f"✖ {error}{more} — {keep}")
        if modal:
            self._error("Cannot open the session", error.details(),
                        "The file was not changed. Fix it and open it again (ctrl+o).")

    def _set_banner(self, text: str | None) -> None:
        self._banner_text = text
        problem = self.documents.storage_problem
        if problem:  # recovery and the log are off: said for as long as it lasts
            text = f"⚠ {problem}" + (f"\n{text}" if text else "")
        banner = self._widgets["banner"]
        banner.update(text or "")
        banner.set_class(bool(text), "-shown")

    # ------------------------------------------------------------------------------------
    # recovery
    # ------------------------------------------------------------------------------------
    def _write_recovery(self) -> None:
        """Every few seconds: unsaved work goes to the recovery file (and away once saved)."""
        before = self.documents.storage_problem
        self.documents.write_recovery()
        if self.documents.storage_problem != before and "banner" in self._widgets:
            self._set_banner(self._banner_text)

    def handle_signal(self, signum: int, frame: Any = None) -> None:
        """SIGHUP/SIGTERM (a dropped SSH connection): write unsaved work, then exit cleanly."""
        try:
            written = self.documents.write_recovery_now()
            log.info("signal %s: %s", signum, "recovery written" if written else "nothing unsaved")
        except Exception as exc:  # noqa: BLE001
            logs.log_exception("signal", exc)
        loop = getattr(self, "_loop", None)
        code = 128 + int(signum)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(partial(self.exit, return_code=code))
        else:
            self.exit(return_code=code)

    def _offer_recovery(self, items: list) -> None:
        """Every piece of unsaved work left by instances that are gone, newest first, each
        naming where it came from: restore one, discard one (then the rest are offered again),
        or keep them all for the next start."""
        from .screens.robust_dialogs import RecoveryListScreen

        def answer(choice: tuple[str, Any] | None) -> None:
            what, item = choice or ("later", None)
            rest = [i for i in items if i is not item]
            if what == "discard" and item is not None:
                self.documents.resolve_recovery(item)
                if rest:
                    self._offer_recovery(rest)
            elif what == "restore" and item is not None:
                session = self.documents.recovered_session(item)
                if session is None:
                    self.notify("That recovered work is not a valid session any more; it was dropped.",
                                severity="warning")
                    if rest:
                        self._offer_recovery(rest)
                    return
                self._set_document(self.documents.restored(session, item.origin))
                self.documents.resolve_recovery(item)
                self.documents.write_recovery()  # this instance keeps it safe from now on
                more = f" {len(rest)} more kept for the next start." if rest else ""
                self.notify(f"Restored unsaved work on '{session.name}' ({item.where}). Save it with ctrl+s.{more}")

        self.push_screen(RecoveryListScreen(items), answer)

    # ------------------------------------------------------------------------------------
    # view actions
    # ------------------------------------------------------------------------------------
    def action_toggle_sidebar(self) -> None:
        self._set_sidebar(not self.sidebar.display)

    def _set_sidebar(self, show: bool, focus: bool = True) -> None:
        sidebar = self.sidebar
        sidebar.display = show
        self.set_class(not show, "-sidebar-hidden")
        self._apply_cramped()
        if show and not sidebar.built and self._panes_mounted:  # first shown: build, then focus
            self._track_sidebar(sidebar.build(focus_first=focus))
        elif show and focus:
            sidebar.focus_first()
        elif not show and self.focused is not None and sidebar in self.focused.ancestors:
            self.screen.set_focus(None)

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        absent = SESSION_TAB_BY_TAB.get(tab)
        if absent is not None and not tabs.query(f"#{tab}"):  # a session tab the session does not ask for
            self.notify(absent.absent, title=absent.title, severity="warning")
            return
        if tab in BY_TAB and self._first_frame_shown:
            self._mount_panes([tab])  # first shown: mounted now, so the switch shows it at once
        tabs.active = tab

    def action_leave_field(self) -> None:
        """Escape: leave the focused field (its edit stays); the digit keys switch tabs again."""
        if self.focused is not None:
            self.screen.set_focus(None)

    MAIN_SCREEN_ACTIONS = frozenset({"save", "open", "new", "toggle_sidebar", "tab", "help", "leave_field"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a dialog is up, the app's keys (ctrl+s, ctrl+b, ...) wait for it to close."""
        if action in self.MAIN_SCREEN_ACTIONS and self.screen is not self.default_screen:
            return False
        return True

    async def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            if self._first_frame_shown:
                for mount in self._mount_panes(TABS):  # help lists the keys of every pane's widgets
                    await mount
            if not isinstance(self.screen, HelpScreen):
                self.push_screen(HelpScreen())

    def action_cycle_theme(self) -> None:
        names = [t.name for t in THEMES]
        nxt = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.theme = nxt
        save_theme_choice(nxt)
        self.notify(f"Theme: {nxt}", timeout=2)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            # Ours asks about unsaved work; our "Switch theme" cycles the app's own themes.
            if command.title not in ("Quit", "Theme"):
                yield command

    async def action_quit(self) -> None:
        def leave() -> None:
            self.documents.clear_recovery()
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

    def _problem(self, problem: DocumentProblem) -> None:
        self._error(problem.title, problem.message, problem.hint)


async def _wait(mount: Any) -> None:
    await mount
