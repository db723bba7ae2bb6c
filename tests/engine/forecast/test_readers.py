"""History readers: CSV (columns, time zones, DST, malformed rows), Prometheus exports, traces."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from engine.forecast.errors import HistoryError
from engine.forecast.readers import read_history_file

from .series import START


def _csv(tmp_path, text, name="h.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_iso_epoch_and_offsets_all_read_as_utc(tmp_path):
    p = _csv(tmp_path, "timestamp,rps\n2024-01-01T00:00:00Z,1\n2024-01-01T02:00:00+01:00,2\n1704070800,3\n")
    h = read_history_file(p)
    assert h.times == [START, START + 3600, START + 3600]
    assert h.values == [1.0, 2.0, 3.0] and h.unit == "rps"


def test_naive_timestamps_are_utc_and_say_so(tmp_path):
    h = read_history_file(_csv(tmp_path, "time,value\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n"))
    assert h.times == [START, START + 3600]
    assert [r.kind for r in h.repairs] == ["timezone"] and "UTC" in h.repairs[0].detail


def test_column_picks_one_of_several(tmp_path):
    p = _csv(tmp_path, "ts,rps,tokens\n2024-01-01T00:00:00Z,1,100\n2024-01-01T01:00:00Z,2,200\n")
    assert read_history_file(p, column="tokens").values == [100.0, 200.0]
    with pytest.raises(HistoryError, match=r"several value columns \(rps, tokens\).*--column"):
        read_history_file(p)
    with pytest.raises(HistoryError, match=r"no column 'x'; the columns are ts, rps, tokens"):
        read_history_file(p, column="x")


@pytest.mark.parametrize(
    ("body", "row", "field", "message"),
    [
        ("2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,abc\n", 3, "value", "not a number: 'abc'"),
        ("2024-01-01T00:00:00Z,1\nyesterday,2\n", 3, "timestamp", "not a timestamp: 'yesterday'"),
        ("2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,-4\n", 3, "value", "must be a finite number >= 0"),
        ("2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,2,9\n", 3, None, "expected 2 fields"),
    ],
)
def test_malformed_rows_name_the_row_and_field(tmp_path, body, row, field, message):
    with pytest.raises(HistoryError) as info:
        read_history_file(_csv(tmp_path, "timestamp,value\n" + body))
    err = info.value
    assert (err.row, err.field) == (row, field)
    assert message in str(err) and f"row {row}" in str(err) and "h.csv" in str(err)


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(HistoryError, match="empty"):
        read_history_file(_csv(tmp_path, "\n\n"))
    with pytest.raises(HistoryError, match="no such file"):
        read_history_file(tmp_path / "absent.csv")
    with pytest.raises(HistoryError, match="a header but no rows"):
        read_history_file(_csv(tmp_path, "timestamp,value\n"))


def test_empty_values_are_skipped_and_reported(tmp_path):
    h = read_history_file(_csv(tmp_path, "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,\n"))
    assert h.values == [1.0]
    assert any(r.kind == "missing_values" and r.count == 1 for r in h.repairs)


def test_local_times_through_both_dst_changes(tmp_path):
    """Berlin wall-clock times every 30 min: spring skips 02:00-03:00, autumn repeats it. Read in
    Europe/Berlin, the UTC series is regular (no gap, no duplicate) and the folds are reported."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    rows = []
    for day_start in (datetime(2024, 3, 31, tzinfo=timezone.utc), datetime(2024, 10, 26, 20, tzinfo=timezone.utc)):
        for k in range(16):  # 8 hours of half-hourly samples across the change
            utc = day_start.timestamp() + k * 1800
            wall = datetime.fromtimestamp(utc, tz=berlin).replace(tzinfo=None)
            rows.append(f"{wall.isoformat(sep=' ')},{k}")
    h = read_history_file(_csv(tmp_path, "timestamp,value\n" + "\n".join(rows) + "\n"), timezone="Europe/Berlin")
    diffs = {b - a for a, b in zip(h.times, h.times[1:]) if b - a < 86400}
    assert diffs == {1800.0}
    dst = [r for r in h.repairs if r.kind == "dst"]
    assert dst and dst[0].count == 2 and "second pass" in dst[0].detail


def test_unknown_time_zone_is_an_input_error(tmp_path):
    with pytest.raises(HistoryError, match="unknown time zone 'Mars/Olympus'"):
        read_history_file(_csv(tmp_path, "timestamp,value\n2024-01-01 00:00,1\n"), timezone="Mars/Olympus")


# ---- Prometheus range-query exports ----------------------------------------------------------


def _matrix(*series):
    return {"status": "success", "data": {"resultType": "matrix", "result": list(series)}}


def _series(labels, start, values):
    return {"metric": labels, "values": [[start + 3600 * i, str(v)] for i, v in enumerate(values)]}


def test_export_file_one_series(tmp_path):
    p = tmp_path / "export.json"
    p.write_text(json.dumps(_matrix(_series({"__name__": "rps"}, START, [1, 2, "NaN", 4]))))
    h = read_history_file(p)
    assert h.values == [1.0, 2.0, 4.0]
    assert any(r.kind == "missing_values" for r in h.repairs)


def test_export_several_series_needs_sum(tmp_path):
    p = tmp_path / "export.json"
    a = _series({"__name__": "rps", "pod": "a"}, START, [1, 2])
    b = _series({"__name__": "rps", "pod": "b"}, START, [10, 20])
    p.write_text(json.dumps(_matrix(a, b)))
    with pytest.raises(HistoryError, match=r'2 series \(rps\{pod="a"\}; rps\{pod="b"\}\).*--sum'):
        read_history_file(p)
    assert read_history_file(p, sum_series=True).values == [11.0, 22.0]


def test_export_several_series_offers_each_and_keeps_the_selected(tmp_path):
    p = tmp_path / "export.json"
    a = _series({"__name__": "rps", "pod": "a", "zone": "z1"}, START, [1, 2])
    b = _series({"__name__": "rps", "pod": "b", "zone": "z1"}, START, [10, 20])
    p.write_text(json.dumps(_matrix(a, b)))
    with pytest.raises(HistoryError) as info:
        read_history_file(p)
    assert [c["pod"] for c in info.value.series_choices] == ["a", "b"]
    h = read_history_file(p, select={"pod": "b"})
    assert h.values == [10.0, 20.0]
    assert [(r.kind, r.detail) for r in h.repairs] == [("selected", 'rps{pod="b",zone="z1"} kept of 2 series')]
    assert read_history_file(p, select={"zone": "z1"}, sum_series=True).values == [11.0, 22.0]
    with pytest.raises(HistoryError, match=r'no series carries \{pod="c"\}; the query returned 2') as info:
        read_history_file(p, select={"pod": "c"})
    assert len(info.value.series_choices) == 2  # offered again


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"status": "error", "errorType": "bad_data", "error": "parse error"}, r"Prometheus error \(bad_data\): parse error"),
        (_matrix(), "no series"),
        ({"status": "success", "data": {"resultType": "vector", "result": []}}, "use query_range"),
    ],
)
def test_export_errors(tmp_path, payload, message):
    p = tmp_path / "export.json"
    p.write_text(json.dumps(payload))
    with pytest.raises(HistoryError, match=message):
        read_history_file(p)


def test_export_broken_json_names_the_line(tmp_path):
    p = tmp_path / "export.json"
    p.write_text('{"status": "success",\n "data": ]')
    with pytest.raises(HistoryError, match=r"row 2.*not valid JSON"):
        read_history_file(p)


# ---- watch --record traces ---------------------------------------------------------------------


def test_trace_gpu_utilisation_as_busy_gpus(tmp_path):
    from engine.telemetry.replay import TraceWriter
    from engine.telemetry.samples import GpuSample, HostSample

    path = tmp_path / "watch.trace"
    with TraceWriter(path) as w:
        for i, (u0, u1) in enumerate([(50, 100), (20, None), (None, None)]):
            gpus = (GpuSample(index=0, gpu_util_pct=u0), GpuSample(index=1, gpu_util_pct=u1))
            w.write(HostSample(timestamp=START + 60 * i, hostname="h", backend="simulated", gpus=gpus))
    h = read_history_file(path)
    assert h.values == [1.5, 0.2] and h.metric == "busy_gpus" and h.unit == "busy GPUs"
    assert any(r.kind == "missing_values" and r.count == 1 for r in h.repairs)


def test_broken_trace_names_the_line(tmp_path):
    path = tmp_path / "bad.trace"
    path.write_text('{"format": "gpuplan-trace", "version": 1}\n{"timestamp": "soon"}\n')
    with pytest.raises(HistoryError, match="row 2"):
        read_history_file(path)
