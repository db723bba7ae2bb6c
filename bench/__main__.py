"""Print one JSON object of figures. Targets (issue texts): plan_ms_median < 1 ms,
cli_plan_s_median < 0.4 s, keystroke_to_table_ms_median < 50 ms (also while typing at
20 keys/s, typing_20kps_*; typing_20kps_disagreement_share must be 0), startup within 1.5x of a bare
Textual app, rss_mb < 150, monitor_cpu_percent_1hz_8gpu < 1 % of a core."""

from __future__ import annotations

import json
import sys
import traceback
from typing import Callable


def _measure(figures: dict, name: str, fn: Callable[[], object]) -> None:
    try:
        value = fn()
    except Exception as exc:  # a broken bench reports itself instead of hiding the others
        figures[name] = None
        figures.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        return
    if isinstance(value, dict):
        figures.update(value)
    else:
        figures[name] = round(value, 4) if isinstance(value, float) else value


def main() -> int:
    from bench import monitor_bench, planner_bench, telemetry_bench, tui_bench

    figures: dict = {}
    for name, fn in (
        ("plan_ms_median", planner_bench.plan_ms_median),
        ("cli_plan_s_median", planner_bench.cli_plan_s_median),
        ("python_startup_s_median", planner_bench.python_startup_s_median),
        ("keystroke_to_table_ms_median", tui_bench.keystroke_to_table_ms_median),
        ("typing_20kps_key_to_table_ms_median", tui_bench.typing_20_keys_per_s),
        ("startup_ratio_vs_bare_textual", tui_bench.startup_ratio_vs_bare_textual),
        ("rss_mb", tui_bench.rss_mb),
        ("monitor_cpu_percent_1hz_8gpu", telemetry_bench.monitor_cpu_percent_1hz_8gpu),
        ("monitor_keystroke_ms_median", monitor_bench.monitor_keystroke_ms_median),
    ):
        _measure(figures, name, fn)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
