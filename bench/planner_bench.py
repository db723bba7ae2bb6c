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


CLI_PLAN = ("-m", "tui.cli", "plan", "--default", "--format", "json")


def _cli_plan_times(cwd: Path, env: dict[str, str], repeats: int) -> list[float]:
    cmd = [sys.executable, *CLI_PLAN]
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)  # warm the disk (and bytecode) cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def cli_plan_s_median(repeats: int = 7) -> float:
    """`gpuplan plan --default --format json` as a fresh process, as a user would run it: like an
    installed gpuplan, its bytecode is cached (as bench/tui_bench.py starts the app; an environment
    with PYTHONDONTWRITEBYTECODE would recompile our modules on every start while the
    site-packages keep their .pyc -- `cli_plan_uncompiled_s_median` measures that case)."""
    env = {**os.environ, "GPUPLAN_HOME": str(ROOT / ".bench-home")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return statistics.median(_cli_plan_times(ROOT, env, repeats))


def cli_plan_uncompiled_s_median(repeats: int = 7) -> float:
    """The same command from a copy of the sources that never gets bytecode (PYTHONDONTWRITEBYTECODE
    set, no __pycache__): every start compiles gpuplan's own modules, as a checkout does in such an
    environment. The gap to `cli_plan_s_median` is that compilation."""
    import shutil
    import tempfile

    env = {**os.environ, "GPUPLAN_HOME": str(ROOT / ".bench-home"), "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        for package in ("catalogs", "engine", "sessions", "tui"):
            shutil.copytree(ROOT / package, Path(tmp) / package, ignore=shutil.ignore_patterns("__pycache__"))
        return statistics.median(_cli_plan_times(Path(tmp), env, repeats))


def python_startup_s_median(repeats: int = 7) -> float:
    """A bare `python -c pass`, to read cli_plan_s against on a noisy machine."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


if __name__ == "__main__":  # `python -m bench.planner_bench`: the start-up figures alone
    import json

    print(json.dumps({
        "cli_plan_s_median": round(cli_plan_s_median(), 4),
        "cli_plan_uncompiled_s_median": round(cli_plan_uncompiled_s_median(), 4),
        "python_startup_s_median": round(python_startup_s_median(), 4),
        "load_average": round(os.getloadavg()[0], 2),
    }, indent=2))
