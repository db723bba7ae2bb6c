"""The one-line header: app, session name, unsaved marker, where it lives, and on the right the
host summary. One widget drawing one line (it is part of the first frame). No clock: snapshots
stay deterministic, and the terminal has one."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class AppHeader(Widget):
    COMPONENT_CLASSES = {
        "app-header--app",
        "app-header--session",
        "app-header--dirty",
        "app-header--source",
        "app-header--host-ok",
        "app-header--host-none",
        "app-header--host-simulated",
        "app-header--host-bad",
    }
    DEFAULT_CSS = "AppHeader { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session_name = ""
        self.dirty = False
        self.source = ""
        self.host = "GPUs: ..."
        self.host_level = "none"

    # Repainted only when its text changes: the monitor hands it the host summary every sample,
    # and a refreshed header widens the screen's dirty region to row 0, so that every widget
    # between it and the Monitor's figures (tabs, tab bar, pane) is redrawn each second.
    def show_session(self, name: str, dirty: bool, source: str) -> None:
        if (name, dirty, source) != (self.session_name, self.dirty, self.source):
            self.session_name, self.dirty, self.source = name, dirty, source
            self.refresh()

    def show_host(self, summary: str, level: str = "ok") -> None:
        if (summary, level) != (self.host, self.host_level):
            self.host, self.host_level = summary, level
            self.refresh()

    @property
    def text(self) -> str:
        """The header as plain text (tests)."""
        return self.render().plain

    def render(self) -> Text:
        style = self.get_component_rich_style
        left = Text(no_wrap=True, overflow="ellipsis")
        left.append(" gpuplan ", style=style("app-header--app"))
        left.append(" ")
        left.append(self.session_name, style=style("app-header--session"))
        if self.dirty:
            left.append(" ● unsaved", style=style("app-header--dirty"))
        host = Text(f" {self.host} ", style=style(f"app-header--host-{self.host_level}"), no_wrap=True)
        width = self.size.width or 80
        room = width - len(left) - len(host) - 2
        if self.source and room > 4:
            source = self.source if len(self.source) <= room else "…" + self.source[-(room - 1):]
            left.append("  ")
            left.append(source, style=style("app-header--source"))
        left.truncate(max(0, width - len(host)), overflow="ellipsis")
        left.pad_right(max(0, width - len(left) - len(host)))
        return left + host
