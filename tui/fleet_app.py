"""`gpuplan fleet --prometheus URL [SESSION]`: the Fleet pane full-screen, refreshed on an interval.

The query layer (engine/telemetry/fleet.py) does the work on the pane's thread worker; this app
only frames it (title, key help) and closes the HTTP client on the way out.
"""

from __future__ import annotations

from typing import Callable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header

from engine.telemetry.fleet import FleetQuery, FleetSnapshot, PlanNeed

from . import textual_fixes
from .widgets.fleet import FleetPane

textual_fixes.install()  # Textual 8.2.8 keeps dead widgets' render caches (tui/textual_fixes.py)


class FleetApp(App):
    TITLE = "gpuplan fleet"
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, source: Callable[[], FleetSnapshot] | None, *, interval_s: float = 5.0,
                 subtitle: str = "") -> None:
        super().__init__()
        self.source = source
        self.interval_s = interval_s
        self.sub_title = subtitle

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield FleetPane(self.source, interval_s=self.interval_s, id="fleet")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#fleet-table").focus()

    @property
    def pane(self) -> FleetPane:
        return self.query_one(FleetPane)


def run_fleet_app(query: FleetQuery, need: PlanNeed | None, *, interval_s: float = 5.0, mouse: bool = True) -> int:
    app = FleetApp(lambda: query.snapshot(need), interval_s=interval_s, subtitle=query.url)
    try:
        app.run(mouse=mouse)
    finally:
        query.close()
    return 0
