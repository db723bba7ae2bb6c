"""A generated Prometheus answer for a fleet of any size, in the exact JSON shape of
`/api/v1/query` for each of the fleet layer's queries (engine/telemetry/fleet.py `QUERIES`).

Hosts are simulated GPUs (engine/telemetry/simulated.py) turned into what dcgm-exporter metrics
aggregated by those queries look like: every `stale_every`-th host stopped reporting 10 minutes
ago, every `hot_every`-th host has a GPU near its slowdown temperature, every `xid_every`-th an
Xid 79, every `replay_every`-th a GPU whose PCIe replay counter rose (0: none), every `ecc_every`-th
a GPU with uncorrected ECC errors (0: none). Used by the fleet bench (1,000 hosts x 8 GPUs) and by tests that need a big fleet.
"""

from __future__ import annotations

import json
from typing import Any, Callable

MIB = 1 << 20


def fleet_results(
    n_hosts: int,
    gpus_per_host: int = 8,
    *,
    now: float = 1_800_000_000.0,
    stale_every: int = 50,
    hot_every: int = 20,
    xid_every: int = 97,
    replay_every: int = 0,
    ecc_every: int = 0,
    model: str = "NVIDIA H100 80GB HBM3",
) -> dict[str, list[dict[str, Any]]]:
    from engine.telemetry.simulated import SimulatedBackend

    out: dict[str, list[dict[str, Any]]] = {k: [] for k in
                                            ("values", "signals", "replays", "identity", "lost", "live", "seen",
                                             "seen_gpuplan")}

    def vec(metric: dict[str, str], value: float) -> dict[str, Any]:
        return {"metric": metric, "value": [now, repr(float(value)) if value != int(value) else str(int(value))]}

    for h in range(n_hosts):
        host = f"gpu-node-{h:04d}"
        stale = stale_every > 0 and h % stale_every == stale_every - 1
        backend = SimulatedBackend(n_gpus=gpus_per_host, seed=h, start_time=now - 30.0, hostname=host,
                                   gpu_name=model)
        s = backend.sample()
        last = now - (600.0 if stale else 1.2)
        out["seen"].append(vec({"Hostname": host}, last))
        out["seen_gpuplan"].append(vec({"Hostname": host}, last))
        if not stale:
            out["live"].append(vec({"Hostname": host}, last))
        for g in s.gpus:
            gpu = str(g.index)
            out["identity"].append({"metric": {"Hostname": host, "gpu": gpu, "UUID": g.uuid or "",
                                               "modelName": model}, "value": [now, "1"]})
            if stale:
                continue
            temp = g.temperature_c or 40
            if hot_every > 0 and h % hot_every == 3 and g.index == 0:
                temp = 84
            fields = {
                "GPU_UTIL": g.gpu_util_pct, "FB_USED": (g.memory_used_bytes or 0) / MIB,
                "FB_FREE": (g.memory_free_bytes or 0) / MIB, "GPU_TEMP": temp, "SLOWDOWN_TEMP": 87,
                "POWER_USAGE": g.power_w,
            }
            for f, v in fields.items():
                if v is not None:
                    out["values"].append(vec({"Hostname": host, "gpu": gpu, "field": f}, v))
            if xid_every > 0 and h % xid_every == 5 and g.index == 1:
                out["signals"].append(vec({"Hostname": host, "gpu": gpu, "field": "XID_ERRORS"}, 79))
            if replay_every > 0 and h % replay_every == 2 and g.index == 2:
                out["signals"].append(vec({"Hostname": host, "gpu": gpu, "field": "PCIE_REPLAY_COUNTER"}, 140))
                out["replays"].append(vec({"Hostname": host, "gpu": gpu}, 25))
            if ecc_every > 0 and h % ecc_every == 1 and g.index == gpus_per_host - 1:
                out["signals"].append(vec({"Hostname": host, "gpu": gpu, "field": "ECC_DBE_VOL_TOTAL"}, 2))
    return out


def response_body(result: list[dict[str, Any]]) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


def mock_prometheus(results: dict[str, list[dict[str, Any]]], queries: dict[str, str],
                    calls: list[str] | None = None) -> Callable[[Any], Any]:
    """An httpx.MockTransport handler answering each of `queries` (name -> PromQL) with its
    recorded result, pre-serialised once (the bench times parsing, not json.dumps)."""
    import httpx

    by_promql = {promql: response_body(results.get(name, [])) for name, promql in queries.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        from urllib.parse import parse_qs

        form = parse_qs(request.content.decode())
        promql = (form.get("query") or [""])[0]
        if calls is not None:
            calls.append(promql)
        body = by_promql.get(promql)
        if body is None:
            err = {"status": "error", "errorType": "bad_data", "error": f"unexpected query {promql!r}"}
            return httpx.Response(400, json=err)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return handler
