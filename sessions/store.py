"""Saved sessions in the user data dir, with bounded version history, a trash instead of
deletion, and the crash-recovery file.

Layout under the root (`$GPUPLAN_HOME/sessions`, else platformdirs' user data dir):
    <name>.toml                         the session
    .versions/<name>/<version id>.toml  previous contents, newest kept, oldest pruned
    .trash/<name>-<stamp>.toml          deleted sessions (and .trash/<name>-<stamp>.versions/)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple


from catalogs.files import Fingerprint, TextFileError, app_dir, atomic_write_bytes, atomic_write_text, clean_stale_temps, fingerprint
from .io import dump_session, load_session, parse_session
from .schema import Session

SUFFIX = ".toml"
_STAMP = "%Y%m%dT%H%M%S.%fZ"  # sortable, filename-safe, UTC


class InvalidSessionName(ValueError):
    pass


def check_name(name: str) -> str:
    """A session name usable as a file name: not empty, no path separators or control
    characters, not hidden. Returns it (a trailing `.toml` is dropped)."""
    if not isinstance(name, str):
        raise InvalidSessionName("a session name must be a string")
    name = name.removesuffix(SUFFIX).strip()
    if not name or name in (".", ".."):
        raise InvalidSessionName("a session name cannot be empty")
    if name.startswith("."):
        raise InvalidSessionName(f"session name {name!r} cannot start with '.'")
    if any(c in name for c in "/\\:") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidSessionName(f"session name {name!r} cannot contain '/', '\\', ':' or control characters")
    if len(name.encode("utf-8")) > 200:
        raise InvalidSessionName("session name too long (200 bytes at most)")
    return name


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


def _parse_stamp(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class SessionEntry:
    name: str
    mtime: datetime
    path: Path


class VersionInfo(NamedTuple):
    id: str
    saved_at: datetime  # when that content was written (the file's mtime then), UTC


class SessionStore:
    def __init__(self, root: Path | None = None, *, max_versions: int = 20):
        if root is None:
            root = app_dir("sessions")
        self.root = Path(root)
        self.max_versions = max(1, max_versions)

    # -- paths ----------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / (check_name(name) + SUFFIX)

    def _versions_dir(self, name: str) -> Path:
        return self.root / ".versions" / check_name(name)

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    # -- sessions -------------------------------------------------------------------------
    def list(self) -> list[SessionEntry]:
        """Saved sessions, most recently modified first."""
        entries = []
        with contextlib.suppress(FileNotFoundError):
            for p in self.root.iterdir():
                if p.suffix == SUFFIX and not p.name.startswith(".") and p.is_file():
                    mtime = datetime.fromtimestamp(p.stat().st_mtime, UTC)
                    entries.append(SessionEntry(p.stem, mtime, p))
        return sorted(entries, key=lambda e: (-e.mtime.timestamp(), e.name))

    def load(self, name: str) -> Session:
        return load_session(self.path(name))

    def fingerprint(self, name: str) -> Fingerprint | None:
        """What the stored session holds now (None if there is none): pass it back to `save` as
        `expected` to refuse overwriting another instance's save."""
        try:
            return fingerprint(self.path(name))
        except TextFileError:
            return None

    def save(self, session: Session, name: str | None = None, *, expected: Fingerprint | None | object = ...) -> Path:
        """Save atomically as `name` (default: the session's name), first keeping the previous
        contents as a version. Saving identical contents adds no version. With `expected` (the
        fingerprint when this editor loaded or last saved it; None: it did not exist), a
        session changed since by someone else raises FileChangedError instead. Comments and
        layout of a hand-edited stored file are kept (only changed values rewritten)."""
        from .filesave import FileChangedError
        from .roundtrip import update_text

        path = self.path(session.name if name is None else name)
        self.root.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(self.root, target=path.name)
        try:
            previous = path.read_bytes()
            previous_mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            previous = None
        if expected is not ...:
            now = None if previous is None else Fingerprint.of(previous)
            unchanged = (expected is None and now is None) or (
                isinstance(expected, Fingerprint) and expected.same_content(now)
            )
            if not unchanged and now is not None:
                raise FileChangedError(path, now)
        try:
            base = previous.decode("utf-8-sig") if previous is not None else None
        except UnicodeDecodeError:
            base = None
        data = (update_text(base, session) if base is not None else dump_session(session)).encode("utf-8")
        if previous == data:
            return path
        if previous is not None:
            self._keep_version(path.stem, previous, previous_mtime)
        atomic_write_bytes(path, data)
        self.prune(path.stem)
        return path

    def rename(self, old: str, new: str) -> Path:
        """Rename a session and its history. Refuses to overwrite an existing session."""
        src, dst = self.path(old), self.path(new)
        if dst.exists():
            raise FileExistsError(f"a session named {check_name(new)!r} already exists")
        if not src.is_file():
            raise FileNotFoundError(f"no session named {check_name(old)!r}")
        try:
            os.link(src, dst)  # unlike rename, never clobbers a session that appeared meanwhile
        except FileExistsError:
            raise FileExistsError(f"a session named {check_name(new)!r} already exists") from None
        except OSError:  # a filesystem without hard links
            os.rename(src, dst)
        else:
            os.unlink(src)
        versions_src, versions_dst = self._versions_dir(old), self._versions_dir(new)
        if versions_src.is_dir() and not versions_dst.exists():
            versions_src.rename(versions_dst)
        return dst

    def delete(self, name: str) -> Path:
        """Move a session (and its versions) to the trash; returns where it went."""
        src = self.path(name)
        if not src.is_file():
            raise FileNotFoundError(f"no session named {check_name(name)!r}")
        trash = self.root / ".trash"
        trash.mkdir(parents=True, exist_ok=True)
        base = f"{src.stem}-{_stamp(datetime.now(UTC))}"
        dst = trash / (base + SUFFIX)
        os.replace(src, dst)
        versions = self._versions_dir(name)
        if versions.is_dir():
            versions.rename(trash / (base + ".versions"))
        return dst

    # -- versions -------------------------------------------------------------------------
    def _keep_version(self, name: str, data: bytes, written: datetime) -> Path:
        directory = self._versions_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = _stamp(written)
        while (directory / (stamp + SUFFIX)).exists():  # same mtime twice: next microsecond
            written += timedelta(microseconds=1)
            stamp = _stamp(written)
        return atomic_write_bytes(directory / (stamp + SUFFIX), data)

    def versions(self, name: str) -> list[VersionInfo]:
        """Previous versions of a session, newest first."""
        directory = self._versions_dir(name)
        found = []
        with contextlib.suppress(FileNotFoundError):
            for p in directory.iterdir():
                when = _parse_stamp(p.stem) if p.suffix == SUFFIX else None
                if when is not None:
                    found.append(VersionInfo(p.stem, when))
        return sorted(found, key=lambda v: v.id, reverse=True)

    def version_path(self, name: str, version: str) -> Path:
        if _parse_stamp(version) is None:
            raise KeyError(f"not a version id: {version!r}")
        path = self._versions_dir(name) / (version + SUFFIX)
        if not path.is_file():
            raise KeyError(f"session {check_name(name)!r} has no version {version!r}")
        return path

    def load_version(self, name: str, version: str) -> Session:
        path = self.version_path(name, version)
        return parse_session(path.read_text("utf-8"), str(path))

    def restore_version(self, name: str, version: str) -> Path:
        """Make a version current again (the current contents become a version)."""
        return self.save(self.load_version(name, version), name)

    def prune(self, name: str, keep: int | None = None) -> list[str]:
        """Delete the oldest versions beyond `keep` (default `max_versions`); returns their ids."""
        keep = self.max_versions if keep is None else max(0, keep)
        dropped = [v.id for v in self.versions(name)[keep:]]
        for vid in dropped:
            with contextlib.suppress(FileNotFoundError):
                (self._versions_dir(name) / (vid + SUFFIX)).unlink()
        return dropped

    def empty_trash(self, older_than_days: float = 30.0) -> int:
        """Permanently remove trash entries older than the given age; returns how many."""
        trash = self.root / ".trash"
        cutoff = datetime.now(UTC).timestamp() - older_than_days * 86400
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for p in trash.iterdir():
                if p.lstat().st_mtime < cutoff:
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
                    removed += 1
        return removed


# --------------------------------------------------------------------------------------------
# Crash recovery
# --------------------------------------------------------------------------------------------


class Recovery(NamedTuple):
    text: str  # the unsaved session TOML
    origin: str | None  # the file or stored session it came from, if any
    saved_at: datetime  # UTC


class RecoveryFile:
    """Unsaved work, written every few seconds and on SIGHUP/SIGTERM; offered at the next start.
    Lives in `$GPUPLAN_HOME/state`, else platformdirs' user state dir."""

    def __init__(self, path: Path | None = None):
        if path is None:
            path = app_dir("state") / "recovery.json"
        self.path = Path(path)

    def write(self, session_text: str, origin: str | os.PathLike[str] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "format": 1,
            "origin": None if origin is None else str(origin),
            "saved_at": datetime.now(UTC).isoformat(),
            "text": session_text,
        }
        atomic_write_text(self.path, json.dumps(record, ensure_ascii=False))

    def read(self) -> Recovery | None:
        """The recovered work, or None if there is none (or it is unreadable)."""
        try:
            record = json.loads(self.path.read_text("utf-8"))
            saved_at = datetime.fromisoformat(record["saved_at"])
            text, origin = record["text"], record.get("origin")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(text, str) or not (origin is None or isinstance(origin, str)):
            return None
        return Recovery(text, origin, saved_at)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
