"""Where gpuplan keeps its files, and how it writes them.

Directories: `$GPUPLAN_HOME/{catalog,sessions,state}` when GPUPLAN_HOME is set, else the
platform's config / data / state dirs (platformdirs).

Atomic file replacement: a reader (or a crash) sees the old file or the new one, never a
truncated mix. Temp file in the same directory, write, flush, fsync, os.replace, fsync the
directory. The file mode of an existing file is kept; a symlink is followed, not replaced."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path


APP = "gpuplan"
_PLATFORM_DIRS = {"catalog": "user_config_dir", "sessions": "user_data_dir", "state": "user_state_dir"}


def gpuplan_home() -> Path | None:
    home = os.environ.get("GPUPLAN_HOME")
    return Path(home).expanduser() if home else None


def app_dir(kind: str) -> Path:
    """The directory for `kind` in {"catalog", "sessions", "state"}."""
    home = gpuplan_home()
    if home is not None:
        return home / kind
    import platformdirs  # only needed without GPUPLAN_HOME

    base = Path(getattr(platformdirs, _PLATFORM_DIRS[kind])(APP, appauthor=False))
    return base if kind == "state" else base / kind


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask is process-wide and not thread-safe)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


TEMP_SUFFIX = ".tmp"
# .<target name>.<writer pid>.<mkstemp's random part>.tmp (and the older .<name>.<random>.tmp)
_TEMP_NAME = re.compile(r"^\.(?P<target>.+?)\.(?:(?P<pid>\d+)\.)?(?P<rand>[A-Za-z0-9_]{6,})\.tmp$")
LEGACY_TEMP_AGE_S = 3600.0  # a temp file without a PID older than this has no live writer
PID_REUSE_AGE_S = 86400.0  # a live PID owning a day-old temp file is another process by now


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return False
    return True


def stale_temp_files(directory: str | os.PathLike[str], *, target: str | None = None, now: float | None = None) -> list[Path]:
    """Temp files of `atomic_write_bytes` in `directory` whose writer is gone (its PID is not
    running, or the file is too old to be a save in progress); only those for `target` when a
    file name is given. Missing or unreadable directories have none."""
    import time

    now = time.time() if now is None else now
    found = []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        m = _TEMP_NAME.match(name)
        if not m or (target is not None and m.group("target") != target):
            continue
        path = Path(directory) / name
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        age = now - st.st_mtime
        pid = m.group("pid")
        if pid is None:
            stale = age > LEGACY_TEMP_AGE_S
        else:
            stale = not _pid_alive(int(pid)) or age > PID_REUSE_AGE_S
        if stale:
            found.append(path)
    return sorted(found)


def clean_stale_temps(directory: str | os.PathLike[str], *, target: str | None = None) -> list[Path]:
    """Remove the temp files `stale_temp_files` finds; returns what was removed."""
    removed = []
    for path in stale_temp_files(directory, target=target):
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace `path` with `data` atomically; returns the path written. On any failure the
    original file is untouched and the temp file removed, and the exception propagates."""
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    # The writer's PID is in the name, so a start-up can tell a dead writer's leftover from a
    # save in progress (clean_stale_temps).
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------------------------
# Reading a user's text file: one reader for the CLI and the app alike
# --------------------------------------------------------------------------------------------

MAX_TEXT_BYTES = 16 << 20  # sessions and catalog files are kilobytes; refuse a mistaken huge file


class TextFileError(ValueError):
    """A file that cannot be read as text. `line`/`col` are 1-based (0 when not about a place)."""

    def __init__(self, file: str, line: int, col: int, message: str):
        self.file, self.line, self.col, self.message = file, line, col, message
        where = f"{file}:{line}:{col}" if line > 0 else file
        super().__init__(f"{where}: {message}")


_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a file held when it was read: compared before a save to notice an edit made
    meanwhile (the hash decides; mtime and size only say where to look)."""

    mtime_ns: int
    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes, st: os.stat_result | None = None) -> Fingerprint:
        return cls(st.st_mtime_ns if st else 0, len(data), hashlib.sha256(data).hexdigest())

    def same_content(self, other: Fingerprint | None) -> bool:
        return other is not None and other.sha256 == self.sha256


def read_text_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The text of a regular UTF-8 file (a leading BOM dropped), at most `max_bytes` long.
    Raises TextFileError for anything else, never blocks: a FIFO, device or directory is refused
    before a byte is read (opened with O_NONBLOCK, checked with fstat)."""
    return read_text_snapshot(path, max_bytes=max_bytes)[0]


def fingerprint(path: str | os.PathLike[str], *, max_bytes: int = MAX_TEXT_BYTES) -> Fingerprint | None:
    """The file's fingerprint now; None when it does not exist (TextFileError if unreadable)."""
    try:
        raw, st = _read_regular(path, max_bytes)
    except TextFileError as exc:
        if exc.message == "cannot read: no such file":
            return None
        raise
    return Fingerprint.of(raw, st)


def read_text_snapshot(path: str | os.PathLike[str], *, max_bytes: int = MAX_TEXT_BYTES) -> tuple[str, Fingerprint]:
    """`read_text_file` plus the fingerprint of the bytes it read (one open, one read)."""
    raw, st = _read_regular(path, max_bytes)
    return _decode(str(path), raw), Fingerprint.of(raw, st)


def _read_regular(path: str | os.PathLike[str], max_bytes: int) -> tuple[bytes, os.stat_result]:
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise TextFileError(name, 0, 0, "cannot read: no such file") from None
    except IsADirectoryError:
        raise TextFileError(name, 0, 0, "is a directory, not a file") from None
    except OSError as exc:
        raise TextFileError(name, 0, 0, f"cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        mode = st.st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise TextFileError(name, 0, 0, f"is {kind}, not a regular file: refusing to read it")
        chunks, size = [], 0
        while size <= max_bytes:
            try:
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise TextFileError(name, 0, 0, f"cannot read: {exc.strerror or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise TextFileError(name, 0, 0, f"larger than {max_bytes / (1 << 20):g} MiB: not a gpuplan file")
    return raw, st


def _decode(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise TextFileError(name, line, col, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None
