"""Deterministic synthetic GPUs for demos, tests and `gpuplan watch --simulate N`.

Samples are labelled `simulated=True` (the UI shows SIMULATED). Given the same seed and the same
sequence of `sample()` calls the values are identical. Scripted incidents (a GPU lost at sample k,
a thermal excursion, Xid events) let tests and demos show the alert paths.
"""

from __future__ import annotations

import math
import random
import time
import uuid as uuidlib
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from engine.telemetry.samples import GpuProcess, GpuSample, HostSample, HostStats, XidEvent

GIB = 1 << 30
MIB = 1 << 20
# What an H100 SXM 80GB reports through NVML: 81559 MiB total (nvidia-smi "FB Memory Usage").
H100_80GB_TOTAL_BYTES = 81559 * MIB


@dataclass(frozen=True, slots=True)
class _Profile:
    uuid: str
    bus_id: str
    role: str  # "serving" | "training" | "idle"
    phase: float
    period: float
    base_util: float
    mem_fraction: float
    pid: int
    command: str | None
    user: str | None


class SimulatedBackend:
    simulated = True

    def __init__(
        self,
        n_gpus: int = 8,
        seed: int = 0,
        gpu_name: str = "NVIDIA H100 80GB HBM3",
        memory_total_bytes: int = H100_80GB_TOTAL_BYTES,
        *,
        temp_slowdown_c: int = 87,
        temp_shutdown_c: int = 92,
        power_limit_w: float = 700.0,
        sm_clock_max_mhz: int = 1980,
        mem_clock_max_mhz: int = 2619,
        lose_gpu_at: Mapping[int, int] | None = None,
        thermal: Mapping[int, tuple[int, int]] | None = None,
        xids: Sequence[tuple[int, int, int]] = (),
        pcie_replays: Mapping[int, int] | None = None,
        start_time: float | None = None,
        interval_s: float = 1.0,
        hostname: str = "sim-host",
        wallclock: Callable[[], float] = time.time,
        slow_every: int = 5,
    ) -> None:
        """`lose_gpu_at={gpu: k}`: GPU is lost from sample k on (k counts from 0).
        `thermal={gpu: (start, end)}`: temperature climbs to the slowdown threshold and beyond
        during samples [start, end) with thermal clock events. `xids=[(k, gpu, xid), ...]`: an
        Xid event on that GPU at sample k. `pcie_replays={gpu: k}`: from sample k on, that
        GPU's PCIe replay counter rises (a marginal link), read at the slow cadence as NvmlBackend
        reads it; other GPUs' counters stay 0. `start_time`: timestamps start_time + k*interval_s
        (fully reproducible); otherwise wall-clock time. `slow_every`: the process list is read
        every that many samples and reused in between, as NvmlBackend does (so the simulated
        backend costs the UI no more than real NVML)."""
        if n_gpus < 0:
            raise ValueError("n_gpus must be >= 0")
        self.n_gpus = n_gpus
        self.seed = seed
        self.gpu_name = gpu_name
        self.memory_total_bytes = memory_total_bytes
        self.temp_slowdown_c = temp_slowdown_c
        self.temp_shutdown_c = temp_shutdown_c
        self.power_limit_w = power_limit_w
        self.sm_clock_max_mhz = sm_clock_max_mhz
        self.mem_clock_max_mhz = mem_clock_max_mhz
        self.lose_gpu_at = dict(lose_gpu_at or {})
        self.thermal = dict(thermal or {})
        self.xids = tuple(xids)
        self.pcie_replays = dict(pcie_replays or {})
        self.start_time = start_time
        self.interval_s = interval_s
        self.hostname = hostname
        self._wallclock = wallclock
        self._rng = random.Random(seed)
        self._profiles = tuple(self._make_profile(i) for i in range(n_gpus))
        self._temps = [34.0 + self._rng.random() * 4 for _ in range(n_gpus)]
        self._k = 0
        self.slow_every = max(1, slow_every)
        self._procs: dict[int, tuple[GpuProcess, ...]] = {}

    @property
    def name(self) -> str:
        return "simulated"

    @property
    def samples_taken(self) -> int:
        return self._k

    def _make_profile(self, i: int) -> _Profile:
        rng = self._rng
        n = self.n_gpus
        serving = max(1, n // 2)
        training = n // 4
        role = "serving" if i < serving else "training" if i < serving + training else "idle"
        uid = str(uuidlib.UUID(int=rng.getrandbits(128), version=4))
        if role == "serving":
            tp = min(4, serving)
            command = (
                "python3 -m vllm.entrypoints.openai.api_server --model meta-llama/Llama-3.1-70B-Instruct "
                f"--tensor-parallel-size {tp} --gpu-memory-utilization 0.90"
            )
            user, base, mem = "llm", 55.0, 0.90
        elif role == "training":
            command = "torchrun --nproc-per-node 2 train.py --config lora-8b.yaml"
            user, base, mem = "alice", 88.0, 0.62 + 0.1 * rng.random()
        else:
            command, user, base, mem = None, None, 0.0, 0.006
        return _Profile(
            uuid=f"GPU-{uid}",
            bus_id=f"00000000:{0x18 + 0x10 * i:02X}:00.0",
            role=role,
            phase=rng.random() * 2 * math.pi,
            period=40.0 + 80.0 * rng.random(),
            base_util=base,
            mem_fraction=mem,
            pid=4100 + 37 * i if role == "serving" else 9000 + 11 * i,
            command=command,
            user=user,
        )

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def sample(self) -> HostSample:
        k = self._k
        self._k += 1
        ts = self.start_time + k * self.interval_s if self.start_time is not None else self._wallclock()
        events: dict[int, list[XidEvent]] = {}
        for at, gpu, xid in self.xids:
            if at == k:
                events.setdefault(gpu, []).append(XidEvent(ts, gpu, "xid", xid))
        gpus = tuple(self._gpu(i, k, tuple(events.get(i, ())), ts) for i in range(self.n_gpus))
        return HostSample(
            timestamp=ts,
            hostname=self.hostname,
            backend=self.name,
            simulated=True,
            gpus=gpus,
            driver_version="550.54.15",
            cuda_version="12.4",
            nvml_version="12.550.54.15",
            host=self._host(k, gpus),
        )

    def _host(self, k: int, gpus: tuple[GpuSample, ...]) -> HostStats:
        """A 64-core, 1 TiB host whose CPU follows the GPUs' load (data loaders, tokenizers)."""
        busy = [g.gpu_util_pct or 0 for g in gpus if g.state == "ok"]
        mean = sum(busy) / len(busy) if busy else 0.0
        cpu = min(100.0, 4.0 + 0.3 * mean + 2.0 * math.sin(k / 7.0))
        total = 1024 * GIB
        used = int(total * (0.18 + 0.02 * math.sin(k / 23.0)))
        load = 64 * cpu / 100.0
        return HostStats(
            cpu_pct=round(cpu, 1), cpu_count=64, mem_total_bytes=total, mem_used_bytes=used,
            swap_total_bytes=8 * GIB, swap_used_bytes=256 * MIB,
            load_1=round(load, 2), load_5=round(load * 0.95, 2), load_15=round(load * 0.9, 2),
        )

    def _replays(self, i: int, k: int) -> int:
        """A marginal link retries a few packets per second; the counter is read every
        `slow_every` samples, so it holds between reads (as NvmlBackend's does)."""
        since = self.pcie_replays.get(i)
        read_at = k - k % self.slow_every
        if since is None or read_at < since:
            return 0
        return 3 * (read_at - since + 1)

    def _gpu(self, i: int, k: int, events: tuple[XidEvent, ...], ts: float) -> GpuSample:
        p = self._profiles[i]
        rng = self._rng
        lost_at = self.lose_gpu_at.get(i)
        if lost_at is not None and k >= lost_at:
            return GpuSample(
                index=i,
                uuid=p.uuid,
                name=self.gpu_name,
                bus_id=p.bus_id,
                state="lost",
                error="NVML: GPU is lost",
                xid_events=events,
            )
        # utilisation: a slow wave (traffic) plus noise
        if p.role == "idle":
            util = 0.0
        else:
            wave = math.sin(2 * math.pi * k / p.period + p.phase)
            amp = 40.0 if p.role == "serving" else 8.0
            util = min(100.0, max(0.0, p.base_util + amp * wave + rng.gauss(0.0, 4.0)))
        total = self.memory_total_bytes
        reserved = 512 * MIB
        used = int(total * p.mem_fraction)
        if p.role == "training":
            used += int(2 * GIB * math.sin(2 * math.pi * k / 17.0 + p.phase))
        used = max(0, min(used, total - reserved))
        free = total - reserved - used
        # temperature lags the load
        target = 31.0 + 0.42 * util
        t = self._temps[i] + (target - self._temps[i]) * 0.15
        reasons: list[str] = []
        window = self.thermal.get(i)
        hot = window is not None and window[0] <= k < window[1]
        if hot:
            assert window is not None
            t = float(min(self.temp_slowdown_c + 2, self.temp_slowdown_c - 6 + (k - window[0])))
            if t >= self.temp_slowdown_c:
                reasons += ["sw_thermal_slowdown", "hw_thermal_slowdown"]
        self._temps[i] = t
        power = min(self.power_limit_w, 68.0 + 6.3 * util + rng.random() * 4.0)
        if util < 1.0:
            reasons.insert(0, "gpu_idle")
        elif power >= self.power_limit_w - 5.0:
            reasons.append("sw_power_cap")
        sm_clock = self.sm_clock_max_mhz if util >= 1.0 else 345
        if hot and t >= self.temp_slowdown_c:
            sm_clock = int(self.sm_clock_max_mhz * 0.7)
        processes: tuple[GpuProcess, ...] = ()
        if p.command is not None and i in self._procs and k % self.slow_every:
            processes = self._procs[i]
        elif p.command is not None:
            started = (self.start_time if self.start_time is not None else ts - k * self.interval_s) - 3600.0 * (1 + i)
            processes = (GpuProcess(
                p.pid, p.user, p.command, max(0, used - 420 * MIB), "compute",
                sm_util_pct=int(round(util * 0.97)), mem_bw_util_pct=int(round(util * 0.55)),
                cpu_pct=round(100.0 + util if p.role == "serving" else 60.0 + util / 2, 1),
                host_mem_pct=round(1.2 + 0.1 * i, 1), host_rss_bytes=(12 + i) * GIB,
                started_at=started, in_namespace=True,
            ),)
            self._procs[i] = processes
        busy = util >= 1.0
        return GpuSample(
            index=i,
            uuid=p.uuid,
            name=self.gpu_name,
            bus_id=p.bus_id,
            state="ok",
            gpu_util_pct=int(round(util)),
            mem_util_pct=int(round(util * 0.55)),
            memory_total_bytes=total,
            memory_used_bytes=used,
            memory_free_bytes=free,
            memory_reserved_bytes=reserved,
            temperature_c=int(round(t)),
            temp_slowdown_c=self.temp_slowdown_c,
            temp_shutdown_c=self.temp_shutdown_c,
            power_w=round(power, 1),
            power_limit_w=self.power_limit_w,
            power_default_limit_w=self.power_limit_w,
            sm_clock_mhz=sm_clock,
            sm_clock_max_mhz=self.sm_clock_max_mhz,
            mem_clock_mhz=self.mem_clock_max_mhz,
            mem_clock_max_mhz=self.mem_clock_max_mhz,
            fan_pct=None,  # SXM boards have no fan of their own
            pstate=0 if busy else 1,
            clock_event_reasons=tuple(reasons),
            ecc_corrected_volatile=0,
            ecc_uncorrected_volatile=0,
            ecc_corrected_aggregate=0,
            ecc_uncorrected_aggregate=0,
            retired_pages_sbe=None,  # Hopper uses row remapping, not page retirement
            retired_pages_dbe=None,
            retired_pages_pending=None,
            remapped_rows_correctable=0,
            remapped_rows_uncorrectable=0,
            remap_pending=False,
            remap_failure=False,
            pcie_gen=5 if busy else 1,
            pcie_gen_max=5,
            pcie_width=16,
            pcie_width_max=16,
            pcie_tx_kbps=int(util * 900),
            pcie_rx_kbps=int(util * 1400),
            pcie_replay_count=self._replays(i, k),
            encoder_util_pct=0,
            decoder_util_pct=0,
            mig_mode=False,
            mig_instances=0,
            persistence_mode=True,
            compute_mode="default",
            processes=processes,
            xid_events=events,
        )
