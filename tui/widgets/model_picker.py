"""The model picker: an input that filters catalog, user and Hugging Face cache models as you
type, with the matches in a list below it. Up/down move, enter picks, escape gives up."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ..keys import OPTION_DIGITS
from ..messages import ModelPicked
from ..model_index import ModelEntry, filter_entries

class FieldInput(Input):
    """A sidebar input: no value in a sidebar field has a `?` (the key opens help) or an
    Option+digit character (it switches tabs, tui/keys.py)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character == "?" or (character is not None and character in OPTION_DIGITS):
            return False
        return super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        """Every key in the order it arrived (issue 7 item 1). Textual inserts a printable key
        where the field receives it, but runs an editing binding (backspace, ctrl+a, ctrl+k, ...)
        only once the key has bubbled up to the app: on a busy app a digit typed right after
        a backspace overtook it (12 backspaces then `8192` became 9819; ctrl+a, ctrl+k, `4` left
        a blank field). The field's own bindings run here, on arrival, instead."""
        bindings = self._bindings.key_to_bindings.get(event.key)
        if bindings and not event.is_printable:
            event.stop()
            event.prevent_default()
            self._restart_blink()
            await self.run_action(bindings[0].action)
        # else Input._on_key (next in the MRO) inserts a printable key


class PickerInput(FieldInput):
    """The model picker's input: its list keys are bindings of the input itself, so they run in
    order with the editing keys and enter (a key left to bubble up to the picker was overtaken:
    down, enter picked the first match)."""

    BINDINGS = [
        Binding("down", "picker('down')", "Next match", show=False),
        Binding("up", "picker('up')", "Previous match", show=False),
        Binding("escape", "picker('escape')", "Close the list / leave the field", show=False),
    ]

    def action_picker(self, key: str) -> None:
        picker = self.parent
        if isinstance(picker, ModelPicker) and picker.navigate(key):
            return
        if key == "escape":
            self.app.run_action("leave_field")


ORIGIN_TAG = {"bundled": "", "user": "user", "imported": "imported", "hf-cache": "HF cache"}


class ModelPicker(Vertical):
    DEFAULT_CSS = """
    ModelPicker { height: auto; }
    ModelPicker > OptionList { display: none; max-height: 10; }
    ModelPicker.-open > OptionList { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[ModelEntry] = []
        self.current = ""  # the shown value (catalog id or inline name)
        self._shown: list[ModelEntry] = []

    def compose(self) -> ComposeResult:
        yield PickerInput(placeholder="type to filter models", id="model-input", compact=True)
        yield OptionList(id="model-options")

    @property
    def input(self) -> Input:
        return self.query_one("#model-input", Input)

    @property
    def options(self) -> OptionList:
        return self.query_one("#model-options", OptionList)

    def set_entries(self, entries: list[ModelEntry]) -> None:
        self.entries = entries
        if self.has_class("-open"):
            self._filter(self.input.value)

    def set_current(self, value: str) -> None:
        self.current = value
        if not self.has_class("-open") and self.input.value != value:
            with self.input.prevent(Input.Changed):
                self.input.value = value
            self.input.cursor_position = len(value)
            if self.input.has_focus:
                self.input.select_all()  # typing replaces it, as after focusing it

    # -- filtering ------------------------------------------------------------------------
    def _filter(self, query: str) -> None:
        query = "" if query == self.current else query
        self._shown = filter_entries(self.entries, query, limit=60)
        options = self.options
        options.clear_options()
        if not self._shown:
            options.add_option(Option(Content.styled("no match (enter: use as a catalog id)", "dim"), disabled=True))
            return
        width = max((len(e.id) for e in self._shown), default=10)
        for e in self._shown:
            tag = ORIGIN_TAG.get(e.origin, e.origin)
            label = Content.assemble(
                (e.id.ljust(width), "bold" if e.id == self.current else ""),
                ("  " + (e.label if e.label != e.id else ""), "dim"),
                (f"  [{tag}]" if tag else "", "italic"),
            )
            options.add_option(Option(label, id=f"{e.origin}:{e.id}"))
        options.highlighted = 0

    def open(self) -> None:
        self.add_class("-open")
        self._filter(self.input.value)

    def close(self, revert: bool = True) -> None:
        self.remove_class("-open")
        if revert and self.input.value != self.current:
            with self.input.prevent(Input.Changed):
                self.input.value = self.current
            if self.input.has_focus:
                self.input.select_all()

    @on(Input.Changed, "#model-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self.input.has_focus:
            self.add_class("-open")
            self._filter(event.value)

    @on(Input.Submitted, "#model-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.options
        if self.has_class("-open") and self._shown and options.highlighted is not None:
            self._pick(self._shown[options.highlighted])
            return
        text = event.value.strip()
        if text and text != self.current:
            self._pick(ModelEntry(text, text, "bundled"))
        else:
            self.close()

    @on(OptionList.OptionSelected, "#model-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._shown):
            self._pick(self._shown[event.option_index])

    def _pick(self, entry: ModelEntry) -> None:
        self.current = entry.id
        self.close(revert=True)
        if self.options.has_focus:
            self.input.focus()
        self.post_message(ModelPicked(entry))

    def navigate(self, key: str) -> bool:
        """up/down move in the list (opening it), escape closes it; False: not handled."""
        options = self.options
        if key in ("down", "up"):
            if not self.has_class("-open"):
                self.open()
            elif options.option_count:
                if key == "down":
                    options.action_cursor_down()
                else:
                    options.action_cursor_up()
            return True
        if key == "escape" and self.has_class("-open"):
            self.close()
            return True
        return False

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if not self.input.has_focus and not self.options.has_focus:
            self.close()
