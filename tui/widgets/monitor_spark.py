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


class _Kept:
    __slots__ = ("ring", "bucket", "maxima", "end", "out")

    def __init__(self, ring: Ring, bucket: int) -> None:
        self.ring, self.bucket = ring, bucket
        self.maxima: dict[int, float | None] = {}  # absolute bucket number -> max (None: all gaps)
        self.end = -1  # end_index of the last answer
        self.out: list[float | None] = []


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


class SparkPoints:
    """Bucket maxima per (GPU, metric, width), for `points`."""

    def __init__(self) -> None:
        self._kept: dict[tuple, _Kept] = {}

    def points(self, key: tuple, ring: Ring | None, width: int, bucket: int,
               end_index: int) -> list[float | None]:
        """What `bucketed(list(ring), width, bucket, end_index)` returns (callers do not
        modify the list)."""
        n = 0 if ring is None else len(ring)
        if n == 0 or width <= 0 or ring is None:
            return []
        if bucket <= 1:
            return ring.slice(n - width, n)
        kept = self._kept.get(key)
        if kept is None or kept.ring is not ring or kept.bucket != bucket:
            kept = self._kept[key] = _Kept(ring, bucket)
        first_abs = end_index - n  # absolute number of the oldest point in the ring
        newest = (end_index - 1) // bucket
        out = kept.out
        if kept.end == end_index and out:
            return out
        if kept.end == end_index - 1 and out:
            # one new point: the buckets before the newest are as they were; the newest takes the
            # point, or the point opens a bucket and the one before is now complete
            before = (kept.end - 1) // bucket
            (v,) = ring.slice(n - 1, n)
            if newest == before:
                new = out[:-1]
                new.append(_max(out[-1], v))
            else:
                kept.maxima[before] = out[-1]
                new = out + [v]
                if len(new) > width:
                    del new[0]
            oldest = newest - len(new) + 1
            if oldest * bucket >= first_abs:  # still all in the ring: otherwise read afresh
                kept.end, kept.out = end_index, new
                return new
        maxima = kept.maxima
        out = []
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
        kept.end, kept.out = end_index, out
        return out


__all__ = ["SparkPoints"]
