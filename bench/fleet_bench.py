"""Fleet benchmark (figures, never asserted as timed tests).

fleet_refresh_ms_*_1000x8: one Fleet refresh at 1,000 hosts x 8 GPUs against a recorded Prometheus
answer (bench/fleet_fixture.py, served by httpx.MockTransport, so the figure is gpuplan's own
cost: HTTP client, JSON parsing, health rules and "fits where" for 8,000 GPUs, not Prometheus's).
The queries are the same fixed handful at any size. Reported: median, min and max of 7 refreshes
after one warm-up (wall clock), the same as CPU time (process_time: what a loaded machine's
scheduler adds is left out), the pure snapshot build alone, the ratio of a refresh to a bare
json.loads of the same bytes (a yardstick that slows down with the machine), and the bytes
Prometheus would send.
"""

from __future__ import annotations

import json
import statistics
import time

GIB = 1 << 30


def fleet_refresh_1000x8(n_hosts: int = 1000, gpus: int = 8, runs: int = 7) -> dict[str, float | int]:
    import httpx

    from bench.fleet_fixture import fleet_results, mock_prometheus, response_body
    from engine.telemetry.fleet import FleetQuery, PlanNeed, build_snapshot

    now = 1_800_000_000.0
    # a few hosts with rising PCIe replays and uncorrected ECC errors: their health rules run too
    results = fleet_results(n_hosts, gpus, now=now, replay_every=61, ecc_every=43)
    need = PlanNeed(70 * GIB, 4, "h100-sxm-80gb")
    calls: list[str] = []
    q = FleetQuery("http://prometheus.bench:9090", lookback_s=3600)
    q.transport = httpx.MockTransport(mock_prometheus(results, q.queries, calls))
    times: list[float] = []
    cpu: list[float] = []
    with q:
        q.snapshot(need, at=now)  # warm-up: connection, imports
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            snap = q.snapshot(need, at=now)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    bodies = [response_body(r) for r in results.values()]
    decode: list[float] = []
    for _ in range(runs):
        c0 = time.process_time()
        for b in bodies:
            json.loads(b)
        decode.append((time.process_time() - c0) * 1000)
    builds: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        build_snapshot(results, now=now, need=need)
        builds.append((time.perf_counter() - t0) * 1000)
    size = sum(len(b) for b in bodies)
    assert len(snap.hosts) == n_hosts and snap.n_gpus == n_hosts * gpus
    return {
        "fleet_refresh_ms_median_1000x8": round(statistics.median(times), 1),
        "fleet_refresh_ms_min_1000x8": round(min(times), 1),
        "fleet_refresh_ms_max_1000x8": round(max(times), 1),
        "fleet_refresh_cpu_ms_median_1000x8": round(statistics.median(cpu), 1),
        "fleet_refresh_cpu_ms_max_1000x8": round(max(cpu), 1),
        "fleet_build_ms_median_1000x8": round(statistics.median(builds), 1),
        "fleet_refresh_ratio_vs_json_decode": round(statistics.median(cpu) / statistics.median(decode), 2),
        "fleet_queries_per_refresh": len(calls) // (runs + 1),
        "fleet_response_mb_1000x8": round(size / 1e6, 2),
    }
