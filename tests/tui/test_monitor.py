"""The Monitor tab of the real app (GpuPlanApp as `gpuplan watch` opens it), driven through Pilot
with scripted, simulated and replayed samples: lost GPUs, alerts (raised, de-duplicated,
acknowledged, logged to the JSON log), process selection across refreshes, compact/detail views
and their sizes, "fits here" following the plan typed in the planner, no-driver state, and the
sampler thread end to end."""

from __future__ import annotations

import dataclasses
import json
import logging
import re

import pytest
from textual.widgets import TabbedContent

from engine.telemetry.replay import ReplayBackend
from engine.telemetry.samples import GpuProcess, GpuSample, HostSample
from engine.telemetry.scripted import ScriptedBackend
from tui.widgets.monitor import MonitorPane
from tui.widgets.monitor_gpus import GpuCard, GpuCompactView, GpuDetailView
from tui.widgets.monitor_tables import AlertTable, ProcessTable

from .monitor_support import (
    T0,
    TRACE_8GPU,
    MonitorHarness,
    deliver,
    lost,
    make_plan,
    no_driver_sample,
    open_monitor,
    plain,
    samples,
    screen_text,
    sim,
    widget_lines,
    with_gpu,
)

GIB = 1 << 30
ROW = re.compile(r"^\s*(\d+)!? ")  # "  3 " or "  3! " (a GPU with alerts)


def compact_gpu_rows(app) -> list[str]:
    """Visible GPU rows of the compact view (index-led lines)."""
    view = app.query_one(GpuCompactView)
    scroll = app.query_one("#mon-compact-scroll")
    assert view.display
    return [line for line in widget_lines(app, scroll) if ROW.match(line)]


async def feed(pilot, items) -> None:
    for s in items:
        deliver(pilot.app, s)
    await pilot.pause()


@pytest.fixture
def json_log(private_home):
    """The app's JSON-lines log, configured as `gpuplan` configures it (restored afterwards)."""
    from tui import logs

    root = logging.getLogger("gpuplan")
    saved = (list(root.handlers), root.propagate, root.level)
    path = logs.configure()
    yield path
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    for h in saved[0]:
        root.addHandler(h)
    root.propagate, root.level = saved[1], saved[2]


def logged_alerts(path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["logger"] == "gpuplan.alerts":
            out.append(json.loads(rec["message"]))
    return out


# ---- lost GPU ----------------------------------------------------------------------------


async def test_lost_gpu_is_an_error_row_while_the_others_keep_updating():
    backend = ScriptedBackend(samples(sim(8, lose_gpu_at={5: 3}), 6))
    async with open_monitor((120, 40)) as (app, pilot):
        pane = app.monitor_pane
        await feed(pilot, [backend.sample() for _ in range(3)])
        before = {int(ROW.match(r).group(1)): r for r in compact_gpu_rows(app)}
        assert "LOST" not in before[5]
        await feed(pilot, [backend.sample() for _ in range(2)])
        rows = {int(ROW.match(r).group(1)): r for r in compact_gpu_rows(app)}
        assert sorted(rows) == list(range(8))
        assert "LOST" in rows[5] and "NVML: GPU is lost" in rows[5]
        # the serving GPUs' utilisation moves between samples: the other rows were re-rendered
        assert any(rows[i] != before[i] for i in (0, 1, 2, 3))
        assert all("LOST" not in rows[i] for i in rows if i != 5)
        assert "8 GPUs (GPU 5 lost)" in screen_text(app)
        lost_alerts = [e for e in pane.alert_book.history() if e.rule == "gpu_lost"]
        assert len(lost_alerts) == 1 and lost_alerts[0].gpu_index == 5 and lost_alerts[0].count == 2
        # the tab label and a toast tell a user who is on another tab
        assert "1!" in str(app.query_one(TabbedContent).get_tab("monitor").label)
        assert any("GPU 5 is lost" in n.message for n in app._notifications)
        # its processes are gone from the table and the title says why
        assert "GPU 5 not answering" in str(app.query_one("#mon-procs-box").border_subtitle)
        # and it can no longer count for the plan
        pane.set_plan(make_plan("llama-3.1-8b", tp=1, memory_fraction=0.5))
        await pilot.pause()
        assert 5 not in pane.verdict.eligible and pane.verdict.replicas == 2


async def test_lost_gpu_card_in_the_detail_view():
    s = lost(sim(2).sample(), 1)
    async with open_monitor((120, 40), [s]) as (app, pilot):
        assert not app.monitor_pane.compact  # 2 cards fit at 120x40: detail chosen automatically
        card = app.query_one("#mon-card-1", GpuCard)
        assert card.has_class("-failed")
        lines = widget_lines(app, card)
        assert "LOST" in lines[0] and "NVML: GPU is lost" in lines[1]
        assert "OK" in widget_lines(app, app.query_one("#mon-card-0", GpuCard))[0]


@pytest.mark.parametrize("size", [(120, 24), (200, 50)])
async def test_backed_off_rows_stay_lost_with_the_countdown_in_view(size):
    s = sim(4).sample()
    long_error = "NVML: GPU is lost (the driver reports the device fell off the bus; " + "x" * 150 + ")"
    s = with_gpu(s, 1, state="lost", error=long_error, retry_in_s=27, failures=3)
    s = with_gpu(s, 3, state="error", error="NVML: timeout")
    async with open_monitor(size, [s]) as (app, pilot):
        app.monitor_pane.view_mode = "compact"
        app.monitor_pane.refresh_view()
        await pilot.pause()
        rows = {int(ROW.match(r).group(1)): r for r in compact_gpu_rows(app)}
        assert "LOST" in rows[1] and "retry in 27 s, 3 failures" in rows[1] and "BACKOFF" not in rows[1]
        assert "ERROR" in rows[3] and "NVML: timeout" in rows[3]
        assert "(GPU 1 lost, GPU 3 error)" in screen_text(app)
        alert = next(e for e in app.monitor_pane.alert_book.active() if e.gpu_index == 1)
        assert alert.severity == "critical" and "is lost" in alert.message


# ---- alerts --------------------------------------------------------------------------------


async def test_alert_raised_once_and_deduplicated_while_it_persists(json_log):
    base = sim(2).sample()
    hot = [with_gpu(dataclasses.replace(base, timestamp=T0 + k), 1, temperature_c=88) for k in range(5)]
    async with open_monitor((120, 40)) as (app, pilot):
        pane = app.monitor_pane
        await feed(pilot, hot)
        entries = [e for e in pane.alert_book.history() if e.rule == "temperature_slowdown"]
        assert len(entries) == 1
        assert entries[0].count == 5 and entries[0].gpu_index == 1
        table = app.query_one(AlertTable)
        assert table.row_count == len(pane.alert_book.history()) == 1
        added = table.rows_added
        await feed(pilot, [with_gpu(dataclasses.replace(base, timestamp=T0 + 5 + k), 1, temperature_c=89)
                           for k in range(3)])
        assert table.rows_added == added  # the same alert: its cells updated in place
        assert pane.alert_book.history()[0].count == 8
        text = screen_text(app)
        assert "temp at slowdown" in text and "89 °C" in text
        assert "1 alert (1 critical)" in text
        assert len([n for n in app._notifications if "GPU 1 at 88" in n.message]) == 1  # one toast
    # every alert goes to the JSON log, once
    logged = logged_alerts(json_log)
    assert [r["rule"] for r in logged] == ["temperature_slowdown"]
    assert logged[0]["gpu"] == 1 and logged[0]["value"] == 88 and logged[0]["severity"] == "critical"


async def test_alert_recurs_after_the_cooldown_as_a_new_row():
    base = sim(1).sample()
    async with open_monitor((120, 40)) as (app, pilot):
        pane = app.monitor_pane
        pane.alert_book.cooldown_s = 60
        await feed(pilot, [with_gpu(dataclasses.replace(base, timestamp=T0), 0, temperature_c=90)])
        await feed(pilot, [dataclasses.replace(base, timestamp=T0 + 1)])  # cleared
        assert "cleared" in screen_text(app)
        await feed(pilot, [with_gpu(dataclasses.replace(base, timestamp=T0 + 30), 0, temperature_c=90)])
        assert len(pane.alert_book.history()) == 1  # within the cooldown: the same alert
        await feed(pilot, [with_gpu(dataclasses.replace(base, timestamp=T0 + 200), 0, temperature_c=90)])
        assert len(pane.alert_book.history()) == 2
        assert app.query_one(AlertTable).row_count == 2


async def test_acknowledge_the_selected_alert_then_all():
    s = sim(4).sample()
    s = with_gpu(s, 0, temperature_c=90)
    s = with_gpu(s, 2, ecc_uncorrected_volatile=3)
    s = with_gpu(s, 3, clock_event_reasons=("hw_power_brake_slowdown",))
    async with open_monitor((120, 40), [s]) as (app, pilot):
        pane = app.monitor_pane
        table = app.query_one(AlertTable)
        assert table.row_count == 3
        await pilot.press("tab")  # from the processes to the alerts
        assert app.focused is table
        await pilot.press("down")
        target = table.selected_entry()
        assert target is not None
        await pilot.press("a")
        assert pane.alert_book.get(target.id).acknowledged
        assert len(pane.alert_book.active()) == 2
        assert table.get_row(str(target.id))[4].plain == "ack"
        assert "2 alerts" in screen_text(app)
        # the acknowledged alert stays acknowledged while its condition persists
        deliver(app, dataclasses.replace(s, timestamp=T0 + 1))
        await pilot.pause()
        assert pane.alert_book.get(target.id).acknowledged
        await pilot.press("A")
        await pilot.pause()
        assert pane.alert_book.active() == []
        assert "alert" not in plain(app.query_one("#mon-status-text"))
        assert str(app.query_one(TabbedContent).get_tab("monitor").label) == "Monitor"


async def test_acknowledge_posts_alerts_changed():
    seen: list[tuple[int, int]] = []

    class Harness(MonitorHarness):
        def on_monitor_pane_alerts_changed(self, msg: MonitorPane.AlertsChanged) -> None:
            seen.append((msg.active, msg.critical))

    s = with_gpu(sim(2).sample(), 1, remap_pending=True)
    app = Harness([s])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.query_one(AlertTable).focus()
        await pilot.press("a")
        await pilot.pause()
    assert seen == [(1, 1), (0, 0)]


# ---- processes -----------------------------------------------------------------------------


def _with_procs(s: HostSample, procs: dict[int, list[GpuProcess]]) -> HostSample:
    gpus = tuple(dataclasses.replace(g, processes=tuple(procs.get(g.index, ()))) for g in s.gpus)
    return dataclasses.replace(s, gpus=gpus)


def _p(pid: int, mem_gib: float, cmd: str = "python serve.py") -> GpuProcess:
    return GpuProcess(pid, "llm", cmd, int(mem_gib * GIB), "compute")


async def test_process_selection_survives_refreshes():
    base = sim(4).sample()
    first = _with_procs(base, {0: [_p(100, 10)], 1: [_p(200, 20)], 2: [_p(300, 30)], 3: [_p(400, 40)]})
    async with open_monitor((120, 40), [first]) as (app, pilot):
        table = app.query_one(ProcessTable)
        assert app.focused is table  # `gpuplan watch` puts the keyboard in the monitor
        assert table.keys() == ["100", "200", "300", "400"]
        await pilot.press("down", "down")
        assert table.selected_key == "300"
        # a new process appears before it, another goes away, and memory changes everywhere
        second = _with_procs(dataclasses.replace(base, timestamp=T0 + 1), {
            0: [_p(100, 11), _p(50, 1)], 2: [_p(300, 31)], 3: [_p(400, 41)],
        })
        added, removed, updated = table.rows_added, table.rows_removed, table.cells_updated
        await feed(pilot, [second])
        assert table.keys() == ["50", "100", "300", "400"]
        assert table.selected_key == "300"
        assert (table.rows_added - added, table.rows_removed - removed) == (1, 1)
        assert table.cells_updated - updated == 3  # the memory cells of 100, 300, 400, in place
        assert table.get_cell("300", "mem").plain == "31.00G"
        # an unchanged sample touches nothing
        updated = table.cells_updated
        await feed(pilot, [dataclasses.replace(second, timestamp=T0 + 2)])
        assert table.cells_updated == updated and table.selected_key == "300"
        # the selected process exits: the cursor stays at the same row position
        await feed(pilot, [_with_procs(dataclasses.replace(base, timestamp=T0 + 3), {
            0: [_p(100, 11), _p(50, 1)], 3: [_p(400, 41)],
        })])
        assert table.selected_key == "400"


async def test_a_process_on_several_gpus_is_one_row():
    base = sim(4).sample()
    s = _with_procs(base, {0: [_p(7, 10)], 1: [_p(7, 10)], 2: [_p(8, 1)]})
    async with open_monitor((120, 40), [s]) as (app, pilot):
        table = app.query_one(ProcessTable)
        assert table.keys() == ["7", "8"]
        row = table.get_row("7")
        assert row[2].plain == "0,1" and table.get_cell("7", "mem").plain == "20.00G"


async def test_process_list_na_is_said_not_hidden():
    s = with_gpu(sim(2).sample(), 1, processes=None)
    async with open_monitor((120, 40), [s]) as (app, pilot):
        assert "N/A on GPU 1" in str(app.query_one("#mon-procs-box").border_subtitle)


# ---- views and sizes -----------------------------------------------------------------------


@pytest.mark.parametrize("size, proc_rows", [((80, 24), 2), ((120, 40), 3)])
async def test_compact_view_shows_every_gpu(size, proc_rows):
    async with open_monitor(size, samples(sim(8), 3)) as (app, pilot):
        assert app.monitor_pane.compact
        rows = compact_gpu_rows(app)
        assert [int(ROW.match(r).group(1)) for r in rows] == list(range(8))
        assert all(len(r.rstrip()) <= size[0] for r in rows)
        # the processes keep their header and a row (or more), the alerts a row and its message
        assert app.query_one(ProcessTable).region.height >= proc_rows
        assert app.query_one("#mon-alert-detail").region.height == 1


def _inside_pane(app) -> None:
    """Nothing of the Monitor is pushed under the footer."""
    bottom = app.monitor_pane.region.bottom
    for selector in ("#mon-compact", "#mon-fits", "#mon-procs-box", "#mon-alerts-box", "#mon-alert-detail"):
        assert app.query_one(selector).region.bottom <= bottom, selector


async def test_at_80x24_the_gpus_the_fits_line_names_are_on_screen():
    """Issue 7, item 6: 'fits here' names the 2 idle GPUs (6, 7) and the 4 short ones; all have
    their row at 80x24. A process's full command (enter) takes rows from the GPU list, and gives
    them back when closed."""
    async with open_monitor((80, 24), samples(sim(8), 3)) as (app, pilot):
        pane = app.monitor_pane
        pane.set_plan(make_plan("llama-3.1-70b", tp=4))
        deliver(app, sim(8).sample())
        await pilot.pause()
        fits = " ".join(widget_lines(app, app.query_one("#mon-fits")))
        assert "GPU 6-7" in fits and "GPU 0-3" in fits, fits
        shown = {int(ROW.match(r).group(1)) for r in compact_gpu_rows(app)}
        assert shown == set(range(8))
        _inside_pane(app)

        app.query_one(ProcessTable).focus()
        await pilot.press("c")
        await pilot.pause()
        detail = app.query_one("#mon-proc-detail")
        assert detail.display and detail.region.height >= 2
        assert app.query_one(ProcessTable).region.height >= 2  # the header and the selected row
        assert len(compact_gpu_rows(app)) < 8  # the list scrolls meanwhile
        _inside_pane(app)
        await pilot.press("c")
        await pilot.pause()
        assert len(compact_gpu_rows(app)) == 8
        _inside_pane(app)


async def test_compact_rows_fit_the_width_at_every_size():
    async with open_monitor((60, 30), samples(sim(8), 3)) as (app, pilot):
        for width in (60, 80, 100, 120, 160, 200, 240):
            await pilot.resize_terminal(width, 30)
            await pilot.pause()
            rows = compact_gpu_rows(app)
            assert rows, width
            for r in rows:
                assert "…" not in r[:4]


async def test_view_toggles_between_compact_and_detail():
    async with open_monitor((120, 40), samples(sim(8), 3)) as (app, pilot):
        pane = app.monitor_pane
        assert pane.compact and pane.view_mode == "auto"
        await pilot.press("v")
        assert not pane.compact and pane.view_mode == "detail"
        assert app.query_one(GpuDetailView).display and not app.query_one(GpuCompactView).display
        assert [c.index for c in app.query(GpuCard)] == list(range(8))
        await pilot.press("v")
        assert pane.compact and pane.view_mode == "compact"


@pytest.mark.parametrize("n, size, compact", [
    (8, (200, 50), False), (8, (120, 40), True), (2, (120, 40), False), (2, (80, 24), True),
])
async def test_detail_chosen_automatically_when_the_cards_fit(n, size, compact):
    async with open_monitor(size, samples(sim(n), 2)) as (app, pilot):
        assert app.monitor_pane.compact is compact


async def test_no_remounting_per_sample():
    backend = sim(8)
    async with open_monitor((200, 50), [backend.sample()]) as (app, pilot):
        cards = {c.index: c for c in app.query(GpuCard)}
        assert len(cards) == 8
        widgets_before = len(list(app.monitor_pane.query("*")))
        await feed(pilot, [backend.sample() for _ in range(20)])
        assert {c.index: c for c in app.query(GpuCard)} == cards  # the same widget objects
        assert len(list(app.monitor_pane.query("*"))) == widgets_before
        assert app.query_one(ProcessTable).rows_added == 6  # one per process, ever


async def test_hidden_monitor_records_but_does_not_render():
    backend = sim(4, thermal={1: (0, 10)})
    async with open_monitor((120, 40), monitor_first=False) as (app, pilot):
        pane = app.monitor_pane
        assert app.query_one(TabbedContent).active == "sizing"
        renders = pane.renders
        await feed(pilot, [backend.sample() for _ in range(5)])
        assert pane.renders == renders  # nothing drawn while the planner is on screen
        assert pane.samples_seen == 5 and len(pane.history) == 5
        assert pane.alert_book.active()  # but the alerts are evaluated (and the tab label says so)
        assert "Monitor" in str(app.query_one(TabbedContent).get_tab("monitor").label)
        app.action_tab("monitor")
        await pilot.pause()
        await pilot.pause()
        assert pane.renders == renders + 1
        assert "temp near slowdown" in screen_text(app)


# ---- fits here -----------------------------------------------------------------------------


async def test_fits_verdict_follows_the_plan():
    # GPUs 0-3 serving (7.5 GiB free), 4-5 training, 6-7 idle (78.7 GiB free)
    async with open_monitor((120, 40), samples(sim(8), 2)) as (app, pilot):
        pane = app.monitor_pane
        fits = app.query_one("#mon-fits")
        pane.set_plan(make_plan("llama-3.1-70b", tp=4))  # 71.3 GiB per GPU on 4 GPUs: only 2 idle
        await pilot.pause()
        assert not pane.verdict.fits
        text = plain(fits)
        assert "only 2 GPUs have 71.3 GiB free (GPU 6-7), a replica needs 4" in text
        assert "GPU 0-3 7.5 GiB free" in text

        pane.set_plan(make_plan("llama-3.1-70b", tp=2))  # two idle GPUs make one TP-2 group
        await pilot.pause()
        assert pane.verdict.fits and pane.verdict.groups == ((6, 7),)
        assert "fits now" in plain(fits)
        rows = {int(ROW.match(r).group(1)): r for r in compact_gpu_rows(app)}
        assert "✓1" in rows[6] and "✓1" in rows[7] and "✗" in rows[0]

        pane.set_plan(make_plan("llama-3.1-8b", tp=1, memory_fraction=0.05))  # ~4 GiB: fits all 8
        await pilot.pause()
        assert pane.verdict.replicas == 8

        pane.set_plan(make_plan("llama-3.1-405b", tp=1))  # not even on its own GPU
        await pilot.pause()
        assert "does not fit on one" in plain(fits)


async def test_fits_verdict_follows_what_is_typed_in_the_planner():
    from .conftest import settle, type_into

    async with open_monitor((160, 45), samples(sim(8), 2), monitor_first=False) as (app, pilot):
        pane = app.monitor_pane
        await type_into(pilot, "#f-hardware-tensor-parallel", "4")
        await settle(pilot)
        assert pane.plan is app.plan and pane.plan.inputs.tensor_parallel == 4
        four = pane.verdict
        await type_into(pilot, "#f-serving-memory-fraction", "0.5")
        await settle(pilot)
        assert pane.plan.inputs.serving.memory_fraction == 0.5
        assert pane.verdict.per_gpu_need_bytes < four.per_gpu_need_bytes
        app.action_tab("monitor")
        await pilot.pause()
        assert "TP 4" in plain(app.query_one("#mon-fits"))


async def test_fits_verdict_follows_the_gpus():
    backend = ScriptedBackend(samples(sim(8, lose_gpu_at={7: 2}), 3))
    async with open_monitor((120, 40)) as (app, pilot):
        pane = app.monitor_pane
        pane.set_plan(make_plan("llama-3.1-70b", tp=2))
        await feed(pilot, [backend.sample()])
        assert pane.verdict.fits
        await feed(pilot, [backend.sample(), backend.sample()])  # GPU 7 lost
        assert not pane.verdict.fits
        assert "GPU 7 lost" in plain(app.query_one("#mon-fits"))


# ---- host states ---------------------------------------------------------------------------


async def test_no_driver_says_so_with_a_hint():
    async with open_monitor((80, 24), [no_driver_sample()]) as (app, pilot):
        pane = app.monitor_pane
        assert app.query_one("#mon-notice").display and pane.has_class("-no-driver")
        text = screen_text(app)
        assert "no NVIDIA driver: NVML library not found" in text
        assert "libnvidia-ml.so.1" in text and "--simulate" in text
        assert not app.query_one(GpuCompactView).display and not app.query_one(GpuDetailView).display
        assert "no GPU telemetry on this host" in plain(app.query_one("#mon-fits"))
        assert pane.alert_book.history() == []
        # everything else works: the planner tab still plans
        app.action_tab("sizing")
        await pilot.pause()
        assert app.plan is not None


async def test_host_error_after_good_samples_keeps_the_last_rows():
    good = sim(4).sample()
    broken = HostSample(timestamp=T0 + 5, hostname="sim-host", backend="replay",
                        error="trace.jsonl, line 7: corrupt line (not JSON)")
    async with open_monitor((120, 40), [good, broken]) as (app, pilot):
        text = screen_text(app)
        assert "GPU telemetry failed: trace.jsonl, line 7" in text
        assert "showing the last good sample, from 00:00:00" in text
        assert len(compact_gpu_rows(app)) == 4
        assert app.monitor_pane.alert_book.active() == []  # a backend failure is not a GPU alert


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_simulated_label_always_visible(size):
    async with open_monitor(size, samples(sim(8, lose_gpu_at={1: 0}), 2)) as (app, pilot):
        status = widget_lines(app, app.query_one("#mon-status"))[0]
        assert status.rstrip().endswith("SIMULATED")


async def test_stale_samples_are_flagged(monkeypatch):
    monkeypatch.setattr(MonitorPane, "STALE_AFTER_S", 0.0)
    async with open_monitor((120, 40), [sim(1).sample()], interval=0.01) as (app, pilot):
        await pilot.pause(0.1)
        app.monitor_pane._check_stale()
        await pilot.pause()
        assert "STALE" in widget_lines(app, app.query_one("#mon-status"))[0]


async def test_the_stale_check_sleeps_while_samples_come_and_wakes_when_they_stop(monkeypatch):
    """No timer ticks beside samples that keep coming (each tick is a wake-up of the process):
    a sample puts the stale check to sleep until the moment it would turn stale; then the
    status line says STALE at once and counts on; the next sample clears it."""
    monkeypatch.setattr(MonitorPane, "STALE_AFTER_S", 0.0)
    backend = sim(1)
    async with open_monitor((120, 40), [backend.sample()], interval=0.05) as (app, pilot):
        pane = app.monitor_pane
        deliver(app, backend.sample())
        await pilot.pause()
        assert not pane._stale_ticker._active.is_set() and pane._stale_deadline is not None

        def status() -> str:
            return widget_lines(app, app.query_one("#mon-status"))[0]

        while "STALE" not in status():  # the deadline: 3 intervals after the last sample
            await pilot.pause()
        assert pane._stale_ticker._active.is_set()  # ticking while stale
        deliver(app, backend.sample())
        await pilot.pause()
        assert "STALE" not in status() and not pane._stale_ticker._active.is_set()


# ---- replay and the sampler thread ----------------------------------------------------------


async def test_replayed_trace_drives_the_monitor(json_log):
    """The recorded trace: GPU 2 runs hot from sample 8, Xid 13 on GPU 1 at 14, Xid 48 on GPU 3
    at 16, GPU 5 lost from 20."""
    backend = ReplayBackend(TRACE_8GPU, loop=False)
    backend.open()
    async with open_monitor((120, 40)) as (app, pilot):
        pane = app.monitor_pane
        pane.set_plan(make_plan("llama-3.1-70b", tp=2))
        await feed(pilot, [backend.sample() for _ in range(30)])
        rules = {(e.gpu_index, e.rule, e.value) for e in pane.alert_book.history()}
        assert (5, "gpu_lost", "lost") in rules
        assert any(g == 2 and r == "temperature_slowdown" for g, r, _ in rules)
        assert any(g == 2 and r == "thermal_throttle" for g, r, _ in rules)
        assert (3, "xid_critical", 48) in rules
        assert (1, "xid", 13) in rules
        assert len(pane.history) == 30
        rows = {int(ROW.match(r).group(1)): r for r in compact_gpu_rows(app)}
        assert "LOST" in rows[5]
        text = screen_text(app)
        assert "SIMULATED" in text  # the trace was recorded from simulated GPUs
        assert "Xid 48" in text
    backend.close()
    logged = [r["rule"] for r in logged_alerts(json_log)]
    assert logged.count("gpu_lost") == 1
    assert sorted(set(logged)) == sorted({r for _, r, _ in rules})


async def test_the_sampler_thread_feeds_the_monitor():
    """End to end: the app's own Sampler thread on a scripted backend (lost GPU at sample 3)."""
    backend = ScriptedBackend(samples(sim(4, lose_gpu_at={2: 3}), 6))
    async with open_monitor((120, 40), telemetry=True, backend=backend, interval=0.02) as (app, pilot):
        pane = app.monitor_pane
        for _ in range(200):
            await pilot.pause(0.02)
            if pane.sample is not None and pane.sample.gpu(2).state == "lost":
                break
        assert pane.sample.gpu(2).state == "lost"
        assert any(e.rule == "gpu_lost" for e in pane.alert_book.active())
        assert "LOST" in "\n".join(compact_gpu_rows(app) or widget_lines(app, app.query_one(GpuDetailView)))
        # stop sampling before the app tears down (a sample handled mid-teardown hits widgets
        # already removed: reported to the app shell)
        app._stop_telemetry()
        await pilot.pause()


async def test_gpu_sample_fields_reach_the_detail_card():
    g = GpuSample(
        index=0, uuid="GPU-11111111-2222", name="NVIDIA A100-SXM4-80GB", bus_id="00000000:07:00.0",
        gpu_util_pct=97, mem_util_pct=61, memory_total_bytes=80 * GIB, memory_used_bytes=70 * GIB,
        memory_free_bytes=10 * GIB, temperature_c=84, temp_slowdown_c=88, temp_shutdown_c=93,
        power_w=390.0, power_limit_w=400.0, power_default_limit_w=400.0, sm_clock_mhz=1275,
        sm_clock_max_mhz=1410, mem_clock_mhz=1593, mem_clock_max_mhz=1593, fan_pct=None, pstate=0,
        clock_event_reasons=("sw_power_cap", "hw_slowdown"), ecc_corrected_volatile=12,
        ecc_uncorrected_volatile=0, ecc_corrected_aggregate=345, ecc_uncorrected_aggregate=1,
        remapped_rows_correctable=2, remapped_rows_uncorrectable=0, remap_pending=True, remap_failure=False,
        pcie_gen=4, pcie_gen_max=4, pcie_width=8, pcie_width_max=16, pcie_tx_kbps=1_500_000,
        pcie_rx_kbps=2500, encoder_util_pct=3, decoder_util_pct=4, mig_mode=True, mig_instances=3,
        processes=(),
    )
    s = HostSample(timestamp=T0, hostname="a100-host", backend="nvml", gpus=(g,),
                   driver_version="535.104.05", cuda_version="12.2")
    async with open_monitor((120, 40), [s]) as (app, pilot):
        card = "\n".join(widget_lines(app, app.query_one("#mon-card-0", GpuCard)))
        for needle in ("A100-SXM4-80GB", "00000000:07:00.0", "GPU-11111111…", "MIG on (3 inst)", "97%",
                       "mem bw 61%", "enc 3%", "dec 4%", "70.0/80.0 GiB", "free 10.0", "84 °C",
                       "slowdown 88 °C", "shutdown 93 °C", "fan N/A", "390/400 W", "SM 1275/1410 MHz",
                       "mem 1593/1593 MHz", "gen 4/4 x8/16", "tx 1.5 GB/s rx 2.5 MB/s",
                       "power cap, HW slowdown", "corr 12 (agg 345)", "uncorr 0 (agg 1)",
                       "remapped rows 2 corr 0 unc", "PENDING"):
            assert needle in card, needle
        status = widget_lines(app, app.query_one("#mon-status"))[0]
        assert "a100-host" in status and "driver 535.104.05" in status and "CUDA 12.2" in status
        assert "SIMULATED" not in status


async def test_the_pane_works_on_its_own():
    """MonitorPane has no dependency on the app: a bare App can host it."""
    app = MonitorHarness(samples(sim(2), 3), plan=make_plan("llama-3.1-8b", tp=1))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.monitor_pane.samples_seen == 3
        assert "Fits here" in screen_text(app)


async def test_alerts_needing_attention_come_first():
    base = sim(4).sample()
    s1 = with_gpu(dataclasses.replace(base, timestamp=T0), 0, temperature_c=84)  # warn (near slowdown)
    s2 = with_gpu(with_gpu(dataclasses.replace(base, timestamp=T0 + 1), 0, temperature_c=84), 1,
                  remap_failure=True)  # + critical
    s3 = with_gpu(with_gpu(dataclasses.replace(base, timestamp=T0 + 2), 0, temperature_c=84), 1,
                  remap_failure=True)
    s3 = with_gpu(s3, 2, memory_used_bytes=int(79 * GIB))  # + a newer warning
    async with open_monitor((120, 40), [s1, s2, s3]) as (app, pilot):
        table = app.query_one(AlertTable)
        rules = [table.entries[k].rule for k in table.keys()]
        assert rules == ["row_remap_failure", "memory_high", "temperature_near_slowdown"]
        # acknowledging the top one sinks it and keeps the cursor on the top line
        await pilot.press("tab")
        await pilot.press("a")
        rules = [table.entries[k].rule for k in table.keys()]
        assert rules == ["memory_high", "temperature_near_slowdown", "row_remap_failure"]
        assert table.cursor_row == 0 and table.selected_entry().rule == "memory_high"


async def test_recording_is_shown():
    app = MonitorHarness([sim(1).sample()], recording="/var/tmp/gpus.jsonl")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "● REC gpus.jsonl" in screen_text(app).splitlines()[0]


async def test_no_gpu_on_a_host_with_a_driver():
    s = HostSample(timestamp=T0, hostname="cpu-box", backend="nvml", driver_version="550.54.15")
    async with open_monitor((120, 40), [s]) as (app, pilot):
        text = screen_text(app)
        assert "no NVIDIA GPU: NVML is loaded but reports no device" in text
        assert "no GPU seen" in plain(app.query_one("#mon-fits"))


async def test_keys_typed_at_the_monitor_never_edit_the_session():
    """`gpuplan watch` starts with the sidebar hidden: its model picker must not hold focus, or
    the monitor's own keys (v, a, ...) would be typed into the session."""
    async with open_monitor(feed=samples(sim(8), 2)) as (app, pilot):
        focused = app.focused
        assert focused is None or focused is app.monitor_pane or app.monitor_pane in focused.ancestors
        for key in ("v", "a", "x", "7", "v"):
            await pilot.press(key)
        await pilot.pause()
        assert not app.dirty


async def test_recording_is_shown_in_the_monitor(tmp_path):
    trace = tmp_path / "trace.jsonl"
    async with open_monitor(feed=samples(sim(2), 1), recording=trace) as (app, pilot):
        assert "REC" in screen_text(app) and "trace.jsonl" in screen_text(app)
