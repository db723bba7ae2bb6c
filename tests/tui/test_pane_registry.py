"""A pane registered in tui/pane_registry.py is mounted in its own tab when that tab is first shown
and handed every plan from then on, with no change to the app: the plug-in point the other tabs
use."""

from __future__ import annotations

from textual.widgets import Static, TabbedContent

from tui import app as app_module
from tui import pane_registry

from .conftest import make_app, settle, type_into


class FleetPane(Static):
    """A stand-in for a new tab, keeping the pane contract: it takes the current plan when it
    mounts, then every plan it is handed."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.reports: list[dict] = []
        self.ready = False

    def on_mount(self) -> None:
        self.ready = True
        if self.app.report is not None:
            self.show(self.app.report)

    def show(self, report: dict) -> None:
        if self.ready:
            self.reports.append(report)


async def test_a_registered_pane_gets_a_tab_and_every_plan(session_file, monkeypatch):
    spec = pane_registry.PaneSpec("fleet", "Fleet", "fleet-pane", lambda app: FleetPane(id="fleet-pane"))
    panes = (*pane_registry.PANES, spec)
    monkeypatch.setattr(app_module, "PANES", panes)
    monkeypatch.setattr(app_module, "TABS", tuple(s.tab for s in panes))
    monkeypatch.setattr(app_module, "BY_TAB", {s.tab: s for s in panes})
    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tabs = app.query_one(TabbedContent)
        assert tabs.get_tab("fleet").label.plain == "Fleet"
        assert app.pane("fleet-pane") is None  # never shown: not mounted, costs nothing
        await type_into(pilot, "#f-hardware-tensor-parallel", "2")
        await settle(pilot)
        app.action_tab("fleet")
        pane = app.pane("fleet-pane")  # mounted as its tab is first shown
        assert pane is not None and tabs.active == "fleet"
        for _ in range(100):  # its on_mount: a state of the pane, not a clock
            if pane.ready:
                break
            await pilot.pause()
        assert pane.reports and pane.reports[-1] is app.report  # the plan it found on mount
        assert pane.reports[-1]["hardware"]["tensor_parallel"] == 2
        await type_into(pilot, "#f-hardware-tensor-parallel", "4")
        await settle(pilot)
        assert pane.reports[-1]["hardware"]["tensor_parallel"] == 4
        assert pane.reports[-1] is app.report  # the same plan every pane renders
