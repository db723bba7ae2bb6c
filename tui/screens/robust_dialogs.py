"""Dialogs for never losing work: every piece of unsaved work left by instances that are gone
(restore one, discard one, or keep them for later), and a file that changed on disk since it was
loaded (overwrite / reload / save as / cancel). Keys as well as buttons, like the other dialogs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from .dialogs import _Dialog


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _session_name(text: str) -> str:
    import tomllib

    try:
        name = tomllib.loads(text).get("name")
    except (tomllib.TOMLDecodeError, RecursionError):
        return "(not valid TOML any more)"
    return str(name) if isinstance(name, str) else "untitled"


class RecoveryListScreen(_Dialog):
    """Unsaved work found at start-up, newest first, each naming where it came from. Answers
    ("restore", item), ("discard", item) or ("later", None)."""

    BINDINGS = [
        Binding("r", "answer('restore')", "Restore"),
        Binding("d", "answer('discard')", "Discard"),
        Binding("l,escape", "answer('later')", "Later"),
    ]

    def __init__(self, items: Sequence[Any]) -> None:
        super().__init__()
        self.items = list(items)

    def compose(self) -> ComposeResult:
        n = len(self.items)
        with self._frame("Recover unsaved work"):
            yield Static(
                f"{n} piece{'s' if n != 1 else ''} of unsaved work {'were' if n != 1 else 'was'} left by gpuplan "
                "instances that stopped without saving (a closed terminal, a dropped SSH connection, a kill). "
                "Newest first:",
                markup=False, classes="dialog-message",
            )
            yield OptionList(
                *(Option(f"{_when(it.saved_at)}  '{_session_name(it.text)}'  from {it.where}"
                         + (f"  (pid {it.pid})" if it.pid else ""), id=str(i))
                  for i, it in enumerate(self.items)),
                id="recovery-items",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Restore (r)", id="restore", variant="primary")
                yield Button("Discard (d)", id="discard", variant="error")
                yield Button("Later (l)", id="later")

    def on_mount(self) -> None:
        options = self.query_one("#recovery-items", OptionList)
        options.highlighted = 0
        options.focus()

    @property
    def selected(self) -> Any:
        index = self.query_one("#recovery-items", OptionList).highlighted
        return self.items[index or 0] if self.items else None

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_answer("restore")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_answer(str(event.button.id))

    def action_answer(self, what: str) -> None:
        self.dismiss((what, None if what == "later" else self.selected))


class FileChangedScreen(_Dialog):
    """The file changed on disk since it was loaded. Answers "overwrite", "reload", "save-as"
    or "cancel"."""

    BINDINGS = [
        Binding("o", "answer('overwrite')", "Overwrite"),
        Binding("r", "answer('reload')", "Reload"),
        Binding("a", "answer('save-as')", "Save as"),
        Binding("escape,c", "answer('cancel')", "Cancel"),
    ]

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        with self._frame("Changed on disk"):
            yield Static(
                f"{self.where} changed on disk since it was loaded (another gpuplan, an editor, a "
                "git pull). Overwrite it with your version (theirs is kept as a version), reload theirs "
                "(your edits are dropped), or save yours under another name?",
                markup=False, classes="dialog-message",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Overwrite (o)", id="overwrite", variant="error")
                yield Button("Reload (r)", id="reload")
                yield Button("Save as (a)", id="save-as", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#save-as", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(str(event.button.id))

    def action_answer(self, what: str) -> None:
        self.dismiss(what)


__all__ = ["FileChangedScreen", "RecoveryListScreen"]
