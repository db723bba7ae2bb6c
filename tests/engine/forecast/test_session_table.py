"""The session's [forecast] table: valid settings load and round-trip; bad ones name the field
and line. And no CSV, however mangled, crashes the reader."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.forecast.errors import HistoryError
from engine.forecast.readers.csv_reader import read_csv_history
from sessions.examples import default_session_text
from sessions.io import SessionError, dump_session, parse_session


def test_forecast_table_loads_and_round_trips():
    text = default_session_text() + '\n[forecast]\nhistory = "traffic.csv"\nhorizon = "21d"\ngrowth_cap = 0.5\n'
    session = parse_session(text, "s.toml")
    assert session.forecast.history == "traffic.csv" and session.forecast.quantile == "p80"
    assert parse_session(dump_session(session), "again.toml") == session
    assert parse_session(default_session_text(), "plain.toml").forecast is None
    chosen = parse_session(text + 'series = { replica = "b", __name__ = "rps" }\n', "s.toml")
    assert chosen.forecast.series == {"replica": "b", "__name__": "rps"}
    assert parse_session(dump_session(chosen), "again.toml") == chosen


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ('history = "a.csv"\nprometheus = "http://p:9090"\nquery = "up"', "forecast.prometheus"),
        ('prometheus = "http://p:9090"', "forecast.query"),
        ('history = "a.csv"\nquantile = "p99"', "forecast.quantile"),
        ('history = "a.csv"\nhorizon = "2 weeks"', "forecast.horizon"),
        ('history = "a.csv"\nsmoothing = 3', "forecast.smoothing"),
        ('history = "a.json"\nseries = { "pod-name" = "a" }', "forecast.series"),
    ],
)
def test_bad_forecast_tables_name_the_field(table, field):
    text = default_session_text() + "\n[forecast]\n" + table + "\n"
    with pytest.raises(SessionError) as info:
        parse_session(text, "s.toml")
    assert field in str(info.value) and "s.toml:" in str(info.value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from("0123456789-:TZ.,+ \nabc\"e"), max_size=300))
def test_mangled_csv_is_read_or_refused_never_crashes(tmp_path, body):
    path = tmp_path / "h.csv"
    path.write_text("timestamp,value\n" + body)
    try:
        history = read_csv_history(path)
    except HistoryError as exc:
        assert "h.csv" in str(exc)
    else:
        assert all(v >= 0 for v in history.values) and len(history.times) == len(history.values)
