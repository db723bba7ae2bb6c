"""What the Monitor keeps from sample to sample (kept process cells, sparkline maxima, card and
row lines, strips painted past Textual's StylesCache) never shows a stale figure: a value that
changes reaches the screen on the next sample, one that stays the same stays."""

from __future__ import annotations

import dataclasses

import pytest

from engine.telemetry.samples import GpuProcess, HostSample
from tui.widgets.monitor_format import GIB
from tui.widgets.monitor_gpus import GpuCard, GpuCompactView

from .monitor_support import MonitorHarness, deliver, make_plan, open_monitor, screen_text, sim, with_gpu


def _procs(s: HostSample, mem_gib: float, started_at: float) -> HostSample:
    p = GpuProcess(4242, "llm", "python serve.py", int(mem_gib * GIB), "compute", started_at=started_at)
    gpus = tuple(dataclasses.replace(g, processes=(p,) if g.index == 0 else ()) for g in s.gpus)
    return dataclasses.replace(s, gpus=gpus)


async def test_a_process_figure_and_its_time_reach_the_screen_each_sample():
    s0 = sim(2).sample()
    first = _procs(s0, 10.0, started_at=s0.timestamp - 65)
    app = MonitorHarness([first])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "10.00G" in screen_text(app) and "01:05" in screen_text(app)
        pane = app.monitor_pane
        same = dataclasses.replace(first, timestamp=first.timestamp + 60)  # the same process, later
        pane.update_sample(same)
        await pilot.pause()
        assert "10.00G" in screen_text(app) and "02:05" in screen_text(app)
        grown = _procs(dataclasses.replace(first, timestamp=first.timestamp + 61), 12.5,
                       started_at=first.timestamp - 65)
        pane.update_sample(grown)
        await pilot.pause()
        text = screen_text(app)
        assert "12.50G" in text and "10.00G" not in text and "02:06" in text


async def test_a_changed_figure_reaches_a_card_and_a_compact_row():
    backend = sim(2)
    feed = [backend.sample() for _ in range(5)]
    for view, size in (("detail", (200, 50)), ("compact", (120, 40))):
        app = MonitorHarness(feed)
        async with app.run_test(size=size) as pilot:
            pane = app.monitor_pane
            pane.view_mode = view
            pane.refresh_view()
            await pilot.pause()
            def shown(t: int) -> str:
                return f"temp  {t} °C" if view == "detail" else f" {t}°C"

            hot = with_gpu(dataclasses.replace(feed[-1], timestamp=feed[-1].timestamp + 1), 1, temperature_c=86)
            pane.update_sample(hot)
            await pilot.pause()
            assert shown(86) in screen_text(app), view
            cool = with_gpu(dataclasses.replace(hot, timestamp=hot.timestamp + 1), 1, temperature_c=41)
            pane.update_sample(cool)
            await pilot.pause()
            text = screen_text(app)
            assert shown(41) in text and shown(86) not in text, view
            assert app.query_one(GpuCompactView).display == (view == "compact")
            if view == "detail":
                card = app.query_one("#mon-card-1", GpuCard)
                assert any("41 °C" in "".join(t for t, _s, _c in strip) for strip in card._strips or [])


async def test_a_spike_shows_in_the_sparkline_and_leaves_with_its_bucket():
    backend = sim(1)
    base = backend.sample()
    idle = with_gpu(base, 0, gpu_util_pct=0)
    app = MonitorHarness([dataclasses.replace(idle, timestamp=idle.timestamp + k) for k in range(6)])
    async with app.run_test(size=(200, 50)) as pilot:
        pane = app.monitor_pane
        pane.view_mode = "detail"
        pane.refresh_view()
        await pilot.pause()

        def util_line() -> str:
            return next(line for line in screen_text(app).splitlines() if "util " in line and "mem bw" in line)

        assert "█" not in util_line().split(" util ")[-1]
        spike = with_gpu(dataclasses.replace(base, timestamp=base.timestamp + 6), 0, gpu_util_pct=100)
        pane.update_sample(spike)
        await pilot.pause()
        assert util_line().rstrip().endswith("█")
        pane.update_sample(dataclasses.replace(idle, timestamp=base.timestamp + 7))
        await pilot.pause()
        assert util_line().rstrip().endswith("█▁")


def count_layouts(monkeypatch, pane) -> list[int]:
    """From now on, the sample count at each layout pass of the screen (a reflow of every widget)."""
    from textual.screen import Screen

    layouts: list[int] = []
    original = Screen._refresh_layout

    def counting(screen, size=None, scroll=False):
        if screen._layout_required:
            layouts.append(pane.samples_seen)
        return original(screen, size, scroll)

    monkeypatch.setattr(Screen, "_refresh_layout", counting)
    return layouts


@pytest.mark.parametrize("view, size", [
    ("compact", (80, 24)), ("compact", (120, 40)), ("compact", (200, 50)),
    ("detail", (120, 40)), ("detail", (200, 50)),
])
async def test_steady_samples_repaint_without_a_layout_pass(view, size, monkeypatch):
    """Issue 9: no re-layout per sample. In the app as `gpuplan watch` opens it, with a plan (its
    fits line's figures change every sample), samples of the same 8 GPUs only repaint once the
    view is up: the screen is never reflowed (each reflow re-arranges every widget)."""
    backend = sim(8)
    async with open_monitor(size, [backend.sample() for _ in range(20)],
                            plan=make_plan("llama-3.1-70b", tp=4)) as (app, pilot):
        pane = app.monitor_pane
        pane.view_mode = view
        for _ in range(3):  # the view settles: its heights, the tables' widths
            deliver(app, backend.sample())
            await pilot.pause()
        assert pane.compact == (view == "compact")
        assert "needs 71.3 GiB" in screen_text(app)
        layouts = count_layouts(monkeypatch, pane)
        seen = pane.samples_seen
        for _ in range(10):
            deliver(app, backend.sample())
            await pilot.pause()
        assert pane.samples_seen == seen + 10
        assert layouts == []


async def test_a_steady_sample_repaints_only_inside_the_monitor(monkeypatch):
    """Textual redraws every widget under the rectangle around all dirty regions: a header
    repainted each sample (with the same host summary) made that the whole screen, header,
    tabs and all. Steady samples leave everything outside the Monitor pane alone."""
    from textual._compositor import Compositor

    backend = sim(8)
    async with open_monitor((120, 40), [backend.sample() for _ in range(20)],
                            plan=make_plan("llama-3.1-70b", tp=4)) as (app, pilot):
        pane = app.monitor_pane
        for _ in range(3):
            deliver(app, backend.sample())
            await pilot.pause()
        dirty = []
        original = Compositor.render_partial_update

        def recording(compositor):
            dirty.extend(compositor._dirty_regions)
            return original(compositor)

        monkeypatch.setattr(Compositor, "render_partial_update", recording)
        for _ in range(5):
            deliver(app, backend.sample())
            await pilot.pause()
        assert dirty, "the samples were not drawn"
        outside = [r for r in dirty if not pane.region.contains_region(r)]
        assert outside == []


def _free(s: HostSample, free_gib: list[float], dt: float) -> HostSample:
    """`s` later by `dt`, its GPUs with these free GiB (used the rest of the total)."""
    gpus = tuple(
        dataclasses.replace(g, memory_free_bytes=int(f * GIB), memory_used_bytes=g.memory_total_bytes - int(f * GIB))
        for g, f in zip(s.gpus, free_gib))
    return dataclasses.replace(s, gpus=gpus, timestamp=s.timestamp + dt)


async def test_a_verdict_that_wraps_a_line_more_or_less_keeps_its_rows(monkeypatch):
    """The fits verdict names every short GPU's free memory, so its length moves with the
    figures: at 200 columns eight different figures wrap to a second line and one shared figure
    ("GPU 0-7 9.5 GiB free") does not. Alternating between them, the fits line keeps the rows it
    grew to (no layout pass, each of which re-arranges the whole screen), shows each sample's
    figures, and gives the row back once the verdict changes its outcome."""
    from tui.widgets.monitor_fits import FitsLine

    backend = sim(8)
    base = backend.sample()
    varied = [60.1 + k for k in range(8)]  # GPU 0 60.1 GiB free, GPU 1 61.1 GiB free, ...
    same = [9.5] * 8
    async with open_monitor((200, 50), [base], plan=make_plan("llama-3.1-70b", tp=4)) as (app, pilot):
        pane = app.monitor_pane
        fits = app.query_one(FitsLine)
        deliver(app, _free(base, same, 1))
        await pilot.pause()
        assert fits.rows == 2 and "GPU 0-7 9.5 GiB free" in screen_text(app)
        deliver(app, _free(base, varied, 2))
        await pilot.pause()
        assert fits.rows == 3 and "GPU 7 67.1 GiB free" in screen_text(app)
        layouts = count_layouts(monkeypatch, pane)
        for k in range(6):
            deliver(app, _free(base, same if k % 2 == 0 else varied, 3 + k))
            await pilot.pause()
            text = screen_text(app)
            assert ("GPU 0-7 9.5 GiB free" in text) == (k % 2 == 0), k
            assert ("GPU 7 67.1 GiB free" in text) == (k % 2 == 1), k
        assert layouts == [] and fits.rows == 3
        monkeypatch.undo()
        deliver(app, _free(base, [79.0] * 8, 10))  # now it fits: a new outcome, one line of verdict
        await pilot.pause()
        assert fits.rows == 2 and "✓" in screen_text(app)
