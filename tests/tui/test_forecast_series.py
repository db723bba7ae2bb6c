"""A multi-series history in the Forecast tab: the tab asks which series (each named by its
labels) or their sum, fits the answer and keeps it in the session's [forecast] table. Against a
real HTTP server on 127.0.0.1 (a free port) answering Prometheus' query_range, and a saved export."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.engine.forecast.series import synthetic

from .conftest import SESSION, make_app, settle
from .test_forecast_tab import PaneApp

pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")

SHARES = {"a": 0.6, "b": 0.4}  # two replicas split the demand


def _demand(t: float) -> float:
    """100 requests/s with a daily cycle peaking at 14:00 UTC and a little deterministic noise."""
    hours = t / 3600.0
    return 100.0 * math.exp(0.4 * math.cos(2 * math.pi * (hours - 14) / 24) + 0.02 * math.sin(t * 12.9898))


class _QueryRange(BaseHTTPRequestHandler):
    """Prometheus' /api/v1/query_range for `demand_rps`: one series per replica."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        q = parse_qs(url.query)
        if url.path != "/api/v1/query_range":
            self.send_error(404)
            return
        self.server.queries.append(q["query"][0])  # type: ignore[attr-defined]
        start, end, step = float(q["start"][0]), float(q["end"][0]), float(q["step"][0].rstrip("s"))
        times = [start + i * step for i in range(int((end - start) // step) + 1)]
        result = [
            {"metric": {"__name__": "demand_rps", "replica": name},
             "values": [[t, f"{_demand(t) * share:.4f}"] for t in times]}
            for name, share in SHARES.items()
        ]
        body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _QueryRange)  # port 0: the OS picks a free one
    server.queries = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def _wait_for(pilot, condition) -> None:
    """Until the app's workers are done and `condition()` holds (the app's own state)."""
    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if condition():
            return
    pane = pilot.app.query("#forecast-pane")
    state = (pane.first().state, str(pilot.app.query_one("#fc-status").render())) if pane else None
    raise AssertionError(f"the app never reached the expected state ({state}, {pilot.app.screen})")


async def _choose(pilot, option_id: str) -> None:
    from textual.widgets import OptionList

    from tui.screens.series_dialog import SeriesScreen

    await _wait_for(pilot, lambda: isinstance(pilot.app.screen, SeriesScreen))
    options = pilot.app.screen.query_one(OptionList)
    for _ in range(options.option_count + 1):
        if options.highlighted is not None and options.get_option_at_index(options.highlighted).id == option_id:
            break
        await pilot.press("down")
    await pilot.press("enter")


async def test_a_prometheus_answer_with_two_series_asks_which_and_keeps_the_choice(tmp_path, prometheus):
    from tui.screens.series_dialog import SeriesScreen

    url = f"http://127.0.0.1:{prometheus.server_address[1]}"
    session = tmp_path / "chat.toml"
    session.write_text(SESSION + f'\n[forecast]\nprometheus = "{url}"\nquery = "demand_rps"\nrange = "3w"\n'
                                 'horizon = "2d"\n')
    app = make_app(session, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.query_one("#tabs").active = "forecast"
        await _wait_for(pilot, lambda: bool(app.query("#fc-fit")))
        pane = app.query_one("#forecast-pane")
        await pilot.click("#fc-fit")
        await _wait_for(pilot, lambda: isinstance(app.screen, SeriesScreen))
        labels = [str(o.prompt) for o in app.screen.query_one("OptionList").options]
        assert labels == ["sum all 2 series", '{replica="a"}', '{replica="b"}']  # what tells them apart
        assert 'All carry demand_rps.' in str(app.screen.query_one(".dialog-message").render())
        assert pane.state == "choosing"
        await _choose(pilot, "series-1")
        await _wait_for(pilot, lambda: pane.state == "ready")
        chosen = app.doc.session.forecast
        assert chosen.series == {"__name__": "demand_rps", "replica": "b"} and chosen.sum is False
        assert app.doc.dirty  # kept in the session, saved like any other edit
        assert any(r["kind"] == "selected" and 'replica="b"' in r["detail"] for r in pane.report["repairs"])
        day = sum(p["mean"] for p in pane.report["points"][:24]) / 24
        assert 30 < day < 55  # replica b's 40 % of ~104 requests/s, not the sum
        assert prometheus.queries.count("demand_rps") >= 2


async def test_a_saved_export_with_two_series_can_be_summed_or_left(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t, v = synthetic(weeks=3, growth_per_week=0.0, noise=0.02)
    result = [{"metric": {"__name__": "rps", "pod": pod}, "values": [[float(ti), f"{vi * share:.4f}"] for ti, vi in zip(t, v)]}
              for pod, share in (("x", 0.5), ("y", 0.5))]
    (tmp_path / "export.json").write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}))
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        from tui.screens.series_dialog import SeriesScreen

        pane = app.query_one("#forecast-pane")
        app.query_one("#fc-history").value = "export.json"
        await pilot.click("#fc-fit")
        await _wait_for(pilot, lambda: isinstance(app.screen, SeriesScreen))
        await pilot.press("escape")  # nothing chosen: the tab says what to do
        await _wait_for(pilot, lambda: pane.state == "failed")
        assert "press Fit to choose one" in str(app.query_one("#fc-status").render())
        await pilot.click("#fc-fit")
        await _choose(pilot, "sum-all")
        await _wait_for(pilot, lambda: pane.state == "ready")
        assert any(r["kind"] == "summed" and r["count"] == 2 for r in pane.report["repairs"])
        day = sum(p["mean"] for p in pane.report["points"][:24]) / 24
        assert 80 < day < 130  # both pods: the whole ~100 requests/s


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_series_dialog_snapshot(snap_compare, size, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = [{"metric": {"__name__": "vllm:request_success_total", "model_name": "llama-3.1-70b", "pod": f"vllm-{i}"},
               "values": [[1_704_067_200 + 3600 * j, "1"] for j in range(3)]} for i in range(3)]
    (tmp_path / "export.json").write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}))

    async def run_before(pilot) -> None:
        from tui.screens.series_dialog import SeriesScreen

        field = pilot.app.query_one("#fc-history")
        field.value = "export.json"
        pilot.app.set_focus(field)
        await pilot.press("enter")
        await _wait_for(pilot, lambda: isinstance(pilot.app.screen, SeriesScreen))
        await pilot.pause()

    assert snap_compare(PaneApp(), terminal_size=size, run_before=run_before)
