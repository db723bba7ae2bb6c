"""Rewrite a hand-edited session file with only the changed values: comments, key order,
blank lines and number formatting (`0.90` stays `0.90`) survive a save.

tomlkit parses the file into a document that keeps its trivia; we compare what the file meant
(its Session, as written) with what is being saved and touch only the keys that differ. The
result is checked: if it does not read back as exactly the session being saved (an unusual
layout tomlkit cannot edit in place), the plain dump is used instead, so a save is never wrong.
"""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import AoT

from .errors import SessionError
from .io import dump_session, parse_session, to_document
from .schema import Session

_MISSING = object()


def _leaves(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for key, value in data.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            out.update(_leaves(value, path))
        else:
            out[path] = value
    return out


def _container(doc: Any, path: tuple[str, ...], create: bool) -> Any:
    node = doc
    for key in path:
        if key not in node:
            if not create:
                return None
            node[key] = tomlkit.table()
        node = node[key]
        if isinstance(node, AoT) or not hasattr(node, "keys"):
            raise TypeError(f"{'.'.join(path)} is not a table")
    return node


def _prune_empty(doc: Any, path: tuple[str, ...]) -> None:
    """Drop tables a removal left empty (deepest first), e.g. [scenarios.minimum]."""
    for depth in range(len(path), 0, -1):
        parent = _container(doc, path[: depth - 1], create=False)
        if parent is None:
            return
        child = parent.get(path[depth - 1])
        if hasattr(child, "keys") and not list(child.keys()):
            del parent[path[depth - 1]]


def update_text(original: str, session: Session) -> str:
    """`original` (a session file's text) with `session`'s values; only what changed is
    rewritten. Falls back to `dump_session(session)` when the original does not parse or cannot
    be edited in place."""
    try:
        before = to_document(parse_session(original))
    except SessionError:
        return dump_session(session)  # unparseable: nothing to keep but the content (saved as a version)
    after = to_document(session)
    old, new = _leaves(before), _leaves(after)
    try:
        doc = tomlkit.parse(original)
        for path in old.keys() - new.keys():
            parent = _container(doc, path[:-1], create=False)
            if parent is not None and path[-1] in parent:
                del parent[path[-1]]
                _prune_empty(doc, path[:-1])
        for path, value in new.items():
            if old.get(path, _MISSING) == value and type(old.get(path)) is type(value):
                continue
            parent = _container(doc, path[:-1], create=True)
            parent[path[-1]] = value
        text = tomlkit.dumps(doc)
        if parse_session(text) == session:
            return text
    except Exception:  # noqa: BLE001 - any surprise in tomlkit means: write the plain dump
        pass
    return dump_session(session)


__all__ = ["update_text"]
