"""Forecasting from Prometheus: a real server over a backfilled TSDB, and the HTTP failure modes
(timeouts, HTTP errors, Prometheus' error JSON, empty and multi-series answers, chunking)."""

from __future__ import annotations

import json
import math
import time

import httpx
import pytest

from engine.forecast.errors import PrometheusError
from engine.forecast.readers.prometheus import query_range
from tui.cli import main

from .prometheus_backfill import backfill, openmetrics, requires_prometheus, serve
from .series import synthetic

WEEKS = 3


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Two replicas' request rates, hourly on whole hours, for three weeks up to the last hour.
    Samples sit on whole hours so step-aligned hourly queries land on them (Prometheus only looks
    back 5 minutes for a sample)."""
    pytest.importorskip("statsmodels", reason="the forecast extra (statsmodels) is not installed")
    workdir = tmp_path_factory.mktemp("prom")
    _, values = synthetic(weeks=WEEKS + 1 / 7, growth_per_week=0.05, noise=0.02)
    last_hour = math.floor(time.time() / 3600) * 3600
    times = [last_hour - 3600 * (len(values) - 1 - i) for i in range(len(values))]
    text = openmetrics(
        "demand_rps",
        [('replica="a"', zip(times, values * 0.6)), ('replica="b"', zip(times, values * 0.4))],
    )
    server = serve(backfill(text, workdir), workdir)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _forecast(capsys, *argv):
    code = main(["forecast", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@requires_prometheus
def test_forecast_from_a_real_prometheus(prometheus, capsys):
    code, out, err = _forecast(
        capsys, "--prometheus", prometheus.url, "--query", "sum(demand_rps)", "--range", f"{WEEKS}w",
        "--step", "1h", "--horizon", "3d", "--format", "json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert len(report["points"]) == 72
    assert report["backtest"]["origins"] >= 2
    mean_next_day = sum(p["mean"] for p in report["points"][:24]) / 24
    assert 80 < mean_next_day < 160  # level 100 growing 5 %/week for 3 weeks, daily swing averaged out
    assert not [r for r in report["repairs"] if r["kind"] == "gaps"]  # every hourly step landed on a sample


@requires_prometheus
def test_real_prometheus_errors_exit_2_with_a_clear_message(prometheus, capsys):
    code, _, err = _forecast(capsys, "--prometheus", prometheus.url, "--query", "demand_rps", "--range", "3w")
    assert code == 2 and "2 series" in err and "--sum" in err and 'replica="a"' in err
    code, out, err = _forecast(
        capsys, "--prometheus", prometheus.url, "--query", "demand_rps", "--sum", "--range", "3w", "--horizon", "1d",
        "--format", "csv",
    )
    assert code == 0, err
    assert out.splitlines()[0] == "t,mean,p80_low,p80_high,p95_low,p95_high" and len(out.splitlines()) == 25
    code, out, err = _forecast(
        capsys, "--prometheus", prometheus.url, "--query", "demand_rps", "--series", "replica=b", "--range", "3w",
        "--horizon", "1d", "--format", "json",
    )
    assert code == 0, err
    assert [r["detail"] for r in json.loads(out)["repairs"] if r["kind"] == "selected"] == [
        'demand_rps{replica="b"} kept of 2 series']
    with pytest.raises(SystemExit) as exit_:
        main(["forecast", "--prometheus", prometheus.url, "--query", "demand_rps", "--series", "replica"])
    assert exit_.value.code == 2 and "LABEL=VALUE" in capsys.readouterr().err
    code, _, err = _forecast(capsys, "--prometheus", prometheus.url, "--query", "sum(", "--range", "3w")
    assert code == 2 and "Prometheus error (bad_data" in err
    code, _, err = _forecast(capsys, "--prometheus", prometheus.url, "--query", "absent_metric", "--range", "3w")
    assert code == 2 and "no series" in err


def test_unreachable_server(capsys):
    from .prometheus_backfill import free_port

    code, _, err = _forecast(capsys, "--prometheus", f"http://127.0.0.1:{free_port()}", "--query", "up")
    assert code == 2 and "cannot connect" in err


def _mock(handler):
    return httpx.MockTransport(handler)


def test_timeout_http_error_and_not_prometheus():
    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(PrometheusError, match=r"no answer within 2 s"):
        query_range("http://prom", "up", range_s=86400, step_s=3600, timeout_s=2, transport=_mock(timeout))
    with pytest.raises(PrometheusError, match=r"HTTP 502 Bad Gateway.*upstream down"):
        query_range("http://prom", "up", range_s=86400, step_s=3600,
                    transport=_mock(lambda r: httpx.Response(502, text="upstream down")))
    with pytest.raises(PrometheusError, match="not a Prometheus API answer"):
        query_range("http://prom", "up", range_s=86400, step_s=3600,
                    transport=_mock(lambda r: httpx.Response(200, text="<html>grafana</html>")))
    error_json = {"status": "error", "errorType": "execution", "error": "query timed out in expression evaluation"}
    with pytest.raises(PrometheusError, match=r"Prometheus error \(execution, HTTP 503\): query timed out"):
        query_range("http://prom", "up", range_s=86400, step_s=3600,
                    transport=_mock(lambda r: httpx.Response(503, json=error_json)))


def test_long_ranges_are_asked_in_chunks_and_merged():
    asked = []

    def handler(request):
        start, end, step = (float(request.url.params[k].rstrip("s")) for k in ("start", "end", "step"))
        asked.append((start, end))
        n = int((end - start) // step) + 1
        values = [[start + i * step, "1"] for i in range(n)]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": "up"}, "values": values}]}})

    h = query_range("http://prom", "up", range_s=8 * 7 * 86400, step_s=300, end=1_700_000_000, transport=_mock(handler))
    assert len(asked) == 2
    assert len(h.times) == len(set(h.times)) and h.times == sorted(h.times)
    assert h.times[-1] - h.times[0] == pytest.approx(8 * 7 * 86400, abs=300)
    assert all(t % 300 == 0 for t in h.times)  # aligned to the step
