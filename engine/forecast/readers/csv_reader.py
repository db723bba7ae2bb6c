"""CSV history: a timestamp column and one or more value columns.

Timestamps: ISO 8601 (with an offset or "Z", or naive: read in ``timezone``, UTC by default) or
epoch seconds (milliseconds when above 1e11). Naive local times through a DST change are
resolved by file order: in the repeated autumn hour, a clock that goes backwards means the second
pass (``fold=1``). Every such decision is reported as a Repair. A row that cannot be read raises
HistoryError naming the row (1-based line of the file) and the field.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.forecast.errors import HistoryError
from engine.forecast.history import RawHistory, Repair

_TIME_NAMES = ("timestamp", "time", "ts", "datetime", "date", "ds", "t")
_MISSING = {"", "nan", "na", "n/a", "null", "none", "-"}


def _looks_like_time(cell: str) -> bool:
    try:
        _parse_time_cell(cell)
        return True
    except ValueError:
        return False


def _parse_time_cell(cell: str) -> datetime | float:
    """A datetime (naive or aware) or epoch seconds."""
    text = cell.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise ValueError("not a finite time")
        return number / 1000.0 if number > 1e11 else number
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _is_ambiguous(naive: datetime, zone: ZoneInfo) -> bool:
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


def _is_nonexistent(naive: datetime, zone: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(dt_timezone.utc).astimezone(zone).replace(tzinfo=None)
    return round_trip != naive


def read_csv_history(path: Path, *, column: str | None = None, timezone: str | None = None) -> RawHistory:
    source = str(path)
    try:
        zone = ZoneInfo(timezone) if timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        raise HistoryError(source, f"unknown time zone {timezone!r} (use an IANA name like Europe/Berlin)") from None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HistoryError(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise HistoryError(source, f"cannot read: {exc.strerror or exc}") from None
    rows = list(csv.reader(text.splitlines()))
    # line numbers as the user's editor shows them; blank lines are skipped but still counted
    numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    if not numbered:
        raise HistoryError(source, "the file is empty (expected a header `timestamp,value` and rows)")

    first_line, first = numbered[0]
    if _looks_like_time(first[0]):
        header = ["timestamp"] + [f"value{i}" if i > 1 else "value" for i in range(1, len(first))]
        data = numbered
    else:
        header = [h.strip() for h in first]
        data = numbered[1:]
    lowered = [h.lower() for h in header]
    t_col = next((lowered.index(n) for n in _TIME_NAMES if n in lowered), 0)
    value_cols = [i for i in range(len(header)) if i != t_col]
    if not value_cols:
        raise HistoryError(source, "only one column: expected a timestamp column and a value column", row=first_line)
    if column is not None:
        if column not in header:
            raise HistoryError(
                source, f"no column {column!r}; the columns are {', '.join(header)}", row=first_line, field=column
            )
        v_col = header.index(column)
        if v_col == t_col:
            raise HistoryError(source, f"{column!r} is the timestamp column; pick a value column", field=column)
    elif len(value_cols) == 1:
        v_col = value_cols[0]
    else:
        names = ", ".join(header[i] for i in value_cols)
        raise HistoryError(source, f"several value columns ({names}): pick one with --column NAME", row=first_line)
    t_name, v_name = header[t_col], header[v_col]
    if not data:
        raise HistoryError(source, "a header but no rows")

    times: list[float] = []
    values: list[float] = []
    missing = naive_count = aware_count = folded = shifted = 0
    last_wall: datetime | None = None
    in_second_pass = False
    for line, row in data:
        if len(row) != len(header):
            raise HistoryError(
                source, f"expected {len(header)} fields ({', '.join(header)}), found {len(row)}", row=line
            )
        cell = row[v_col].strip()
        if cell.lower() in _MISSING:
            missing += 1
            continue
        try:
            value = float(cell)
        except ValueError:
            raise HistoryError(source, f"not a number: {cell!r}", row=line, field=v_name) from None
        if not math.isfinite(value) or value < 0:
            raise HistoryError(source, f"demand must be a finite number >= 0, got {cell!r}", row=line, field=v_name)
        try:
            when = _parse_time_cell(row[t_col])
        except ValueError:
            raise HistoryError(
                source,
                f"not a timestamp: {row[t_col].strip()!r} (ISO 8601 like 2024-05-01T14:00:00Z, or epoch seconds)",
                row=line,
                field=t_name,
            ) from None
        if isinstance(when, float):
            epoch = when
        elif when.tzinfo is not None:
            aware_count += 1
            epoch = when.timestamp()
        else:
            naive_count += 1
            if zone is None:
                epoch = when.replace(tzinfo=dt_timezone.utc).timestamp()
            else:
                if _is_ambiguous(when, zone):
                    # the autumn hour happens twice: once the wall clock steps back inside it,
                    # the rest of that hour is the second pass
                    if last_wall is not None and when < last_wall:
                        in_second_pass = True
                    if in_second_pass:
                        folded += 1
                    aware = when.replace(tzinfo=zone, fold=1 if in_second_pass else 0)
                else:
                    in_second_pass = False
                    aware = when.replace(tzinfo=zone)
                    if _is_nonexistent(when, zone):
                        shifted += 1
                        aware = (when + timedelta(hours=1)).replace(tzinfo=zone)
                epoch = aware.timestamp()
                last_wall = when
        times.append(epoch)
        values.append(value)

    if not times:
        raise HistoryError(source, f"no values in column {v_name!r} (all {len(data)} rows empty)", field=v_name)
    history = RawHistory(source=source, times=times, values=values, unit=v_name)
    if missing:
        history.repairs.append(Repair("missing_values", missing, f"{missing} rows with an empty {v_name!r} skipped"))
    if naive_count:
        where = timezone if zone else "UTC (no offset in the file; pass --timezone to read local time)"
        history.repairs.append(Repair("timezone", naive_count, f"{naive_count} timestamps without an offset read as {where}"))
    if aware_count and zone is not None:
        history.repairs.append(Repair("timezone", aware_count, f"{aware_count} timestamps with an offset kept as given"))
    if folded:
        history.repairs.append(
            Repair("dst", folded, f"{folded} timestamps in the repeated DST hour read as the second pass (clock went back)")
        )
    if shifted:
        history.repairs.append(
            Repair("dst", shifted, f"{shifted} timestamps in the skipped DST hour (they do not exist) moved 1 h later")
        )
    return history
