"""The Fleet tab driven as users do (Pilot): hosts as rows expanding to their GPUs, stale hosts
marked with their age, the worst alert per host, fits where; a failed refresh keeps the last
answer and says why; refreshes coalesce; snapshots at 80x24, 120x40 and 200x50 from a recorded
Prometheus answer (bench/fleet_fixture.py) with a fixed clock.

Update after an intended change: pytest tests/tui/test_fleet.py --snapshot-update
"""

from __future__ import annotations

import threading
import time

import pytest

from bench.fleet_fixture import fleet_results
from engine.telemetry.fleet import GIB, FleetError, PlanNeed, build_snapshot

NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
SIZES = [(80, 24), (120, 40), (200, 50)]


def recorded(n_hosts=12, gpus=4):
    # hosts 4 and 9 stopped 10 min ago; 3, 7, 11 run GPU 0 at 84 °C (3 below slowdown); 5 and 11
    # had an Xid 79; a replica needs one H100 with 40 GiB free (each host has one idle GPU)
    results = fleet_results(n_hosts, gpus, now=NOW, stale_every=5, hot_every=4, xid_every=6)
    return build_snapshot(results, now=NOW, prometheus="http://prometheus.example:9090",
                          need=PlanNeed(40 * GIB, 1, "h100-sxm-80gb"))


def fleet_app(source, interval_s=3600.0):
    from tui.fleet_app import FleetApp

    return FleetApp(source, interval_s=interval_s, subtitle="http://prometheus.example:9090")


async def refreshed(pilot, n=1, timeout=10.0, pane=None):
    """Wait on the pane's own signal: `n` refreshes handled (the FleetApp's pane, or `pane`)."""
    pane = pane if pane is not None else pilot.app.pane
    deadline = time.monotonic() + timeout
    while pane.refreshes < n:
        assert time.monotonic() < deadline, "the fleet pane did not refresh"
        await pilot.pause(0.01)
    await pilot.pause()


def table(app):
    return app.query_one("#fleet-table")


async def test_hosts_expand_to_their_gpus_and_stale_hosts_are_marked():
    snap = recorded()
    app = fleet_app(lambda: snap)
    async with app.run_test(size=(160, 40)) as pilot:
        await refreshed(pilot)
        t = table(app)
        assert t.row_count == 12
        stale_row = t.row_text(t.row_index("h\x00gpu-node-0004"))
        assert stale_row[1].strip() == "stale 10 min"
        await pilot.press("space")  # expand the first host
        assert t.row_count == 16
        assert t.row_text(t.row_index("g\x00gpu-node-0000\x000"))[0].strip() == "GPU 0"
        await pilot.press("space")
        assert t.row_count == 12
        await pilot.press("e")  # everything, stale hosts' GPUs too (known from the lookback)
        assert t.row_count == 12 + 12 * 4
        await pilot.press("e")
        assert t.row_count == 12
        await pilot.press("s")  # worst first: the Xid 79 host on top
        assert t.rows[0][0] == "h\x00gpu-node-0005"
        assert "xid critical" in t.row_text(0)[9]
        assert t.row_text(t.row_index("h\x00gpu-node-0000"))[8].strip() == "1 replica"
        fits = str(app.query_one("#fleet-fits").render())
        assert f"{snap.replicas} replicas today" in fits


async def test_unhealthy_gpus_are_shown_unfit_with_the_reason():
    # hosts 1, 6 and 11: uncorrected ECC errors on GPU 3, their one idle GPU; 5 and 11: Xid 79 on GPU 1
    results = fleet_results(12, 4, now=NOW, stale_every=5, hot_every=4, xid_every=6, ecc_every=5)
    snap = build_snapshot(results, now=NOW, prometheus="http://prometheus.example:9090",
                          need=PlanNeed(40 * GIB, 1, "h100-sxm-80gb"))
    app = fleet_app(lambda: snap)
    async with app.run_test(size=(160, 40)) as pilot:
        await refreshed(pilot)
        t = table(app)
        assert t.row_text(t.row_index("h\x00gpu-node-0001"))[8].strip() == "none ✗1"  # lost its replica
        assert t.row_text(t.row_index("h\x00gpu-node-0000"))[8].strip() == "1 replica"
        await pilot.press("down")
        assert t.cursor_key == "h\x00gpu-node-0001"
        await pilot.press("space")
        assert t.row_text(t.row_index("g\x00gpu-node-0001\x003"))[8].strip() == "✗ uncorrected ECC errors"
        fits = str(app.query_one("#fleet-fits").render())
        assert "Not counted: 5 GPUs on 4 hosts" in fits
        assert "gpu-node-0001 GPU 3 (uncorrected ECC errors)" in fits and "gpu-node-0005 GPU 1 (Xid 79)" in fits


async def test_a_failed_refresh_keeps_the_last_answer_and_says_why():
    snap = recorded()
    answers = iter([snap])

    def source():
        try:
            return next(answers)
        except StopIteration:
            raise FleetError("Prometheus at http://prometheus.example:9090 did not answer within 10 s") from None

    app = fleet_app(source)
    async with app.run_test(size=(160, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("r")
        await refreshed(pilot, 2)
        pane = app.pane
        assert pane.snapshot is snap and table(app).row_count == 12
        summary = str(app.query_one("#fleet-summary").render())
        assert "refresh failed" in summary and "did not answer within 10 s" in summary


async def test_refreshes_coalesce_while_one_is_running():
    snap = recorded(3, 2)
    gate = threading.Event()
    calls = []

    def source():
        calls.append(1)
        gate.wait(10)
        return snap

    app = fleet_app(source)
    async with app.run_test(size=(120, 30)) as pilot:
        while not calls:
            await pilot.pause(0.01)
        for _ in range(5):  # ticks while the first refresh is stuck: one more refresh, not five
            app.pane.refresh_now()
        gate.set()
        await refreshed(pilot, 2)
        await pilot.pause(0.05)
        assert len(calls) == 2


async def test_a_thousand_hosts_stay_navigable():
    snap = build_snapshot(fleet_results(1000, 2, now=NOW), now=NOW)
    app = fleet_app(lambda: snap)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot, timeout=30)
        t = table(app)
        assert t.row_count == 1000
        await pilot.press("ctrl+end")
        assert t.cursor == 999
        await pilot.press("space")
        assert t.row_count == 1002
        assert t.cursor == 999


def _expanded_worst_first(pilot_keys=("s", "home", "space", "down", "down")):
    async def run_before(pilot) -> None:
        await refreshed(pilot)
        for key in pilot_keys:
            await pilot.press(key)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_fleet_snapshot(snap_compare, size):
    snap = recorded()
    assert snap_compare(fleet_app(lambda: snap), terminal_size=size, run_before=_expanded_worst_first())


async def test_a_pane_on_a_prometheus_follows_the_plan_it_is_given():
    import httpx
    from textual.app import App

    from bench.fleet_fixture import mock_prometheus
    from tui.widgets.fleet import FleetPane

    pane = FleetPane.for_prometheus("http://prom.test:9090", lookback_s=600, id="fleet")
    pane._query.transport = httpx.MockTransport(mock_prometheus(fleet_results(4, 2, now=time.time()),
                                                                pane._query.queries))

    class Host(App):
        def compose(self):
            yield pane

    app = Host()
    async with app.run_test(size=(140, 30)) as pilot:
        await refreshed(pilot, pane=pane)
        assert pane.snapshot.need is None and len(pane.snapshot.hosts) == 4
        pane.set_need(PlanNeed(10 * GIB, 1, "h100-sxm-80gb"))
        await refreshed(pilot, 2, pane=pane)
        assert pane.snapshot.need == PlanNeed(10 * GIB, 1, "h100-sxm-80gb")
        assert pane.snapshot.replicas > 0
        assert "replicas today" in str(app.query_one("#fleet-fits").render())


async def test_the_app_shows_a_fleet_tab_when_the_session_names_a_prometheus(tmp_path, monkeypatch):
    from .conftest import settle

    app = _app_on_a_prometheus(tmp_path, monkeypatch, hosts=5, gpus=8, lookback="30m", offer_recovery=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        from textual.widgets import TabbedContent

        from tui.widgets.fleet import FleetPane

        tabs = app.query_one(TabbedContent)
        assert tabs.get_tab("fleet-tab") is not None
        pane = app.query_one(FleetPane)
        await refreshed(pilot, pane=pane)
        assert len(pane.snapshot.hosts) == 5
        need = pane.snapshot.need
        assert need is not None and need.gpus_per_replica == 4 and need.gpu == "h100-sxm-80gb"  # the session's TP=4
        assert need.per_gpu_bytes == round(app.plan.memory.budget_bytes)
        while pane._busy:  # let any refresh the plan asked for finish
            await pilot.pause(0.01)
        before = pane.refreshes
        tabs.active = "fleet-tab"
        await refreshed(pilot, before + 1, pane=pane)  # shown again: it asks at once, not at the next tick
        assert "replicas today" in str(app.query_one("#fleet-fits").render())



def _app_on_a_prometheus(tmp_path, monkeypatch, *, prometheus=True, hosts=3, gpus=4, lookback=None,
                         offer_recovery=False):
    """GpuPlanApp on a session whose [fleet] names a mock Prometheus of `hosts` x `gpus` (none
    with `prometheus=False`), the Fleet tab's own refresh tick off."""
    import httpx

    from bench.fleet_fixture import mock_prometheus
    from engine.telemetry import fleet as fleet_mod

    from .conftest import SESSION, make_app

    results = fleet_results(hosts, gpus, now=time.time(), stale_every=0)
    real_init = fleet_mod.FleetQuery.__post_init__

    def post_init(self):
        real_init(self)
        self.transport = httpx.MockTransport(mock_prometheus(results, self.queries))

    monkeypatch.setattr(fleet_mod.FleetQuery, "__post_init__", post_init)
    monkeypatch.setattr("tui.widgets.fleet.FLEET_TAB_INTERVAL_S", 3600.0)
    path = tmp_path / "s.toml"
    fleet = '\n[fleet]\nprometheus = "http://prom.example:9090"\n' + (f'lookback = "{lookback}"\n' if lookback else "")
    path.write_text(SESSION + (fleet if prometheus else ""))
    return make_app(path, offer_recovery=offer_recovery)


async def test_the_fleet_tab_has_the_next_digit_key_from_a_focused_field_too(tmp_path, monkeypatch):
    from textual.widgets import Input, TabbedContent

    from tui.pane_registry import TABS

    from .conftest import settle

    digit = str(len(TABS) + 1)  # after the registered tabs: 8
    app = _app_on_a_prometheus(tmp_path, monkeypatch)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        tabs = app.query_one(TabbedContent)
        field = app.query_one("#f-serving-max-model-len", Input)
        field.focus()
        before = field.value
        await pilot.press("end", f"alt+{digit}")  # from inside a sidebar field
        assert tabs.active == "fleet-tab" and field.value == before
        await pilot.press("alt+1")
        assert tabs.active == "sizing"
        field.focus()
        await pilot.press("bullet")  # Option+8 on a macOS terminal: "•", never typed
        assert tabs.active == "fleet-tab" and field.value == before
        await pilot.press("alt+1", "escape")  # leave the field: the plain digit switches
        assert app.focused is None
        await pilot.press(digit)
        assert tabs.active == "fleet-tab" and not app.dirty


async def test_help_lists_the_fleet_key_and_keys_and_the_key_says_why_without_a_prometheus(tmp_path, monkeypatch):
    from textual.widgets import TabbedContent

    from tui.screens.help import HelpScreen, help_text

    from .conftest import settle

    app = _app_on_a_prometheus(tmp_path, monkeypatch, prometheus=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        tabs = app.query_one(TabbedContent)
        await pilot.press("8")  # no Fleet tab in this session: it says why, and stays put
        assert tabs.active == "sizing"
        notes = [n.message for n in app._notifications]
        assert any("No Fleet tab: this session names no Prometheus" in m for m in notes), notes
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app)
        assert "| `8 / alt+8` | Fleet tab |" in text
        fleet = text[text.index("## Fleet tab"):]
        for words in ("Expand all", "Sort", "Refresh", "[fleet] prometheus"):
            assert words in fleet, words
