"""Issue 10 item 11: `--record` traces are gzip JSON lines, rotated under a size cap, and the
replay reads plain and compressed traces alike (a compressed one cut short by a kill too)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from engine.telemetry.replay import ReplayBackend, TraceWriter, read_trace, rotated_path
from engine.telemetry.simulated import SimulatedBackend


def samples(n: int, gpus: int = 8):
    sim = SimulatedBackend(n_gpus=gpus)
    return [sim.sample() for _ in range(n)]


def test_gzip_trace_round_trips_and_is_much_smaller(tmp_path: Path):
    data = samples(200)
    plain, packed = tmp_path / "t.jsonl", tmp_path / "t.jsonl.gz"
    for path in (plain, packed):
        with TraceWriter(path) as w:
            for s in data:
                w.write(s)
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert read_trace(packed) == read_trace(plain) == data
    ratio = plain.stat().st_size / packed.stat().st_size
    assert ratio > 4, ratio
    replay = ReplayBackend(packed, loop=True)
    assert [replay.sample() for _ in range(len(data) + 2)][-2:] == data[:2]  # loops
    replay.close()


def test_a_compressed_trace_killed_mid_write_replays_to_its_last_flush(tmp_path: Path):
    data = samples(30)
    path = tmp_path / "t.jsonl.gz"
    w = TraceWriter(path)
    for s in data:
        w.write(s)
    w._raw.flush()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(path.read_bytes())  # no gzip trailer: the process was killed
    w.close()
    assert read_trace(cut) == data
    replay = ReplayBackend(cut, loop=False)
    got = [replay.sample() for _ in range(len(data))]
    assert got == data and replay.sample() == data[-1] and replay.finished


def test_rotation_keeps_trace_and_its_predecessor_under_the_cap(tmp_path: Path):
    path = tmp_path / "t.jsonl.gz"
    cap = 64 * 1024
    w = TraceWriter(path, max_bytes=cap)
    data = samples(600)
    for s in data:
        w.write(s)
    w.close()
    older = rotated_path(path)
    assert w.rotations >= 2 and older.name == "t.jsonl.1.gz"
    assert path.stat().st_size + older.stat().st_size <= cap + 8192
    tail = read_trace(older) + read_trace(path)
    assert tail == data[-len(tail):]  # the newest samples, in order, nothing torn


def test_existing_compressed_trace_is_rotated_not_clobbered(tmp_path: Path):
    path = tmp_path / "t.jsonl.gz"
    with TraceWriter(path) as w:
        w.write(samples(1)[0])
    first = read_trace(path)
    with TraceWriter(path) as w:
        w.write(samples(2)[1])
    assert read_trace(rotated_path(path)) == first


def test_plain_trace_with_gz_name_that_is_not_a_trace_is_refused(tmp_path: Path):
    path = tmp_path / "other.gz"
    path.write_bytes(gzip.compress(b'{"hello": 1}\n'))
    with pytest.raises(Exception, match="not a gpuplan trace"):
        TraceWriter(path).open()
    assert gzip.decompress(path.read_bytes()) == b'{"hello": 1}\n'
