"""Session files: schema, TOML load/save (atomic), saved sessions with versions, crash
recovery, diffs, and the bundled examples (one of them the app's default session)."""

from __future__ import annotations

from .errors import SessionError
from .examples import DEFAULT_EXAMPLE, default_session_text, example_names, example_text, examples_dir
from .io import dump_session, load_session, parse_session, save_session, update_session
from .schema import SCHEMA_VERSION, Session


def default_session() -> Session:
    return parse_session(default_session_text(), f"<embedded {DEFAULT_EXAMPLE}.toml>")


__all__ = [
    "SCHEMA_VERSION",
    "Session",
    "SessionError",
    "default_session",
    "default_session_text",
    "dump_session",
    "example_names",
    "example_text",
    "examples_dir",
    "load_session",
    "parse_session",
    "save_session",
    "update_session",
]
