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

from catalogs.files import MAX_TEXT_BYTES, TextFileError, atomic_write_text, read_text_file
from .errors import SessionError, syntax_error, validation_errors
from .locate import parse_path
from .schema import Session

MAX_BYTES = MAX_TEXT_BYTES  # a session is a few hundred bytes; refuse to parse a mistaken huge file
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


def read_session_file(path: str | os.PathLike[str]) -> str:
    """A session file's text, read the one way the CLI and the app share (catalogs.files:
    regular files only, BOM dropped, size limit, non-UTF-8 placed at line:col). SessionError
    naming the file otherwise."""
    try:
        return read_text_file(path, max_bytes=MAX_BYTES)
    except TextFileError as exc:
        field = "encoding" if exc.line > 0 else ""
        raise SessionError(exc.file, exc.line, exc.col, field, exc.message) from None


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and parse a session file; every failure (unreadable, not UTF-8, invalid) is a
    SessionError naming the file."""
    return parse_session(read_session_file(path), str(path))


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
