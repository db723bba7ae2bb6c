"""The document's files, kept safe (plain Python, no Textual): what each file held when it was
loaded, saves that refuse to replace an edit made on disk meanwhile, this instance's recovery
record, and the start-up clean-up of what killed writers left behind.

The document controller (tui/persistence.py) holds one `FileSafety`; every load and save of the app goes through it,
so the checks cannot be skipped by one code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from catalogs.files import Fingerprint, clean_stale_temps

if TYPE_CHECKING:
    from sessions.filesave import FileVersions, LoadedFile
    from sessions.recovery import PendingRecovery, RecoveryStore
    from sessions.schema import Session
    from sessions.store import SessionStore


@dataclass
class StartReport:
    pending: list[PendingRecovery] = field(default_factory=list)  # newest first
    removed_temps: list[Path] = field(default_factory=list)
    problem: str | None = None  # recovery (and the log) off, and why


class FileSafety:
    def __init__(
        self,
        store: SessionStore,
        recovery: RecoveryStore | None = None,
        versions: FileVersions | None = None,
    ) -> None:
        from sessions.filesave import FileVersions
        from sessions.recovery import RecoveryStore

        self.store = store
        self.recovery = recovery if recovery is not None else RecoveryStore()
        self.versions = versions if versions is not None else FileVersions()
        self.files: dict[Path, LoadedFile] = {}  # file -> what this instance read or wrote last
        self.stored: dict[str, Fingerprint | None] = {}  # store name -> what it held then

    # -- start-up ----------------------------------------------------------------------------
    def start(self, opened: Path | None = None) -> StartReport:
        """Take the recovery lock, clean dead writers' temp files (sessions folder, state dir,
        the opened file's folder for that file), and list the work left by dead instances.
        Never raises: a state dir that refuses is reported in `problem`."""
        report = StartReport()
        status = self.recovery.start()
        if not status.ok:
            report.problem = f"recovery and the log are off: {status.reason}"
        for directory, target in (
            (self.store.root, None),
            (self.recovery.directory, None),
            (self.recovery.directory.parent, None),
            *(((Path(os.path.realpath(opened)).parent, Path(os.path.realpath(opened)).name),) if opened else ()),
        ):
            report.removed_temps += clean_stale_temps(directory, target=target)
        report.pending = self.recovery.pending()
        return report

    @property
    def problem(self) -> str | None:
        status = self.recovery.status
        return None if status.ok else f"recovery and the log are off: {status.reason}"

    # -- loading -----------------------------------------------------------------------------
    def open_file(self, path: Path) -> Session:
        from sessions.filesave import open_file

        loaded = open_file(path)
        self.files[Path(path)] = loaded
        return loaded.session

    def open_stored(self, name: str) -> Session:
        fp = self.store.fingerprint(name)
        session = self.store.load(name)
        self.stored[name] = fp
        return session

    def forget(self, path: Path | None = None, name: str | None = None) -> None:
        if path is not None:
            self.files.pop(Path(path), None)
        if name is not None:
            self.stored.pop(name, None)

    def changed_on_disk(self, path: Path) -> bool:
        from sessions.filesave import changed_on_disk

        loaded = self.files.get(Path(path))
        return loaded is not None and changed_on_disk(loaded)

    # -- saving ------------------------------------------------------------------------------
    def save_file(self, session: Session, path: Path, *, overwrite: bool = False) -> str | None:
        """Save to a file opened by path. FileChangedError when it changed on disk since this
        instance loaded or saved it (unless `overwrite`). Returns a note for the user, if any."""
        from sessions.filesave import save_file

        saved = save_file(session, path, loaded=self.files.get(Path(path)), overwrite=overwrite, versions=self.versions)
        self.files[Path(path)] = saved
        return saved.note

    def save_stored(self, session: Session, name: str, *, overwrite: bool = False, new: bool = False) -> Path:
        """Save to the sessions folder. FileChangedError when another instance saved that session
        since this one loaded or saved it (or created it, for a `new` name), unless `overwrite`."""
        if overwrite:
            path = self.store.save(session, name)
        elif name in self.stored:
            path = self.store.save(session, name, expected=self.stored[name])
        elif new:
            path = self.store.save(session, name, expected=None)
        else:
            path = self.store.save(session, name)
        self.stored[name] = self.store.fingerprint(name)
        return path

    # -- recovery ----------------------------------------------------------------------------
    def write_recovery(self, text: str, origin: str | None) -> bool:
        return self.recovery.write(text, origin)

    def clear_recovery(self) -> None:
        self.recovery.clear()

    def close(self) -> None:
        self.recovery.close()


__all__ = ["FileSafety", "StartReport"]
