"""Watch mode and the Forecast tab: the session's [forecast] history is fitted without a key
press, refitted when the CSV changes on disk (the pane's own poll), and again when a reload of
the watched session changes the table; the app's export carries the fit. Waits on the pane's
answers, never on a clock."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.engine.forecast.series import synthetic, write_csv

from .conftest import SESSION, make_app, settle

pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")


def _replace(path, write) -> None:
    """Write a new version beside `path` and rename it over it, as editors and exporters do (a
    poll never sees a half-written file)."""
    tmp = path.with_name(path.name + ".new")
    write(tmp)
    os.replace(tmp, path)


async def _answers(pane, count: int) -> None:
    await asyncio.wait_for(pane.wait_for_answers(count), timeout=120)


async def _export_has_the_forecast(pilot, target) -> None:
    """The app's export carries the fitted forecast as `gpuplan plan` does."""
    import json

    from textual.widgets import Input

    pilot.app.action_export("json")
    await pilot.pause()
    pilot.app.screen.query_one("#prompt-input", Input).value = str(target)
    await pilot.press("enter")
    await pilot.pause()
    block = json.loads(target.read_text())["forecast"]
    assert block["status"] == "ok" and block["horizon_hours"] == 72 and block["capacity"]["scenarios"]["base"]


async def test_watch_mode_fits_and_follows_the_history_and_the_table(tmp_path, monkeypatch):
    import tui.app
    from tui.widgets.forecast import ForecastPane

    monkeypatch.setattr(ForecastPane, "WATCH_EVERY_S", 0.05)
    monkeypatch.setattr(tui.app, "WATCH_EVERY_S", 0.05)
    t, v = synthetic(weeks=3, growth_per_week=0.05, noise=0.02)
    history = write_csv(tmp_path / "traffic.csv", t, v, header="timestamp,rps")
    session = tmp_path / "chat.toml"
    session.write_text(SESSION + '\n[forecast]\nhistory = "traffic.csv"\nhorizon = "3d"\n')
    app = make_app(session, watch=True, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one("#forecast-pane", ForecastPane)
        await _answers(pane, 1)  # fitted at start: watch mode needs no key press
        assert pane.state == "ready" and len(pane.report["points"]) == 72
        first = pane.report["points"][0]["mean"]
        await _export_has_the_forecast(pilot, tmp_path / "report.json")

        _replace(history, lambda p: write_csv(p, t, v * 2, header="timestamp,rps"))  # demand doubled, on disk
        await _answers(pane, 2)
        assert pane.state == "ready"
        assert pane.report["points"][0]["mean"] == pytest.approx(2 * first, rel=0.02)

        _replace(session, lambda p: p.write_text(SESSION + '\n[forecast]\nhistory = "traffic.csv"\nhorizon = "2d"\n'))
        await _answers(pane, 3)
        await pilot.pause()
        assert pane.state == "ready" and len(pane.report["points"]) == 48
        assert app.query_one("#fc-horizon").value == "2d"


async def test_without_watch_mode_nothing_fits_until_asked(tmp_path):
    from tui.widgets.forecast import ForecastPane

    t, v = synthetic(weeks=3)
    write_csv(tmp_path / "traffic.csv", t, v)
    session = tmp_path / "chat.toml"
    session.write_text(SESSION + '\n[forecast]\nhistory = "traffic.csv"\n')
    app = make_app(session, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_tab("forecast")
        await pilot.pause()
        pane = app.query_one("#forecast-pane", ForecastPane)
        pane.follow_plan(app.plan)  # what every new plan does
        await pilot.pause()
        assert pane.state == "idle" and pane.answers == 0
