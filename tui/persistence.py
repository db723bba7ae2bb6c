"""The document controller: the open session and its files. Save, open, versions, rename, delete,
recovery (every few seconds and on SIGHUP/SIGTERM), watch mode, export and import.

No widgets and no dialogs here: every operation either returns what changed or raises
`DocumentProblem` (a title, a message and a hint the app shows in its error dialog). The app asks
the questions (names, "replace?", "save first?") and routes the answers here. Testable with a
`SessionStore` and a `RecoveryStore` in a temporary folder (tests/tui/test_controllers.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import logs

if TYPE_CHECKING:
    from sessions.errors import SessionError
    from sessions.schema import Session
    from sessions.recovery import RecoveryStore
    from sessions.store import SessionStore

    from .document import Document
    from .file_safety import FileSafety

EXPORT_EXTENSIONS = {"text": "txt", "md": "md", "json": "json", "csv": "csv"}


class DocumentProblem(Exception):
    """An operation on the document failed; nothing was changed."""

    def __init__(self, title: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.title, self.message, self.hint = title, message, hint


class SaveConflict(DocumentProblem):
    """The file (or stored session) changed on disk since this instance loaded or saved it: the
    app asks overwrite / reload / save as. `where` names it for a person."""

    def __init__(self, where: str) -> None:
        super().__init__("Changed on disk", f"{where} changed on disk since it was loaded; it was not overwritten.")
        self.where = where


@dataclass(frozen=True, slots=True)
class Boot:
    """What the boot worker hands the UI thread."""

    catalog: Any
    entries: list
    document: Document
    error: SessionError | None
    recovery: Any  # sessions.store.Recovery | None
    catalog_error: str | None
    first_plan: Any = None  # (plan, report) for document.session
    storage_problem: str | None = None  # the state dir refuses: recovery and the log are off, and why


@dataclass(frozen=True, slots=True)
class WatchRead:
    """The watched file read again: a session, or why not (`error` from the session layer,
    `unreadable` for an OS/encoding error)."""

    session: Session | None = None
    error: SessionError | None = None
    unreadable: str | None = None


def stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a stored session (None: it can)."""
    from sessions.store import InvalidSessionName, check_name

    try:
        check_name(name)
    except InvalidSessionName as exc:
        return str(exc)
    return None


class DocumentController:
    def __init__(self, session_path: Path | None, *, watch: bool, store: SessionStore | None = None,
                 recovery: RecoveryStore | None = None, offer_recovery: bool = True) -> None:
        self.session_path = session_path
        self.watch_path = session_path if watch and session_path is not None else None
        self.offer_recovery = offer_recovery
        self._store = store
        self._recovery = recovery
        self.doc: Document | None = None
        self.load_error: str | None = None
        self.watch_key: tuple[int, int] | None = None
        self._recovery_text: str | None = None
        self._safety: FileSafety | None = None
        self.storage_problem: str | None = None  # recovery (and the log) off, and why

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            from sessions.store import SessionStore

            self._store = SessionStore()
        return self._store

    @property
    def recovery(self) -> RecoveryStore:
        """This instance's recovery records (sessions/recovery.py: one per instance, locked)."""
        if self._recovery is None:
            from sessions.recovery import RecoveryStore

            self._recovery = RecoveryStore()
        return self._recovery

    @property
    def safety(self) -> FileSafety:
        """What each file held when loaded; saves that refuse to replace an edit made on disk."""
        if self._safety is None:
            from .file_safety import FileSafety

            self._safety = FileSafety(self.store, self.recovery)
        return self._safety

    def close(self) -> None:
        """The app is ending: release the recovery lock (unsaved work stays for the next start)."""
        self.recovery.close()

    @property
    def dirty(self) -> bool:
        return self.doc is not None and self.doc.dirty

    @property
    def open_name(self) -> str | None:
        """The stored session's name when the document is one."""
        return self.doc.name if self.doc is not None and self.doc.kind == "store" else None

    # -- boot (a thread) -------------------------------------------------------------------
    def boot(self, catalog: Any, compute: Any) -> Boot:
        """The catalog, the first session, recovered work and the first plan (off the UI thread)."""
        from catalogs.loader import load_catalog
        from sessions.errors import SessionError
        from sessions.io import parse_session

        from .document import Document, default_session_text
        from .model_index import catalog_entries

        start = self.safety.start(self.session_path)  # recovery lock, dead writers' temp files
        self.storage_problem = start.problem
        catalog_error = None
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
                session = self.safety.open_file(self.session_path)
                document = Document.file(session, self.session_path)
            except SessionError as exc:
                error = exc
        if document is None:
            session = parse_session(default_session_text(), "<default session>")
            document = Document.new(session)
        # Every piece of unsaved work left by instances that are gone, newest first.
        recovery = start.pending if self.offer_recovery and start.pending else None
        first = None  # the first plan, here rather than in one more worker: it is on screen sooner
        try:
            first = compute(document.session, catalog)
        except SessionError:
            pass  # the planning controller reports it on the field
        return Boot(catalog, entries, document, error, recovery, catalog_error, first, start.problem)

    def booted(self, boot: Boot) -> None:
        """UI thread: the watched file's state, once the first document is in."""
        from .document import Document

        if self.watch_path is not None:
            self.watch_key = stat_key(self.watch_path)
            if boot.error is not None and self.doc is not None:
                # not loaded: it becomes the document once it is fixed
                self.doc = Document.new(self.doc.session)

    # -- edits -----------------------------------------------------------------------------
    def edit(self, session: Session) -> bool:
        """The session changed; False when it is the same session."""
        assert self.doc is not None
        if session == self.doc.session:
            return False
        self.doc = self.doc.edited(session)
        return True

    def source_label(self) -> str:
        assert self.doc is not None
        if self.watch_path is not None:
            return f"watching {self.watch_path}"
        return self.doc.source_label

    # -- recovery --------------------------------------------------------------------------
    def write_recovery(self) -> None:
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
                if self.recovery.write(text, self.doc.origin):
                    self._recovery_text = text
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the app
            logs.log_exception("recovery", exc)
        finally:
            self.storage_problem = self.safety.problem

    def write_recovery_now(self) -> bool:
        """On a hang-up: unsaved work to the recovery file now. True when there was some."""
        from sessions.io import dump_session

        if self.doc is not None and self.doc.dirty:
            written = self.recovery.write(dump_session(self.doc.session), self.doc.origin)
            self._recovery_text = None
            return written
        return False

    def clear_recovery(self) -> None:
        self.recovery.clear()
        self._recovery_text = None

    def recovered_session(self, found: Any) -> Session | None:
        """The recovered work as a session; None (and the recovery dropped) when it is broken."""
        from sessions.errors import SessionError
        from sessions.io import parse_session

        try:
            return parse_session(found.text, "<recovered work>")
        except SessionError as exc:
            logs.log_exception("recovery", exc)
            self.resolve_recovery(found)
            return None

    def resolve_recovery(self, found: Any) -> None:
        """A pending record was restored (this instance records it from now on) or discarded."""
        self.recovery.resolve(found)

    def restored(self, session: Session, origin: str | None) -> Document:
        """A document for recovered work: dirty against where it came from, if that still loads."""
        from sessions.errors import SessionError

        from .document import Document, parse_origin

        kind, name, path = parse_origin(origin)
        doc = Document(session, "new")  # baseline None: dirty until saved
        if kind == "store" and name:
            try:
                doc = Document(session, "store", baseline=self.safety.open_stored(name), name=name)
            except (SessionError, OSError, ValueError):
                pass  # the stored session is gone: save asks a name
        elif kind == "file" and path is not None:
            try:
                doc = Document(session, "file", baseline=self.safety.open_file(path), path=path)
            except SessionError:
                pass  # never overwrite a file that no longer loads: save asks a name
        return doc

    # -- save ------------------------------------------------------------------------------
    def save_target(self) -> tuple[Literal["file", "store", "ask"], Any]:
        """Where ctrl+s writes: ("file", path), ("store", name) or ("ask", None)."""
        assert self.doc is not None
        if self.doc.kind == "file" and self.doc.path is not None:
            return "file", self.doc.path
        if self.doc.kind == "store" and self.doc.name:
            return "store", self.doc.name
        return "ask", None

    def needs_replace_question(self, name: str) -> bool:
        """Saving as `name` would replace another stored session."""
        return self.store.exists(name) and self.open_name != name

    def save_store(self, name: str, *, overwrite: bool = False) -> tuple[Path, bool]:
        """Save into the store as `name`; returns the path and whether the session was renamed.
        SaveConflict when another instance saved (or created) it since, unless `overwrite`."""
        from sessions.errors import SessionError
        from sessions.filesave import FileChangedError
        from sessions.io import update_session
        from sessions.store import InvalidSessionName

        from .document import Document

        assert self.doc is not None
        try:
            session = self.doc.session
            if session.name != name:
                session = update_session(session, {"name": name})
            path = self.safety.save_stored(session, name, overwrite=overwrite, new=self.open_name != name)
        except FileChangedError:
            raise SaveConflict(f"saved session '{name}'") from None
        except (OSError, SessionError, InvalidSessionName) as exc:
            raise DocumentProblem("Save failed", str(exc)) from exc
        renamed = session.name != self.doc.session.name
        self.doc = Document.stored(session, name)
        self.clear_recovery()
        return path, renamed

    def save_file(self, path: Path, *, overwrite: bool = False) -> str | None:
        """Save in place, only the changed values rewritten (comments kept), the replaced content
        kept as a version. SaveConflict when the file changed on disk since it was loaded,
        unless `overwrite`. Returns a note for the user (e.g. no version could be kept)."""
        from sessions.errors import SessionError
        from sessions.filesave import FileChangedError

        assert self.doc is not None
        try:
            note = self.safety.save_file(self.doc.session, path, overwrite=overwrite)
        except FileChangedError:
            raise SaveConflict(str(path)) from None
        except SessionError as exc:
            raise DocumentProblem("Save failed", str(exc), "The file was not changed.") from exc
        except OSError as exc:
            raise DocumentProblem("Save failed", f"{path}: {exc}", "The file was not changed.") from exc
        if self.watch_path is not None and path == self.watch_path:
            self.watch_key = stat_key(path)
        self.doc = self.doc.saved()
        self.clear_recovery()
        return note

    def reloaded(self) -> Document:
        """The open file or stored session as it is on disk now (after "reload" on a conflict)."""
        assert self.doc is not None
        if self.doc.kind == "file" and self.doc.path is not None:
            return self.file(self.doc.path)
        if self.doc.kind == "store" and self.doc.name:
            return self.stored(self.doc.name)
        raise DocumentProblem("Nothing to reload", "This session is not saved anywhere yet.")

    # -- open, new, rename, delete ---------------------------------------------------------
    def stored(self, name: str, version: str | None = None) -> Document:
        from sessions.errors import SessionError
        from sessions.store import InvalidSessionName

        from .document import Document

        try:
            if version is None:
                return Document.stored(self.safety.open_stored(name), name)
            session = self.store.load_version(name, version)
            return Document.stored(session, name, baseline=self.safety.open_stored(name))
        except (SessionError, OSError, KeyError, InvalidSessionName) as exc:
            raise DocumentProblem("Cannot open the session", str(exc), "Nothing was changed.") from exc

    def file(self, path: Path) -> Document:
        from sessions.errors import SessionError

        from .document import Document

        try:
            return Document.file(self.safety.open_file(path), path)
        except SessionError as exc:
            raise DocumentProblem("Cannot open the session", exc.details(), "The file was not changed.") from exc

    @staticmethod
    def fresh() -> Document:
        from sessions.io import parse_session

        from .document import Document, default_session_text

        return Document.new(parse_session(default_session_text(), "<default session>"))

    def rename_stored(self, target: str, new: str) -> bool:
        """Rename a stored session (its versions follow); True when it is the open document."""
        from sessions.errors import SessionError
        from sessions.io import update_session
        from sessions.store import InvalidSessionName

        from .document import Document

        assert self.doc is not None
        try:
            self.store.rename(target, new)
            stored = self.store.load(new)
            self.store.save(update_session(stored, {"name": new}), new)
        except (OSError, SessionError, InvalidSessionName) as exc:
            raise DocumentProblem("Rename failed", str(exc)) from exc
        if target != self.open_name:
            return False
        self.doc = Document(update_session(self.doc.session, {"name": new}), "store",
                            baseline=self.store.load(new), name=new)
        return True

    def delete_stored(self, target: str) -> tuple[Path, bool]:
        """Move a stored session to the trash; returns where, and whether it was the open one
        (which stays on screen, now unsaved)."""
        from sessions.store import InvalidSessionName

        from .document import Document

        try:
            where = self.store.delete(target)
        except (OSError, InvalidSessionName) as exc:
            raise DocumentProblem("Delete failed", str(exc)) from exc
        if target == self.open_name and self.doc is not None:
            self.doc = Document(self.doc.session, "new")
            return where, True
        return where, False

    # -- watch mode ------------------------------------------------------------------------
    def watch_changed(self) -> Literal["same", "missing", "changed"]:
        """Has the watched file changed since it was last read?"""
        path = self.watch_path
        assert path is not None
        key = stat_key(path)
        if key == self.watch_key:
            return "same"
        self.watch_key = key
        return "missing" if key is None else "changed"

    def read_watched(self, catalog: Any) -> WatchRead:
        from sessions.errors import SessionError
        from sessions.filesave import open_file
        from sessions.resolve import to_plan_inputs

        path = self.watch_path
        assert path is not None
        try:
            loaded = open_file(path)  # the app's one reader; remembers what it read
            session = loaded.session
            if catalog is not None:
                to_plan_inputs(session, catalog, file=str(path), text=loaded.text)
        except SessionError as exc:
            return WatchRead(error=exc)  # a broken edit: the next save asks before replacing it
        except (OSError, UnicodeDecodeError) as exc:
            return WatchRead(unreadable=str(exc))
        self.safety.files[path] = loaded  # the app shows (or already has) what is on disk now
        return WatchRead(session=session)

    def is_own_copy(self, session: Session) -> bool:
        """The watched file holds what is open and saved (our own save, or a touch)."""
        doc = self.doc
        assert doc is not None
        return doc.kind == "file" and doc.path == self.watch_path and session == doc.baseline \
            and session == doc.session

    # -- export and import -----------------------------------------------------------------
    def export_default(self, fmt: str) -> str:
        """Where an export goes unless the user says otherwise."""
        assert self.doc is not None
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", self.doc.session.name).strip("-") or "plan"
        # Beside the session file it reports on; otherwise where gpuplan was started (the prompt
        # shows the whole path, so the user sees and can change where it goes).
        folder = self.doc.path.parent if self.doc.kind == "file" and self.doc.path else Path.cwd()
        return str(folder / f"{slug}.{EXPORT_EXTENSIONS[fmt]}")

    def export_problem(self, path: Path) -> str | None:
        """Why a report must not be written to `path` (None: it may)."""
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

    @staticmethod
    def write_export(path: Path, plan: Any, fmt: str) -> None:
        from catalogs.files import atomic_write_text

        from .report import render

        try:
            atomic_write_text(path, render(plan, fmt))
        except OSError as exc:
            raise DocumentProblem("Export failed", f"{path}: {exc}") from exc

    def imported_config(self, path: Path) -> tuple[Session, dict[str, Any]]:
        """The session sizing a local config.json (inlined into it) and that config."""
        from catalogs.errors import CatalogError
        from catalogs.hf import import_config_json
        from sessions.errors import SessionError
        from sessions.io import update_session

        assert self.doc is not None
        try:
            entry = import_config_json(path)
            config = dict(entry.config)
            config.setdefault("_name_or_path", entry.hf_repo or entry.name or entry.id)
            session = update_session(self.doc.session, {"model.catalog": None, "model.config": config})
        except (CatalogError, SessionError, OSError, ValueError) as exc:
            raise DocumentProblem("Cannot import the config", str(exc)) from exc
        return session, config

    # -- diff (a thread) -------------------------------------------------------------------
    def diff(self, a: Any, b: Any, editor: Session | None, catalog: Any) -> tuple[list, list, str | None]:
        """Two versions planned and compared: (input changes, result changes, error)."""
        from engine.plan import plan
        from sessions.diff import diff_inputs, diff_results
        from sessions.errors import SessionError
        from sessions.resolve import to_plan_inputs

        from .widgets.sessions_tab import CURRENT, UNSAVED

        def load(ref: Any) -> Session:
            if ref.version == UNSAVED and editor is not None:
                return editor
            if ref.version == CURRENT:
                return self.store.load(ref.name)
            return self.store.load_version(ref.name, ref.version)

        try:
            sa, sb = load(a), load(b)
            inputs = diff_inputs(sa, sb)
            ra = plan(to_plan_inputs(sa, catalog)).to_dict()
            rb = plan(to_plan_inputs(sb, catalog)).to_dict()
            return inputs, diff_results(ra, rb), None
        except (SessionError, OSError, KeyError, ValueError) as exc:
            return [], [], str(exc)
