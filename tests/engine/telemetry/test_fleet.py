"""The fleet query layer against recorded Prometheus answers (httpx.MockTransport): hosts and
GPUs, stale hosts kept with their age, the monitor's health rules with the host named, "fits
where" ranked, a fixed handful of queries whatever the fleet size, and every error path as a
clear message."""

from __future__ import annotations

import httpx
import pytest

from bench.fleet_fixture import fleet_results, mock_prometheus
from engine.telemetry.fleet import (
    GIB,
    QUERIES,
    FleetError,
    FleetQuery,
    PlanNeed,
    build_snapshot,
    gpu_kind_matches,
    parse_duration,
)
from engine.telemetry.samples import HostSample

NOW = 1_800_000_000.0
MIB = 1 << 20


def vec(metric, value):
    return {"metric": metric, "value": [NOW, str(value)]}


def gpu_values(host, gpu, *, used_mib, free_mib, temp=50, util=40, power=300.0, slowdown=87):
    fields = {"GPU_UTIL": util, "FB_USED": used_mib, "FB_FREE": free_mib, "GPU_TEMP": temp,
              "SLOWDOWN_TEMP": slowdown, "POWER_USAGE": power}
    return [vec({"Hostname": host, "gpu": str(gpu), "field": f}, v) for f, v in fields.items()]


def small_fleet():
    """a: 2 healthy H100s (one mostly free); b: 2 H100s, GPU 0 at 85 °C, GPU 1 Xid 79;
    c: an L4; d: stopped reporting 5 minutes ago."""
    r = {k: [] for k in QUERIES}
    ident = [("a", 0, "H100"), ("a", 1, "H100"), ("b", 0, "H100"), ("b", 1, "H100"), ("c", 0, "L4"), ("d", 0, "H100")]
    for host, gpu, kind in ident:
        model = "NVIDIA H100 80GB HBM3" if kind == "H100" else "NVIDIA L4"
        r["identity"].append(vec({"Hostname": host, "gpu": str(gpu), "UUID": f"GPU-{host}{gpu}", "modelName": model}, 1))
    r["values"] += gpu_values("a", 0, used_mib=1000, free_mib=80000)
    r["values"] += gpu_values("a", 1, used_mib=60000, free_mib=21000)
    r["values"] += gpu_values("b", 0, used_mib=2000, free_mib=79000, temp=85)
    r["values"] += gpu_values("b", 1, used_mib=2000, free_mib=79000)
    r["values"] += gpu_values("c", 0, used_mib=100, free_mib=22000, power=40.0)
    r["signals"].append(vec({"Hostname": "b", "gpu": "1", "field": "XID_ERRORS"}, 79))
    for host, age in (("a", 1), ("b", 2), ("c", 1)):
        r["live"].append(vec({"Hostname": host}, NOW - age))
    for host, age in (("a", 1), ("b", 2), ("c", 1), ("d", 300)):
        r["seen"].append(vec({"Hostname": host}, NOW - age))
    return r


def test_hosts_gpus_and_values_from_the_queried_series():
    snap = build_snapshot(small_fleet(), now=NOW)
    assert [h.hostname for h in snap.hosts] == ["a", "b", "c", "d"]
    a = snap.host("a")
    assert not a.stale and a.last_seen_s == pytest.approx(1.0)
    g0 = a.gpus[0]
    assert (g0.gpu, g0.uuid, g0.model) == (0, "GPU-a0", "NVIDIA H100 80GB HBM3")
    assert g0.mem_used_bytes == 1000 * MIB
    assert g0.mem_total_bytes == 81000 * MIB  # dcgm-exporter has no FB_TOTAL by default: used + free
    j = snap.to_json()
    assert set(j["hosts"][0]) >= {"hostname", "gpus", "stale", "last_seen_s", "alerts"}
    assert set(j["hosts"][0]["gpus"][0]) >= {"gpu", "uuid", "model", "util", "mem_used_gib", "mem_total_gib",
                                             "temp_c", "power_w"}
    assert j["hosts"][0]["gpus"][0]["mem_total_gib"] == pytest.approx(81000 / 1024, abs=0.01)


def test_a_host_that_stopped_reporting_is_stale_with_its_age_and_gpus_never_dropped():
    snap = build_snapshot(small_fleet(), now=NOW)
    d = snap.host("d")
    assert d.stale and d.last_seen_s == pytest.approx(300.0)
    assert [g.uuid for g in d.gpus] == ["GPU-d0"] and d.gpus[0].util is None  # no current values
    # gone from every query (past the lookback): remembered hosts stay, stale, with their GPUs
    empty = {k: [] for k in QUERIES}
    later = build_snapshot(empty, now=NOW + 60, remembered={h.hostname: h for h in snap.hosts})
    assert [h.hostname for h in later.hosts] == ["a", "b", "c", "d"]
    assert all(h.stale for h in later.hosts)
    assert later.host("a").last_seen_s == pytest.approx(61.0) and len(later.host("a").gpus) == 2


def test_a_live_series_older_than_stale_after_counts_as_stale():
    r = small_fleet()
    snap = build_snapshot(r, now=NOW + 200, stale_after_s=120)
    assert all(h.stale for h in snap.hosts)
    assert snap.host("a").alerts == ()  # no health verdicts on values that are not current


def test_the_monitors_health_rules_with_the_host_named():
    snap = build_snapshot(small_fleet(), now=NOW)
    b = snap.host("b")
    rules = {(a.gpu, a.rule, a.severity) for a in b.alerts}
    assert (0, "temperature_near_slowdown", "warn") in rules  # 85 °C, 2 below its 87 °C slowdown
    assert (1, "xid_critical", "critical") in rules  # Xid 79: fallen off the bus
    assert all(a.message.startswith("b: GPU ") for a in b.alerts)
    assert b.worst_alert.severity == "critical"
    assert snap.host("a").alerts == () and snap.host("d").alerts == ()


def test_fits_where_counts_gpus_of_the_right_kind_with_enough_free_memory_ranked():
    need = PlanNeed(per_gpu_bytes=70 * GIB, gpus_per_replica=1, gpu="h100-sxm-80gb")
    snap = build_snapshot(small_fleet(), now=NOW, need=need)
    fits = {f.hostname: f for f in snap.fits}
    assert set(fits) == {"a", "b"}  # c is an L4, d is stale
    assert fits["a"].replicas == 1 and fits["a"].eligible_gpus == (0,)
    # b's GPU 1 had an Xid 79 (critical): it never counts, and says why; GPU 0 is only warm
    assert fits["b"].replicas == 1 and fits["b"].eligible_gpus == (0,) and fits["b"].unfit == ((1, "Xid 79"),)
    assert "not counted: GPU 1 unhealthy: Xid 79" in fits["b"].reason and fits["b"].reason.startswith("b: ")
    assert fits["b"].free_bytes == 79000 * MIB  # free memory of the GPUs that count
    assert snap.replicas == 2
    tp2 = build_snapshot(small_fleet(), now=NOW, need=PlanNeed(70 * GIB, 2, "h100-sxm-80gb"))
    assert {f.hostname: f.replicas for f in tp2.fits} == {"b": 0, "a": 0}
    assert tp2.to_json()["fits"] == []  # only hosts that take a replica
    (unfit,) = tp2.to_json()["unfit"]
    assert unfit["hostname"] == "b" and unfit["replicas"] == 0 and unfit["gpus"] == [{"gpu": 1, "reason": "Xid 79"}]
    assert "short: GPU 1: unhealthy: Xid 79" in unfit["reason"]
    anyk = build_snapshot(small_fleet(), now=NOW, need=PlanNeed(20 * GIB, 1))
    assert anyk.host("c") and {f.hostname for f in anyk.fits} == {"a", "b", "c"}


@pytest.mark.parametrize("model,gpu,ok", [
    ("NVIDIA H100 80GB HBM3", "h100-sxm-80gb", True),
    ("NVIDIA H100 PCIe", "h100-sxm-80gb", False),
    ("NVIDIA H100 PCIe", "h100-pcie-80gb", True),
    ("NVIDIA A100-SXM4-80GB", "a100-sxm-80gb", True),
    ("NVIDIA A100-SXM4-80GB", "a10", False),
    ("NVIDIA L40S", "l4", False),
    ("NVIDIA L4", "l4", True),
    ("NVIDIA GeForce RTX 4090", "rtx-4090", True),
    ("NVIDIA GeForce RTX 3090", "rtx-4090", False),
    ("NVIDIA H200", "h100-sxm-80gb", False),
])
def test_gpu_kind_matches(model, gpu, ok):
    assert gpu_kind_matches(model, gpu) is ok


def test_a_fixed_handful_of_queries_whatever_the_fleet_size():
    calls: list[str] = []
    q = FleetQuery("http://prom.test:9090", lookback_s=3600)
    q.transport = httpx.MockTransport(mock_prometheus(fleet_results(200, 8, now=NOW), q.queries, calls))
    with q:
        snap = q.snapshot(PlanNeed(40 * GIB, 4, "h100-sxm-80gb"), at=NOW)
    assert len(calls) == len(QUERIES) == snap.queries
    assert len(snap.hosts) == 200 and snap.n_gpus == 1600
    assert len(snap.stale_hosts) == 4  # every 50th host
    assert all(a.message.startswith(a.hostname + ": ") for a in snap.alerts)
    assert {a.rule for a in snap.alerts} >= {"temperature_near_slowdown", "xid_critical"}


def test_the_query_remembers_hosts_between_refreshes():
    q = FleetQuery("http://prom.test:9090", lookback_s=600)
    full = fleet_results(3, 2, now=NOW, stale_every=0)
    q.transport = httpx.MockTransport(mock_prometheus(full, q.queries))
    q.snapshot(at=NOW)
    q.close()
    q.transport = httpx.MockTransport(mock_prometheus({}, q.queries))  # everything gone
    snap = q.snapshot(at=NOW + 30)
    assert [h.stale for h in snap.hosts] == [True, True, True]
    assert all(len(h.gpus) == 2 and h.last_seen_s == pytest.approx(31.2) for h in snap.hosts)


def _query_with(handler) -> FleetQuery:
    q = FleetQuery("http://prom.test:9090/", timeout_s=0.5)
    q.transport = httpx.MockTransport(handler)
    return q


def test_prometheus_error_json_is_a_clear_message():
    def handler(request):
        return httpx.Response(400, json={"status": "error", "errorType": "bad_data",
                                         "error": "1:1: parse error: unexpected character"})

    with pytest.raises(FleetError, match=r"rejected a query \(HTTP 400, bad_data\): 1:1: parse error"):
        _query_with(handler).snapshot()


def test_timeouts_connection_errors_and_non_prometheus_answers():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(FleetError, match=r"did not answer within 0.5 s"):
        _query_with(slow).snapshot()

    def html(request):
        return httpx.Response(200, text="<html>Grafana</html>", headers={"content-type": "text/html"})

    with pytest.raises(FleetError, match=r"HTTP 200 \(text/html\), not Prometheus's JSON API"):
        _query_with(html).snapshot()

    def matrix(request):
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": []}})

    with pytest.raises(FleetError, match="expected a vector"):
        _query_with(matrix).snapshot()

    from tests.prometheus_support import free_port

    with pytest.raises(FleetError, match="cannot reach Prometheus at http://127.0.0.1"):
        with FleetQuery(f"http://127.0.0.1:{free_port()}", timeout_s=2.0) as q:
            q.snapshot()


@pytest.mark.parametrize("url", ["127.0.0.1:9090", "ftp://x", "http://", "http://a b"])
def test_bad_prometheus_urls_are_refused(url):
    with pytest.raises(ValueError, match="not an http"):
        FleetQuery(url)


def test_parse_duration():
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2d") == 172800
    for bad in ("", "1x", "h", "0s", "5m 3s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_host_with_only_lost_gpus_or_broken_telemetry_is_live_and_alerting():
    r = {k: [] for k in QUERIES}
    r["identity"].append(vec({"Hostname": "e", "gpu": "0", "UUID": "GPU-e0", "modelName": "NVIDIA H100"}, 1))
    r["lost"].append(vec({"Hostname": "e", "gpu": "0", "UUID": "GPU-e0", "modelName": "NVIDIA H100",
                          "state": "lost"}, 1))
    r["live"] += [vec({"Hostname": "e"}, NOW - 1), vec({"Hostname": "f"}, NOW - 1)]
    r["down"].append(vec({"Hostname": "f"}, 0))
    snap = build_snapshot(r, now=NOW)
    e, f = snap.host("e"), snap.host("f")
    assert not e.stale and e.gpus[0].state == "lost"
    assert [(a.rule, a.severity) for a in e.alerts] == [("gpu_lost", "critical")]
    assert not f.stale and f.worst_alert.rule == "telemetry_down" and f.worst_alert.message.startswith("f: ")


def sick_fleet():
    """x: GPU 0 has uncorrected ECC errors; y: GPU 0 failed a row remap, GPU 1 had an Xid 48;
    z: GPU 0 is lost; w: GPU 1's PCIe replay counter rose (a warning: it still counts)."""
    r = {k: [] for k in QUERIES}
    for host in "wxyz":
        for gpu in (0, 1):
            r["identity"].append(vec({"Hostname": host, "gpu": str(gpu), "UUID": f"GPU-{host}{gpu}",
                                      "modelName": "NVIDIA H100 80GB HBM3"}, 1))
            if (host, gpu) != ("z", 0):
                r["values"] += gpu_values(host, gpu, used_mib=1000, free_mib=80000)
        r["live"].append(vec({"Hostname": host}, NOW - 1))
    r["signals"] += [
        vec({"Hostname": "x", "gpu": "0", "field": "ECC_DBE_VOL_TOTAL"}, 3),
        vec({"Hostname": "y", "gpu": "0", "field": "ROW_REMAP_FAILURE"}, 1),
        vec({"Hostname": "y", "gpu": "1", "field": "XID_ERRORS"}, 48),
        vec({"Hostname": "w", "gpu": "1", "field": "PCIE_REPLAY_COUNTER"}, 140),
    ]
    r["replays"].append(vec({"Hostname": "w", "gpu": "1"}, 25))
    r["lost"].append(vec({"Hostname": "z", "gpu": "0", "UUID": "GPU-z0", "modelName": "NVIDIA H100 80GB HBM3",
                          "state": "lost"}, 1))
    return r


def test_fits_where_leaves_out_unhealthy_gpus_as_the_monitor_does_with_the_reason_and_host():
    from engine.telemetry.fits import fits_here
    from engine.telemetry.fleet_text import render_text
    from engine.telemetry.health import evaluate, unhealthy_gpus

    need = PlanNeed(70 * GIB, 1, "h100-sxm-80gb")
    snap = build_snapshot(sick_fleet(), now=NOW, need=need)
    fits = {f.hostname: f for f in snap.fits}
    assert {h: (f.replicas, f.unfit) for h, f in fits.items()} == {
        "w": (2, ()),
        "x": (1, ((0, "uncorrected ECC errors"),)),
        "y": (0, ((0, "row remapping failed"), (1, "Xid 48"))),
        "z": (1, ((0, "lost"),)),
    }
    assert snap.replicas == 4 and all(f.reason.startswith(f"{h}: ") for h, f in fits.items())
    # the same verdicts the monitor's "fits here" gives on the same values (its rules, not a copy)
    for h in snap.hosts:
        sample = HostSample(timestamp=NOW, hostname=h.hostname, backend="test",
                            gpus=tuple(g.to_sample(NOW) for g in h.gpus))
        mine = fits_here(need.per_gpu_bytes, 1, sample, unhealthy_gpus(evaluate(sample)))
        assert (mine.replicas, mine.eligible) == (fits[h.hostname].replicas, fits[h.hostname].eligible_gpus)
    j = snap.to_json()
    assert [u["hostname"] for u in j["unfit"]] == ["x", "y", "z"]
    assert j["unfit"][1]["gpus"] == [{"gpu": 0, "reason": "row remapping failed"}, {"gpu": 1, "reason": "Xid 48"}]
    assert {f["hostname"]: f["unfit_gpus"] for f in j["fits"]}["x"] == [{"gpu": 0, "reason": "uncorrected ECC errors"}]
    assert "y" not in {f["hostname"] for f in j["fits"]}  # takes no replica: listed as unfit only
    text = render_text(snap)
    assert "Unfit (not counted" in text
    for line in ("x GPU 0: uncorrected ECC errors", "y GPU 0: row remapping failed", "y GPU 1: Xid 48",
                 "z GPU 0: lost"):
        assert line in text


def test_a_rising_pcie_replay_counter_is_the_monitors_warning_with_the_host_named():
    snap = build_snapshot(sick_fleet(), now=NOW)
    (a,) = [a for a in snap.alerts if a.rule == "pcie_replay"]
    assert (a.hostname, a.gpu, a.severity) == ("w", 1, "warn")
    assert a.message == "w: GPU 1: PCIe replay counter rose by 25 to 140: the link retries packets (check seating, riser, cable)"
    assert snap.host("w").gpus[1].pcie_replay_count == 140
    # a high count that did not rise in the window is history, not an alert
    r = sick_fleet()
    r["replays"] = []
    assert not [a for a in build_snapshot(r, now=NOW).alerts if a.rule == "pcie_replay"]


def test_the_replay_query_compares_the_counter_now_with_its_low_in_the_window():
    q = FleetQuery("http://prom:9090", replay_window_s=600)
    assert q.queries["replays"] == ("max by (Hostname, gpu) (DCGM_FI_DEV_PCIE_REPLAY_COUNTER - "
                                    "min_over_time(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[600s]) > 0)")
    assert "PCIE_REPLAY_COUNTER" in q.queries["signals"]
