"""`SessionError`: one message a user can act on, `file:line:col: field: message`, and the
translation of tomllib and pydantic failures into it."""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from .locate import Locator, Path, format_path, parse_path


class FieldProblem(ValueError):
    """Raised inside schema validators: `field` is a dotted path relative to the model being
    validated, so the error lands on the right key."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class SessionError(ValueError):
    """A session that cannot be used. `str()` is `file:line:col: field: message` (line 0 when the
    position is unknown, then `file: field: message`). `problems` holds every problem found, this
    one first."""

    def __init__(
        self,
        file: str,
        line: int,
        col: int,
        field: str,
        message: str,
        problems: Sequence[SessionError] = (),
    ):
        self.file, self.line, self.col, self.field, self.message = file, line, col, field, message
        self.problems: tuple[SessionError, ...] = tuple(problems) or (self,)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line > 0 else self.file
        return ": ".join(part for part in (where, self.field, self.message) if part)

    def __reduce__(self):  # picklable across worker processes
        return (SessionError, (self.file, self.line, self.col, self.field, self.message))

    def details(self) -> str:
        """Every problem, one per line."""
        return "\n".join(str(p) for p in self.problems)

    @classmethod
    def collect(cls, problems: Iterable[SessionError]) -> SessionError:
        """One error carrying all `problems`, sorted by position."""
        ordered = sorted(problems, key=lambda p: (p.line <= 0, p.line, p.col))
        first = ordered[0]
        return cls(first.file, first.line, first.col, first.field, first.message, ordered)


# --------------------------------------------------------------------------------------------
# TOML syntax
# --------------------------------------------------------------------------------------------

_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_FRIENDLIER = {
    "Cannot overwrite a value": "key defined twice (TOML allows each key once)",
    "Expected '=' after a key in a key/value pair": "expected '=' after the key",
    "Invalid statement": "not a key = value pair or a [table] header",
}


def syntax_error(exc: tomllib.TOMLDecodeError, text: str, file: str) -> SessionError:
    raw = str(exc)
    m = _AT.search(raw)
    message = raw[: m.start()] if m else raw
    if m and m.group(1):
        line, col = int(m.group(1)), int(m.group(2))
    else:  # end of document
        lines = text.split("\n")
        line, col = len(lines), len(lines[-1]) + 1
    message = _FRIENDLIER.get(message, message)
    if message.startswith("Cannot declare"):
        message = "table declared twice (TOML allows each [table] once)"
    elif message == "Invalid value":
        message = 'invalid value (text needs quotes: engine = "vllm"; numbers and true/false do not)'
    return SessionError(file, line, col, _syntax_field(text, line), message)


_HEADER = re.compile(r"^\s*\[\[?([^\[\]]+)\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _clean_key(raw: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in raw.split("."))


def _syntax_field(text: str, line: int) -> str:
    """Best guess of the key being written at `line` (the table above plus the key on the line),
    else "syntax"."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return "syntax"
    header = _HEADER.match(lines[line - 1])
    if header:
        return _clean_key(header.group(1))
    key = _KEY.match(lines[line - 1])
    if not key:
        return "syntax"
    table = ""
    for previous in reversed(lines[: line - 1]):
        found = _HEADER.match(previous)
        if found:
            table = _clean_key(found.group(1)) + "."
            break
    return table + _clean_key(key.group(1))


# --------------------------------------------------------------------------------------------
# Pydantic validation
# --------------------------------------------------------------------------------------------

_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "model_type": "a table",
    "dict_type": "a table",
    "list_type": "an array",
}


def show(value: Any) -> str:
    """A value as it looks in TOML, shortened."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = '"' + value.replace('"', '\\"') + '"'
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = "an array"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _section_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _section_class(arg)
            if found:
                return found
    return None


def _model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The schema class that holds keys at `path` (None below free-form tables)."""
    cls: type[BaseModel] | None = root
    for part in path:
        if cls is None or not isinstance(part, str) or part not in cls.model_fields:
            return None
        cls = _section_class(cls.model_fields[part].annotation)
    return cls


def _did_you_mean(word: str, options: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return match[0] if match else None


def _message(err: dict[str, Any], root: type[BaseModel], path: Path) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        parent = _model_at(root, path[:-1])
        options = list(parent.model_fields) if parent else []
        hint = _did_you_mean(str(path[-1]), options)
        if hint:
            return f"unknown key '{path[-1]}' (did you mean '{hint}'?)"
        return f"unknown key '{path[-1]}'" + (f" (expected one of: {', '.join(options)})" if options else "")
    if kind == "missing":
        is_table = _model_at(root, path) is not None
        return f"missing table [{format_path(path)}]" if is_table else "missing required key"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        hint = _did_you_mean(str(value), options) if isinstance(value, str) else None
        choices = ", ".join(options) or expected
        return f"{show(value)} is not one of: {choices}" + (f" (did you mean '{hint}'?)" if hint else "")
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {show(value)}"
    if kind == "value_error":
        error = err.get("ctx", {}).get("error")
        return getattr(error, "message", None) or str(error or err["msg"]).removeprefix("Value error, ")
    msg = str(err["msg"]).replace("Input should be", "must be")
    return f"{msg}, got {show(value)}" if value is not None and not isinstance(value, dict) else msg


def _path(err: dict[str, Any]) -> Path:
    path: Path = tuple(err["loc"])
    error = err.get("ctx", {}).get("error") if err["type"] == "value_error" else None
    if isinstance(error, FieldProblem) and error.field:
        path += parse_path(error.field)
    return path


def validation_errors(
    exc: ValidationError, root: type[BaseModel], text: str | None, file: str
) -> SessionError:
    """Every pydantic error as a SessionError at the line of its key (or of the nearest enclosing
    table written in the file), collected into one."""
    locator = Locator(text) if text is not None else None
    problems = []
    for err in exc.errors(include_url=False):
        path = _path(err)
        line = col = 0
        if locator is not None:
            line, col, _ = locator.find(path)
        field = format_path(path) or "session"
        problems.append(SessionError(file, line, col, field, _message(err, root, path)))
    return SessionError.collect(problems)
