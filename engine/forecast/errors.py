"""Errors a user can fix (bad history, an unreachable Prometheus, too little data)."""

from __future__ import annotations


class ForecastInputError(Exception):
    """Bad input for a forecast; the message names the source and, where known, the row.

    `series_choices` is set when the answer held several series and none was chosen (no `sum`,
    or a `series` selector that matched none): each one's labels, for a face to offer."""

    series_choices: tuple[dict[str, str], ...] = ()


class HistoryError(ForecastInputError):
    """A history file that cannot be read: names the file, the 1-based row and the field."""

    def __init__(self, source: str, message: str, *, row: int | None = None, field: str | None = None):
        self.source, self.row, self.field, self.reason = source, row, field, message
        where = source
        if row is not None:
            where += f", row {row}"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


class PrometheusError(ForecastInputError):
    """Prometheus could not answer the range query (unreachable, HTTP error, its own error JSON,
    no series, several series without --sum)."""


class ExtraMissing(ForecastInputError):
    """statsmodels/pandas are not installed."""
