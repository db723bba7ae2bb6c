"""Does the planner stay responsive while the monitor samples? (figures, never asserted)

monitor_keystroke_ms_median: bench/tui_bench.py's keystroke_to_table measurement (headless
120x40, keys delivered through the driver, time until the scenario table holds the new plan) while
the app samples 8 simulated GPUs on its own Sampler thread at 10 Hz (ten times the default 1 Hz,
to stress it), the Sizing tab on screen. Read it against `monitor_keystroke_ms_median_no_sampling`
(the same app with telemetry off, started the same way): `monitor_keystroke_ratio` near 1.0 means
sampling costs the planner nothing noticeable. `monitor_keystroke_visible_ms_median`: the same
typing (in the sidebar) with the Monitor tab on screen redrawing every sample.

monitor_render_cpu_ms_per_sample_{compact,detail}: process CPU time one sample of 8 GPUs costs
the Monitor tab when on screen (update + repaint), compact view at 120x40 and detail cards at
200x50; at 1 Hz, N ms per sample is N/10 % of a core.

monitor_cpu_percent_visible_{compact,detail}: what issue 9 compared with nvitop (1.5 % of a core on
8 GPUs at 1 s): the whole process's CPU time over wall time, in % of one core, with the Monitor on
screen (headless, 200x50) fed by its own Sampler thread at 1 Hz on 8 simulated GPUs, for
`seconds`; one run per view, repeated `repeats` times (median, the worst run and the spread).
Read beside `monitor_cpu_percent_visible_headless` (the same pipeline without any UI, measured in
the same rounds) and `monitor_cpu_percent_visible_idle` (the same screen with no samples:
Textual's own idle cost). Headless: no terminal output is written, so a real terminal adds the
cost of encoding the changed lines.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.tui_bench import typing_times


def _env() -> None:
    home = Path(tempfile.mkdtemp(prefix="gpuplan-bench-"))
    os.environ["GPUPLAN_HOME"] = str(home)
    os.environ.setdefault("HF_HOME", str(home / "hf"))




async def _typing_times(*, telemetry: bool, interval: float, monitor_visible: bool, keystrokes: int) -> list[float]:
    """bench/tui_bench.py's measurement, with 8 simulated GPUs sampling alongside (seconds)."""
    from engine.telemetry.simulated import SimulatedBackend

    backend = SimulatedBackend(n_gpus=8) if telemetry else None
    ms = await typing_times(Path(os.environ["GPUPLAN_HOME"]), keystrokes, backend=backend,
                            telemetry=telemetry, interval=interval, monitor_visible=monitor_visible)
    return [t / 1000 for t in ms]


def _ms(times: list[float], q: float = 0.5) -> float:
    if q == 0.5:
        return round(statistics.median(times) * 1e3, 2)
    return round(sorted(times)[min(len(times) - 1, int(len(times) * q))] * 1e3, 2)


def monitor_keystroke_ms_median(keystrokes: int = 40) -> dict[str, float | None]:
    _env()
    kw = {"keystrokes": keystrokes}
    base = asyncio.run(_typing_times(telemetry=False, interval=1.0, monitor_visible=False, **kw))
    sampled = asyncio.run(_typing_times(telemetry=True, interval=0.1, monitor_visible=False, **kw))
    visible = asyncio.run(_typing_times(telemetry=True, interval=0.1, monitor_visible=True, **kw))
    b, s = _ms(base), _ms(sampled)
    return {
        "monitor_keystroke_ms_median": s,
        "monitor_keystroke_ms_p90": _ms(sampled, 0.9),
        "monitor_keystroke_ms_median_no_sampling": b,
        "monitor_keystroke_ratio": round(s / b, 2) if b else None,
        "monitor_keystroke_visible_ms_median": _ms(visible),
        "monitor_render_cpu_ms_per_sample_compact": monitor_render_cpu_ms(detail=False),
        "monitor_render_cpu_ms_per_sample_detail": monitor_render_cpu_ms(detail=True),
    }


def monitor_render_cpu_ms(detail: bool, samples: int = 60) -> float:
    """CPU per sample of the Monitor tab on screen: update_sample + repaint, minus idle."""
    from engine.telemetry.simulated import SimulatedBackend
    from tui.widgets.monitor_probe import MonitorProbeApp

    async def run() -> float:
        backend = SimulatedBackend(n_gpus=8)
        app = MonitorProbeApp()
        async with app.run_test(size=(200, 50) if detail else (120, 40)) as pilot:
            pane = app.monitor_pane
            for _ in range(30):  # some history for the sparklines
                pane.update_sample(backend.sample())
            await pilot.pause()
            if detail == pane.compact:
                pane.action_toggle_view()
            await pilot.pause(0.3)
            c0 = time.process_time()
            for _ in range(samples):
                await asyncio.sleep(0.05)
            idle = time.process_time() - c0
            batch = [backend.sample() for _ in range(samples)]
            c0 = time.process_time()
            for s in batch:
                pane.update_sample(s)
                await asyncio.sleep(0.05)  # the repaint happens in here
            busy = time.process_time() - c0
        return max(0.0, busy - idle) / samples

    return round(asyncio.run(run()) * 1e3, 2)


def _visible_cpu_percent(view: str | None, seconds: float) -> float:
    """Process CPU % of one core over `seconds` with the Monitor on screen; view None: no
    sampler at all (the screen idles)."""
    from engine.telemetry.sampler import Sampler
    from engine.telemetry.simulated import SimulatedBackend
    from tui.widgets.monitor_probe import MonitorProbeApp

    async def run() -> float:
        app = MonitorProbeApp()
        async with app.run_test(size=(200, 50)) as pilot:
            pane = app.monitor_pane
            pane.view_mode = view or "compact"
            await pilot.pause()
            sampler = None
            if view is not None:
                sampler = Sampler(SimulatedBackend(n_gpus=8), lambda s: app.call_from_thread(pane.update_sample, s),
                                  interval_s=1.0)
                sampler.start()
                while pane.samples_seen < 2:  # first paint and card mounting are not the steady state
                    await asyncio.sleep(0.05)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            await asyncio.sleep(seconds)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            if sampler is not None:
                sampler.stop()
            assert view is None or pane.compact == (view == "compact")
        return cpu / wall * 100.0

    return asyncio.run(run())


def monitor_cpu_percent_visible(seconds: float = 10.0, repeats: int = 3) -> dict[str, float]:
    """Median, worst and spread (worst - best) of `repeats` runs per view, the views taking turns
    in each round so that a change in the machine's load falls on all of them alike; the headless
    pipeline (bench/telemetry_bench.py) is measured in the same rounds. CPU time of this process,
    not wall time, so other load on the machine matters less; the 1-minute load average at the
    start and end is reported beside the figures."""
    from bench.telemetry_bench import monitor_cpu_percent_1hz_8gpu

    runs: dict[str, list[float]] = {"idle": [], "compact": [], "detail": [], "headless": []}
    load0 = os.getloadavg()[0]
    for _ in range(repeats):
        for name in ("idle", "compact", "detail"):
            runs[name].append(_visible_cpu_percent(None if name == "idle" else name, seconds))
        runs["headless"].append(monitor_cpu_percent_1hz_8gpu(seconds))
    out: dict[str, float] = {}
    for name, values in runs.items():
        values.sort()
        out[f"monitor_cpu_percent_visible_{name}"] = round(statistics.median(values), 2)
        out[f"monitor_cpu_percent_visible_{name}_worst"] = round(values[-1], 2)
        out[f"monitor_cpu_percent_visible_{name}_spread"] = round(values[-1] - values[0], 2)
    out["monitor_cpu_percent_visible_load_1m_start"] = round(load0, 2)
    out["monitor_cpu_percent_visible_load_1m_end"] = round(os.getloadavg()[0], 2)
    return out


if __name__ == "__main__":
    import json

    import sys

    if sys.argv[1:2] == ["cpu"]:  # python -m bench.monitor_bench cpu [REPEATS]
        repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
        print(json.dumps(monitor_cpu_percent_visible(repeats=repeats), indent=2))
    else:
        print(json.dumps(monitor_keystroke_ms_median(), indent=2))
