"""The app's .tcss files beyond app.tcss: each is the DEFAULT_CSS of the part it styles, so it is
parsed when that part first mounts (after the first frame), not at start."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def tcss(name: str) -> str:
    return resources.files("tui").joinpath(name).read_text(encoding="utf-8")
