"""Headless entry points for bench/tui_bench.py (bench/ may not import Textual itself).

    python -m tui.bench_entry bare       a bare Textual app: exits at its first frame
    python -m tui.bench_entry gpuplan    the gpuplan app, started the same way: exits at its first frame
    python -m tui.bench_entry gpuplan-plan   the same, but exits once the first plan is on screen
    python -m tui.bench_entry rss        gpuplan on 8 simulated GPUs, after the first plan and
                                         a few seconds of sampling prints its resident memory (MiB)
    python -m tui.bench_entry tabs       after the first plan, each tab's digit key: ms until the
                                         first frame showing its pane, first visit (the pane is
                                         mounted then) and a later one; JSON
"""

from __future__ import annotations

import sys


def _exit_at_first_frame() -> None:
    """End the process the moment the first frame is ready for the terminal: App._display is
    handed the first screen update (the headless driver would discard it)."""
    import os

    from textual.app import App

    display = App._display

    def first_frame(self, screen, renderable) -> None:  # noqa: ANN001
        if renderable is not None and not self._batch_count:
            os._exit(0)
        display(self, screen, renderable)

    App._display = first_frame  # type: ignore[method-assign]


def _bare() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("bare")
            yield Footer()

    _exit_at_first_frame()
    Bare().run(headless=True, size=(120, 40))


def _gpuplan() -> None:
    from .app import GpuPlanApp

    _exit_at_first_frame()
    GpuPlanApp(offer_recovery=False).run(headless=True, size=(120, 40))


def _gpuplan_first_plan() -> None:
    """Ends the process at the first frame that shows a plan."""
    import os

    from textual.app import App

    from .app import GpuPlanApp

    display = App._display

    def frame(self, screen, renderable) -> None:  # noqa: ANN001
        display(self, screen, renderable)
        if renderable is not None and getattr(self, "report", None) is not None:
            os._exit(0)

    App._display = frame  # type: ignore[method-assign]
    GpuPlanApp(offer_recovery=False).run(headless=True, size=(120, 40))


def send_key(app, key: str) -> None:
    """Deliver one key the way the terminal driver does (Pilot.press without its idle waits,
    which alone take 40 ms or more)."""
    from textual import events

    char = {"backspace": None}.get(key, key if len(key) == 1 else None)
    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss(seconds: float) -> None:
    import asyncio
    import time

    from engine.telemetry.simulated import SimulatedBackend

    from .app import GpuPlanApp

    async def main() -> None:
        app = GpuPlanApp(backend=SimulatedBackend(n_gpus=8), offer_recovery=False, interval=0.25)
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + 30
            while not (app.plan_settled and app.plan is not None) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            app.action_tab("monitor")
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                await pilot.pause(0.1)
            print(f"{rss_mib():.1f}")

    asyncio.run(main())


def _tabs() -> None:
    import asyncio
    import json
    import time

    from textual.app import App

    from .app import GpuPlanApp
    from .pane_registry import PANES

    frames: list[float] = []
    display = App._display

    def frame(self, screen, renderable) -> None:  # noqa: ANN001
        display(self, screen, renderable)
        if renderable is not None:
            frames.append(time.perf_counter())

    App._display = frame  # type: ignore[method-assign]

    async def visit(app, key: str, widget_id: str) -> float:
        t0 = time.perf_counter()
        send_key(app, key)
        while True:  # the pane laid out on screen, then the next frame handed to the terminal
            pane = app.pane(widget_id)
            if pane is not None and pane.is_mounted and pane.region.height:
                shown = time.perf_counter()
                while not frames or frames[-1] < shown:
                    await asyncio.sleep(0.001)
                return (frames[-1] - t0) * 1e3
            await asyncio.sleep(0.001)

    async def main() -> None:
        app = GpuPlanApp(offer_recovery=False, telemetry=False)
        async with app.run_test(size=(120, 40)) as pilot:
            while not app.settled:
                await app.wait_for_progress()
            await pilot.pause()
            out: dict[str, list[float]] = {"first": [], "again": []}
            for round_ in ("first", "again"):
                for n, spec in enumerate(PANES):
                    if spec.tab in ("sizing", "monitor"):
                        continue  # mounted at start-up
                    out[round_].append(await visit(app, str(n + 1), spec.widget_id))
                    await pilot.pause()
                await visit(app, "1", "sizing-pane")
                await pilot.pause()
            print(json.dumps(out))

    asyncio.run(main())


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "gpuplan"
    if what == "bare":
        _bare()
    elif what == "gpuplan-plan":
        _gpuplan_first_plan()
    elif what == "tabs":
        _tabs()
    elif what == "rss":
        _rss(float(sys.argv[2]) if len(sys.argv) > 2 else 3.0)
    else:
        _gpuplan()
