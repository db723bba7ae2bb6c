"""The Monitor's sparkline points, kept from sample to sample.

A sparkline `width` cells wide shows the maximum of each bucket of `bucket` consecutive samples
(monitor_format.bucketed: buckets aligned to absolute sample numbers, newest last). A bucket
older than the newest one is complete: its points never change while they stay in the ring, so
its maximum is kept and only the newest bucket is read again when a sample arrives; 32 series
(8 GPUs x 4 metrics) then cost a few points each per sample instead of the whole 10-minute
history. A kept maximum is used only while all of its bucket is still in the same ring (the
oldest points fall out of a full ring; a GPU replaced at its index gets a new ring), and the
maxima are kept per bucket size, so one that changes as the history grows starts afresh.
"""

from __future__ import annotations

from engine.telemetry.history import Ring


class SparkPoints:
    """Bucket maxima per (GPU, metric, bucket size), for `points`."""

    def __init__(self) -> None:
        # (gpu, metric) -> (ring, bucket size, {absolute bucket number: max or None})
        self._kept: dict[tuple[int, str], tuple[Ring, int, dict[int, float | None]]] = {}

    def points(self, key: tuple[int, str], ring: Ring | None, width: int, bucket: int,
               end_index: int) -> list[float | None]:
        """What `bucketed(list(ring), width, bucket, end_index)` returns."""
        n = 0 if ring is None else len(ring)
        if n == 0 or width <= 0 or ring is None:
            return []
        if bucket <= 1:
            return ring.slice(n - width, n)
        kept = self._kept.get(key)
        if kept is None or kept[0] is not ring or kept[1] != bucket:
            kept = self._kept[key] = (ring, bucket, {})
        maxima = kept[2]
        first_abs = end_index - n  # absolute number of the oldest point in the ring
        newest = (end_index - 1) // bucket
        out: list[float | None] = []
        b = newest
        while len(out) < width:
            lo_abs = b * bucket
            hi = min(end_index, lo_abs + bucket) - first_abs
            if hi <= 0:
                break
            complete = b < newest and lo_abs >= first_abs
            if complete and b in maxima:
                v = maxima[b]
            else:
                values = [x for x in ring.slice(lo_abs - first_abs, hi) if x is not None]
                v = max(values) if values else None
                if complete:
                    maxima[b] = v
            out.append(v)
            b -= 1
        if len(maxima) > 2 * width + 2:  # forget the buckets that scrolled out of the line
            for old in [k for k in maxima if k <= newest - width]:
                del maxima[old]
        out.reverse()
        return out


__all__ = ["SparkPoints"]
