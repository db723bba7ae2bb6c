"""The bundled example sessions (TOML files beside this module); `default` is the session the
app opens on."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_EXAMPLE = "default"


def examples_dir() -> Path:
    """The directory of the bundled example sessions."""
    return Path(str(resources.files(__name__)))


def example_names() -> list[str]:
    return sorted(p.stem for p in examples_dir().glob("*.toml"))


def example_text(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.toml").read_text("utf-8")


def default_session_text() -> str:
    """The embedded default session the app opens on."""
    return example_text(DEFAULT_EXAMPLE)
