"""Where gpuplan keeps its files, and how it writes them.

Directories: `$GPUPLAN_HOME/{catalog,sessions,state}` when GPUPLAN_HOME is set, else the
platform's config / data / state dirs (platformdirs).

Atomic file replacement: a reader (or a crash) sees the old file or the new one, never a
truncated mix. Temp file in the same directory, write, flush, fsync, os.replace, fsync the
directory. The file mode of an existing file is kept; a symlink is followed, not replaced."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
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


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace `path` with `data` atomically; returns the path written. On any failure the
    original file is untouched and the temp file removed, and the exception propagates."""
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
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
