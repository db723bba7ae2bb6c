"""A fix for a Textual 8.2.8 memory leak: each of our Textual apps' modules calls `install()`.

`StylesCache.get_inner_outer` (textual/_styles_cache.py) is an instance method under
`functools.lru_cache(1024)`, so the cache keys hold the `StylesCache` itself: up to 1,024 of them
outlive their widgets, each with the Strips of every line it drew (Textual issue #6665, open). In
the app that is what a closed dialog, help screen, toast or rebuilt pane leaves behind; in a test
worker it was some 350,000 objects after a few app boots, which every full garbage collection then
walks (a boot cost ~8 % more CPU with them, tests/tui/test_textual_fixes.py shows the leak).

The answer depends only on the two colours, so it is cached on them alone. Relies on the private
`StylesCache` (textual is pinned exactly in pyproject.toml); a test says when Textual fixes it.
"""

from __future__ import annotations

from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style

_TEXTUAL_GET_INNER_OUTER = StylesCache.get_inner_outer


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """What Textual's get_inner_outer returns: the inner and outer background styles."""
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(self: StylesCache, base_background: Color, background: Color) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


def install() -> None:
    """Cache StylesCache.get_inner_outer by its colours, not by the StylesCache (idempotent)."""
    StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign]
