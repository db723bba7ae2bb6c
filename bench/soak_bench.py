"""Soak: an hour of 10 Hz GPU samples (36,000 samples of 8 GPUs, replayed from a gzip trace) fed
through the running app's monitor as fast as it goes, RSS read along the way.

soak_rss_growth_mb_1h_10hz: RSS at the end minus RSS after the first minute of samples (MiB).
Target: under 5. Everything the monitor keeps (history, alert book, logs) must be bounded, so the
curve levels off; the checkpoints are printed with it to show the shape, not just the end.
Runs in a fresh process (python -m bench.soak_bench) so other benches do not blur the figure.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HZ = 10
SECONDS = 3600
GPUS = 8
RENDER_EVERY = 100  # samples handled between two frames (10 s of samples): the figure is about memory, not drawing


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _trace(path: Path, n: int) -> None:
    from engine.telemetry.replay import TraceWriter
    from engine.telemetry.simulated import SimulatedBackend

    sim = SimulatedBackend(n_gpus=GPUS, start_time=0.0)
    with TraceWriter(path, source="soak bench") as writer:
        for _ in range(n):
            writer.write(sim.sample())


def _child(samples: int) -> dict:
    import dataclasses

    from engine.telemetry.replay import ReplayBackend
    from tui.app import GpuPlanApp
    from tui.messages import HostSampleReady

    tmp = Path(tempfile.mkdtemp(prefix="gpuplan-soak-"))
    trace = tmp / "soak.jsonl.gz"
    _trace(trace, 600)  # one minute of distinct samples, looped with advancing timestamps
    replay = ReplayBackend(trace, loop=True)
    checkpoints: dict[int, float] = {}

    class Idle:  # the app's own sampler gets nothing: the bench feeds every sample itself
        name = "replay"
        simulated = False

        def open(self) -> None: ...
        def close(self) -> None: ...
        def sample(self):
            time.sleep(3600)

    async def main() -> None:
        app = GpuPlanApp(backend=Idle(), monitor_first=True, interval=1 / HZ, offer_recovery=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            t0 = time.perf_counter()
            for i in range(samples):
                s = dataclasses.replace(replay.sample(), timestamp=1_000_000.0 + i / HZ)
                app.post_message(HostSampleReady(s))
                if i % RENDER_EVERY == RENDER_EVERY - 1:
                    await pilot.pause()
                if i % (HZ * 60) == HZ * 60 - 1:
                    gc.collect()
                    checkpoints[(i + 1) // (HZ * 60)] = round(rss_mib(), 2)
            checkpoints[-1] = round(time.perf_counter() - t0, 1)  # seconds taken
            app.exit()

    asyncio.run(main())
    elapsed = checkpoints.pop(-1)
    first = checkpoints[1]
    return {
        "soak_rss_growth_mb_1h_10hz": round(checkpoints[max(checkpoints)] - first, 2),
        "soak_rss_mb_by_minute": checkpoints,
        "soak_wall_s": elapsed,
    }


def soak_rss_growth_mb_1h_10hz(seconds: int = SECONDS) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.soak_bench", "--child", str(seconds * HZ)],
        capture_output=True, text=True, timeout=1800,
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(_child(int(sys.argv[2]))))
    else:
        minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 60
        print(json.dumps(soak_rss_growth_mb_1h_10hz(int(minutes * 60)), indent=2))
