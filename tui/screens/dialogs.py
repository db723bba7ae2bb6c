"""Small modal dialogs: confirm, quit with unsaved changes, a one-line prompt, an error, and the
offer to restore recovered work. Every one answers with keys as well as buttons."""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ..css import tcss


class _Dialog(ModalScreen):
    DEFAULT_CLASSES = "dialog"
    DEFAULT_CSS = tcss("dialogs.tcss")
    SCOPED_CSS = False

    def _frame(self, title: str) -> Vertical:
        box = Vertical(classes="dialog-box")
        box.border_title = title
        return box


class ConfirmScreen(_Dialog):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, message: str, yes: str = "Yes", no: str = "No", danger: bool = False) -> None:
        super().__init__()
        self.title_text, self.message, self.yes, self.no, self.danger = title, message, yes, no, danger

    def compose(self) -> ComposeResult:
        with self._frame(self.title_text):
            yield Static(self.message, markup=False, classes="dialog-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error" if self.danger else "primary")
                yield Button(f"{self.no} (n)", id="no")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class QuitScreen(_Dialog):
    """Unsaved changes: save, discard or cancel ("save" / "discard" / "cancel")."""

    BINDINGS = [
        Binding("s", "answer('save')", "Save"),
        Binding("d", "answer('discard')", "Discard"),
        Binding("escape,c", "answer('cancel')", "Cancel"),
    ]

    def __init__(self, name: str, what: str = "quit") -> None:
        super().__init__()
        self.session_name, self.what = name, what

    def compose(self) -> ComposeResult:
        with self._frame("Unsaved changes"):
            yield Static(f"'{self.session_name}' has unsaved changes. Save them before you {self.what}?",
                         markup=False, classes="dialog-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (s)", id="save", variant="primary")
                yield Button("Discard (d)", id="discard", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#save", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")

    def action_answer(self, value: str) -> None:
        self.dismiss(value)


class PromptScreen(_Dialog):
    """One line of text. `check(text)` returns an error message or None; enter submits, escape
    cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, label: str, value: str = "", *, placeholder: str = "",
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.title_text, self.label, self.value, self.placeholder = title, label, value, placeholder
        self.check = check

    def compose(self) -> ComposeResult:
        with self._frame(self.title_text):
            yield Label(self.label, markup=False)
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-error", markup=False, classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (enter)", id="ok", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self) -> None:
        text = self.query_one(Input).value.strip()
        problem = self.check(text) if self.check else (None if text else "cannot be empty")
        error = self.query_one("#prompt-error", Static)
        if problem:
            error.update(f"✖ {problem}")
            error.add_class("-shown")
            return
        self.dismiss(text)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#prompt-error", Static).remove_class("-shown")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ErrorScreen(_Dialog):
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, title: str, message: str, hint: str = "") -> None:
        super().__init__()
        self.title_text, self.message, self.hint = title, message, hint

    def compose(self) -> ComposeResult:
        with self._frame(self.title_text):
            yield Static(Text(self.message), classes="dialog-message error-text")
            if self.hint:
                yield Static(Text(self.hint, style="dim"), classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary")

    def on_mount(self) -> None:
        self.add_class("-error")
        self.query_one(Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class RestoreScreen(_Dialog):
    """Unsaved work from a previous run was recovered: restore it (True) or discard it (False)."""

    BINDINGS = [
        Binding("r,y", "answer(True)", "Restore"),
        Binding("d,n", "answer(False)", "Discard"),
        Binding("escape", "answer(False)", "Discard", show=False),
    ]

    def __init__(self, name: str, origin: str | None, when: str) -> None:
        super().__init__()
        self.session_name, self.origin, self.when = name, origin, when

    def compose(self) -> ComposeResult:
        where = f" (from {self.origin})" if self.origin else ""
        with self._frame("Recover unsaved work"):
            yield Static(
                f"gpuplan found unsaved work from {self.when}: session '{self.session_name}'{where}.\n"
                "It was kept when the app last stopped (a closed terminal or a dropped SSH "
                "connection). Restore it?",
                markup=False, classes="dialog-message",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Restore (r)", id="restore", variant="primary")
                yield Button("Discard (d)", id="discard", variant="error")

    def on_mount(self) -> None:
        self.query_one("#restore", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "restore")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
