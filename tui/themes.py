"""gpuplan's themes. The dark one uses colours of the xterm 256-colour cube, so a 256-colour
terminal (tmux, screen, old SSH clients) shows them as designed; the light one reads on white."""

from __future__ import annotations

import os
from pathlib import Path

from textual.theme import Theme

DARK = Theme(
    name="gpuplan-dark",
    primary="#5f87d7",  # xterm 68
    secondary="#5fafaf",  # 73
    accent="#d7875f",  # 173
    warning="#d7af00",  # 178
    error="#d75f5f",  # 167
    success="#5faf5f",  # 71
    foreground="#d0d0d0",  # 252
    background="#1c1c1c",  # 234
    surface="#262626",  # 235
    panel="#303030",  # 236
    dark=True,
)

LIGHT = Theme(
    name="gpuplan-light",
    primary="#005faf",  # 25
    secondary="#008787",  # 30
    accent="#af5f00",  # 130
    warning="#875f00",  # 94
    error="#af0000",  # 124
    success="#008700",  # 28
    foreground="#1c1c1c",  # 234
    background="#eeeeee",  # 255
    surface="#e4e4e4",  # 254
    panel="#d0d0d0",  # 252
    dark=False,
)

THEMES: tuple[Theme, ...] = (DARK, LIGHT)


# The chosen theme persists in the state dir's settings.json.


def _settings_path() -> Path:
    """`settings.json` in the state dir (logs.state_dir / catalogs.files.app_dir("state"), worked
    out here without importing the catalogs: it is read before the first frame)."""
    home = os.environ.get("GPUPLAN_HOME")
    if home:
        return Path(home).expanduser() / "state" / "settings.json"
    import platformdirs

    return Path(platformdirs.user_state_dir("gpuplan", appauthor=False)) / "settings.json"


def load_theme_choice() -> str | None:
    import json

    try:
        theme = json.loads(_settings_path().read_text("utf-8")).get("theme")
    except (OSError, ValueError, AttributeError):
        return None
    return theme if isinstance(theme, str) and theme in {t.name for t in THEMES} else None


def save_theme_choice(theme: str) -> None:
    import json

    from catalogs.files import atomic_write_text

    try:
        path = _settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"theme": theme}))
    except OSError as exc:
        from . import logs

        logs.log_exception("settings", exc)
