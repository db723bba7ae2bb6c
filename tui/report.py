"""Report renderers shared by `gpuplan plan` and the app's export: text, markdown, JSON, CSV.

Plain Python (no Textual, no Rich): the headless commands must start fast.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any, Callable

from .report_training import markdown_section, text_section

if TYPE_CHECKING:  # the renderers only read a Plan; the app draws its first frame without the engine
    from engine.plan import Plan

FORMATS = ("text", "json", "md", "csv")
GIB_NOTE = "Sizes in GiB (1 GiB = 2^30 bytes); power in kW; heat in BTU/h; money in USD."

# (label, key in the scenario dict, formatter)
SCENARIO_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("replicas", "replicas", lambda v: f"{v:,}"),
    ("GPUs", "gpus", lambda v: f"{v:,}"),
    ("nodes", "nodes", lambda v: f"{v:,}"),
    ("sessions capacity", "sessions_capacity", lambda v: f"{v:,}"),
    ("power (kW)", "power_kw", lambda v: f"{v:,.1f}"),
    ("rack units", "rack_units", lambda v: f"{v:,}"),
    ("racks", "racks", lambda v: f"{v:,}"),
    ("heat (BTU/h)", "heat_btu_hr", lambda v: f"{v:,.0f}"),
    ("cost / hour", "cost_per_hour", lambda v: f"${v:,.2f}"),
    ("cost / month", "cost_per_month", lambda v: f"${v:,.0f}"),
    ("$ / M output tokens", "cost_per_million_tokens", lambda v: f"${v:,.3f}"),
)


def fmt(value: Any, formatter: Callable[[Any], str]) -> str:
    return "n/a" if value is None else formatter(value)


def memory_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    m = report["memory"]
    frac = f"{m['memory_fraction']:.0%} of {'free' if m['engine'] == 'trtllm' else 'total'}"
    return [
        ("GPU total (as CUDA reports)", f"{m['gpu_total_gib']:.2f} GiB"),
        (f"engine budget ({m['engine']}, {frac})", f"{m['budget_gib']:.2f} GiB"),
        ("weights", f"{m['weights_gib']:.2f} GiB"),
        ("activation peak", f"{m['activation_gib']:.2f} GiB"),
        ("non-torch overhead", f"{m['overhead_gib']:.2f} GiB"),
        ("KV cache pool", f"{m['kv_pool_gib']:.2f} GiB"),
        ("KV bytes per token (per GPU)", f"{m['kv_bytes_per_token']:,.0f} B"),
        ("KV capacity", f"{m['kv_capacity_tokens']:,} tokens ({m['block_tokens']}-token blocks)"),
        (f"max concurrency at {m['max_model_len']:,} tokens", f"{m['max_concurrency']:.2f}x"),
        (f"sessions per GPU at {m['session_tokens']:,} tokens", f"{m['sessions_per_gpu']:.2f}"),
    ]


def header_lines(report: dict[str, Any]) -> list[str]:
    mo, hw = report["model"], report["hardware"]
    params = f"{mo['params_total'] / 1e9:.2f} B params"
    if mo["params_active"] != mo["params_total"]:
        params += f" ({mo['params_active'] / 1e9:.2f} B active)"
    server = f" in {hw['server']}" if hw["server"] else ""
    return [
        f"Model: {mo['name']} ({mo['id']}), {params}, weights {mo['weights']}, KV cache {mo['kv_cache']}",
        f"Hardware: {hw['gpu_name']}, TP {hw['tensor_parallel']} x PP {hw['pipeline_parallel']}{server}, "
        f"{hw['gpus_per_node']} GPUs per node",
    ]


def verdict(report: dict[str, Any]) -> str:
    m = report["memory"]
    return "FITS" if m["fits"] else f"DOES NOT FIT: {m['reason']}"


def render_text(plan: Plan) -> str:
    r = plan.to_dict()
    out = [f"gpuplan: {r['name'] or 'plan'}", *header_lines(r), GIB_NOTE, "", "Memory per GPU"]
    width = max(len(k) for k, _ in memory_rows(r))
    out += [f"  {k:<{width}}  {v}" for k, v in memory_rows(r)]
    out += [f"  verdict: {verdict(r)}", ""]
    names = list(r["scenarios"])
    out.append("Scenarios".ljust(22) + "".join(n.rjust(14) for n in names))
    for label, key, f in SCENARIO_ROWS:
        out.append(f"  {label:<20}" + "".join(fmt(r["scenarios"][n][key], f).rjust(14) for n in names))
    out.append(f"  power basis: {r['physical']['node_power_basis']}; price: {r['cost']['price_basis']}")
    inf = r["inference"]
    if inf["known"]:
        out += ["", "Serving speed (estimate, per replica)",
                f"  TTFT {fmt(inf['ttft_ms'], lambda v: f'{v:,.0f} ms')}, ITL at batch 1 "
                f"{fmt(inf['itl_ms_bs1'], lambda v: f'{v:.1f} ms')}, at batch {inf['batch']} "
                f"{fmt(inf['itl_ms'], lambda v: f'{v:.1f} ms')}, "
                f"{fmt(inf['tokens_per_s_replica'], lambda v: f'{v:,.0f}')} output tokens/s"]
    out += text_section(r)
    if r["warnings"]:
        out += ["", "Warnings"]
        out += [f"  [{w['severity']}] {w['message']}" for w in r["warnings"]]
    return "\n".join(out) + "\n"


def render_markdown(plan: Plan) -> str:
    r = plan.to_dict()
    out = [f"# gpuplan: {r['name'] or 'plan'}", "", *[f"- {line}" for line in header_lines(r)], "", f"_{GIB_NOTE}_", ""]
    out += ["## Memory per GPU", "", "| item | value |", "|---|---:|"]
    out += [f"| {k} | {v} |" for k, v in memory_rows(r)]
    out += ["", f"**Verdict:** {verdict(r)}", "", "## Scenarios", ""]
    names = list(r["scenarios"])
    out += ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, key, f in SCENARIO_ROWS:
        out.append(f"| {label} | " + " | ".join(fmt(r["scenarios"][n][key], f) for n in names) + " |")
    out += markdown_section(r)
    if r["warnings"]:
        out += ["", "## Warnings", ""] + [f"- **{w['severity']}**: {w['message']}" for w in r["warnings"]]
    return "\n".join(out) + "\n"


def _flatten(prefix: str, value: Any, rows: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, rows)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, rows)
    else:
        rows.append((prefix, value))


def render_csv(plan: Plan) -> str:
    """Long format, one `path,value` row per figure: loads into any spreadsheet and diffs well."""
    rows: list[tuple[str, Any]] = []
    _flatten("", plan.to_dict(), rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "value"])
    for path, value in rows:
        writer.writerow([path, "" if value is None else value])
    return buf.getvalue()


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), indent=2) + "\n"


RENDERERS: dict[str, Callable[[Plan], str]] = {
    "text": render_text,
    "json": render_json,
    "md": render_markdown,
    "csv": render_csv,
}


def render(plan: Plan, fmt_name: str) -> str:
    return RENDERERS[fmt_name](plan)
