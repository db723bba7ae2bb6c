"""The kept sparkline maxima (tui/widgets/monitor_spark.py) are what re-bucketing the whole
history gives, sample after sample: as the history grows and the bucket size with it, once
the ring is full and its oldest points fall out, across gaps (None), and when another GPU
takes the index (a new ring) — a kept maximum never outlives the points it was taken from."""

from __future__ import annotations

import random

from engine.telemetry.history import Ring
from tui.widgets.monitor_format import bucketed
from tui.widgets.monitor_spark import SparkPoints


def _value(rng: random.Random) -> float | None:
    return None if rng.random() < 0.1 else round(rng.uniform(0, 100), 1)


def test_kept_maxima_match_rebucketing_the_whole_history_every_sample():
    rng = random.Random(7)
    capacity = 120
    ring = Ring(capacity)
    memo = SparkPoints()
    end = 0  # absolute number of points appended at this index
    for step in range(700):
        if step == 400:  # another GPU at this index: a new ring, the count goes on
            ring = Ring(capacity)
        ring.append(_value(rng))
        end += 1
        for width in (7, 25, 40):
            n = len(ring)
            bucket = max(1, min(n, capacity) // width)
            expected = bucketed(list(ring), width, bucket, end)
            assert memo.points((0, "m", width), ring, width, bucket, end) == expected, (step, width)


def test_a_spike_in_a_bucket_shows_until_its_points_leave_the_ring():
    ring = Ring(40)
    memo = SparkPoints()
    for k in range(40):
        ring.append(99.0 if k == 0 else 1.0)
    assert memo.points((0, "m", 10), ring, 10, 5, 40)[0] == 99.0  # 8 buckets of 5: all the ring
    ring.append(1.0)  # the spike falls out: its bucket is no longer whole, read afresh
    got = memo.points((0, "m", 10), ring, 10, 5, 41)
    assert len(got) == 9 and 99.0 not in got and got == bucketed(list(ring), 10, 5, 41)


def test_ring_slice_reads_across_the_wrap():
    ring = Ring(5)
    for v in [1, 2, None, 4, 5, 6, 7]:
        ring.append(v)
    assert list(ring) == [None, 4.0, 5.0, 6.0, 7.0]
    assert ring.slice(0, 5) == list(ring)
    assert ring.slice(1, 4) == [4.0, 5.0, 6.0]
    assert ring.slice(3, 99) == [6.0, 7.0] and ring.slice(-3, 1) == [None] and ring.slice(4, 2) == []


def test_host_tail_is_the_end_of_the_host_series():
    from engine.telemetry.history import History
    from engine.telemetry.samples import HostSample, HostStats

    h = History(window_s=5, interval_s=1)
    for k in range(8):
        stats = None if k == 5 else HostStats(cpu_pct=float(k), load_1=1.0)
        h.append_host(HostSample(timestamp=float(k), hostname="h", backend="scripted", host=stats))
    for k in (1, 3, 5, 9):
        assert h.host_tail("cpu_pct", k) == h.host_series("cpu_pct")[-k:]
    assert h.host_tail("cpu_pct", 3) == [None, 6.0, 7.0]
