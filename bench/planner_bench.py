"""Planner speed: the whole plan() for the default session, and `gpuplan plan` as a process."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def default_plan_inputs():
    from catalogs.loader import load_catalog
    from sessions.examples import default_session_text
    from sessions.io import parse_session
    from sessions.resolve import to_plan_inputs

    return to_plan_inputs(parse_session(default_session_text(), "<default>"), load_catalog())


def plan_ms_median(repeats: int = 2000) -> float:
    from engine.plan import plan

    inputs = default_plan_inputs()
    for _ in range(50):
        plan(inputs)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        plan(inputs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def cli_plan_s_median(repeats: int = 7) -> float:
    """`gpuplan plan --default --format json` as a fresh process, as a user would run it."""
    env = {**os.environ, "GPUPLAN_HOME": str(ROOT / ".bench-home")}
    cmd = [sys.executable, "-m", "tui.cli", "plan", "--default", "--format", "json"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)  # warm the disk cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def python_startup_s_median(repeats: int = 7) -> float:
    """A bare `python -c pass`, to read cli_plan_s against on a noisy machine."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
