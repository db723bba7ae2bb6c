"""The /metrics exporter: dcgm-exporter's names, units and labels as Prometheus's own parser reads
them, N/A fields left out, lost GPUs, the Xid gauge, gpuplan extras, a real HTTP server that never
samples on a scrape and serves nothing but metrics, and the loopback-only bind."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from engine.telemetry.exporter import (
    DCGM_NAMES,
    BindRefused,
    LatestSample,
    MetricsServer,
    check_bind,
    parse_listen,
)
from engine.telemetry.fits import fits_here
from engine.telemetry.samples import GpuSample, HostSample, XidEvent
from engine.telemetry.simulated import SimulatedBackend

MIB = 1 << 20
# dcgm-exporter's label keys (etc/default-counters.csv output, dcgm-exporter >= 3)
DCGM_LABELS = {"gpu", "UUID", "device", "modelName", "Hostname"}
# the default counters a dcgm-exporter dashboard reads
DEFAULT_COUNTERS = {
    "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE", "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
}


def families(latest: LatestSample, hostname: str | None = None) -> dict[str, object]:
    server = MetricsServer(latest, "127.0.0.1:0", hostname=hostname)  # not started: registry only
    text = generate_latest(server.registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def sim_sample(n: int = 4, **kw) -> HostSample:
    return SimulatedBackend(n_gpus=n, seed=3, start_time=1_000_000.0, **kw).sample()


def series(fams: dict, name: str) -> dict[str, tuple[dict[str, str], float]]:
    return {s.labels["gpu"]: (s.labels, s.value) for s in fams[name].samples}


def test_dcgm_names_units_and_labels_as_the_prometheus_parser_reads_them():
    sample = sim_sample(4)
    latest = LatestSample()
    latest.update(sample)
    fams = families(latest, hostname="node-a")
    assert DEFAULT_COUNTERS <= set(fams), DEFAULT_COUNTERS - set(fams)
    for name in DCGM_NAMES:
        if name in fams:
            fam = fams[name]
            assert fam.type == "gauge"
            for s in fam.samples:
                assert s.name == name  # exactly dcgm-exporter's series name, no _total suffix
                assert DCGM_LABELS <= set(s.labels)
                assert s.labels["Hostname"] == "node-a"
    for g in sample.gpus:
        labels, used = series(fams, "DCGM_FI_DEV_FB_USED")[str(g.index)]
        assert labels["UUID"] == g.uuid and labels["device"] == f"nvidia{g.index}"
        assert labels["modelName"] == "NVIDIA H100 80GB HBM3" and labels["pci_bus_id"] == g.bus_id
        assert used == pytest.approx(g.memory_used_bytes / MIB)  # MiB, as dcgm-exporter
        assert series(fams, "DCGM_FI_DEV_FB_FREE")[str(g.index)][1] == pytest.approx(g.memory_free_bytes / MIB)
        assert series(fams, "DCGM_FI_DEV_POWER_USAGE")[str(g.index)][1] == pytest.approx(g.power_w)  # W
        assert series(fams, "DCGM_FI_DEV_GPU_TEMP")[str(g.index)][1] == g.temperature_c
        assert series(fams, "DCGM_FI_DEV_SM_CLOCK")[str(g.index)][1] == g.sm_clock_mhz
        assert series(fams, "DCGM_FI_DEV_GPU_UTIL")[str(g.index)][1] == g.gpu_util_pct
        assert series(fams, "DCGM_FI_DEV_XID_ERRORS")[str(g.index)][1] == 0
    # the host's own name when no --hostname is given
    assert {s.labels["Hostname"] for s in families(latest)["DCGM_FI_DEV_GPU_TEMP"].samples} == {sample.hostname}


def test_na_fields_are_left_out_and_lost_gpus_only_report_their_state():
    ok = GpuSample(index=0, uuid="GPU-a", name="NVIDIA L4", temperature_c=40, memory_used_bytes=MIB,
                   memory_free_bytes=3 * MIB, memory_total_bytes=4 * MIB)
    lost = GpuSample(index=1, uuid="GPU-b", name="NVIDIA L4", state="lost", error="fallen off the bus")
    latest = LatestSample()
    latest.update(HostSample(timestamp=5.0, hostname="h", backend="nvml", gpus=(ok, lost)))
    fams = families(latest)
    assert set(series(fams, "DCGM_FI_DEV_GPU_TEMP")) == {"0"}
    assert "DCGM_FI_DEV_POWER_USAGE" not in fams  # N/A on every GPU: no family at all
    states = {(s.labels["gpu"], s.labels["state"]): s.value for s in fams["gpuplan_gpu_state"].samples}
    assert states == {("0", "ok"): 1.0, ("1", "lost"): 1.0}
    alerts = {(s.labels["gpu"], s.labels["rule"], s.labels["severity"]) for s in fams["gpuplan_alert"].samples}
    assert ("1", "gpu_lost", "critical") in alerts


def test_the_xid_gauge_holds_the_last_xid_then_clears():
    latest = LatestSample(xid_hold_s=10.0)
    g = GpuSample(index=0, uuid="GPU-a", temperature_c=40)
    with_xid = dataclasses.replace(g, xid_events=(XidEvent(100.0, 0, "xid", 79),))
    latest.update(HostSample(timestamp=100.0, hostname="h", backend="nvml", gpus=(with_xid,)))
    assert series(families(latest), "DCGM_FI_DEV_XID_ERRORS")["0"][1] == 79
    critical = {s.labels["rule"] for s in families(latest)["gpuplan_alert"].samples}
    assert "xid_critical" in critical
    latest.update(HostSample(timestamp=105.0, hostname="h", backend="nvml", gpus=(g,)))
    assert series(families(latest), "DCGM_FI_DEV_XID_ERRORS")["0"][1] == 79  # one-off event, still shown
    latest.update(HostSample(timestamp=111.0, hostname="h", backend="nvml", gpus=(g,)))
    assert series(families(latest), "DCGM_FI_DEV_XID_ERRORS")["0"][1] == 0


def test_gpuplan_extras_throttle_reasons_alerts_and_fits_here():
    backend = SimulatedBackend(n_gpus=2, seed=1, start_time=0.0, thermal={1: (0, 50)})
    for _ in range(40):  # the excursion climbs to the slowdown threshold
        sample = backend.sample()
    latest = LatestSample(fits=lambda s: fits_here(10 * (1 << 30), 1, s))
    latest.update(sample)
    fams = families(latest, hostname="n")
    reasons = {(s.labels["gpu"], s.labels["reason"]): s.value for s in fams["gpuplan_clock_event_reason"].samples}
    assert sample.gpus[1].clock_event_reasons
    for r in sample.gpus[1].clock_event_reasons:
        assert reasons[("1", r)] == 1.0
    assert any(v == 0.0 for v in reasons.values())  # every known reason is exported, 0 when absent
    rules = {s.labels["rule"] for s in fams["gpuplan_alert"].samples if s.labels["gpu"] == "1"}
    assert rules & {"temperature_slowdown", "temperature_near_slowdown", "thermal_throttle"}
    verdict = fits_here(10 * (1 << 30), 1, sample)
    assert fams["gpuplan_fits_here"].samples[0].value == float(verdict.fits)
    assert fams["gpuplan_fits_here_replicas"].samples[0].value == verdict.replicas
    assert fams["gpuplan_telemetry_up"].samples[0].labels["simulated"] == "true"


def test_before_the_first_sample_a_scrape_is_empty():
    assert families(LatestSample()) == {}


class CountingBackend(SimulatedBackend):
    calls = 0

    def sample(self) -> HostSample:
        CountingBackend.calls += 1
        return super().sample()


def test_real_http_server_serves_the_latest_sample_and_never_samples_on_a_scrape():
    backend = CountingBackend(n_gpus=2, seed=0, start_time=0.0)
    latest = LatestSample()
    latest.update(backend.sample())
    server = MetricsServer(latest, "127.0.0.1:0", hostname="node-x").start()
    try:
        assert server.port > 0 and server.url.startswith("http://127.0.0.1:")
        before = CountingBackend.calls
        bodies = [httpx.get(server.url, timeout=5.0) for _ in range(3)]
        assert CountingBackend.calls == before  # scrapes read the held sample only
        r = bodies[-1]
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert 'Hostname="node-x"' in r.text and "DCGM_FI_DEV_FB_USED{" in r.text
        # the simulated GPUs run vLLM and torchrun processes: no command line ever leaves the host
        assert "vllm" not in r.text and "torchrun" not in r.text and "alice" not in r.text
        latest.update(backend.sample())
        assert httpx.get(server.url, timeout=5.0).text != r.text  # the next sample is served
    finally:
        server.stop()


@pytest.mark.parametrize("addr,expected", [
    ("127.0.0.1:9400", ("127.0.0.1", 9400)),
    (":9401", ("127.0.0.1", 9401)),
    ("[::1]:9402", ("::1", 9402)),
    ("localhost:0", ("localhost", 0)),
])
def test_parse_listen(addr, expected):
    assert parse_listen(addr) == expected


@pytest.mark.parametrize("addr", ["9400", "host:port", "127.0.0.1:70000", "[::1]9400"])
def test_parse_listen_rejects_malformed_addresses(addr):
    with pytest.raises(ValueError, match="listen address"):
        parse_listen(addr)


def test_non_loopback_bind_is_refused_without_the_flag_and_warns_with_it():
    latest = LatestSample()
    for addr in ("0.0.0.0:0", "10.1.2.3:9400", "[::]:9400", "gpu-node-7:9400"):
        with pytest.raises(BindRefused, match="--allow-remote"):
            MetricsServer(latest, addr)
    assert "reachable beyond this host" in check_bind("0.0.0.0", allow_remote=True)
    assert check_bind("127.0.0.2", allow_remote=False) is None
    assert check_bind("::1", allow_remote=False) is None


def test_a_publishing_backend_serves_the_samples_the_monitor_takes():
    from engine.telemetry.exporter import PublishingBackend
    from engine.telemetry.sampler import Sampler

    latest = LatestSample()
    seen: list[HostSample] = []
    backend = PublishingBackend(SimulatedBackend(n_gpus=2, seed=0, start_time=0.0), latest)
    assert backend.name == "simulated" and backend.simulated
    done = __import__("threading").Event()

    def on_sample(s: HostSample) -> None:
        seen.append(s)
        if len(seen) >= 3:
            done.set()

    sampler = Sampler(backend, on_sample, interval_s=0.01, min_gap_s=0.0)
    sampler.start()
    assert done.wait(10)
    sampler.stop()
    sample, *_ = latest.snapshot()
    assert sample in seen  # the exporter holds one of the monitor's own samples, not a second reading


def test_a_publishing_backend_publishes_an_inner_failure_as_an_error_sample():
    from engine.telemetry.exporter import PublishingBackend

    class Broken(SimulatedBackend):
        def sample(self):
            raise RuntimeError("driver went away")

    latest = LatestSample()
    s = PublishingBackend(Broken(n_gpus=1), latest).sample()
    assert "driver went away" in s.error
    fams = families(latest)
    assert fams["gpuplan_telemetry_up"].samples[0].value == 0.0


def test_the_pcie_replay_counter_under_dcgm_exporters_name_and_the_replay_warning():
    # dcgm-exporter's etc/default-counters.csv: DCGM_FI_DEV_PCIE_REPLAY_COUNTER, "Total number of
    # PCIe retries." (typed counter there; gauge here under the same series name, see exporter.py)
    b = SimulatedBackend(n_gpus=2, seed=3, start_time=1_000_000.0, pcie_replays={1: 0}, slow_every=2)
    latest = LatestSample()
    latest.update(b.sample())
    latest.update(b.sample())  # same slow read: the counter holds
    fams = families(latest, hostname="node-a")
    fam = fams["DCGM_FI_DEV_PCIE_REPLAY_COUNTER"]
    assert fam.documentation == "Total number of PCIe retries."
    assert {s.labels["gpu"]: s.value for s in fam.samples} == {"0": 0.0, "1": 3.0}
    assert all(s.name == "DCGM_FI_DEV_PCIE_REPLAY_COUNTER" and DCGM_LABELS <= set(s.labels) for s in fam.samples)
    assert not [s for s in fams["gpuplan_alert"].samples if s.labels["rule"] == "pcie_replay"]
    latest.update(b.sample())  # the next slow read: GPU 1's counter rose since the previous sample
    fams = families(latest, hostname="node-a")
    assert {s.labels["gpu"]: s.value for s in fams["DCGM_FI_DEV_PCIE_REPLAY_COUNTER"].samples} == {"0": 0, "1": 9}
    (alert,) = [s for s in fams["gpuplan_alert"].samples if s.labels["rule"] == "pcie_replay"]
    assert (alert.labels["gpu"], alert.labels["severity"], alert.labels["Hostname"]) == ("1", "warn", "node-a")


def test_a_gpu_without_a_pcie_replay_counter_has_no_such_series():
    g = dataclasses.replace(sim_sample(1).gpus[0], pcie_replay_count=None)  # NVML: not supported
    latest = LatestSample()
    latest.update(HostSample(timestamp=1.0, hostname="h", backend="nvml", gpus=(g,)))
    fams = families(latest)
    assert "DCGM_FI_DEV_PCIE_REPLAY_COUNTER" not in fams and "DCGM_FI_DEV_GPU_TEMP" in fams
