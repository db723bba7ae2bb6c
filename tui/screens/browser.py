"""`ctrl+o`: open a saved session (filter as you type) or a session file by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..css import tcss
from ..widgets.sessions_tab import format_time


class SessionBrowser(ModalScreen["tuple[str, str] | None"]):
    """Answers ("store", name), ("file", path) or None."""

    DEFAULT_CSS = tcss("dialogs.tcss")
    SCOPED_CSS = False

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
    ]

    def __init__(self, store: Any) -> None:
        super().__init__()
        self.store = store
        self.entries: list[Any] = []
        self.shown: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="browser-box") as box:
            box.border_title = "Open a session"
            box.border_subtitle = "enter opens · esc cancels"
            yield Input(placeholder="filter saved sessions, or type a path to a .toml file", id="browser-filter")
            yield OptionList(id="browser-list")
            yield Static("", id="browser-hint", markup=False)

    def on_mount(self) -> None:
        try:
            self.entries = self.store.list()
        except OSError:
            self.entries = []
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, query: str) -> None:
        words = query.lower().split()
        self.shown = [e for e in self.entries if all(w in e.name.lower() for w in words)]
        options = self.query_one(OptionList)
        options.clear_options()
        for e in self.shown:
            label = Text(e.name)
            label.append(f"  {format_time(e.mtime)}", style="dim")
            options.add_option(Option(label))
        hint = self.query_one("#browser-hint", Static)
        if self._looks_like_path(query):
            hint.update(f"enter opens the file {query.strip()}")
        elif not self.entries:
            hint.update(f"No saved sessions yet in {self.store.root}. Type a path to open a file.")
        elif not self.shown:
            hint.update("No saved session matches.")
        else:
            hint.update(f"{len(self.shown)} of {len(self.entries)} sessions in {self.store.root}")
        if self.shown:
            options.highlighted = 0

    @staticmethod
    def _looks_like_path(text: str) -> bool:
        text = text.strip()
        return "/" in text or text.endswith(".toml") or text.startswith("~")

    @on(Input.Changed, "#browser-filter")
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#browser-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self._looks_like_path(text):
            self.dismiss(("file", str(Path(text).expanduser())))
            return
        options = self.query_one(OptionList)
        if self.shown and options.highlighted is not None:
            self.dismiss(("store", self.shown[options.highlighted].name))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(("store", self.shown[event.option_index].name))

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if delta > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
