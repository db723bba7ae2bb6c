"""Crash recovery, one record per app instance and session, so no instance's save or discard
can delete another's unsaved work.

Layout under `$GPUPLAN_HOME/state/recovery/` (else platformdirs' user state dir):
    <instance>.lock               held (flock) by the live instance for its whole life
    <instance>.<session key>.json the unsaved session text, where it came from, when

An instance is `<pid>-<random>`. A record whose instance no longer holds its lock belongs to a
process that is gone (killed, crashed, hung up): a new start offers it, newest first, naming
where the work came from; restoring or discarding it removes it. The old shared
`state/recovery.json` is offered the same way.

A state directory that cannot be written (read-only, full, missing permissions) never stops the
app: `status` says recovery is off and why, and every later write tries again and keeps
reporting.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from catalogs.files import app_dir, atomic_write_text, clean_stale_temps

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: fall back on PIDs
    fcntl = None  # type: ignore[assignment]

FORMAT = 1


@dataclass(frozen=True, slots=True)
class PendingRecovery:
    """Unsaved work left by an instance that is gone."""

    text: str  # the unsaved session TOML (possibly not even valid)
    origin: str | None  # the file or stored session it came from ("store:NAME"), None if new
    saved_at: datetime  # UTC
    path: Path  # the record, removed once restored or discarded
    pid: int | None = None
    host: str | None = None

    @property
    def where(self) -> str:
        """Where the work came from, for a person."""
        if not self.origin:
            return "a new, never saved session"
        if self.origin.startswith("store:"):
            return f"saved session '{self.origin[len('store:'):]}'"
        return self.origin


@dataclass(frozen=True, slots=True)
class RecoveryStatus:
    ok: bool
    reason: str | None = None  # why recovery is off

    def __str__(self) -> str:
        return "recovery on" if self.ok else f"recovery off: {self.reason}"


def _session_key(origin: str | None) -> str:
    return hashlib.sha256((origin or "<new>").encode("utf-8")).hexdigest()[:12]


def _reason(exc: OSError, directory: Path) -> str:
    return f"{directory}: {exc.strerror or exc}"


class RecoveryStore:
    """This instance's recovery records, and the orphaned records of instances that are gone."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, instance: str | None = None):
        self.directory = Path(directory) if directory is not None else app_dir("state") / "recovery"
        self.instance = instance or f"{os.getpid()}-{secrets.token_hex(4)}"
        self.status = RecoveryStatus(True)
        self._lock_fd: int | None = None
        self._written: dict[str, str] = {}  # session key -> text last written

    # -- life -------------------------------------------------------------------------------
    def start(self) -> RecoveryStatus:
        """Create the directory and take this instance's lock; clean dead writers' temp files.
        Never raises: a failure is recorded in `status`."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            clean_stale_temps(self.directory)
            if self._lock_fd is None:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._lock_fd = fd
            self.status = RecoveryStatus(True)
        except OSError as exc:
            self.status = RecoveryStatus(False, _reason(exc, self.directory))
        return self.status

    def close(self, *, keep_records: bool = True) -> None:
        """Release the lock (records stay for the next start unless `keep_records` is false)."""
        if not keep_records:
            self.clear()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None
            if not self._own_records():
                with contextlib.suppress(OSError):
                    self._lock_path.unlink()

    @property
    def _lock_path(self) -> Path:
        return self.directory / f"{self.instance}.lock"

    def _record_path(self, key: str) -> Path:
        return self.directory / f"{self.instance}.{key}.json"

    def _own_records(self) -> list[Path]:
        with contextlib.suppress(OSError):
            return sorted(self.directory.glob(f"{self.instance}.*.json"))
        return []

    # -- this instance's work ----------------------------------------------------------------
    def write(self, session_text: str, origin: str | os.PathLike[str] | None = None) -> bool:
        """Record unsaved work on the session from `origin` (replacing this instance's records of
        other sessions: an instance edits one document at a time). True when it is safe on disk;
        False (and `status` says why) when the state directory refuses it."""
        origin_text = None if origin is None else str(origin)
        key = _session_key(origin_text)
        if self._written.get(key) == session_text and self.status.ok:
            return True
        if self._lock_fd is None or not self.status.ok:
            self.start()
        record = {
            "format": FORMAT,
            "origin": origin_text,
            "saved_at": datetime.now(UTC).isoformat(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "text": session_text,
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self._record_path(key), json.dumps(record, ensure_ascii=False))
        except OSError as exc:
            self.status = RecoveryStatus(False, _reason(exc, self.directory))
            self._written.pop(key, None)
            return False
        self.status = RecoveryStatus(True)
        self._written = {key: session_text}
        for path in self._own_records():
            if path.name != self._record_path(key).name:
                with contextlib.suppress(OSError):
                    path.unlink()
        return True

    def clear(self, origin: str | os.PathLike[str] | None | object = ...) -> None:
        """Forget this instance's unsaved work (on save or discard): for one session's origin, or
        all of it when no origin is given. Other instances' records are never touched."""
        if origin is ...:
            paths = self._own_records()
            self._written.clear()
        else:
            key = _session_key(None if origin is None else str(origin))
            paths = [self._record_path(key)]
            self._written.pop(key, None)
        for path in paths:
            with contextlib.suppress(FileNotFoundError, OSError):
                path.unlink()

    # -- work left by instances that are gone ------------------------------------------------
    def _instance_alive(self, instance: str) -> bool:
        if instance == self.instance:
            return True
        lock = self.directory / f"{instance}.lock"
        try:
            fd = os.open(lock, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return False
        except OSError:
            return True  # cannot tell: leave it alone
        try:
            if fcntl is None:
                pid = int(instance.split("-", 1)[0])
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 0)
                    return True
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True  # held: that instance is running
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def pending(self) -> list[PendingRecovery]:
        """Unsaved work of instances that are gone (and of the old shared recovery.json), newest
        first. Unreadable records are skipped, never raised."""
        found: list[PendingRecovery] = []
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            names = []
        alive: dict[str, bool] = {}
        for name in names:
            if not name.endswith(".json") or name.startswith("."):
                continue
            instance = name.split(".", 1)[0]
            if instance not in alive:
                alive[instance] = self._instance_alive(instance)
            if alive[instance]:
                continue
            item = _read_record(self.directory / name)
            if item is not None:
                found.append(item)
        legacy = _read_record(self.directory.parent / "recovery.json")
        if legacy is not None:
            found.append(legacy)
        return sorted(found, key=lambda r: r.saved_at, reverse=True)

    def resolve(self, item: PendingRecovery) -> None:
        """Remove a pending record once restored (this instance now records it) or discarded;
        the dead instance's lock file goes with its last record."""
        with contextlib.suppress(OSError):
            item.path.unlink()
        instance = item.path.name.split(".", 1)[0]
        if item.path.parent == self.directory and instance != self.instance:
            with contextlib.suppress(OSError):
                if not list(self.directory.glob(f"{instance}.*.json")):
                    (self.directory / f"{instance}.lock").unlink()


def _read_record(path: Path) -> PendingRecovery | None:
    try:
        record = json.loads(path.read_text("utf-8"))
        saved_at = datetime.fromisoformat(record["saved_at"])
        text, origin = record["text"], record.get("origin")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(text, str) or not (origin is None or isinstance(origin, str)):
        return None
    if saved_at.tzinfo is None:
        saved_at = saved_at.replace(tzinfo=UTC)
    pid = record.get("pid") if isinstance(record.get("pid"), int) else None
    host = record.get("host") if isinstance(record.get("host"), str) else None
    return PendingRecovery(text, origin, saved_at, path, pid, host)


__all__ = ["PendingRecovery", "RecoveryStatus", "RecoveryStore"]
