"""The inputs sidebar: model picker, hardware pickers, formats, engine and the workload.

It only reports edits (`FieldEdited`, `ModelPicked`) and shows what it is told: the session's
values, a field's error (red, with the reason under it) and the plan's warnings (yellow label,
the message as its tooltip). Parsing and validation happen in the app.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from ..css import tcss
from ..fields import (
    ENGINE,
    GPU,
    KV_CACHE,
    KV_FORMATS,
    MODEL,
    NUMERIC_FIELDS,
    SERVER,
    SERVING_ENGINES,
    WEIGHT_FORMATS,
    WEIGHTS,
    FieldSpec,
    format_value,
    get_path,
)
from ..messages import FieldEdited
from ..model_index import ModelEntry
from .model_picker import FieldInput, ModelPicker

NO_SERVER = "(none)"
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Hardware", ("hardware.tensor_parallel", "hardware.pipeline_parallel", "hardware.gpus_per_node")),
    ("Serving", ("serving.memory_fraction", "serving.max_model_len", "serving.max_num_batched_tokens",
                 "serving.max_num_seqs")),
    ("Workload", ("serving.concurrent_sessions", "serving.prompt_tokens", "serving.output_tokens",
                  "serving.requests_per_second")),
    ("SLA", ("serving.sla.ttft_ms", "serving.sla.itl_ms")),
)
_NUMERIC = {f.path: f for f in NUMERIC_FIELDS}


class FieldRow(Horizontal):
    """A label and its control on one line; the error (if any) on the line below.

    The row draws its label itself, in the 13 cells its control leaves free (sidebar.tcss),
    instead of holding a Label widget: one widget less per field, a nineteenth of the sidebar's
    start-up (a mounted Label costs ~2.5 ms of CPU on this machine)."""

    COMPONENT_CLASSES = {"field-row--label"}
    LABEL_WIDTH = 13

    def __init__(self, spec: FieldSpec, control: Any) -> None:
        super().__init__(classes="field-row", id="row-" + spec.widget_id.removeprefix("f-"))
        self.spec = spec
        self.control = control
        self.tooltip = spec.help

    def on_descendant_focus(self) -> None:
        self.add_class("-focused")  # the label shows which field keys go to (sidebar.tcss)

    def on_descendant_blur(self) -> None:
        self.remove_class("-focused")

    def compose(self) -> ComposeResult:
        yield self.control

    def render(self) -> Text:
        label = self.spec.label[:self.LABEL_WIDTH]
        style = self.get_component_rich_style("field-row--label")
        text = Text(no_wrap=True, end="")
        text.append(label, style)
        text.append(" " * (self.LABEL_WIDTH - len(label)))  # the pad in the row's own style, as a Label's
        return text


class _Fields(Vertical):
    """The rows, mounted just after the app's first frame (Sidebar.build)."""

    DEFAULT_CSS = "_Fields { height: auto; }\n" + tcss("sidebar.tcss")
    SCOPED_CSS = False

    def on_mount(self) -> None:
        sidebar = self.parent
        if isinstance(sidebar, Sidebar):
            sidebar._fields_mounted()


class Sidebar(VerticalScroll):
    can_focus = False

    class Ready(Message):
        """The fields are mounted and show what the app told them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._by_path: dict[str, Any] = {}  # path -> control
        self._errors: dict[str, str] = {}
        self._warnings: dict[str, list[str]] = {}
        self._error_lines: dict[str, Static] = {}
        self.built = False  # the rows are mounted
        self.synced = False  # a session has been shown (edits before that are the widgets' own)
        self._pending: dict[str, Any] = {}  # what it was told before that

    # -- layout ---------------------------------------------------------------------------
    def _row(self, spec: FieldSpec, control: Any) -> Iterable[Any]:
        self._by_path[spec.path] = control
        yield FieldRow(spec, control)
        yield self._error_line(spec)

    def _error_line(self, spec: FieldSpec) -> Static:
        line = Static("", markup=False, classes="field-error", id="err-" + spec.widget_id.removeprefix("f-"))
        self._error_lines[line.id] = line
        return line

    def _select(self, spec: FieldSpec, options: Iterable[str], allow_blank: bool = False) -> Select:
        return Select([(o, o) for o in options], id=spec.widget_id, compact=True, allow_blank=allow_blank,
                      prompt=NO_SERVER if allow_blank else "Select")

    def build(self, focus_first: bool = False) -> Any:
        """Mount the fields (the app calls it once its first frame is on screen, or when a hidden
        sidebar is first shown); `focus_first`: then focus the first field. Returns the mount
        (None if they are there already)."""
        self._focus_when_built = focus_first
        if not self.children:
            return self.mount(_Fields(*self._rows()))
        return None

    _focus_when_built = False

    def focus_first(self) -> None:
        for control in self.query("Input, Select"):
            if control.focusable:
                control.focus()
                break

    def _fields_mounted(self) -> None:
        self.built = True
        pending, self._pending = self._pending, {}
        if "catalog" in pending:
            self.set_catalog(*pending["catalog"])
        if "session" in pending:
            self.show_session(pending["session"], force=True)
        errors, warnings = self._errors, self._warnings
        self._errors, self._warnings = {}, {}
        self.mark_errors(errors)
        self.mark_warnings(warnings)
        if self._focus_when_built:
            self.focus_first()
        self.post_message(self.Ready())

    def _rows(self) -> Iterable[Any]:
        yield Label("Model", classes="section")
        picker = ModelPicker(id=MODEL.widget_id)
        self._by_path[MODEL.path] = picker
        yield picker
        yield self._error_line(MODEL)
        yield from self._row(WEIGHTS, self._select(WEIGHTS, WEIGHT_FORMATS))
        yield from self._row(KV_CACHE, self._select(KV_CACHE, KV_FORMATS))
        yield Label("Hardware", classes="section")
        yield from self._row(GPU, Select([], id=GPU.widget_id, compact=True, allow_blank=True, prompt="(loading)"))
        yield from self._row(SERVER, Select([], id=SERVER.widget_id, compact=True, allow_blank=True, prompt=NO_SERVER))
        for title, paths in SECTIONS:
            if title != "Hardware":
                yield Label(title, classes="section")
            if title == "Serving":
                yield from self._row(ENGINE, self._select(ENGINE, SERVING_ENGINES))
            for path in paths:
                spec = _NUMERIC[path]
                control = FieldInput(id=spec.widget_id, compact=True, placeholder=spec.blank_means,
                                     select_on_focus=True)
                control.tooltip = spec.help
                yield from self._row(spec, control)

    # -- what the app tells it ------------------------------------------------------------
    @property
    def picker(self) -> ModelPicker:
        return self.query_one(ModelPicker)

    def control(self, path: str) -> Any:
        return self._by_path[path]

    def set_catalog(self, gpus: Iterable[str], servers: Iterable[str], models: list[ModelEntry]) -> None:
        if not self.built:
            self._pending["catalog"] = (list(gpus), list(servers), models)
            return
        gpu = self.query_one("#" + GPU.widget_id, Select)
        with gpu.prevent(Select.Changed):
            gpu.set_options([(g, g) for g in gpus])
        server = self.query_one("#" + SERVER.widget_id, Select)
        with server.prevent(Select.Changed):
            server.set_options([(s, s) for s in servers])
        self.picker.set_entries(models)

    def show_session(self, data: dict[str, Any], *, force: bool = False) -> None:
        """Show a session's values (`Session.model_dump()`); a field showing an error keeps the
        user's text unless `force`."""
        if not self.built:
            self._pending["session"] = data
            return
        self.synced = True
        model = data.get("model", {})
        if model.get("catalog"):
            self.picker.set_current(model["catalog"])
        else:
            name = (model.get("config") or {}).get("_name_or_path") or "inline-model"
            self.picker.set_current(f"{name} (inline)")
        hw = data.get("hardware", {})
        self._set_select(WEIGHTS.path, model.get("weights"))
        self._set_select(KV_CACHE.path, model.get("kv_cache"))
        self._set_select(GPU.path, hw.get("gpu") or ("inline GPU" if hw.get("gpu_spec") else None))
        self._set_select(SERVER.path, hw.get("server"))
        self._set_select(ENGINE.path, get_path(data, ENGINE.path))
        for spec in NUMERIC_FIELDS:
            control: Input = self._by_path[spec.path]
            if (spec.path in self._errors or control.has_focus) and not force:
                continue  # the user's text: a field being edited is never rewritten
            text = format_value(spec, get_path(data, spec.path))
            if control.value != text:
                with control.prevent(Input.Changed):
                    control.value = text

    def _set_select(self, path: str, value: Any) -> None:
        select: Select = self._by_path[path]
        with select.prevent(Select.Changed):
            if value is None:
                if select._allow_blank:
                    select.clear()
                return
            if value not in select._legal_values:
                options = [(p, v) for p, v in select._options if v is not Select.NULL]
                select.set_options([*options, (str(value), value)])
            if select.value != value:
                select.value = value

    def mark_errors(self, errors: dict[str, str]) -> None:
        """Show exactly these field errors ({path: reason}); only changed fields are touched."""
        old, self._errors = self._errors, dict(errors)
        if not self.built:
            return
        for path in self._by_path:
            if old.get(path) != self._errors.get(path):
                self._decorate(path)

    def mark_warnings(self, warnings: dict[str, list[str]]) -> None:
        old, self._warnings = self._warnings, {k: list(v) for k, v in warnings.items()}
        if not self.built:
            return
        for path in self._by_path:
            if old.get(path) != self._warnings.get(path):
                self._decorate(path)

    def _decorate(self, path: str) -> None:
        control = self._by_path[path]
        suffix = control.id.removeprefix("f-")
        err = self._error_lines["err-" + suffix]
        message = self._errors.get(path)
        target = control.input if isinstance(control, ModelPicker) else control
        target.set_class(message is not None, "-invalid", "field-invalid")
        row = control.parent if isinstance(control.parent, FieldRow) else None
        warned = path in self._warnings and message is None
        if row is not None:
            row.set_class(warned, "-warning")
            row.tooltip = "\n".join(self._warnings.get(path, [])) or row.spec.help
        else:
            control.set_class(warned, "-warning")
        if message:
            err.update(f"✖ {message}")
        err.set_class(bool(message), "-shown")

    # -- what it reports ------------------------------------------------------------------
    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        spec = self._spec_of(event.input.id)
        if spec is None:
            return
        event.stop()
        if not self.synced or event.value != event.input.value:
            return  # before the first session was shown, or a stale event
        self.app.post_message(FieldEdited(spec.path, event.value))  # straight to the app: one hop

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        spec = self._spec_of(event.select.id)
        if spec is None:
            return
        event.stop()
        if not self.synced or event.value != event.select.value:
            return  # a Select announcing its initial value, or a stale event
        value = None if event.value is Select.NULL else event.value
        self.app.post_message(FieldEdited(spec.path, value))

    def _spec_of(self, widget_id: str | None) -> FieldSpec | None:
        for path, control in self._by_path.items():
            if control.id == widget_id and not isinstance(control, ModelPicker):
                return _NUMERIC.get(path) or {
                    s.path: s for s in (GPU, SERVER, WEIGHTS, KV_CACHE, ENGINE)
                }.get(path)
        return None
