"""The training rows of the reports (tui/report.py's training sections) and of the Training tab:
one place that turns `Plan.to_dict()["training"]` into labelled figures. Plain Python."""

from __future__ import annotations

from typing import Any

from .figures import or_na as _n

BREAKDOWN = ("weights", "gradients", "optimizer", "adapters", "activations", "logits", "overhead")


def training_rows(tr: dict[str, Any]) -> list[tuple[str, str]]:
    chosen = " (fewest that fit" + (" and meet the deadline)" if tr.get("deadline_hours") else ")") \
        if tr.get("gpus_chosen_by_planner") else ""
    rows = [
        ("method", f"{tr['method']}, {tr['trainable_params']:,} trainable parameters"),
        ("GPUs", f"{tr['gpus']:,} x {tr['gpu']}{chosen}, {tr['data_parallel']:,} data-parallel"),
        (f"memory per GPU (peak at {tr.get('peak_phase', 'backward')})",
         f"{tr['memory_per_gpu_gib']:.2f} of {tr['gpu_memory_gib']:.2f} GiB"),
    ]
    rows += [(f"  {k}", f"{tr['breakdown_gib'].get(k, 0.0):.2f} GiB") for k in BREAKDOWN]
    rows += [
        ("fits", "yes" if tr["fits"] else f"no: {tr['reason']}"),
        ("largest micro-batch that fits", _n(tr["max_micro_batch"] or None, ",")),
        ("longest sequence that fits", _n(tr["max_sequence_length"] or None, ",", " tokens")),
        ("tokens/s per GPU", _n(tr["tokens_per_s_per_gpu"], ",.0f")),
        ("step time", _n(tr["step_time_s"], ",.2f", " s")),
        (f"MFU ({tr.get('mfu_source', 'calibration')})", _n(tr["mfu"], ".1%")),
        ("duration", _n(tr["duration_hours"], ",.1f", " h")),
        ("GPU hours", _n(tr["gpu_hours"], ",.0f")),
        ("cost", _n(tr["cost"], ",.0f", prefix="$")),
    ]
    if tr.get("deadline_hours"):
        rows.append(("deadline", f"{tr['deadline_hours']:,.1f} h: " + ("met" if tr.get("meets_deadline") else "missed")))
    return rows


def what_if_rows(tr: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    out = []
    for w in tr.get("what_if", []):
        out.append((w["method"], f"ZeRO-{w['zero_stage']}", f"{w['gpus']:,}", f"{w['memory_per_gpu_gib']:.1f}",
                    "yes" if w["fits"] else "no", _n(w["duration_hours"], ",.1f"),
                    ) + (_n(w["cost"], ",.0f", prefix="$") if w["cost"] is not None else _n(w["gpu_hours"], ",.0f", " GPU-h"),))
    return out


WHAT_IF_HEADER = ("method", "sharding", "GPUs", "GiB/GPU", "fits", "hours", "cost")
