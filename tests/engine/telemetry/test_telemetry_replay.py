"""Trace format: record -> replay round trip, and clear errors for bad traces."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from engine.telemetry.backend import BackendUnavailable, create_backend
from engine.telemetry.replay import (
    TRACE_FORMAT,
    TRACE_VERSION,
    RecordingBackend,
    ReplayBackend,
    TraceError,
    TraceWriter,
    read_trace,
    sample_from_dict,
    sample_to_dict,
)
from engine.telemetry.samples import GpuProcess, GpuSample, HostSample, XidEvent
from engine.telemetry.scripted import ScriptedBackend
from engine.telemetry.simulated import SimulatedBackend

DATA = Path(__file__).parent / "data"


def simulated_samples(n: int = 12) -> list[HostSample]:
    b = SimulatedBackend(4, seed=3, start_time=1_700_000_000.0, lose_gpu_at={2: 5}, xids=[(3, 1, 79)], thermal={0: (0, 9)})
    return [b.sample() for _ in range(n)]


def record(path: Path, samples: list[HostSample]) -> None:
    with TraceWriter(path, source="test") as w:
        for s in samples:
            w.write(s)


def test_record_simulated_then_replay_equals(tmp_path: Path):
    samples = simulated_samples()
    assert any(g.state == "lost" for g in samples[-1].gpus) and samples[3].xid_events
    p = tmp_path / "t.jsonl"
    record(p, samples)
    assert read_trace(p) == samples
    r = ReplayBackend(p, loop=False)
    got = [r.sample() for _ in range(len(samples))]
    assert got == samples
    assert all(s.simulated for s in got)
    assert not r.finished
    # past the end without loop: the last sample again, flagged finished
    assert r.sample() == samples[-1] and r.finished
    r.close()


def test_replay_loops(tmp_path: Path):
    samples = simulated_samples(3)
    p = tmp_path / "t.jsonl"
    record(p, samples)
    r = ReplayBackend(p)  # loop=True by default
    assert [r.sample() for _ in range(7)] == samples * 2 + samples[:1]
    assert r.position == 1


def test_retime_replaces_timestamps(tmp_path: Path):
    p = tmp_path / "t.jsonl"
    record(p, simulated_samples(2))
    r = ReplayBackend(p, retime=True, wallclock=lambda: 42.0)
    assert r.sample().timestamp == 42.0


def test_header_and_compact_lines(tmp_path: Path):
    p = tmp_path / "t.jsonl"
    lost = GpuSample(index=0, uuid="GPU-x", state="lost", error="NVML: GPU is lost")
    record(p, [HostSample(timestamp=1.0, hostname="h", backend="nvml", gpus=(lost,))])
    header, line = p.read_text().splitlines()
    h = json.loads(header)
    assert h["format"] == TRACE_FORMAT == "gpuplan-trace" and h["version"] == TRACE_VERSION == 1
    assert h["source"] == "test" and "created" in h
    d = json.loads(line)
    assert d["gpus"][0] == {"index": 0, "uuid": "GPU-x", "state": "lost", "error": "NVML: GPU is lost"}


def test_dict_round_trip_and_unknown_keys():
    s = HostSample(
        timestamp=5.5,
        hostname="h",
        backend="nvml",
        driver_version="550.54.15",
        gpus=(
            GpuSample(
                index=0,
                power_w=300,
                clock_event_reasons=("hw_slowdown",),
                processes=(GpuProcess(1, "u", "cmd", None, "graphics"),),
                xid_events=(XidEvent(5.0, 0, "xid", 79),),
            ),
        ),
    )
    d = sample_to_dict(s)
    assert d["gpus"][0]["processes"][0]["kind"] == "graphics" and d["gpus"][0]["fan_pct"] is None
    d["a_future_field"] = 1
    back = sample_from_dict(json.loads(json.dumps(d)))
    assert back == s and isinstance(back.gpus[0].clock_event_reasons, tuple)
    assert isinstance(back.gpus[0].power_w, float)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("timestamp"), "timestamp: missing"),
        (lambda d: d["gpus"][0].update(index="0"), "gpus[0].index: expected an integer"),
        (lambda d: d["gpus"][0].update(index=True), "gpus[0].index: expected an integer"),
        (lambda d: d["gpus"][0].update(state="melted"), "gpus[0].state: 'melted' is not one of"),
        (lambda d: d["gpus"][0].update(processes={}), "gpus[0].processes: expected a list"),
        (lambda d: d.update(gpus=[1]), "gpus[0]: expected an object"),
    ],
)
def test_bad_fields_are_named(mutate, needle: str):  # noqa: ANN001
    d = sample_to_dict(simulated_samples(1)[0])
    mutate(d)
    with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        sample_from_dict(d)


# ---- bad traces -----------------------------------------------------------------------------


def test_corrupt_fixture_names_file_and_line():
    p = DATA / "corrupt_line4.jsonl"
    with pytest.raises(TraceError) as e:
        read_trace(p)
    assert e.value.line == 4 and e.value.path == str(p)
    assert str(e.value).startswith(f"{p}, line 4: corrupt line")
    # the replay backend plays the good lines, then names the bad one
    r = ReplayBackend(p)
    assert r.sample().gpus[0].index == 0 and r.sample().timestamp == 2.0
    with pytest.raises(TraceError, match="line 4"):
        r.sample()


def test_good_fixture_replays():
    samples = read_trace(DATA / "two_gpus_lost.jsonl")
    assert [[g.state for g in s.gpus] for s in samples] == [["ok", "ok"], ["ok", "lost"], ["ok", "backoff"]]


def test_bad_sample_names_line_and_field(tmp_path: Path):
    p = tmp_path / "t.jsonl"
    record(p, simulated_samples(3))
    lines = p.read_text().splitlines()
    d = json.loads(lines[2])
    d["gpus"][1]["memory_used_bytes"] = "lots"
    lines[2] = json.dumps(d)
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match=r"line 3: bad sample: gpus\[1\]\.memory_used_bytes: expected an integer"):
        read_trace(p)


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        ('{"format": "gpuplan-trace", "version": 2}\n', 1, "unsupported trace version 2"),
        ('{"format": "something-else", "version": 1}\n', 1, "not a gpuplan trace"),
        ("timestamp,gpu,util\n1,0,50\n", 1, "header is not JSON"),
        ("", None, "empty file"),
        ('{"format": "gpuplan-trace", "version": 1}\n', 2, "no samples"),
    ],
)
def test_wrong_header_or_version(tmp_path: Path, content: str, line: int | None, needle: str):
    p = tmp_path / "bad.jsonl"
    p.write_text(content)
    with pytest.raises(TraceError) as e:
        ReplayBackend(p).open()
    assert e.value.line == line and needle in str(e.value) and str(p) in str(e.value)
    assert isinstance(e.value, BackendUnavailable)


def test_missing_file(tmp_path: Path):
    with pytest.raises(TraceError, match="cannot open trace"):
        ReplayBackend(tmp_path / "nope.jsonl").open()


def test_create_backend_fails_early_on_a_bad_replay(tmp_path: Path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"format": "gpuplan-trace", "version": 99}\n')
    with pytest.raises(TraceError, match="line 1"):
        create_backend(replay=p)


def test_partial_last_line_ends_the_replay(tmp_path: Path):
    p = tmp_path / "t.jsonl"
    samples = simulated_samples(3)
    record(p, samples)
    with open(p, "a") as f:
        f.write('{"timestamp": 9, "hostna')  # killed mid-write
    r = ReplayBackend(p, loop=True)
    assert [r.sample() for _ in range(4)] == samples + samples[:1]
    with pytest.raises(TraceError, match="line 5"):  # the strict reader still reports it
        read_trace(p)


# ---- writer ---------------------------------------------------------------------------------


def test_writer_appends_to_an_existing_trace(tmp_path: Path):
    p = tmp_path / "t.jsonl"
    samples = simulated_samples(4)
    record(p, samples[:2])
    with open(p, "a") as f:
        f.write('{"timestamp": 9, "ho')  # a crash left half a line
    record(p, samples[2:])
    text = p.read_text()
    assert text.count('"format":"gpuplan-trace"') == 1
    assert read_trace(p) == samples


def test_writer_never_clobbers_another_file(tmp_path: Path):
    p = tmp_path / "notes.txt"
    p.write_text("my notes\n")
    with pytest.raises(TraceError, match="not a gpuplan trace"):
        TraceWriter(p).open()
    assert p.read_text() == "my notes\n"


def test_recording_backend_writes_every_sample(tmp_path: Path):
    p = tmp_path / "rec.jsonl"
    samples = simulated_samples(3)
    rb = RecordingBackend(ScriptedBackend(samples, name="nvml"), TraceWriter(p))
    rb.open()
    assert [rb.sample() for _ in range(3)] == samples
    assert rb.name == "nvml"
    rb.close()
    assert read_trace(p) == samples


def test_create_backend_with_record(tmp_path: Path):
    p = tmp_path / "rec.jsonl"
    b = create_backend(simulate=2, record=p)
    b.open()
    s = b.sample()
    b.close()
    assert read_trace(p) == [s] and s.simulated and len(s.gpus) == 2


def test_recording_failure_keeps_monitoring(tmp_path: Path):
    class Broken(TraceWriter):
        def write(self, sample: HostSample) -> None:
            raise OSError(28, "No space left on device")

    samples = simulated_samples(2)
    rb = RecordingBackend(ScriptedBackend(samples), Broken(tmp_path / "x.jsonl"))
    assert rb.sample() == samples[0] and rb.sample() == samples[1]
    assert rb.record_error is not None and "No space left" in rb.record_error


def test_fixtures_are_current_format():
    # keep the fixtures in step with the writer: re-encoding the good one is stable
    samples = read_trace(DATA / "two_gpus_lost.jsonl")
    assert [sample_from_dict(sample_to_dict(s)) for s in samples] == samples
    assert replace(samples[0], timestamp=0.0) != samples[0]


def test_pcie_replay_counts_round_trip_and_old_traces_without_them_still_replay(tmp_path: Path):
    # a trace written before the field existed: every count is N/A, and the replay rule is silent
    from engine.telemetry.health import RULE_PCIE_REPLAY, evaluate

    old = read_trace(DATA / "two_gpus_lost.jsonl")
    assert b"pcie_replay" not in (DATA / "two_gpus_lost.jsonl").read_bytes()
    assert {g.pcie_replay_count for s in old for g in s.gpus} == {None}
    assert not any(a.rule == RULE_PCIE_REPLAY for p, s in zip(old, old[1:]) for a in evaluate(s, previous=p))
    # a new one keeps the counts, and replaying it raises the warning where the counter rose
    b = SimulatedBackend(2, seed=1, start_time=1_700_000_000.0, pcie_replays={1: 4}, slow_every=5)
    samples = [b.sample() for _ in range(12)]
    path = tmp_path / "replays.jsonl"
    record(path, samples)
    back = read_trace(path)
    assert back == samples
    assert [s.gpus[1].pcie_replay_count for s in back] == [0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 21, 21]
    assert {s.gpus[0].pcie_replay_count for s in back} == {0}
    raised = [(k, a.gpu_index) for k, (p, s) in enumerate(zip(back, back[1:]), 1)
              for a in evaluate(s, previous=p) if a.rule == RULE_PCIE_REPLAY]
    assert raised == [(5, 1), (10, 1)]
