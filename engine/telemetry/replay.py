"""Versioned JSON-lines traces: `gpuplan watch --record FILE` writes one, `--replay FILE` plays it.

Line 1 is a header ``{"format": "gpuplan-trace", "version": 1, "created": ..., ...}``; every
further line is one HostSample as produced by :func:`sample_to_dict`. A bad trace raises
:class:`TraceError` naming the file and the line.

A trace may be gzip-compressed (written so when its name ends in ``.gz``; read either way, the
format told by its first bytes): about 9 KB of JSON per 8-GPU sample shrinks ~10x. With
``max_bytes`` the writer rotates: when the file reaches half the cap it becomes ``NAME.1``
(``x.jsonl.gz`` -> ``x.jsonl.1.gz``, replacing an older one), so the two together stay under the cap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import zlib
import logging
import os
import socket
import time
import types
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Literal, Mapping, Union, get_args, get_origin, get_type_hints

from engine.telemetry.protocol import BackendUnavailable, GpuBackend
from engine.telemetry.samples import GpuProcess, GpuSample, HostSample, XidEvent

log = logging.getLogger("gpuplan.telemetry")

TRACE_FORMAT = "gpuplan-trace"
TRACE_VERSION = 1


class TraceError(BackendUnavailable):
    """A trace that cannot be read: names the file and (when known) the 1-based line."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {message}")


# ---- dict conversion ------------------------------------------------------------------------


def _to_json(value: Any, compact: bool) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            # compact: a field equal to its default (mostly N/A = None) is left out; reading
            # fills the default back in, so the round trip is exact
            if compact and f.default is not dataclasses.MISSING and v == f.default:
                continue
            out[f.name] = _to_json(v, compact)
        return out
    if isinstance(value, tuple):
        return [_to_json(v, compact) for v in value]
    return value


def sample_to_dict(sample: HostSample, *, compact: bool = False) -> dict[str, Any]:
    """A HostSample as JSON-ready dicts/lists/scalars (tuples become lists). With `compact`,
    fields equal to their defaults are omitted (what the trace writer does)."""
    out = _to_json(sample, compact)
    assert isinstance(out, dict)
    return out


Converter = Callable[[Any, str], Any]
_CONVERTERS: dict[Any, Converter] = {}


def _converter(hint: Any) -> Converter:
    """A function checking a JSON value against a type hint and rebuilding the Python value."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1 or type(None) not in args:
            raise TypeError(f"unsupported hint {hint!r}")
        conv = _converter(inner[0])
        return lambda v, where: None if v is None else conv(v, where)
    if origin is Literal:
        allowed = args

        def lit(v: Any, where: str) -> Any:
            if v not in allowed:
                raise ValueError(f"{where}: {v!r} is not one of {', '.join(map(repr, allowed))}")
            return v

        return lit
    if origin is tuple:
        item = _converter(args[0])

        def tup(v: Any, where: str) -> Any:
            if not isinstance(v, list):
                raise ValueError(f"{where}: expected a list, got {type(v).__name__}")
            return tuple(item(x, f"{where}[{k}]") for k, x in enumerate(v))

        return tup
    if hint is bool:

        def boolean(v: Any, where: str) -> Any:
            if not isinstance(v, bool):
                raise ValueError(f"{where}: expected true/false, got {v!r}")
            return v

        return boolean
    if hint is int:

        def integer(v: Any, where: str) -> Any:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{where}: expected an integer, got {v!r}")
            return v

        return integer
    if hint is float:

        def number(v: Any, where: str) -> Any:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{where}: expected a number, got {v!r}")
            return float(v)

        return number
    if hint is str:

        def text(v: Any, where: str) -> Any:
            if not isinstance(v, str):
                raise ValueError(f"{where}: expected a string, got {v!r}")
            return v

        return text
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda v, where: _from_dict(hint, v, where)
    raise TypeError(f"unsupported hint {hint!r}")


def _fields_of(cls: type) -> list[tuple[str, Converter, bool]]:
    key = ("fields", cls)
    cached = _CONVERTERS.get(key)
    if cached is None:
        hints = get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            specs.append((f.name, _converter(hints[f.name]), required))
        cached = _CONVERTERS[key] = specs  # type: ignore[assignment]
    return cached  # type: ignore[return-value]


def _from_dict(cls: type, d: Any, where: str) -> Any:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
    kwargs: dict[str, Any] = {}
    for name, conv, required in _fields_of(cls):
        if name in d:
            kwargs[name] = conv(d[name], f"{where}.{name}" if where else name)
        elif required:
            raise ValueError(f"{where + '.' if where else ''}{name}: missing")
    # unknown keys are ignored: a newer writer may add optional fields within the same version
    return cls(**kwargs)


def sample_from_dict(d: Mapping[str, Any]) -> HostSample:
    """Inverse of :func:`sample_to_dict`; raises ValueError naming the bad field."""
    return _from_dict(HostSample, dict(d), "")  # type: ignore[no-any-return]


# Resolve once at import so a broken schema fails loudly in tests, not mid-replay.
for _cls in (GpuProcess, XidEvent, GpuSample, HostSample):
    _fields_of(_cls)


# ---- header ---------------------------------------------------------------------------------


def make_header(**meta: Any) -> dict[str, Any]:
    header: dict[str, Any] = {
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "hostname": socket.gethostname(),
    }
    header.update(meta)
    return header


def _check_header(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise TraceError(path, 1, f"not a gpuplan trace (header is not JSON: {e})") from None
    if not isinstance(header, dict) or header.get("format") != TRACE_FORMAT:
        raise TraceError(path, 1, f'not a gpuplan trace (expected "format": "{TRACE_FORMAT}")')
    version = header.get("version")
    if version != TRACE_VERSION:
        raise TraceError(
            path, 1, f"unsupported trace version {version!r} (this gpuplan reads version {TRACE_VERSION})"
        )
    return header


def _parse_line(path: Path, line_no: int, raw: bytes) -> HostSample:
    try:
        d = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise TraceError(path, line_no, f"corrupt line (not JSON: {e})") from None
    try:
        if not isinstance(d, dict):
            raise ValueError(f"expected an object, got {type(d).__name__}")
        return sample_from_dict(d)
    except (ValueError, TypeError) as e:
        raise TraceError(path, line_no, f"bad sample: {e}") from None


GZIP_MAGIC = b"\x1f\x8b"
# A gzip stream cut short (recording killed between flushes) or damaged.
_GZIP_END = (EOFError, zlib.error, gzip.BadGzipFile)


def open_trace_file(path: str | os.PathLike[str]) -> IO[bytes]:
    """The trace's bytes, decompressed when the file is gzip (told by its magic number, not
    its name). Raises OSError as open() does."""
    f = open(path, "rb")
    if f.read(2) == GZIP_MAGIC:
        f.seek(0)
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    f.seek(0)
    return f


def _close_trace_file(f: IO[bytes]) -> None:
    inner = getattr(f, "fileobj", None)
    f.close()
    if inner is not None:
        inner.close()


def _readline(path: Path, f: IO[bytes], line_no: int) -> bytes:
    """One line; b"" at the end of a compressed stream that was cut short (logged)."""
    try:
        return f.readline()
    except _GZIP_END as e:
        log.warning("%s, line %d: compressed trace ends early (%s); treated as its end", path, line_no, e)
        return b""


def iter_trace(path: str | os.PathLike[str]) -> Iterator[HostSample]:
    """Every sample of a trace, strictly validated (a partial last line is an error too)."""
    p = Path(path)
    try:
        f = open_trace_file(p)
    except OSError as e:
        raise TraceError(p, None, f"cannot open trace: {e.strerror or e}") from None
    try:
        first = _readline(p, f, 1)
        if not first:
            raise TraceError(p, None, "empty file, not a gpuplan trace")
        _check_header(p, first)
        line_no = 1
        while True:
            raw = _readline(p, f, line_no + 1)
            if not raw:
                return
            line_no += 1
            if raw.strip():
                yield _parse_line(p, line_no, raw)
    finally:
        _close_trace_file(f)


def read_trace(path: str | os.PathLike[str]) -> list[HostSample]:
    return list(iter_trace(path))


# ---- writer ---------------------------------------------------------------------------------


def rotated_path(path: Path) -> Path:
    """Where a full trace goes when the writer rotates: x.jsonl.gz -> x.jsonl.1.gz, x.jsonl -> x.jsonl.1."""
    if path.suffix == ".gz":
        return path.with_name(path.name[: -len(".gz")] + ".1.gz")
    return path.with_name(path.name + ".1")


class TraceWriter:
    """Appends samples to a trace, one flushed line each. An existing plain file is appended to
    only if it is a gpuplan trace of this version (never clobbers another file); a partial last
    line left by a crash is cut off first. A compressed trace (`compress`, default: the name
    ends in .gz) is never appended to: an existing one is rotated away first. With `max_bytes`,
    the trace rotates when it reaches half of it (bytes on disk), so trace + rotated copy stay
    under `max_bytes`."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        compress: bool | None = None,
        max_bytes: int | None = None,
        **meta: Any,
    ) -> None:
        self.path = Path(path)
        self.compress = self.path.suffix == ".gz" if compress is None else compress
        if max_bytes is not None and max_bytes < 2 * 4096:
            raise ValueError("max_bytes must be at least 8 KiB")
        self.max_bytes = max_bytes
        self.count = 0
        self.rotations = 0
        self._f: IO[bytes] | None = None
        self._raw: IO[bytes] | None = None  # the file on disk under a GzipFile
        self._meta = meta

    def open(self) -> None:
        if self._f is not None:
            return
        p = self.path
        exists = p.exists() and p.stat().st_size > 0
        if exists:
            f = open_trace_file(p)
            try:
                _check_header(p, _readline(p, f, 1))
            finally:
                _close_trace_file(f)
        if self.compress:
            if exists:
                os.replace(p, rotated_path(p))
            self._raw = open(p, "wb")
            self._f = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)  # type: ignore[assignment]
            self._write_line(make_header(**self._meta))
        elif exists:
            f2 = open(p, "r+b")
            data_end = _last_newline_end(f2)
            f2.seek(data_end)
            f2.truncate()
            self._f = self._raw = f2
        else:
            self._f = self._raw = open(p, "wb")
            self._write_line(make_header(**self._meta))

    def _write_line(self, obj: Any) -> None:
        assert self._f is not None
        self._f.write(json.dumps(obj, separators=(",", ":"), allow_nan=False).encode() + b"\n")
        self._f.flush()  # a GzipFile does a Z_SYNC_FLUSH: everything so far is readable

    @property
    def bytes_on_disk(self) -> int:
        return self._raw.tell() if self._raw is not None else 0

    def write(self, sample: HostSample) -> None:
        self.open()
        self._write_line(sample_to_dict(sample, compact=True))
        self.count += 1
        if self.max_bytes is not None and self.bytes_on_disk >= self.max_bytes // 2:
            self._rotate()

    def _rotate(self) -> None:
        self.close()
        os.replace(self.path, rotated_path(self.path))  # replaces an older rotated copy
        self.rotations += 1
        self._meta = {**self._meta, "rotation": self.rotations}
        self.open()  # the path is free now: a fresh file with its own header

    def close(self) -> None:
        if self._f is not None:
            try:
                self._f.flush()
                if self._f is not self._raw:
                    self._f.close()  # writes the gzip trailer
                assert self._raw is not None
                self._raw.flush()
                os.fsync(self._raw.fileno())
            except (OSError, ValueError):
                pass
            with contextlib.suppress(OSError):
                assert self._raw is not None
                self._raw.close()
            self._f = self._raw = None

    def __enter__(self) -> TraceWriter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _last_newline_end(f: IO[bytes]) -> int:
    """Offset just after the last b"\\n" of the file (the end of its last complete line)."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    pos = end
    while pos > 0:
        step = min(4096, pos)
        pos -= step
        f.seek(pos)
        chunk = f.read(step)
        k = chunk.rfind(b"\n")
        if k >= 0:
            return pos + k + 1
    return 0


class RecordingBackend:
    """Wraps any backend and appends each sample to a TraceWriter (`gpuplan watch --record`).
    A write failure (disk full) is logged once and recording stops; monitoring goes on."""

    def __init__(self, inner: GpuBackend, writer: TraceWriter) -> None:
        self.inner = inner
        self.writer = writer
        self.record_error: str | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def simulated(self) -> bool:
        return bool(getattr(self.inner, "simulated", False))

    def open(self) -> None:
        self.writer.open()
        self.inner.open()

    def sample(self) -> HostSample:
        s = self.inner.sample()
        if self.record_error is None:
            try:
                self.writer.write(s)
            except (OSError, ValueError) as e:
                self.record_error = f"recording to {self.writer.path} stopped: {e}"
                log.error("%s", self.record_error)
        return s

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.writer.close()


# ---- replay ---------------------------------------------------------------------------------


class ReplayBackend:
    """Plays a trace back in order, one sample per `sample()` call, streaming (hours-long traces
    are not loaded into memory). With `loop`, starts over at the end; without, keeps returning the
    last sample and sets `finished`. With `retime`, timestamps are replaced by the current time.
    A corrupt line raises TraceError naming the file and line (the Sampler turns it into a host
    error); a partial LAST line (recording killed mid-write) is treated as the end."""

    simulated = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        loop: bool = True,
        retime: bool = False,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.loop = loop
        self.retime = retime
        self._wallclock = wallclock
        self._f: IO[bytes] | None = None
        self._data_start = 0
        self._line_no = 1
        self._last: HostSample | None = None
        self.header: dict[str, Any] = {}
        self.finished = False
        self.position = 0  # samples returned since the last (re)start

    @property
    def name(self) -> str:
        return "replay"

    def open(self) -> None:
        if self._f is not None:
            return
        try:
            f = open_trace_file(self.path)
        except OSError as e:
            raise TraceError(self.path, None, f"cannot open trace: {e.strerror or e}") from None
        first = _readline(self.path, f, 1)
        if not first:
            _close_trace_file(f)
            raise TraceError(self.path, None, "empty file, not a gpuplan trace")
        try:
            self.header = _check_header(self.path, first)
        except TraceError:
            _close_trace_file(f)
            raise
        self._f = f
        self._data_start = f.tell()
        self._line_no = 1
        # The first sample must parse: fail at open, not on the first tick.
        first_sample = self._next()
        if first_sample is None:
            self.close()
            raise TraceError(self.path, 2, "trace has a header but no samples")
        f.seek(self._data_start)
        self._line_no = 1

    def _next(self) -> HostSample | None:
        assert self._f is not None
        while True:
            raw = _readline(self.path, self._f, self._line_no + 1)
            if not raw:
                return None
            self._line_no += 1
            if not raw.strip():
                continue
            try:
                return _parse_line(self.path, self._line_no, raw)
            except TraceError:
                if not raw.endswith(b"\n") and not _readline(self.path, self._f, self._line_no + 1):
                    log.warning("%s, line %d: partial last line ignored", self.path, self._line_no)
                    return None
                raise

    def sample(self) -> HostSample:
        self.open()
        s = self._next()
        if s is None:
            if self.loop:
                assert self._f is not None
                self._f.seek(self._data_start)
                self._line_no = 1
                self.position = 0
                s = self._next()
            if s is None:
                self.finished = True
                assert self._last is not None
                return self._last
        self.position += 1
        if self.retime:
            s = dataclasses.replace(s, timestamp=self._wallclock())
        self._last = s
        return s

    def close(self) -> None:
        if self._f is not None:
            _close_trace_file(self._f)
            self._f = None
