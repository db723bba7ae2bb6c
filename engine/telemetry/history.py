"""Bounded per-GPU history of utilisation, memory, temperature and power for sparklines.

Ring buffers: O(1) append, never more than `capacity` points per GPU, so a watch running for days
stays at a fixed size. Each ring is one preallocated array of C doubles (8 bytes a point, NaN for
a gap) rather than a deque of Python floats (~32 bytes a point, allocated as it fills): at 10 Hz
the 10-minute window is 6,000 points x 5 series per GPU, which as floats grew RSS by ~13 MB over
the first ten minutes of an 8-GPU watch (issue 10, soak). A GPU that is lost records a gap (None).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator

from engine.telemetry.samples import GpuSample, HostSample

METRICS: tuple[str, ...] = (
    "gpu_util_pct", "memory_used_pct", "temperature_c", "power_w", "mem_util_pct", "sm_clock_mhz", "mem_clock_mhz",
)
HOST_METRICS: tuple[str, ...] = ("cpu_pct", "mem_pct", "swap_pct", "load_1")

DEFAULT_WINDOW_S = 600.0


class Ring:
    """A fixed-size ring of floats (None stored as NaN), oldest first when iterated."""

    __slots__ = ("_data", "_start", "_len", "_none")

    def __init__(self, capacity: int, none_as_nan: bool = True) -> None:
        self._data = array("d", bytes(8 * capacity))  # allocated once, up front
        self._start = 0
        self._len = 0
        self._none = none_as_nan

    def append(self, value: float | None) -> None:
        cap = len(self._data)
        v = math.nan if value is None else float(value)
        if self._len < cap:
            self._data[(self._start + self._len) % cap] = v
            self._len += 1
        else:
            self._data[self._start] = v
            self._start = (self._start + 1) % cap

    def __len__(self) -> int:
        return self._len

    def slice(self, lo: int, hi: int) -> list[float | None]:
        """Points `lo` to `hi - 1` (0 is the oldest kept), without copying the rest of the ring."""
        lo, hi = max(0, lo), min(self._len, hi)
        if hi <= lo:
            return []
        cap, data = len(self._data), self._data
        a, b = (self._start + lo) % cap, (self._start + hi) % cap
        values = list(data[a:b]) if a < b else list(data[a:]) + list(data[:b])
        if self._none:
            return [None if v != v else v for v in values]
        return values

    def __iter__(self) -> Iterator[float | None]:
        cap, start, data = len(self._data), self._start, self._data
        end = start + self._len
        values = list(data[start:min(end, cap)]) + (list(data[: end - cap]) if end > cap else [])
        if self._none:
            return iter([None if v != v else v for v in values])
        return iter(values)


class GpuHistory:
    __slots__ = ("uuid", "times") + METRICS

    def __init__(self, capacity: int, uuid: str | None) -> None:
        self.uuid = uuid
        self.times = Ring(capacity, none_as_nan=False)
        for m in METRICS:
            setattr(self, m, Ring(capacity))

    def append(self, t: float, g: GpuSample) -> None:
        self.times.append(t)
        if g.state != "ok":
            for m in METRICS:
                getattr(self, m).append(None)
            return
        frac = g.memory_used_fraction
        self.gpu_util_pct.append(None if g.gpu_util_pct is None else float(g.gpu_util_pct))
        self.memory_used_pct.append(None if frac is None else frac * 100.0)
        self.temperature_c.append(None if g.temperature_c is None else float(g.temperature_c))
        self.power_w.append(g.power_w)
        self.mem_util_pct.append(None if g.mem_util_pct is None else float(g.mem_util_pct))
        self.sm_clock_mhz.append(None if g.sm_clock_mhz is None else float(g.sm_clock_mhz))
        self.mem_clock_mhz.append(None if g.mem_clock_mhz is None else float(g.mem_clock_mhz))

    def __len__(self) -> int:
        return len(self.times)


class History:
    """History of every GPU seen, `window_s` long at `interval_s` sampling (default 10 minutes)."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, interval_s: float = 1.0) -> None:
        if window_s <= 0 or interval_s <= 0:
            raise ValueError("window_s and interval_s must be > 0")
        self.capacity = max(1, math.ceil(window_s / interval_s))
        self._gpus: dict[int, GpuHistory] = {}
        # the host panel's history (CPU, RAM, swap, load); a gap (None) where a sample had none
        self._host: dict[str, Ring] = {m: Ring(self.capacity) for m in HOST_METRICS}

    def append_host(self, sample: HostSample) -> None:
        h = sample.host
        values = {
            "cpu_pct": None if h is None else h.cpu_pct,
            "mem_pct": None if h is None else h.mem_pct,
            "swap_pct": None if h is None else h.swap_pct,
            "load_1": None if h is None else h.load_1,
        }
        for m, v in values.items():
            self._host[m].append(v)

    def _host_ring(self, metric: str) -> Ring:
        if metric not in HOST_METRICS:
            raise KeyError(f"unknown host metric {metric!r}; one of {', '.join(HOST_METRICS)}")
        return self._host[metric]

    def host_series(self, metric: str) -> list[float | None]:
        return list(self._host_ring(metric))

    def host_tail(self, metric: str, k: int) -> list[float | None]:
        """The newest `k` points of a host series (what the host panel's sparklines show)."""
        ring = self._host_ring(metric)
        return ring.slice(len(ring) - k, len(ring))

    @property
    def host_points(self) -> int:
        return len(self._host["cpu_pct"])

    def append(self, sample: HostSample) -> None:
        t = sample.timestamp
        for g in sample.gpus:
            h = self._gpus.get(g.index)
            # a different physical GPU at this index (another host's replay): start afresh
            if h is None or (g.uuid is not None and h.uuid is not None and g.uuid != h.uuid):
                h = self._gpus[g.index] = GpuHistory(self.capacity, g.uuid)
            elif h.uuid is None:
                h.uuid = g.uuid
            h.append(t, g)

    def gpu_indices(self) -> list[int]:
        return sorted(self._gpus)

    def gpu(self, index: int) -> GpuHistory | None:
        return self._gpus.get(index)

    def series(self, index: int, metric: str) -> list[float | None]:
        """Oldest first; None marks N/A or a lost GPU."""
        ring = self.ring(index, metric)
        return [] if ring is None else list(ring)

    def ring(self, index: int, metric: str) -> Ring | None:
        """The ring itself (its `slice` reads a few points; a GPU replaced at this index gets a
        new ring, so a reader can tell its cached view is of another GPU)."""
        if metric not in METRICS:
            raise KeyError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
        h = self._gpus.get(index)
        return None if h is None else getattr(h, metric)

    def times(self, index: int) -> list[float]:
        h = self._gpus.get(index)
        return [] if h is None else list(h.times)

    def __len__(self) -> int:
        """Points kept for the GPU with the most."""
        return max((len(h) for h in self._gpus.values()), default=0)

    def clear(self) -> None:
        self._gpus.clear()
        self._host = {m: Ring(self.capacity) for m in HOST_METRICS}
