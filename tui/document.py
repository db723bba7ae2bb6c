"""The session being edited and where it lives (plain Python, no Textual).

`kind` is "new" (never saved: ctrl+s asks a name), "store" (a session in the user's sessions
folder, saved with versions) or "file" (a session file opened by path: saved in place, and only on
an explicit save). `baseline` is what is on disk; the document is dirty when the session differs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sessions.schema import Session

Kind = Literal["new", "store", "file"]
STORE_PREFIX = "store:"


@dataclass(frozen=True, slots=True)
class Document:
    session: Session
    kind: Kind = "new"
    baseline: Session | None = None  # what is on disk (for "new": the session it started as)
    name: str | None = None  # the store name (kind "store")
    path: Path | None = None  # the file (kind "file")

    @property
    def dirty(self) -> bool:
        return self.baseline is None or self.session != self.baseline

    @property
    def origin(self) -> str | None:
        """Where it came from, as the recovery file records it."""
        if self.kind == "store" and self.name:
            return STORE_PREFIX + self.name
        if self.kind == "file" and self.path:
            return str(self.path)
        return None

    @property
    def source_label(self) -> str:
        if self.kind == "file" and self.path:
            return str(self.path)
        if self.kind == "store":
            return "saved session"
        return "not saved yet"

    def edited(self, session: Session) -> Document:
        return replace(self, session=session)

    def saved(self) -> Document:
        return replace(self, baseline=self.session)

    @classmethod
    def new(cls, session: Session) -> Document:
        return cls(session, "new", baseline=session)

    @classmethod
    def stored(cls, session: Session, name: str, baseline: Session | None = None) -> Document:
        return cls(session, "store", baseline=session if baseline is None else baseline, name=name)

    @classmethod
    def file(cls, session: Session, path: Path, baseline: Session | None = None) -> Document:
        return cls(session, "file", baseline=session if baseline is None else baseline, path=path)


def parse_origin(origin: str | None) -> tuple[Kind, str | None, Path | None]:
    if not origin:
        return "new", None, None
    if origin.startswith(STORE_PREFIX):
        return "store", origin[len(STORE_PREFIX):], None
    return "file", None, Path(origin)


def default_session_text() -> str:
    """The session the app opens on (sessions.examples; the bundled default.toml otherwise)."""
    try:
        from sessions.examples import default_session_text as text  # type: ignore[attr-defined]

        return text()
    except ImportError:
        from importlib import resources

        return resources.files("sessions").joinpath("examples", "default.toml").read_text("utf-8")
