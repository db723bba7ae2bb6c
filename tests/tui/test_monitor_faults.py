"""Issue 9 on screen, in the real app (`gpuplan watch` layout): a lost GPU stays critical for a
minute of samples, an unhealthy GPU is refused by "fits here", help lists the Monitor, memory used
as NVML reports it, the waiting state paints before NVML answers, the nvitop-style process table
(sort, filter, full command, a PID from another namespace), the host panel and the detail screen."""

from __future__ import annotations

import dataclasses
import threading


from engine.telemetry.samples import GpuProcess, HostSample, XidEvent
from engine.telemetry.scripted import ScriptedBackend
from tui.widgets.monitor_detail import GpuDetailScreen
from tui.widgets.monitor_gpus import GpuCard
from tui.widgets.monitor_host import HostPanel
from tui.widgets.monitor_tables import ProcessTable

from contextlib import asynccontextmanager

from .monitor_support import (
    T0,
    MonitorHarness,
    deliver,
    lost,
    make_plan,
    open_monitor,
    plain,
    screen_text,
    sim,
    widget_lines,
    with_gpu,
)

GIB = 1 << 30


async def feed(pilot, items) -> None:
    for s in items:
        if isinstance(pilot.app, MonitorHarness):
            pilot.app.monitor_pane.update_sample(s)
        else:
            deliver(pilot.app, s)
    await pilot.pause()


@asynccontextmanager
async def open_pane(size, samples=(), plan=None):
    """The Monitor pane alone (fast), for what does not involve the rest of the app."""
    app = MonitorHarness(samples, plan)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.monitor_pane.focus_default()
        await pilot.pause()
        yield app, pilot


def card_title(app, index: int) -> str:
    return widget_lines(app, app.query_one(f"#mon-card-{index}", GpuCard))[0]


# ---- a lost GPU stays critical ---------------------------------------------------------------------


async def test_a_lost_gpu_stays_critical_for_a_minute_of_samples():
    backend = sim(2)
    async with open_pane((120, 40)) as (app, pilot):
        pane = app.monitor_pane
        for k in range(60):  # what NvmlBackend gives while backed off: lost, with a countdown
            retry = None if k < 2 else 30 - (k - 2) % 30
            s = with_gpu(lost(backend.sample(), 1), 1, failures=k + 1, retry_in_s=retry)
            pane.update_sample(s)
            if k % 15 == 14:
                await pilot.pause()
                card = app.query_one("#mon-card-1", GpuCard)
                title = card_title(app, 1)
                assert "LOST" in title and card.has_class("-failed"), (k, title)
                assert "BACKOFF" not in screen_text(app)
                if retry is not None:
                    assert f"retry in {retry} s" in title
        active = pane.alert_book.active()
        assert [(e.gpu_index, e.rule, e.severity, e.count) for e in active] == [(1, "gpu_lost", "critical", 60)]
        assert "GPU 1 lost" in screen_text(app)


# ---- health feeds the cards and "fits here" --------------------------------------------------


async def test_an_unhealthy_gpu_is_refused_by_fits_here_and_says_why():
    base = sim(8).sample()
    s = with_gpu(base, 6, ecc_uncorrected_volatile=183, ecc_uncorrected_aggregate=178)
    plan = make_plan("llama-3.1-8b", tp=1)
    async with open_pane((200, 50), [s], plan=plan) as (app, pilot):
        pane = app.monitor_pane
        await feed(pilot, [s])
        v = pane.verdict
        assert 6 not in v.eligible and v.eligible == (7,)
        fits = plain(app.query_one("#mon-fits"))
        assert "GPU 6 unhealthy: uncorrected ECC errors" in fits
        assert "CRIT uncorrected ECC errors" in card_title(app, 6) and " OK" not in card_title(app, 6)
        assert card_title(app, 7).rstrip().endswith("OK")
        # one consistent ECC pair: the total is never shown below its part
        card = "\n".join(widget_lines(app, app.query_one("#mon-card-6", GpuCard)))
        assert "uncorr 183 (agg 183)" in card and "agg 178" not in card


async def test_a_critical_xid_makes_the_gpu_unfit_until_acknowledged():
    backend = sim(8)
    s0 = backend.sample()
    xid = with_gpu(backend.sample(), 7, xid_events=(XidEvent(T0 + 1, 7, "xid", 48),))
    plan = make_plan("llama-3.1-8b", tp=1)
    async with open_pane((120, 40), [s0], plan=plan) as (app, pilot):
        pane = app.monitor_pane
        assert pane.verdict.eligible == (6, 7)
        await feed(pilot, [xid, backend.sample()])  # the event is in one sample only
        assert pane.verdict.eligible == (6,)
        assert "GPU 7 unhealthy: Xid 48" in plain(app.query_one("#mon-fits"))
        await pilot.press("A")  # acknowledge all
        assert pane.verdict.eligible == (6, 7)


# ---- help, memory, waiting -------------------------------------------------------------------


async def test_help_lists_the_monitor_keys_columns_and_rules():
    async with open_monitor((120, 40)) as (app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        text = app.screen.source
        for key in ("| `v` |", "| `a` |", "| `A` |", "| `s` |", "| `/` |", "enter on a GPU"):
            assert key in text, key
        assert "### GPU columns" in text and "| MBW |" in text and "| %SM |" in text
        assert "### Alert rules" in text and "| uncorrected ECC | critical |" in text
        assert "| Xid (critical) | critical (event) |" in text


async def test_memory_used_is_what_nvml_reports_with_reserved_apart():
    s = with_gpu(sim(2).sample(), 1, memory_used_bytes=0, memory_reserved_bytes=GIB,
                 memory_free_bytes=sim(2).memory_total_bytes - GIB, processes=())
    async with open_pane((120, 40), [s]) as (app, pilot):
        card = widget_lines(app, app.query_one("#mon-card-1", GpuCard))
        mem = next(line for line in card if line.lstrip().startswith("mem "))
        assert "0.0/79.6 GiB" in mem and "rsvd 1.0" in mem


class BlockingBackend:
    """An NVML that takes its time to initialise (nvmlInit on a loaded host)."""

    name = "nvml"
    simulated = False

    def __init__(self) -> None:
        self.release = threading.Event()
        self.inner = sim(2)

    def open(self) -> None:
        self.release.wait()  # until the test lets it go: no clock a loaded host can outrun

    def sample(self) -> HostSample:
        return self.inner.sample()

    def close(self) -> None:
        self.release.set()


async def test_the_monitor_paints_at_once_while_nvml_starts():
    from tui.app import GpuPlanApp

    from .conftest import settle

    backend = BlockingBackend()
    app = GpuPlanApp(None, monitor_first=True, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        try:
            await settle(pilot)
            assert app.monitor_pane is not None and app.monitor_pane.sample is None
            assert "waiting for NVML" in screen_text(app)
        finally:
            backend.release.set()  # a failed assert must not leave the sampler thread waiting
        while app.monitor_pane.sample is None:  # the first sample's arrival, however slow the host
            await pilot.pause(0.05)  # (a hung sampler is the suite timeout's business)
        await pilot.pause()
        assert "waiting for NVML" not in screen_text(app)
        assert "2 GPUs" in screen_text(app)


# ---- processes ---------------------------------------------------------------------------------


def _procs(s: HostSample) -> HostSample:
    procs = {
        0: [GpuProcess(100, "llm", "python -m vllm serve big", 60 * GIB, sm_util_pct=90, cpu_pct=120.0,
                       started_at=T0 - 7200, in_namespace=True)],
        1: [GpuProcess(200, "alice", "torchrun train.py", 30 * GIB, sm_util_pct=40, cpu_pct=300.0,
                       started_at=T0 - 60, in_namespace=True),
            GpuProcess(300, None, "python", 5 * GIB, in_namespace=False)],
        2: [GpuProcess(400, "bob", "jupyter kernel", 1 * GIB, sm_util_pct=1, cpu_pct=3.0,
                       started_at=T0 - 86400 * 3, in_namespace=True)],
    }
    gpus = tuple(dataclasses.replace(g, processes=tuple(procs.get(g.index, ()))) for g in s.gpus)
    return dataclasses.replace(s, gpus=gpus)


async def test_process_sort_by_any_column_keeps_the_selection():
    s = _procs(sim(4).sample())
    async with open_pane((120, 40), [s]) as (app, pilot):
        table = app.query_one(ProcessTable)
        assert table.keys() == ["100", "200", "300", "400"]
        table.focus()
        await pilot.press("down")
        assert table.selected_key == "200"
        while table.sort_key != "cpu":
            await pilot.press("s")
        assert table.keys() == ["200", "100", "400", "300"]  # most CPU first, N/A last
        assert table.selected_key == "200"
        await pilot.press("S")
        assert table.keys()[0] == "300" and table.selected_key == "200"
        while table.sort_key != "mem":
            await pilot.press("s")
        assert table.keys() == ["100", "200", "300", "400"]
        assert "by GPU MEM" in str(app.query_one("#mon-procs-box").border_title)
        # a refresh keeps both the order and the selection
        await feed(pilot, [_procs(dataclasses.replace(sim(4).sample(), timestamp=T0 + 1))])
        assert table.keys() == ["100", "200", "300", "400"] and table.selected_key == "200"


async def test_process_filter_by_user_gpu_and_pid():
    s = _procs(sim(4).sample())
    async with open_pane((120, 40), [s]) as (app, pilot):
        table = app.query_one(ProcessTable)
        await pilot.press("slash")
        await pilot.press(*"user:alice")
        assert table.keys() == ["200"]
        assert "Processes (1 of 4) filter: user:alice" in str(app.query_one("#mon-procs-box").border_title)
        await pilot.press("enter")
        assert app.focused is table and table.keys() == ["200"]
        table.set_filter("gpu:1")
        assert table.keys() == ["200", "300"]
        table.set_filter("pid:400")
        assert table.keys() == ["400"]
        table.set_filter("vllm")
        assert table.keys() == ["100"]
        await pilot.press("slash", "escape")
        assert table.keys() == ["100", "200", "300", "400"] and table.filter_text == ""


async def test_full_command_and_a_pid_from_another_namespace():
    s = _procs(sim(4).sample())
    async with open_pane((200, 50), [s]) as (app, pilot):
        table = app.query_one(ProcessTable)
        row = table.get_row("300")
        text = " ".join(c.plain for c in row)
        assert "not in this PID namespace" in text and "?" in text
        assert table.get_cell("400", "time").plain == "3-00:00"
        assert table.get_cell("100", "time").plain == "2:00:00"
        table.focus()
        table.move_cursor(row=table.get_row_index("300"))
        await pilot.press("c")
        detail = plain(app.query_one("#mon-proc-detail"))
        assert "PID 300" in detail and "not in this PID namespace" in detail
        table.move_cursor(row=table.get_row_index("100"))
        await pilot.pause()
        assert "python -m vllm serve big" in plain(app.query_one("#mon-proc-detail"))


# ---- host panel and the detail screen ---------------------------------------------------------


async def test_the_host_panel_shows_cpu_ram_swap_and_load_with_history():
    backend = sim(2)
    async with open_pane((120, 40), [backend.sample() for _ in range(20)]) as (app, pilot):
        line = widget_lines(app, app.query_one(HostPanel))[0]
        assert "CPU" in line and "MEM" in line and "/1024G" in line and "SWP" in line and "LOAD" in line
        assert "/64" in line and any(ch in line for ch in "▁▂▃▄▅▆▇█")
        assert app.monitor_pane.history.host_points == 20


async def test_enter_on_a_gpu_opens_its_detail_screen():
    backend = sim(8)
    feed_ = [backend.sample() for _ in range(30)]
    feed_[-1] = with_gpu(feed_[-1], 2, xid_events=(XidEvent(T0 + 29, 2, "xid", 79),))
    async with open_pane((120, 40), feed_) as (app, pilot):
        pane = app.monitor_pane
        app.query_one("#mon-compact-scroll" if pane.compact else "#mon-detail").focus()
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GpuDetailScreen) and screen.index == 2
        await pilot.pause()
        text = screen_text(app)
        assert "GPU 2 CRIT Xid 79  NVIDIA H100 80GB HBM3" in text
        assert "persistence" in text and "compute mode" in text and "reserved" in text
        assert "Xid (critical) Xid 79" in text
        assert screen.query_one(ProcessTable).keys() == ["4174"]
        pane.update_sample(backend.sample())  # a new sample updates the open screen
        await pilot.pause()
        await pilot.press("escape")
        assert not isinstance(app.screen, GpuDetailScreen)
