"""Plain-text rendering of a FleetSnapshot for `gpuplan fleet --once --format text`."""

from __future__ import annotations

from engine.telemetry.fleet import GIB, FleetHost, FleetSnapshot


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "age unknown"
    s = int(seconds)
    if s < 90:
        return f"{s} s ago"
    if s < 5400:
        return f"{s // 60} min ago"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60} min ago"
    return f"{s // 86400} d ago"


def _f(v: float | None, fmt: str, unit: str = "") -> str:
    return "-" if v is None else f"{v:{fmt}}{unit}"


def host_row(h: FleetHost) -> list[str]:
    worst = h.worst_alert
    mem = "-"
    if h.mem_used_bytes is not None and h.mem_total_bytes:
        mem = f"{h.mem_used_bytes / GIB:.0f}/{h.mem_total_bytes / GIB:.0f} GiB"
    return [
        h.hostname,
        f"STALE {age_text(h.last_seen_s)}" if h.stale else "ok",
        str(len(h.gpus)),
        h.model or "-",
        _f(h.util_avg, ".0f", "%"),
        mem,
        _f(h.power_w, ".0f", " W"),
        _f(h.temp_max_c, ".0f", " °C"),
        (f"{worst.severity}: {worst.rule}" + (f" (+{len(h.alerts) - 1})" if len(h.alerts) > 1 else ""))
        if worst else "-",
    ]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def render_text(snap: FleetSnapshot) -> str:
    out = [
        f"Fleet from {snap.prometheus}: {len(snap.hosts)} hosts ({len(snap.stale_hosts)} stale), "
        f"{snap.n_gpus} GPUs, {len(snap.alerts)} alerts. Memory in GiB (2^30 bytes).",
        "",
    ]
    out += _table(["HOST", "STATE", "GPUS", "MODEL", "UTIL", "MEMORY", "POWER", "MAX TEMP", "WORST ALERT"],
                  [host_row(h) for h in snap.hosts])
    if snap.alerts:
        out += ["", "Alerts:"]
        out += [f"  [{a.severity}] {a.message}" for a in sorted(snap.alerts, key=lambda a: a.severity != "critical")]
    if snap.need is not None:
        n = snap.need
        out += ["", f"Fits where ({n.gpus_per_replica} GPU(s) of {n.gpu or 'any kind'} with "
                    f"{n.per_gpu_bytes / GIB:.1f} GiB free each per replica): "
                    f"{snap.replicas} replica(s) the fleet could take now"]
        taking = [f for f in snap.fits if f.replicas > 0]
        out += [f"  {f.hostname}: {f.replicas} replica(s), {f.free_bytes / GIB:.0f} GiB free on {f.model}"
                for f in taking] or ["  no host has room for one replica now"]
        if snap.unfit:  # the monitor's health rules keep these GPUs out
            out += ["", "Unfit (not counted, the monitor's health rules):"]
            out += [f"  {f.hostname} GPU {i}: {why}" for f in snap.unfit for i, why in f.unfit]
    for w in snap.warnings:
        out.append(f"warning: {w}")
    return "\n".join(out) + "\n"
