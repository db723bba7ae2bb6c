"""The Monitor section of `?` help: its keys, the columns of its tables and the alert rules.

Built from the same tables the Monitor uses (its bindings, COMPACT_COLUMNS, the process table's
columns, health.ALL_RULES and the default thresholds), so help cannot drift from the screen.
"""

from __future__ import annotations

from engine.telemetry.health import (
    ALL_RULES,
    DEFAULT_CRITICAL_XIDS,
    DEFAULT_THRESHOLDS,
    EVENT_RULES,
)

from .monitor_format import COMPACT_COLUMNS

# Keys handled by the Monitor's widgets themselves (not pane bindings), in the order shown.
WIDGET_KEYS: tuple[tuple[str, str], ...] = (
    ("up / down", "move in the focused list (GPUs, processes, alerts); tab moves between them"),
    ("enter on a GPU", "the GPU's detail screen: every field, 10-minute plots, its processes and alerts"),
    ("enter on a process", "show / hide its full command line (same as c)"),
    ("escape", "in the filter: clear it; in the detail screen: back"),
)

COLUMN_HELP: dict[str, str] = {
    "name": "GPU model (vendor dropped)",
    "util": "GPU utilisation: % of time a kernel ran (NVML's last sample period)",
    "util_hist": "utilisation history, up to 10 minutes (span in the title)",
    "mem": "memory used / total in GiB as NVML reports them (reserved memory is apart, on the card); NVML's "
           "total is a little above the CUDA-visible total the planner sizes with (79.6 vs 79.2 GiB on an H100)",
    "mem_bar": "memory used as a bar",
    "memutil": "memory bandwidth utilisation: % of time memory was read or written",
    "temp": "GPU temperature; yellow within 5 °C of the slowdown threshold, red at it",
    "power": "power draw / enforced limit",
    "clock": "SM clock",
    "pstate": "performance state (P0 fastest)",
    "fan": "fan speed (N/A on SXM boards, cooled by the chassis)",
    "pcie": "PCIe generation x width now (a width below the maximum is a hardware fault)",
    "ecc": "uncorrected ECC errors and pending/failed row remaps or page retirements",
    "throttle": "why clocks are cut (NVML clock event reasons)",
    "fit": "✓n: in replica group n of the current plan; ✓ could take it; ✗ cannot (the Fits line says why)",
}

PROCESS_HELP: dict[str, str] = {
    "pid": "process id (as NVML reports it: a host PID inside a container)",
    "user": "owner; ? when the PID is not in this PID namespace",
    "gpu": "GPUs the process uses",
    "kind": "C compute, G graphics",
    "sm": "% of SM time the process used (nvmlDeviceGetProcessUtilization)",
    "mbw": "% of memory bandwidth the process used",
    "mem": "GPU memory the process holds",
    "cpu": "host CPU, % of one core",
    "hmem": "host RAM, % of the total",
    "time": "elapsed since the process started",
    "command": "command line (c or enter shows it whole); NVML's name and a note when the PID is not visible here",
}

RULE_HELP: dict[str, str] = {
    "gpu_lost": "the GPU does not answer NVML (lost, fallen off the bus, erroring); stays critical while "
                "NVML backs off, the retry countdown shown beside it",
    "temperature_near_slowdown": f"within {DEFAULT_THRESHOLDS.temp_warn_margin_c} °C of NVML's slowdown threshold",
    "temperature_slowdown": "at or above the slowdown threshold",
    "hw_slowdown": "hardware slowdown cuts the clocks",
    "thermal_throttle": "software or hardware thermal slowdown",
    "power_brake_throttle": "the external power brake cuts the clocks",
    "ecc_uncorrected": "uncorrected ECC errors since the driver loaded",
    "row_remap_failure": "row remapping failed: the GPU needs service",
    "row_remap_pending": "a row remap waits for a GPU reset",
    "page_retirement_pending": "a page retirement waits for a reset or a driver reload",
    "xid_critical": "an Xid needing more than an application restart: "
                    + ", ".join(str(x) for x in sorted(DEFAULT_CRITICAL_XIDS)),
    "xid": "any other Xid (often the application's fault: 13, 31, 43)",
    "ecc_double_bit_event": "NVML's double-bit ECC error event",
    "memory_high": f"memory above {DEFAULT_THRESHOLDS.memory_warn_fraction * 100:g}% of what processes can have",
    "pcie_replay": "the PCIe replay counter rose since the previous sample: a marginal link (seating, riser, cable)",
}

SEVERITY: dict[str, str] = {
    "gpu_lost": "critical", "temperature_near_slowdown": "warn", "temperature_slowdown": "critical",
    "hw_slowdown": "warn", "thermal_throttle": "warn", "power_brake_throttle": "warn",
    "ecc_uncorrected": "critical", "row_remap_failure": "critical", "row_remap_pending": "critical",
    "page_retirement_pending": "warn", "xid_critical": "critical", "xid": "warn",
    "ecc_double_bit_event": "critical", "memory_high": "warn",
    "pcie_replay": "warn",
}


def monitor_help(pane_bindings: list | tuple = ()) -> str:
    """Markdown for the help screen; `pane_bindings` are MonitorPane.BINDINGS."""
    from .monitor_tables import RULE_WORDS, ProcessTable

    out = ["", "## Monitor", "",
           "Live GPU health beside the plan (`gpuplan watch`, or tab 5). Every sample is read by the "
           "GPU view, the alerts and the **Fits here** line alike: a GPU with a critical alert is "
           "never counted as a place the plan fits.", "",
           "| key | does |", "|---|---|"]
    for b in pane_bindings:
        out.append(f"| `{b.key_display or b.key}` | {b.description} |")
    for key, what in WIDGET_KEYS:
        out.append(f"| `{key}` | {what} |")
    out += ["", "Filter (`/`): words that must all match; `user:NAME`, `gpu:N`, `pid:N`, or any text "
            "in the user or the command.", "",
            "### GPU columns", "", "| column | shows |", "|---|---|"]
    for c in COMPACT_COLUMNS:
        out.append(f"| {c.header or '(bar)'} | {COLUMN_HELP.get(c.key, '')} |")
    out += ["", "An `!` after the GPU number: red for critical alerts, yellow for warnings.", "",
            "### Process columns", "", "| column | shows |", "|---|---|"]
    for key, label, _w in ProcessTable.COLUMNS:
        out.append(f"| {label} | {PROCESS_HELP.get(key, '')} |")
    out += ["", "### Alert rules", "",
            "A condition that persists is one alert (its count grows); events (Xids, double-bit ECC) "
            "stay until acknowledged. Critical alerts make the GPU unfit for the plan; acknowledging "
            "an event makes it fit again, acknowledging a condition does not. Every new alert is "
            "written to the JSON log.", "",
            "| rule | severity | raised when |", "|---|---|---|"]
    for rule in ALL_RULES:
        kind = " (event)" if rule in EVENT_RULES else ""
        out.append(f"| {RULE_WORDS.get(rule, rule)} | {SEVERITY.get(rule, '')}{kind} | {RULE_HELP.get(rule, '')} |")
    out.append("")
    return "\n".join(out)
