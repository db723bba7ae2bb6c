"""Which series to forecast, when a Prometheus answer (live or a saved export) holds several:
each one named by its labels, plus "sum all". Answers `{"series": labels}`, `{"sum": True}`, or
None (escape: nothing chosen)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .dialogs import _Dialog

SUM_ID = "sum-all"


def _text(labels: dict[str, str]) -> str:
    from engine.forecast.readers.prometheus import labels_text

    return labels_text(labels)


def split_labels(choices: tuple[dict[str, str], ...]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(the labels every series shares, each series' own): the list names series by what tells
    them apart, as a legend does; the shared part is said once above it."""
    keys = set().union(*choices) if choices else set()
    common = {k: choices[0][k] for k in sorted(keys) if all(c.get(k) == choices[0].get(k) for c in choices)}
    return common, [{k: v for k, v in c.items() if k not in common} for c in choices]


class SeriesScreen(_Dialog):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, source: str, choices: tuple[dict[str, str], ...]) -> None:
        super().__init__()
        self.source, self.choices = source, choices

    def compose(self) -> ComposeResult:
        with self._frame("Several series"):
            common, own = split_labels(self.choices)
            shared = f" All carry {_text(common)}." if common else ""
            yield Static(
                f"{self.source} returned {len(self.choices)} series.{shared} Forecast one of them, or their"
                " sum (the choice is kept in the session's [forecast] table):",
                markup=False, classes="dialog-message",
            )
            options = [Option(f"sum all {len(self.choices)} series", id=SUM_ID)]
            options += [Option(_text(labels) or _text(full) or "{} (no labels)", id=f"series-{i}")
                        for i, (labels, full) in enumerate(zip(own, self.choices))]
            yield OptionList(*options, id="series-list")
            yield Static("enter: forecast it   escape: cancel", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.answer(event.option.id or ""))

    def answer(self, option_id: str) -> dict[str, Any]:
        if option_id == SUM_ID:
            return {"sum": True}
        return {"series": dict(self.choices[int(option_id.removeprefix("series-"))])}

    def action_cancel(self) -> None:
        self.dismiss(None)
