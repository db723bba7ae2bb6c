"""The report of a plan: one model (`Report`, a list of `Section`s built from `plan.to_dict()`),
rendered by every format: text, markdown, JSON, CSV. `gpuplan plan` and the app's export share it.

Every section is built once by a function in `SECTION_BUILDERS` (in report order) and drawn by the
same two generic renderers, so text and markdown always hold the same sections; JSON and CSV are
the report dictionary itself (DESIGN section 3), where each section's `key` names its source.

Adding a section (serving curve, training, forecast, ...): write `def my_section(r) -> Section |
None` beside the others (`r` is `plan.to_dict()`; return None when the plan has nothing for it)
and put it in `SECTION_BUILDERS`. Nothing else changes; tests/tui/test_report.py checks that each
section shows in text and markdown and that its `key` is in the JSON and CSV.

Plain Python (no Textual, no Rich): the headless commands must start fast.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .report_training import WHAT_IF_HEADER, training_rows, what_if_rows

if TYPE_CHECKING:  # the renderers only read a Plan; the app draws its first frame without the engine
    from engine.plan import Plan

FORMATS = ("text", "json", "md", "csv")
GIB_NOTE = "Sizes in GiB (1 GiB = 2^30 bytes); power in kW; heat in BTU/h; money in USD."

# (label, key in the scenario dict, formatter)
SCENARIO_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("replicas", "replicas", lambda v: f"{v:,}"),
    ("GPUs", "gpus", lambda v: f"{v:,}"),
    ("GPUs provisioned", "gpus_provisioned", lambda v: f"{v:,}"),  # whole nodes: what the cost counts
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
        ("KV capacity per replica", f"{m['kv_capacity_tokens']:,} tokens ({m['block_tokens']}-token blocks)"),
        (f"max concurrency at {m['max_model_len']:,} tokens", f"{m['max_concurrency']:.2f}x"),
        (f"sessions per GPU at {m['session_tokens']:,} tokens", sessions_text(m['sessions_per_gpu'])),
    ]


def sessions_text(value: float) -> str:
    """Sessions are whole: "256", not "256.0"; a replica's sessions shared by its GPUs may not
    divide evenly ("35.5" at TP 4)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


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


# ------------------------------------------------------------------------------------------
# the report model
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Grid:
    """A table with named value columns: (row label, one value per column)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # the report dictionary's key it comes from (in the JSON and the CSV paths)
    title: str
    rows: tuple[tuple[str, str], ...] = ()  # (label, value)
    grid: Grid | None = None
    notes: tuple[tuple[str, str], ...] = ()  # (label, sentence): verdicts, bases of figures
    bullets: tuple[tuple[str, str], ...] = ()  # (tag, sentence): e.g. warnings by severity


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    header: tuple[str, ...]
    units: str
    sections: tuple[Section, ...]
    data: dict[str, Any]  # plan.to_dict(): what JSON and CSV print

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)


def memory_section(r: dict[str, Any]) -> Section:
    return Section("memory", "Memory per GPU", rows=tuple(memory_rows(r)), notes=(("verdict", verdict(r)),))


def scenarios_section(r: dict[str, Any]) -> Section:
    names = tuple(r["scenarios"])
    rows = tuple((label, tuple(fmt(r["scenarios"][n][key], f) for n in names)) for label, key, f in SCENARIO_ROWS)
    billing = billing_note(r)
    return Section("scenarios", "Scenarios", grid=Grid(names, rows), notes=(
        ("power basis", r["physical"]["node_power_basis"]),
        ("price", r["cost"]["price_basis"]),
        *((("billing", billing),) if billing else ()),
    ))


def billing_note(r: dict[str, Any]) -> str | None:
    """Whole-node pricing in words (issue 7 item 10): the cost counts every GPU of the nodes
    provisioned, not only the GPUs the replicas use. None when they are the same."""
    price = r["cost"]["price_per_gpu_hour"]
    for name in ("minimum", "recommended", "ideal"):
        z = r["scenarios"].get(name)
        if not z or z["gpus"] is None or z["gpus_provisioned"] is None or z["gpus_provisioned"] <= z["gpus"]:
            continue
        each = f" x ${price:,.2f}/GPU-hour" if price is not None else ""
        return (f"whole nodes of {r['hardware']['gpus_per_node']} GPUs: {name} uses {z['gpus']:,} of "
                f"{z['gpus_provisioned']:,} GPUs provisioned; the cost counts all {z['gpus_provisioned']:,}{each}")
    return None


def advice_rows(r: dict[str, Any]) -> list[str]:
    """What would make a plan that does not fit fit (engine/advice.py), cheapest first."""
    return [a["message"] for a in r.get("advice") or []]


def advice_section(r: dict[str, Any]) -> Section | None:
    rows = advice_rows(r)
    if not rows:
        return None
    return Section("advice", "What would fit (each checked through the memory model, cheapest first)",
                   bullets=tuple(("advice", line) for line in rows))


def serving_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The serving figures at the chosen batch (issue 13), label and value, for every format."""
    inf = report["inference"]
    ms = lambda v: f"{v:,.1f} ms"  # noqa: E731
    tps = lambda v: f"{v:,.0f}"  # noqa: E731
    usd = lambda v: f"${v:,.3f}"  # noqa: E731
    sla = {True: "meets the SLA", False: "MISSES the SLA", None: "no SLA set"}[inf.get("meets_sla")]
    rows = [
        ("batch (requests in flight per replica)", f"{inf['batch']:,} ({sla})"),
        ("binding constraint", BINDING_LABELS.get(inf.get("binding_constraint") or "", "n/a")),
        ("time to first token (TTFT)", fmt(inf["ttft_ms"], ms)),
        ("TPOT (inter-token latency)", fmt(inf["itl_ms"], ms)),
        ("TPOT of a lone request", fmt(inf["itl_ms_bs1"], ms)),
        ("end-to-end latency", fmt(inf.get("e2e_ms"), ms)),
        ("tokens/s per user", fmt(inf.get("tokens_per_s_per_user"), lambda v: f"{v:,.1f}")),
        ("output tokens/s per replica", fmt(inf.get("output_tokens_per_s"), tps)),
        ("output tokens/s per GPU", fmt(inf.get("output_tokens_per_s_per_gpu"), tps)),
        ("total tokens/s per GPU", fmt(inf.get("total_tokens_per_s_per_gpu"), tps)),
        ("requests/s per replica", fmt(inf.get("requests_per_s"), lambda v: f"{v:,.2f}")),
        ("replicas for the traffic (recommended)", fmt(inf.get("replicas"), lambda v: f"{v:,}")),
        ("cost per replica-hour", fmt(inf.get("cost_per_replica_hour"), lambda v: f"${v:,.2f}")),
        ("$ / M input tokens", fmt(inf.get("cost_per_million_input_tokens"), usd)),
        ("$ / M output tokens", fmt(inf.get("cost_per_million_output_tokens"), usd)),
    ]
    return rows


BINDING_LABELS = {"itl": "ITL SLA", "ttft": "TTFT SLA", "memory": "KV cache / max_num_seqs",
                  "throughput": "peak throughput", "pinned": "pinned batch"}
CURVE_HEADER = ("batch", "TTFT ms", "TPOT ms", "tok/s/user", "out tok/s/GPU")


def curve_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    return [(f"{c['batch']:,}", fmt(c["ttft_ms"], lambda v: f"{v:,.0f}"), fmt(c["itl_ms"], lambda v: f"{v:,.1f}"),
             fmt(c["tokens_per_s_per_user"], lambda v: f"{v:,.1f}"),
             fmt(c["output_tokens_per_s_per_gpu"], lambda v: f"{v:,.0f}"))
            for c in report["inference"].get("curve", [])]


def serving_section(r: dict[str, Any]) -> Section:
    """The serving figures at the chosen batch (issue 13), with what binds in words."""
    inf = r["inference"]
    title = "Serving speed (estimate, per replica, closed loop at the chosen batch)"
    if not inf["known"]:
        return Section("inference", title, notes=(("serving speed", f"unknown: {inf['reason'] or 'no estimate'}"),))
    notes = (("why", inf["binding_reason"]),) if inf.get("binding_reason") else ()
    return Section("inference", title, rows=tuple(serving_rows(r)), notes=notes)


def serving_curve_section(r: dict[str, Any]) -> Section | None:
    """The curve, one row per batch: TTFT, TPOT, tokens/s per user, output tokens/s per GPU."""
    inf = r["inference"]
    if not inf["known"] or not inf.get("curve"):
        return None
    rows = tuple((f"batch {row[0]}", row[1:]) for row in curve_rows(r))
    return Section("inference", "Serving curve", grid=Grid(CURVE_HEADER[1:], rows))


def training_section(r: dict[str, Any]) -> Section | None:
    """The run: GPUs, memory per GPU at the peak and its breakdown, limits, speed, duration, cost
    (rows from tui/report_training.py, shared with the Training tab)."""
    tr = r.get("training")
    if not tr:
        return None
    fits = "FITS" if tr.get("fits") else f"DOES NOT FIT: {tr.get('reason') or 'see warnings'}"
    return Section("training", "Training (estimate, per GPU)", rows=tuple(training_rows(tr)),
                   notes=(("verdict", fits),))


def training_what_if_section(r: dict[str, Any]) -> Section | None:
    """The same run under full / LoRA / QLoRA and ZeRO 0-3: fitting rows first, by cost."""
    tr = r.get("training")
    if not tr or not tr.get("what_if"):
        return None
    rows = tuple((f"{w[0]} {w[1]}", w[2:]) for w in what_if_rows(tr))
    return Section("training", "Training what-if", grid=Grid(WHAT_IF_HEADER[2:], rows))


def forecast_section(r: dict[str, Any]) -> Section | None:
    """The session's demand forecast (issue 12), when `gpuplan plan` added one: peaks, accuracy,
    and the GPUs each scenario needs (rows from tui/report_forecast.py)."""
    fc = r.get("forecast")
    if not fc:
        return None
    title = "Demand forecast"
    if fc.get("status") != "ok":
        return Section("forecast", title, notes=(("forecast", fc.get("message") or fc.get("status", "n/a")),))
    from .report_forecast import forecast_notes, forecast_rows

    return Section("forecast", title, rows=tuple(forecast_rows(fc)), bullets=tuple(forecast_notes(fc)))


def warnings_section(r: dict[str, Any]) -> Section | None:
    if not r["warnings"]:
        return None
    return Section("warnings", "Warnings", bullets=tuple((w["severity"], w["message"]) for w in r["warnings"]))


# The report's sections, in order: add yours here (see the module docstring).
SECTION_BUILDERS: list[Callable[[dict[str, Any]], Section | None]] = [
    memory_section,
    advice_section,
    scenarios_section,
    serving_section,
    serving_curve_section,
    training_section,
    training_what_if_section,
    forecast_section,
    warnings_section,
]


def build_report(plan: Plan) -> Report:
    r = plan.to_dict()
    sections = tuple(s for build in SECTION_BUILDERS if (s := build(r)) is not None)
    return Report(f"gpuplan: {r['name'] or 'plan'}", tuple(header_lines(r)), GIB_NOTE, sections, r)


# ------------------------------------------------------------------------------------------
# text and markdown: every section, drawn the same way
# ------------------------------------------------------------------------------------------


def _text_section(s: Section) -> list[str]:
    out: list[str] = []
    if s.grid is not None:
        out.append(s.title.ljust(22) + "".join(c.rjust(14) for c in s.grid.columns))
        out += [f"  {label:<20}" + "".join(v.rjust(14) for v in values) for label, values in s.grid.rows]
    else:
        out.append(s.title)
    if s.rows:
        width = max(len(k) for k, _ in s.rows)
        out += [f"  {k:<{width}}  {v}" for k, v in s.rows]
    out += [f"  {label}: {text}" for label, text in s.notes]
    out += [f"  [{tag}] {text}" for tag, text in s.bullets]
    return out


def render_text(plan: Plan) -> str:
    report = build_report(plan)
    out = [report.title, *report.header, report.units]
    for s in report.sections:
        out += ["", *_text_section(s)]
    return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_section(s: Section) -> list[str]:
    out = [f"## {s.title}", ""]
    if s.grid is not None:
        out += ["| | " + " | ".join(s.grid.columns) + " |", "|---|" + "---:|" * len(s.grid.columns)]
        out += [f"| {_md_cell(label)} | " + " | ".join(_md_cell(v) for v in values) + " |" for label, values in s.grid.rows]
    if s.rows:
        if s.grid is not None:
            out.append("")
        out += ["| item | value |", "|---|---:|"]
        out += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in s.rows]
    if s.notes:
        if s.grid is not None or s.rows:
            out.append("")
        out += [f"**{label[:1].upper() + label[1:]}:** {text}  " for label, text in s.notes]
        out[-1] = out[-1].rstrip()
    out += [f"- **{tag}**: {text}" for tag, text in s.bullets]
    return out


def render_markdown(plan: Plan) -> str:
    report = build_report(plan)
    out = [f"# {report.title}", "", *[f"- {line}" for line in report.header], "", f"_{report.units}_"]
    for s in report.sections:
        out += ["", *_md_section(s)]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------
# JSON and CSV: the report dictionary (DESIGN section 3)
# ------------------------------------------------------------------------------------------


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
