"""Edits to the session model from the sidebar, as pure functions: the text of a field (or a
picked model) and the current session in, the new session or the field's error out. The app
applies the answer; nothing here touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .fields import BY_PATH, FieldInputError, get_path, parse_value

if TYPE_CHECKING:
    from sessions.errors import SessionError
    from sessions.schema import Session


@dataclass(frozen=True, slots=True)
class Edit:
    """The answer to one edit: `session` is the edited session (None: unchanged or refused),
    `error` the field's message (None: the field is valid)."""

    path: str
    session: Session | None = None
    error: str | None = None
    note: str | None = None  # what else the edit changed (the server that follows the GPU)


def edit_field(session: Session, path: str, raw: Any, catalog: Any = None) -> Edit:
    """Apply a field's raw text (or choice) to `session`. With a catalog, the server follows a
    new GPU (issue 7 item 9): a server that does not hold the chosen GPU is replaced by one that
    does, or dropped."""
    from sessions.errors import SessionError
    from sessions.io import update_session

    spec = BY_PATH[path]
    if spec.kind == "choice":
        value = raw
    else:
        try:
            value = parse_value(spec, raw)
        except FieldInputError as exc:
            return Edit(path, error=str(exc))
    data = session.model_dump(mode="python")
    if get_path(data, path) == value and type(get_path(data, path)) is type(value):
        return Edit(path)
    changes: dict[str, Any] = {path: value}
    note = None
    if path == "hardware.gpu" and value is not None:
        changes["hardware.gpu_spec"] = None
        server, note = server_for_gpu(catalog, session.hardware.server, value)
        if note is not None:
            changes["hardware.server"] = server
    try:
        edited = update_session(session, changes)
    except SessionError as exc:
        return Edit(path, error=field_message(exc, path))
    return Edit(path, session=edited, note=note)


def server_for_gpu(catalog: Any, server: str | None, gpu: str) -> tuple[str | None, str | None]:
    """The server to use with `gpu`: (server, note), note None when `server` holds it already
    (or is unknown here). Else the first catalog server that holds the GPU, or none."""
    servers = getattr(catalog, "servers", None)
    if server is None or servers is None or server not in servers:
        return server, None
    if servers[server].gpu == gpu:
        return server, None
    match = next((sid for sid, spec in servers.items() if spec.gpu == gpu), None)
    if match is not None:
        return match, f"Server {server} holds {servers[server].gpu}, not {gpu}: now {match}."
    return None, f"Server {server} holds {servers[server].gpu}, not {gpu}: no catalog server holds it, so none is set."


def pick_model(session: Session, catalog: Any, model_id: str) -> Edit:
    """Size a catalog model: only a catalog id enters the session (case-insensitive)."""
    from sessions.errors import SessionError
    from sessions.io import update_session

    path = "model.catalog"
    models = getattr(catalog, "models", None)
    if models is not None and hasattr(models, "resolve"):
        try:
            model_id = models.resolve(model_id)
        except KeyError as exc:
            return Edit(path, error=str(exc))
    try:
        edited = update_session(session, {"model.catalog": model_id, "model.config": None})
    except SessionError as exc:
        return Edit(path, error=field_message(exc, path))
    return Edit(path, session=edited)


def field_message(error: SessionError, path: str) -> str:
    """The problem of `error` that belongs to the field `path` (else its first)."""
    for problem in error.problems:
        if problem.field == path or problem.field.startswith(path):
            return problem.message
    return error.problems[0].message
