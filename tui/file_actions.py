"""The app's file dialogs: save, save as, open, new, rename, delete, the Sessions tab's
actions and diffs, export and import. The work is done by `tui/persistence.py`'s
DocumentController; this mixin of `GpuPlanApp` only asks the user and routes the answers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from .persistence import DocumentProblem, SaveConflict, name_problem

if TYPE_CHECKING:  # the session layer and the engine are imported after the first frame
    from sessions.schema import Session

    from .widgets.sessions_tab import DiffRequested, SessionAction, SessionsPaneMounted, VersionRef




class DiffReady(Message):
    """Two sessions planned and compared (Sessions tab)."""

    def __init__(self, a: VersionRef, b: VersionRef, inputs: list, results: list, error: str | None) -> None:
        super().__init__()
        self.a, self.b, self.inputs, self.results, self.error = a, b, inputs, results, error



class FileActions:
    """Mixed into GpuPlanApp (tui/app.py); uses its controllers, dialogs and notifications."""

    # ------------------------------------------------------------------------------------
    # saving, opening, renaming, deleting (tui/persistence.py does the work; here: the dialogs)
    # ------------------------------------------------------------------------------------
    def action_save(self) -> None:
        if self.doc is None:
            return
        kind, where = self.documents.save_target()
        if kind == "file":
            self._save_file(where)
        elif kind == "store":
            self._save_store(where)
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
            if self.documents.needs_replace_question(name):
                self._confirm(f"Replace '{name}'?", f"A saved session named '{name}' exists. Replace it? "
                              "(its current content is kept as a version)",
                              lambda yes: yes and self._save_store(name, then, overwrite=True), danger=True)
                return
            self._save_store(name, then)

        self.push_screen(PromptScreen("Save session", "Name (saved in your sessions folder):", current,
                                      check=name_problem), chosen)

    def _save_store(self, name: str, then: Callable[[], None] | None = None, overwrite: bool = False) -> None:
        try:
            path, renamed = self.documents.save_store(name, overwrite=overwrite)
        except SaveConflict as conflict:
            self._ask_conflict(conflict, lambda: self._save_store(name, then, overwrite=True), then)
            return
        except DocumentProblem as problem:
            self._problem(problem)
            return
        self._after_save(f"Saved '{name}' ({path})")
        if renamed:
            self.request_plan()  # the report carries the name
        if then:
            then()

    def _save_file(self, path: Path, overwrite: bool = False) -> None:
        try:
            note = self.documents.save_file(path, overwrite=overwrite)
        except SaveConflict as conflict:
            self._ask_conflict(conflict, lambda: self._save_file(path, overwrite=True))
            return
        except DocumentProblem as problem:
            self._problem(problem)
            return
        self._after_save(f"Saved {path}" + (f" ({note})" if note else ""))

    def _ask_conflict(self, conflict: SaveConflict, overwrite: Callable[[], None],
                      then: Callable[[], None] | None = None) -> None:
        """The file changed on disk since it was loaded: overwrite (theirs kept as a version),
        reload theirs, or save ours under another name."""
        from .screens.robust_dialogs import FileChangedScreen

        def answer(choice: str | None) -> None:
            if choice == "overwrite":
                overwrite()
            elif choice == "reload":
                try:
                    self._set_document(self.documents.reloaded())
                except DocumentProblem as problem:
                    self._problem(problem)
                    return
                self.notify(f"Reloaded {conflict.where}; your edits were dropped.", severity="warning")
            elif choice == "save-as":
                self.action_save_as(then)

        self.push_screen(FileChangedScreen(conflict.where), answer)

    def _after_save(self, note: str) -> None:
        if self.field_errors:
            note += f" — {len(self.field_errors)} invalid field(s) were not saved"
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
        try:
            doc = self.documents.stored(name, version)
        except DocumentProblem as problem:
            self._problem(problem)
            return
        self._set_banner(None)
        self._set_document(doc)
        self.action_tab("sizing")

    def open_file(self, path: Path) -> None:
        try:
            doc = self.documents.file(path)
        except DocumentProblem as problem:
            self._problem(problem)
            return
        self._set_banner(None)
        self._set_document(doc)

    def action_new(self) -> None:
        def fresh() -> None:
            self._set_banner(None)
            self._set_document(self.documents.fresh())

        self._guard_unsaved("start a new session", fresh)

    def action_rename(self, old: str | None = None) -> None:
        from sessions.io import update_session

        from .screens.dialogs import PromptScreen

        if self.doc is None:
            return
        target = old or self.documents.open_name
        current = target or self.doc.session.name

        def chosen(new: str | None) -> None:
            if not new or new == current:
                return
            if target is None:  # not saved in the store: just the name field
                self._edit(update_session(self.doc.session, {"name": new}))
                return
            try:
                was_open = self.documents.rename_stored(target, new)
            except DocumentProblem as problem:
                self._problem(problem)
                return
            if was_open:
                self._update_header()
            self._refresh_sessions_pane(select=new)
            self.notify(f"Renamed '{target}' to '{new}'")

        self.push_screen(PromptScreen("Rename session", f"New name for '{current}':", current,
                                      check=name_problem), chosen)

    def action_delete(self, name: str | None = None) -> None:
        if self.doc is None:
            return
        target = name or self.documents.open_name
        if target is None:
            self.notify("This session is not saved in your sessions folder: nothing to delete.",
                        severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            try:
                where, was_open = self.documents.delete_stored(target)
            except DocumentProblem as problem:
                self._problem(problem)
                return
            if was_open:
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
        # not once exiting: the pane's lists may already be gone (seen in the soak under load)
        if self.doc is not None and self.alive:
            self._refresh_sessions_pane(select=self.documents.open_name)

    def on_session_action(self, message: SessionAction) -> None:
        from .widgets.sessions_tab import CURRENT, UNSAVED

        ref = message.ref
        if message.action == "open":
            if ref.version == UNSAVED:
                self.action_tab("sizing")
                return
            version = None if ref.version == CURRENT else ref.version
            if self.documents.open_name == ref.name and version is None and not self.dirty:
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
        inputs, results, error = self.documents.diff(a, b, editor, self.catalog)
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
        default = self.documents.export_default(fmt)
        plan_now = self.plan
        from .plan_forecast import with_fitted_forecast  # the Forecast tab's fit, as `gpuplan plan` (issue 12)

        plan_now = with_fitted_forecast(self, plan_now)

        def chosen(target: str | None) -> None:
            if not target:
                return
            path = Path(target).expanduser()
            problem = self.documents.export_problem(path)
            if problem:
                self._error("Export refused", problem)
                return
            if path.exists():
                self._confirm("Replace file?", f"{path} exists. Replace it with the report?",
                              lambda yes: yes and self._write_export(path, plan_now, fmt), danger=True)
                return
            self._write_export(path, plan_now, fmt)

        self.push_screen(PromptScreen(f"Export report ({fmt})", "Write the report to:", default), chosen)

    def _write_export(self, path: Path, plan_now: Any, fmt: str) -> None:
        try:
            self.documents.write_export(path, plan_now, fmt)
        except DocumentProblem as problem:
            self._problem(problem)
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
        assert self.doc is not None
        try:
            session, config = self.documents.imported_config(path)
        except DocumentProblem as problem:
            self._problem(problem)
            return
        self._set_field_error("model.catalog", None)
        self._edit(session)
        self.sidebar.show_session(session.model_dump(mode="python"))
        self.notify(f"Sizing {config['_name_or_path']} from {path} (inlined into the session)")
