"""TUI figures (issue 3): keystroke to updated scenario table, cold start against a bare Textual
app started the same way, resident memory. Textual is only reached through tui/ (bench/ never
imports it)."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SESSION = """\
schema_version = 1
name = "bench-70b"
[model]
catalog = "llama-3.1-70b"
[hardware]
gpu = "h100-sxm-80gb"
server = "dgx-h100"
tensor_parallel = 4
[serving]
max_model_len = 8192
concurrent_sessions = 200
prompt_tokens = 4000
output_tokens = 500
"""


def _env(home: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GPUPLAN_HOME"] = home
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # Like an installed gpuplan: bytecode is cached (a PYTHONDONTWRITEBYTECODE environment would
    # recompile our modules on every start while Textual's site-packages keep their .pyc).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def keystroke_to_table_ms_median(keystrokes: int = 40) -> float:
    """Pilot (run_test): type into the context field (backspace / retype a digit, each one a new
    plan), time from the key event reaching the app until the tables (memory, scenarios) hold the
    new plan's figures. Keys go in through the driver like a terminal's (Pilot.press adds 40+ ms of idle
    waiting of its own)."""
    with tempfile.TemporaryDirectory() as home:
        old = os.environ.get("GPUPLAN_HOME")
        os.environ["GPUPLAN_HOME"] = home
        try:
            return asyncio.run(_keystrokes(Path(home), keystrokes))
        finally:
            if old is None:
                os.environ.pop("GPUPLAN_HOME", None)
            else:
                os.environ["GPUPLAN_HOME"] = old


async def typing_times(
    home: Path, keystrokes: int, *, backend=None, telemetry: bool = True, interval: float = 1.0,
    monitor_visible: bool = False,
) -> list[float]:
    """Milliseconds from each key reaching the app (through the driver, like a terminal's:
    backspace / retype a digit of the context, each one a new plan) until the memory or scenario
    table holds the new plan's figures. `backend` samples alongside (bench/monitor_bench.py); with
    `monitor_visible` the Monitor tab is on screen while typing in the sidebar."""
    from tui.app import GpuPlanApp
    from tui.bench_entry import send_key
    from tui.widgets.sizing import scenario_cells

    path = home / "bench.toml"
    path.write_text(SESSION)
    app = GpuPlanApp(path, backend=backend, telemetry=telemetry, interval=interval, offer_recovery=False)
    times: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(4000):
            await pilot.pause(0)
            if app.plan_settled and app.plan is not None and app.sidebar.built and app.sidebar.synced:
                break
        else:
            raise RuntimeError("the app did not settle")
        if monitor_visible:
            app.action_tab("monitor")  # the sidebar stays: type there while the monitor redraws
        field = app.query_one("#f-serving-max-model-len")
        table = app.query_one("#scenario-table")
        memory = app.query_one("#memory-table")  # its "max concurrency at N tokens" row follows the context
        field.focus()
        await pilot.pause()
        field.action_end()  # drop the select-on-focus selection
        await asyncio.sleep(0.3 if telemetry else 0.0)  # the sampler runs, the monitor fills
        for i in range(keystrokes):
            key = "backspace" if i % 2 == 0 else "2"  # 8192 -> 819 -> 8192 -> ...
            # The tables as drawn: with an SLA the batch, not the context, may size the scenarios,
            # so the scenario table alone can stay the same; the memory table always changes.
            before = (scenario_cells(table), scenario_cells(memory))
            t0 = time.perf_counter()
            send_key(app, key)
            for _ in range(50000):
                if (scenario_cells(table), scenario_cells(memory)) != before:
                    break
                await asyncio.sleep(0.0002)
            else:
                raise RuntimeError(f"the tables did not change after {key!r}")
            times.append((time.perf_counter() - t0) * 1000)
            await pilot.pause(0.02)  # let the frame paint before the next key
        app._stop_telemetry()
    return times


def spread(values: list[float], prefix: str) -> dict[str, float]:
    """Median, p90, worst and spread (interquartile range, p75 - p25) of `values`, in ms."""
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {
        f"{prefix}_median": round(statistics.median(ordered), 2),
        f"{prefix}_p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
        f"{prefix}_max": round(ordered[-1], 2),
        f"{prefix}_iqr": round(q[2] - q[0], 2),
    }


def load_average() -> float:
    """The host's 1-minute load average (how busy the machine was while the figures were taken)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return -1.0


def keystroke_to_table_idle(keystrokes: int = 40) -> dict[str, float]:
    """Key to table on an idle app (each key waits for the last plan): median, p90, worst, spread,
    with the load average before and after (issue 7 bench)."""
    before = load_average()
    with tempfile.TemporaryDirectory() as home:
        old = os.environ.get("GPUPLAN_HOME")
        os.environ["GPUPLAN_HOME"] = home
        try:
            times = asyncio.run(_keystroke_times(Path(home), keystrokes))
        finally:
            if old is None:
                os.environ.pop("GPUPLAN_HOME", None)
            else:
                os.environ["GPUPLAN_HOME"] = old
    return {**spread(times, "keystroke_to_table_ms"), "keystroke_to_table_keys": len(times),
            "keystroke_to_table_load_avg_before": before, "keystroke_to_table_load_avg_after": load_average()}


async def _keystroke_times(home: Path, keystrokes: int) -> list[float]:
    from engine.telemetry.samples import HostSample
    from engine.telemetry.scripted import ScriptedBackend

    backend = ScriptedBackend([HostSample(timestamp=0.0, hostname="bench", backend="none", error="no GPU")])
    return await typing_times(home, keystrokes, backend=backend)


async def _keystrokes(home: Path, keystrokes: int) -> float:
    from engine.telemetry.samples import HostSample
    from engine.telemetry.scripted import ScriptedBackend

    backend = ScriptedBackend([HostSample(timestamp=0.0, hostname="bench", backend="none", error="no GPU")])
    return statistics.median(await typing_times(home, keystrokes, backend=backend))


def _first_frame_s(kind: str, home: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui.bench_entry", kind], cwd=ROOT, env=_env(home), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - t0


def startup_ratio_vs_bare_textual(runs: int = 9) -> dict[str, float]:
    """Cold start to first frame, as subprocesses started the same way (`python -m
    tui.bench_entry bare|gpuplan`, headless 120x40; each process ends the moment its first frame
    is handed to the terminal), medians of interleaved runs. Also reported: cold start until the
    first frame that shows a plan (catalog, session and engine loaded after the first frame)."""
    with tempfile.TemporaryDirectory() as home:
        for kind in ("bare", "gpuplan", "gpuplan-plan"):  # warm the OS file cache and bytecode
            _first_frame_s(kind, home)
        bare, ours, planned = [], [], []
        for _ in range(runs):
            bare.append(_first_frame_s("bare", home))
            ours.append(_first_frame_s("gpuplan", home))
            planned.append(_first_frame_s("gpuplan-plan", home))
    b, g = statistics.median(bare), statistics.median(ours)
    return {
        "startup_ratio_vs_bare_textual": round(g / b, 3),
        "startup_first_frame_s_median": round(g, 3),
        "startup_bare_textual_s_median": round(b, 3),
        "startup_first_plan_s_median": round(statistics.median(planned), 3),
    }


def tab_switch_ms(runs: int = 3) -> dict[str, float]:
    """A tab's digit key to the first frame showing its pane (`python -m tui.bench_entry tabs`,
    headless 120x40, after the first plan), for the tabs mounted only when first shown (Serving,
    Training, Forecast, Sessions, Search): the first visit pays for mounting the pane, a later one
    does not. Medians and the worst over `runs` fresh processes."""
    import json

    first: list[float] = []
    again: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-m", "tui.bench_entry", "tabs"], cwd=ROOT, env=_env(home),
                                 check=True, capture_output=True, text=True, timeout=300)
            times = json.loads(out.stdout.strip().splitlines()[-1])
            first += times["first"]
            again += times["again"]
    return {
        "tab_first_visit_ms_median": round(statistics.median(first), 1),
        "tab_first_visit_ms_worst": round(max(first), 1),
        "tab_revisit_ms_median": round(statistics.median(again), 1),
        "tab_revisit_ms_worst": round(max(again), 1),
        "tab_switch_load_1m": round(load_average(), 2),
    }


def rss_mb(seconds: float = 3.0) -> float:
    """Resident memory (MiB) of the running app: 8 simulated GPUs sampled at 4 Hz on the Monitor
    tab, after the first plan."""
    with tempfile.TemporaryDirectory() as home:
        out = subprocess.run([sys.executable, "-m", "tui.bench_entry", "rss", str(seconds)], cwd=ROOT,
                             env=_env(home), check=True, capture_output=True, text=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


# Typing at 20 keys/s (issue 7 item 1): keys arrive every 50 ms whether or not the last plan has
# landed, as from a fast typist on a loaded host. Each burst rewrites the context field
# (8192 -> 819 -> 81 -> 8 -> blank -> 4 -> 40 -> 409 -> 4096, then back), every key a new input.
BURSTS = (["backspace"] * 4 + list("4096"), ["backspace"] * 4 + list("8192"))


def typing_20_keys_per_s(bursts: int = 10) -> dict[str, float]:
    """Key to table while typing at 20 keys/s: milliseconds from each key reaching the app until
    the panes render a plan that answers that key's input or a newer one (median, p90, worst,
    spread), the share of keystrokes whose field and plan disagree once the app has settled after
    their burst (must be 0), and the load average before and after."""
    load_before = load_average()
    with tempfile.TemporaryDirectory() as home:
        old = os.environ.get("GPUPLAN_HOME")
        os.environ["GPUPLAN_HOME"] = home
        try:
            times, disagreed = asyncio.run(_typing_bursts(Path(home), bursts))
        finally:
            if old is None:
                os.environ.pop("GPUPLAN_HOME", None)
            else:
                os.environ["GPUPLAN_HOME"] = old
    keys = sum(len(BURSTS[n % 2]) for n in range(bursts))
    return {
        **spread(times, "typing_20kps_key_to_table_ms"),
        "typing_20kps_keys": keys,
        "typing_20kps_keys_answered": len(times),
        # keystrokes of a burst whose field, session and plan disagree once it settled / all keystrokes
        "typing_20kps_disagreement_share": round(disagreed / keys, 4),
        "typing_20kps_load_avg_before": load_before,
        "typing_20kps_load_avg_after": load_average(),
    }


async def _typing_bursts(home: Path, bursts: int) -> tuple[list[float], int]:
    from engine.telemetry.samples import HostSample
    from engine.telemetry.scripted import ScriptedBackend
    from tui.app import GpuPlanApp
    from tui.bench_entry import send_key

    path = home / "bench.toml"
    path.write_text(SESSION)
    backend = ScriptedBackend([HostSample(timestamp=0.0, hostname="bench", backend="none", error="no GPU")])
    app = GpuPlanApp(path, backend=backend, offer_recovery=False)
    rendered: list[tuple[float, int]] = []  # (when, generation) of every plan the panes took
    accept = app.planning.accept

    def timed(message):  # the panes render in the same handler, right after: stamp after it
        taken = accept(message)
        if taken:
            app.call_next(lambda: rendered.append((time.perf_counter(), message.generation)))
        return taken

    app.planning.accept = timed  # type: ignore[method-assign]
    times: list[float] = []
    disagreed = 0
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.settled:
            await app.wait_for_progress()
            await pilot.pause()
        field = app.query_one("#f-serving-max-model-len")
        field.focus()
        await pilot.pause()
        field.action_end()
        for n in range(bursts):
            keys: list[tuple[float, int]] = []  # (sent, generation requested before it)
            for key in BURSTS[n % 2]:
                keys.append((time.perf_counter(), app.planning.generation))
                send_key(app, key)
                await asyncio.sleep(0.05)  # 20 keys/s, whatever the app is doing
            while not app.settled:  # then wait on the app's own signal until it has caught up
                await app.wait_for_progress()
                await pilot.pause()
            await pilot.pause()
            for sent, before in keys:  # its plan: the first render of a newer generation
                later = [t for t, g in rendered if g > before and t >= sent]
                if later:
                    times.append((min(later) - sent) * 1000)
            expected = 4096 if n % 2 == 0 else 8192
            if not (field.value == str(expected) == str(app.report["memory"]["max_model_len"])
                    and app.doc.session.serving.max_model_len == expected):
                disagreed += len(keys)  # every keystroke of the burst ended in a disagreement
        app._stop_telemetry()
    return times, disagreed


if __name__ == "__main__":
    print({**keystroke_to_table_idle(), **typing_20_keys_per_s(),
           **startup_ratio_vs_bare_textual(), "rss_mb": rss_mb()})
