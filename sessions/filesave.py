"""Saving a session file opened by path, without ever losing what is on disk.

1. Load: the text and a fingerprint (mtime, size, SHA-256) of the bytes read (`open_file`).
2. Save: the file is read again; if its content is not what was loaded, `FileChangedError`
   (the app asks: overwrite / reload / save as; headless callers refuse). Deleted meanwhile is
   not a conflict (nothing to lose).
3. The content being replaced is kept as a version (`FileVersions`, in the state directory, so
   the user's folder is not littered), then the new text is written atomically. The new text
   is the old one with only the changed values rewritten (sessions.roundtrip: comments kept).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from catalogs.files import (
    Fingerprint,
    TextFileError,
    app_dir,
    atomic_write_bytes,
    clean_stale_temps,
    fingerprint,
    read_text_snapshot,
)

from .errors import SessionError
from .io import MAX_BYTES, dump_session, parse_session
from .roundtrip import update_text
from .schema import Session

_STAMP = "%Y%m%dT%H%M%S.%fZ"


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A session file as it was read: what a later save compares against."""

    path: Path
    text: str
    fingerprint: Fingerprint
    session: Session
    note: str | None = None  # something the user should hear about the save (no version kept)


class FileChangedError(SessionError):
    """The file on disk is not what was loaded: saving would replace someone else's edit."""

    def __init__(self, path: Path, current: Fingerprint | None):
        self.path, self.current = path, current
        super().__init__(
            str(path), 0, 0, "",
            "changed on disk since it was loaded; not overwritten (reload it, or save under another name)",
        )

    def __reduce__(self):
        return (FileChangedError, (self.path, self.current))


def open_file(path: str | os.PathLike[str]) -> LoadedFile:
    """Read and parse a session file, remembering its fingerprint. SessionError otherwise."""
    path = Path(path)
    try:
        text, fp = read_text_snapshot(path, max_bytes=MAX_BYTES)
    except TextFileError as exc:
        raise SessionError(exc.file, exc.line, exc.col, "encoding" if exc.line > 0 else "", exc.message) from None
    return LoadedFile(path, text, fp, parse_session(text, str(path)))


def changed_on_disk(loaded: LoadedFile) -> bool:
    """True when the file's content is no longer what was loaded (False if it was deleted)."""
    try:
        current = fingerprint(loaded.path, max_bytes=MAX_BYTES)
    except TextFileError:
        return True  # turned into something unreadable: certainly not ours any more
    return current is not None and not loaded.fingerprint.same_content(current)


class FileVersions:
    """Previous contents of session files saved by path, newest kept (`max_versions`).
    `<state>/file-versions/<file name>-<hash of its full path>/<UTC stamp>.toml`."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, max_versions: int = 20):
        self.root = Path(root) if root is not None else app_dir("state") / "file-versions"
        self.max_versions = max(1, max_versions)

    def directory(self, path: str | os.PathLike[str]) -> Path:
        real = os.path.realpath(path)
        digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        return self.root / f"{Path(real).name}-{digest}"

    def keep(self, path: str | os.PathLike[str], data: bytes, written: datetime | None = None) -> Path:
        directory = self.directory(path)
        directory.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(directory)
        moment = written or datetime.now(UTC)
        stamp = moment.astimezone(UTC).strftime(_STAMP)
        while (directory / f"{stamp}.toml").exists():
            moment += timedelta(microseconds=1)
            stamp = moment.astimezone(UTC).strftime(_STAMP)
        out = atomic_write_bytes(directory / f"{stamp}.toml", data)
        (directory / "origin.txt").write_text(os.path.realpath(path) + "\n", encoding="utf-8")
        for old in self.list(path)[self.max_versions:]:
            with contextlib.suppress(OSError):
                old.unlink()
        return out

    def list(self, path: str | os.PathLike[str]) -> list[Path]:
        """Kept versions of the file at `path`, newest first."""
        with contextlib.suppress(OSError):
            return sorted(self.directory(path).glob("*.toml"), reverse=True)
        return []


def save_file(
    session: Session,
    path: str | os.PathLike[str],
    *,
    loaded: LoadedFile | None = None,
    overwrite: bool = False,
    versions: FileVersions | None = None,
) -> LoadedFile:
    """Save `session` to `path`. With `loaded` (what this editor read), refuses with
    FileChangedError when the file changed on disk since, unless `overwrite`. Keeps the content
    it replaces as a version (`versions`, default FileVersions()); rewrites only changed values
    of the text on disk, comments and layout kept. Returns the new LoadedFile."""
    path = Path(path)
    try:
        current_text, current = read_text_snapshot(path, max_bytes=MAX_BYTES)
    except TextFileError as exc:
        if exc.message != "cannot read: no such file":
            if not overwrite:
                raise SessionError(exc.file, exc.line, exc.col, "", exc.message) from None
        current_text, current = None, None
    if loaded is not None and current is not None and not overwrite and not loaded.fingerprint.same_content(current):
        raise FileChangedError(path, current)
    base = current_text if current_text is not None else (loaded.text if loaded is not None else None)
    text = update_text(base, session) if base is not None else dump_session(session)
    data = text.encode("utf-8")
    note = None
    if current is not None and current.sha256 != hashlib.sha256(data).hexdigest():
        try:
            with open(path, "rb") as handle:  # the bytes themselves (a BOM, say), not the decoded text
                (versions or FileVersions()).keep(path, handle.read(MAX_BYTES + 1))
        except OSError as exc:  # the state dir is read-only or full: the save itself still happens
            note = f"previous content not kept as a version: {exc.strerror or exc}"
    real = Path(os.path.realpath(path))
    clean_stale_temps(real.parent, target=real.name)
    atomic_write_bytes(path, data)
    st = os.stat(path)
    return LoadedFile(path, text, Fingerprint.of(data, st), session, note)


__all__ = ["FileChangedError", "FileVersions", "LoadedFile", "changed_on_disk", "open_file", "save_file"]
