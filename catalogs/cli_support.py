"""Pure functions behind `gpuplan catalog models|gpus|servers|prices [--json]`: table rows and
JSON records. No printing, no terminal: the CLI renders what these return."""

from __future__ import annotations

from typing import Any

from engine.model import ModelConfigError, count_params, kv_footprint

from .loader import KINDS, Catalog, ModelEntry

BF16_BYTES = 2.0


def _num(value: float | None, digits: int = 1) -> str:
    """Thousands separators, at most `digits` decimals, trailing zeros dropped; '-' if unknown."""
    if value is None:
        return "-"
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _billions(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e9:,.2f}"


def model_record(entry: ModelEntry) -> dict[str, Any]:
    """A model's facts as plain data (numbers unrounded). `error` is set when its config
    cannot be sized."""
    rec: dict[str, Any] = {
        "id": entry.id,
        "name": entry.name,
        "hf_repo": entry.hf_repo,
        "origin": entry.origin,
        "source": entry.source,
        "note": entry.note,
        "params_published": entry.params_published,
        "active_params_published": entry.active_params_published,
    }
    try:
        spec = entry.spec
    except (ModelConfigError, ValueError) as exc:
        rec["error"] = str(exc)
        return rec
    counts = count_params(spec)
    kv = kv_footprint(spec, BF16_BYTES)
    rec.update(
        family=spec.family,
        params_total=counts.total,
        params_active=counts.active,
        layers=spec.num_layers,
        hidden_size=spec.hidden_size,
        attention_heads=spec.num_heads,
        kv_heads=spec.num_kv_heads,
        head_dim=spec.head_dim,
        mla=spec.is_mla,
        moe=spec.is_moe,
        experts=spec.num_experts or None,
        experts_per_token=spec.experts_per_token or None,
        sliding_window=spec.sliding_window,
        max_context=spec.max_context,
        kv_bytes_per_token_bf16=kv.bytes_per_token,
        native_dtype=spec.native_dtype,
        native_quant=spec.native_quant,
    )
    return rec


def _model_row(rec: dict[str, Any]) -> list[str]:
    if "error" in rec:
        return [rec["id"], rec["name"] or "-", "-", "-", "-", "-", "-", "-", f"error: {rec['error']}", rec["origin"]]
    active = rec["params_active"] if rec["moe"] else None
    kv_heads = "MLA" if rec["mla"] else str(rec["kv_heads"])
    return [
        rec["id"],
        rec["name"] or "-",
        _billions(rec["params_total"]),
        _billions(active),
        str(rec["layers"]),
        kv_heads,
        str(rec["head_dim"]) if not rec["mla"] else "-",
        f"{rec['max_context']:,}" if rec["max_context"] else "-",
        _num(rec["kv_bytes_per_token_bf16"] / 1024, 1),
        rec["origin"],
    ]


MODEL_HEADERS = [
    "id",
    "name",
    "params (B)",
    "active (B)",
    "layers",
    "KV heads",
    "head dim",
    "context",
    "KV KiB/token (bf16)",
    "origin",
]
GPU_HEADERS = ["id", "name", "memory (GiB)", "TB/s", "BF16 TFLOPS", "FP8 TFLOPS", "TDP (W)"]
SERVER_HEADERS = ["id", "name", "GPU", "GPUs/node", "max power (kW)", "rack units", "interconnect"]
PRICE_HEADERS = ["id", "provider", "GPU", "instance", "pricing", "USD/GPU-hour", "date"]


def _price_text(p: Any) -> str:
    if p.price_per_gpu_hour is not None:
        return f"{p.price_per_gpu_hour:.2f}"
    lo, hi = p.price_per_gpu_hour_low, p.price_per_gpu_hour_high
    if lo is not None and hi is not None:
        return f"{lo:.2f}-{hi:.2f}"
    if lo is not None:
        return f"from {lo:.2f}"
    if hi is not None:
        return f"up to {hi:.2f}"
    return "-"


def rows_for(kind: str, catalog: Catalog) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of strings for one catalog kind, in catalog order. Sizes in GiB are
    2^30 bytes; TFLOPS are dense; '-' is unknown. The last column says where an entry comes
    from ("user, overrides bundled" when a user file replaced a bundled id)."""
    headers, rows = _rows_for(kind, catalog)
    if kind == "models":
        for row, entry_id in zip(rows, catalog.ids(kind)):
            row[-1] = catalog.origin_label(kind, entry_id)
        return headers, rows
    return headers + ["origin"], [row + [catalog.origin_label(kind, row[0])] for row in rows]


def _rows_for(kind: str, catalog: Catalog) -> tuple[list[str], list[list[str]]]:
    if kind == "models":
        return MODEL_HEADERS, [_model_row(model_record(e)) for e in catalog.models.values()]
    if kind == "gpus":
        rows = [
            [
                g.id,
                g.name or "-",
                _num(g.memory_gib, 2),
                _num(g.bandwidth_tbs, 3),
                _num(g.bf16_tflops, 2),
                _num(g.fp8_tflops, 2),
                _num(g.tdp_w, 0),
            ]
            for g in catalog.gpus.values()
        ]
        return GPU_HEADERS, rows
    if kind == "servers":
        rows = [
            [
                s.id,
                s.name or "-",
                s.gpu or "-",
                str(s.gpus_per_node),
                _num(s.max_power_kw),
                str(s.rack_units) if s.rack_units is not None else "-",
                s.interconnect or "-",
            ]
            for s in catalog.servers.values()
        ]
        return SERVER_HEADERS, rows
    if kind == "prices":
        rows = [
            [p.id, p.provider, p.gpu or "-", p.instance or "-", p.pricing, _price_text(p),
             (p.source_date or "undated") + (f" (EXPIRED {p.valid_until})" if p.expired(_today()) else "")]
            for p in catalog.prices.values()
        ]
        return PRICE_HEADERS, rows
    raise ValueError(f"unknown catalog kind {kind!r}; one of {', '.join(KINDS)}")


def as_json(kind: str, catalog: Catalog) -> list[dict[str, Any]]:
    """Every entry of one kind as JSON-ready dicts (numbers as numbers, unknown as null)."""
    if kind == "models":
        out = [model_record(e) for e in catalog.models.values()]
        for rec in out:
            rec["overrides_bundled"] = catalog.overrides_bundled(kind, rec["id"])
        return out
    if kind in ("gpus", "servers", "prices"):
        out = []
        for spec in catalog.entries(kind).values():
            rec = spec.model_dump(mode="json")
            rec["origin"] = catalog.origin_label(kind, spec.id)
            rec["overrides_bundled"] = catalog.overrides_bundled(kind, spec.id)
            if kind == "prices":
                rec["representative_per_gpu_hour"] = spec.representative
                rec["expired"] = spec.expired(_today())
            out.append(rec)
        return out
    raise ValueError(f"unknown catalog kind {kind!r}; one of {', '.join(KINDS)}")


def _today() -> str:
    import datetime

    return datetime.date.today().isoformat()


__all__ = ["as_json", "model_record", "rows_for"]
