"""Read and write session files. Loading is all or nothing: a whole valid Session or one
SessionError naming the file, line, column and key. Saving is atomic."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from catalogs.files import atomic_write_text
from .errors import SessionError, syntax_error, validation_errors
from .locate import parse_path
from .schema import Session

MAX_BYTES = 16 << 20  # a session is a few hundred bytes; refuse to parse a mistaken huge file
HEADER = (
    "# gpuplan session (hand-editable TOML; unknown keys are an error).\n"
    "# Sizes are GiB = 2^30 bytes. Layout and keys: sessions/examples/*.toml, README.\n\n"
)


def parse_session(text: str, filename: str = "<session>") -> Session:
    """Parse and validate session TOML. Raises SessionError (never anything else for bad input)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise syntax_error(exc, text, filename) from None
    except RecursionError:
        raise SessionError(filename, 1, 1, "syntax", "values nested too deeply") from None
    return validate(data, text=text, filename=filename)


def validate(data: Mapping[str, Any], *, text: str | None = None, filename: str = "<session>") -> Session:
    """Validate a parsed document (`text`, when given, places errors on their lines)."""
    try:
        return Session.model_validate(dict(data))
    except ValidationError as exc:
        raise validation_errors(exc, Session, text, filename) from None
    except RecursionError:
        raise SessionError(filename, 1, 1, "session", "values nested too deeply") from None


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and parse a session file; every failure (unreadable, not UTF-8, invalid) is a
    SessionError naming the file."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SessionError(name, 0, 0, "", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise SessionError(name, 0, 0, "", f"larger than {MAX_BYTES >> 20} MiB: not a session file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SessionError(name, line, col, "encoding", "not UTF-8 text") from None
    return parse_session(text, name)


def to_document(session: Session) -> dict[str, Any]:
    """The session as the dict that is written: DESIGN layout order, explicit values (so the file
    documents itself), absent optional keys and empty override tables left out."""
    data = session.model_dump(mode="python", exclude_none=True)
    data["scenarios"] = {k: v for k, v in data.get("scenarios", {}).items() if v}
    if not data["scenarios"]:
        del data["scenarios"]
    return data


def dump_session(session: Session) -> str:
    """Session TOML; `parse_session(dump_session(s)) == s`."""
    return HEADER + tomli_w.dumps(to_document(session))


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write atomically (temp file, fsync, rename, fsync dir); keeps an existing file's mode and
    leaves it untouched if anything fails."""
    return atomic_write_text(path, dump_session(session))


def update_session(session: Session, changes: Mapping[str, Any]) -> Session:
    """A validated copy with `changes` applied ({"serving.memory_fraction": 0.8, ...}; None
    removes a key). Raises SessionError whose `field` names the offending key, for the app to
    mark; `session` itself is never modified."""
    data = session.model_dump(mode="python", exclude_none=True)
    for dotted, value in changes.items():
        path = [str(p) for p in parse_path(dotted)]
        node = data
        for key in path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        if value is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return validate(data)
