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


if __name__ == "__main__":
    import json

    print(json.dumps(monitor_keystroke_ms_median(), indent=2))
