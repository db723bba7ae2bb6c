"""Textual-side helpers for bench/monitor_bench.py (bench/ never imports textual itself): a bare
app hosting only the Monitor tab, and the key event a terminal driver posts for a keystroke."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult

from .monitor import MonitorPane


class MonitorProbeApp(App):
    """MonitorPane alone on a screen, without toasts."""

    def compose(self) -> ComposeResult:
        yield MonitorPane(notify_alerts=False)

    @property
    def monitor_pane(self) -> MonitorPane:
        return self.query_one(MonitorPane)


def key_event(character: str) -> events.Key:
    """What the driver posts to the app for a printable key."""
    return events.Key(character, character)
