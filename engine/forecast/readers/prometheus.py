"""Prometheus range queries: the HTTP API's ``/api/v1/query_range`` (through httpx) and a saved
export of its JSON answer.

API reference: https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries
(a ``{"status": "success"|"error", "data": {"resultType": "matrix", "result": [...]}}`` answer;
errors carry ``errorType`` and ``error``). Prometheus refuses more than 11,000 points per series
in one query, so long ranges are asked in chunks.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from engine.forecast.errors import HistoryError, PrometheusError
from engine.forecast.history import RawHistory, Repair

MAX_POINTS_PER_QUERY = 11_000  # Prometheus' own limit per series and query


def _labels(metric: dict[str, Any]) -> str:
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def labels_text(metric: dict[str, Any]) -> str:
    """A series named as PromQL writes it: ``name{label="value",...}``."""
    return _labels(metric)


def _matches(metric: Any, select: dict[str, str]) -> bool:
    return isinstance(metric, dict) and all(str(metric.get(k, "")) == v for k, v in select.items())


def series_from_matrix(
    payload: Any, source: str, *, sum_series: bool, bad: type[Exception] = PrometheusError,
    select: dict[str, str] | None = None,
) -> RawHistory:
    """One series from a ``query_range`` answer (a dict, or the bare result list). ``select``
    (labels and values) keeps the series that carry them; several series left are summed with
    ``sum_series``, else refused with their labels listed (and offered as ``series_choices``)."""

    def fail(message: str) -> Exception:
        return bad(source, message) if bad is HistoryError else bad(f"{source}: {message}")

    def choose(message: str, among: list[Any]) -> Exception:
        exc = fail(message)
        exc.series_choices = tuple(  # type: ignore[attr-defined]
            {str(k): str(v) for k, v in s.get("metric", {}).items()} if isinstance(s, dict) else {} for s in among
        )
        return exc

    if isinstance(payload, dict):
        if payload.get("status") == "error":
            raise fail(f"Prometheus error ({payload.get('errorType', 'unknown')}): {payload.get('error', '')}")
        data = payload.get("data", payload)
        if not isinstance(data, dict) or "result" not in data:
            raise fail('not a range-query answer (expected {"status": ..., "data": {"resultType": "matrix", ...}})')
        kind = data.get("resultType", "matrix")
        if kind != "matrix":
            raise fail(f"resultType is {kind!r}, expected 'matrix' (use query_range, not query)")
        result = data["result"]
    else:
        result = payload
    if not isinstance(result, list):
        raise fail("`result` is not a list of series")
    if not result:
        raise fail("the query returned no series over this range (check the metric name, the labels and --range)")
    every = result
    if select:
        result = [s for s in result if _matches(s.get("metric") if isinstance(s, dict) else None, select)]
        if not result:
            shown = "; ".join(_labels(s.get("metric", {})) if isinstance(s, dict) else "?" for s in every[:5])
            more = f" and {len(every) - 5} more" if len(every) > 5 else ""
            raise choose(f"no series carries {_labels(select)}; the query returned {len(every)}: {shown}{more}", every)
    if len(result) > 1 and not sum_series:
        shown = "; ".join(_labels(s.get("metric", {})) if isinstance(s, dict) else "?" for s in result[:5])
        more = f" and {len(result) - 5} more" if len(result) > 5 else ""
        raise choose(
            f"the query returned {len(result)} series ({shown}{more}): wrap it in sum(...) or pass --sum to add them up"
            " (or --series LABEL=VALUE to pick one)", result,
        )
    totals: dict[float, float] = {}
    skipped = 0
    for n, series in enumerate(result):
        values = series.get("values") if isinstance(series, dict) else None
        if not isinstance(values, list):
            raise fail(f"series {n + 1} has no `values` list")
        for pair in values:
            try:
                t, v = float(pair[0]), float(pair[1])
            except (TypeError, ValueError, IndexError):
                raise fail(f"series {n + 1}: malformed sample {pair!r} (expected [time, \"value\"])") from None
            if not math.isfinite(v):
                skipped += 1
                continue
            totals[t] = totals.get(t, 0.0) + max(v, 0.0)
    times = sorted(totals)
    history = RawHistory(source=source, times=times, values=[totals[t] for t in times])
    if len(result) > 1:
        history.repairs.append(Repair("summed", len(result), f"{len(result)} series added up (--sum)"))
    if select and len(every) > len(result):
        chosen = _labels(result[0].get("metric", {})) if len(result) == 1 else _labels(select)
        history.repairs.append(Repair("selected", len(result), f"{chosen} kept of {len(every)} series"))
    if skipped:
        history.repairs.append(Repair("missing_values", skipped, f"{skipped} NaN/Inf samples skipped"))
    if not times:
        raise fail("every sample is NaN or Inf")
    return history


def read_export_file(path: Path, *, sum_series: bool = False, select: dict[str, str] | None = None) -> RawHistory:
    """A saved ``query_range`` answer (e.g. ``curl .../api/v1/query_range?... > export.json``)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HistoryError(str(path), f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", row=exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(str(path), f"cannot read: {exc}") from None
    return series_from_matrix(payload, str(path), sum_series=sum_series, bad=HistoryError, select=select)


def query_range(
    url: str,
    query: str,
    *,
    range_s: float,
    step_s: float,
    end: float | None = None,
    sum_series: bool = False,
    select: dict[str, str] | None = None,
    timeout_s: float = 10.0,
    transport: Any = None,
) -> RawHistory:
    """Run ``query`` over the last ``range_s`` seconds at ``step_s`` against the server at ``url``."""
    import httpx  # loaded on first use: start-up never pays for it

    if step_s <= 0 or range_s <= 0:
        raise PrometheusError("--range and --step must be positive")
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise PrometheusError(f"{url}: not an http:// or https:// URL")
    # Steps aligned to multiples of the step (as Grafana does): with samples on whole hours, an
    # unaligned hourly step would land up to 59 minutes after each sample, beyond Prometheus'
    # 5-minute lookback, and the series would come back empty.
    end = math.floor((time.time() if end is None else end) / step_s) * step_s
    start = math.ceil((end - range_s) / step_s) * step_s
    source = f"{base} {query}"
    chunk = step_s * (MAX_POINTS_PER_QUERY - 1)
    answers: list[Any] = []
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            lo = start
            while lo < end:
                hi = min(end, lo + chunk)
                params = {"query": query, "start": f"{lo:.3f}", "end": f"{hi:.3f}", "step": f"{step_s:g}s"}
                response = client.get(f"{base}/api/v1/query_range", params=params)
                answers.append(_answer(response, base))
                lo = hi + step_s
    except httpx.TimeoutException:
        raise PrometheusError(f"{base}: no answer within {timeout_s:g} s (is Prometheus up? try a shorter --range)") from None
    except httpx.ConnectError as exc:
        raise PrometheusError(f"{base}: cannot connect ({exc})") from None
    except httpx.HTTPError as exc:
        raise PrometheusError(f"{base}: request failed: {type(exc).__name__}: {exc}") from None
    merged: dict[str, dict[str, Any]] = {}
    for answer in answers:
        for series in answer["data"]["result"]:
            key = json.dumps(series.get("metric", {}), sort_keys=True)
            merged.setdefault(key, {"metric": series.get("metric", {}), "values": []})["values"].extend(
                series.get("values", [])
            )
    payload = {"status": "success", "data": {"resultType": "matrix", "result": list(merged.values())}}
    history = series_from_matrix(payload, source, sum_series=sum_series, select=select)
    return history


def _answer(response: Any, base: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        raise PrometheusError(
            f"{base}: Prometheus error ({body.get('errorType', 'unknown')}, HTTP {response.status_code}): "
            f"{body.get('error', '')}"
        )
    if response.status_code >= 400:
        snippet = response.text[:200].strip().replace("\n", " ")
        raise PrometheusError(f"{base}: HTTP {response.status_code} {response.reason_phrase} from query_range: {snippet}")
    if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
        raise PrometheusError(f"{base}: not a Prometheus API answer (is this the Prometheus base URL?)")
    if body["data"].get("resultType") != "matrix":
        raise PrometheusError(f"{base}: resultType {body['data'].get('resultType')!r}, expected 'matrix'")
    return body
