"""A pane registered in tui/pane_registry.py is mounted in its own tab and handed every plan,
with no change to the app: the plug-in point the other tabs use."""

from __future__ import annotations

from textual.widgets import Static, TabbedContent

from tui import app as app_module
from tui import pane_registry

from .conftest import make_app, settle, type_into


class FleetPane(Static):
    """A stand-in for a new tab: it records the plans it is handed."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.reports: list[dict] = []

    def show(self, report: dict) -> None:
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
        for _ in range(1000):  # mounted with the other panes, after the first plan
            if app.pane("fleet-pane") is not None and app.pane("fleet-pane").reports:
                break
            await pilot.pause()
        else:
            raise AssertionError("the registered pane was never handed a plan")
        pane = app.pane("fleet-pane")
        await type_into(pilot, "#f-hardware-tensor-parallel", "2")
        await settle(pilot)
        assert pane.reports[-1]["hardware"]["tensor_parallel"] == 2
        assert pane.reports[-1] is app.report  # the same plan every pane renders
        app.action_tab("fleet")
        await pilot.pause()
        assert tabs.active == "fleet"
