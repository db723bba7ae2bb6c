"""The optional [fleet] table: the Prometheus server the Fleet view asks; round-trips through
save, and a bad URL or duration is an error naming the file, line and field."""

from __future__ import annotations

import pytest

from sessions.errors import SessionError
from sessions.io import dump_session, parse_session

BASE = """\
schema_version = 1
[model]
catalog = "llama-3.1-8b"
[hardware]
gpu = "h100-sxm-80gb"
"""


def test_fleet_table_round_trips():
    s = parse_session(BASE + '[fleet]\nprometheus = "http://prom.internal:9090/prom"\nlookback = "30m"\n', "a.toml")
    assert s.fleet is not None and s.fleet.prometheus == "http://prom.internal:9090/prom"
    assert parse_session(dump_session(s), "b.toml") == s
    assert parse_session(BASE, "c.toml").fleet is None


@pytest.mark.parametrize("body,field,needle", [
    ('prometheus = "prom:9090"', "fleet.prometheus", "Prometheus base URL"),
    ('prometheus = "http://p:9090"\nlookback = "an hour"', "fleet.lookback", "Prometheus duration"),
    ('prometheus = "http://p:9090"\nurl = "x"', "fleet.url", ""),
    ('lookback = "1h"', "fleet.prometheus", ""),
])
def test_bad_fleet_tables_name_file_line_and_field(body, field, needle):
    with pytest.raises(SessionError) as err:
        parse_session(BASE + "[fleet]\n" + body + "\n", "s.toml")
    text = str(err.value)
    assert text.startswith("s.toml:") and field in text and needle in text
