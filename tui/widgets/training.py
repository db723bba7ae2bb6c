"""The Training tab: the run's knobs, its memory per GPU as a bar, fits and the largest
micro-batch and sequence, speed, duration and cost, and a what-if table over methods and ZeRO
stages ranked by cost.

Panes never compute: every figure comes from the plan's JSON report (`report["training"]`,
through the same row helpers as the headless report, `tui.report_training`). The controls only
report edits (`FieldEdited` with `training.*` paths, the sidebar's message); the app validates
them against the session and replans, live on every keystroke.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Select, Static

from ..fields import TRAINING_CHOICES, TRAINING_FIELDS, FieldInputError, FieldSpec, format_value, parse_value
from ..messages import FieldEdited
from ..report_training import BREAKDOWN, WHAT_IF_HEADER, training_rows, what_if_rows
from .fresh_table import FreshDataTable
from .static_update import refresh_content, update_static

# the bar's colours, one per part of the breakdown (and the free rest of the GPU)
PART_STYLE = {
    "weights": "bold #5f87d7", "gradients": "#d75f5f", "optimizer": "#d7af5f", "adapters": "#87d75f",
    "activations": "#af87d7", "logits": "#5fafaf", "overhead": "#8a8a8a",
}
_FREE, _OVER = "#3a3a3a", "bold red"
CONTROLS = tuple(TRAINING_FIELDS)


class TrainingBar(Widget):
    """One GPU's memory at the training peak as one line as wide as the widget: the parts of the
    breakdown, then the free rest (or a red tail when it needs more than the GPU has)."""

    DEFAULT_CSS = "TrainingBar { height: 1; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.breakdown: dict[str, float] = {}
        self.capacity = 0.0

    def set(self, breakdown: dict[str, float], capacity: float) -> None:
        self.breakdown, self.capacity = dict(breakdown), capacity
        self.refresh()

    def render(self) -> Text:
        width = max(10, self.size.width)
        parts = [(k, max(0.0, self.breakdown.get(k, 0.0))) for k in BREAKDOWN]
        used = sum(v for _, v in parts)
        scale = max(used, self.capacity, 1e-9)
        raw = [v / scale * width for _, v in parts]
        cells = [int(r) for r in raw]
        # largest remainders, so the parts fill exactly their share of the line
        filled = min(width, round(used / scale * width))
        for i in sorted(range(len(raw)), key=lambda i: raw[i] - cells[i], reverse=True)[: max(0, filled - sum(cells))]:
            cells[i] += 1
        bar = Text(no_wrap=True, overflow="crop")
        for (name, _), n in zip(parts, cells):
            bar.append("█" * n, style=PART_STYLE[name])
        rest = width - sum(cells)
        if used > self.capacity and self.capacity > 0:
            over = max(1, round((used - self.capacity) / scale * width))
            bar = bar[: width - over]
            bar.append("▒" * over, style=_OVER)
        elif rest > 0:
            bar.append("░" * rest, style=_FREE)
        return bar


def legend_items(breakdown: dict[str, float]) -> list[Text]:
    items = []
    for name in BREAKDOWN:
        value = breakdown.get(name, 0.0)
        if value >= 0.005:
            items.append(Text.assemble(("█ ", PART_STYLE[name]), f"{name} {value:.1f}"))
    return items


class TrainingLegend(Widget):
    """The bar's parts and their GiB, wrapped between items (never inside one)."""

    DEFAULT_CSS = "TrainingLegend { height: auto; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items: list[Text] = []

    def set(self, breakdown: dict[str, float]) -> None:
        self.items = legend_items(breakdown)
        refresh_content(self)  # it may wrap to another number of lines

    def lines(self, width: int) -> list[Text]:
        lines: list[Text] = [Text()]
        for item in self.items:
            if lines[-1] and len(lines[-1]) + 2 + len(item) > width:
                lines.append(Text())
            if lines[-1]:
                lines[-1].append("  ")
            lines[-1].append_text(item)
        return lines

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.lines(max(1, width)))

    def render(self) -> Text:
        return Text("\n").join(self.lines(max(1, self.size.width)))


class TrainingPane(VerticalScroll):
    """The Training tab."""

    DEFAULT_CSS = """
    TrainingPane { padding: 0 1; }
    TrainingPane #training-controls { height: auto; layout: grid; grid-size: 4; grid-gutter: 0 1;
        grid-columns: 1fr 1fr 1fr 1fr; }
    TrainingPane .training-control { height: auto; }
    TrainingPane .training-control Label { color: $text-muted; }
    TrainingPane .training-control Input, TrainingPane .training-control Select { width: 100%; }
    TrainingPane #training-errors { color: $error; height: auto; }
    TrainingPane #training-title { height: auto; }
    TrainingPane #training-controls { margin-top: 1; }
    TrainingPane #training-legend { height: auto; }
    TrainingPane #training-figures { height: auto; margin-top: 1; }
    TrainingPane #training-what-if { height: auto; max-height: 16; margin-top: 1; }
    """

    ready = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._quiet: dict[str, Any] = {}  # values set by show(): their Changed events are not edits
        self._errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        current = self._session_training()
        yield Static("Training: calculating...", id="training-title")
        yield TrainingBar(id="training-bar")
        yield TrainingLegend(id="training-legend")
        with Horizontal(id="training-controls"):
            for spec in CONTROLS:
                with Vertical(classes="training-control"):
                    yield Label(spec.label)
                    if spec.kind == "choice":
                        options = [(c, c) for c in TRAINING_CHOICES[spec.path]]
                        value = current.get(_key(spec))
                        yield Select(options, id=_id(spec), allow_blank=False, compact=True,
                                     value=value if value in TRAINING_CHOICES[spec.path] else options[0][1],
                                     tooltip=spec.help)
                    else:
                        yield Input(_text(spec, current.get(_key(spec))), id=_id(spec), placeholder=spec.blank_means,
                                    compact=True, tooltip=spec.help)
        yield Static("", id="training-errors")
        yield Static("", id="training-figures")
        yield FreshDataTable(id="training-what-if", show_cursor=False, zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#training-what-if", DataTable)
        for header in WHAT_IF_HEADER:
            table.add_column(header, key=header)
        self.ready = True
        if getattr(self.app, "report", None) is not None:
            self.show(self.app.report)

    # -- what it shows --------------------------------------------------------------------
    def show(self, report: dict[str, Any]) -> None:
        if not self.ready:
            return
        self._sync_controls()
        tr = report.get("training")
        title = self.query_one("#training-title", Static)
        bar = self.query_one("#training-bar", TrainingBar)
        table = self.query_one("#training-what-if", DataTable)
        if not tr:
            update_static(title, Text("No [training] section yet: set a method, sequence length or GPUs above to "
                                      "size a fine-tuning run (defaults: LoRA r16, 4,096 tokens, the fewest GPUs "
                                      "that fit).", style="dim"))
            bar.set({}, 0.0)
            self.query_one("#training-legend", TrainingLegend).set({})
            update_static(self.query_one("#training-figures", Static), "")
            table.clear()
            return
        verdict = Text()
        verdict.append("✔ FITS" if tr["fits"] else "✖ DOES NOT FIT", style="bold green" if tr["fits"] else "bold red")
        verdict.append(f"  {tr['memory_per_gpu_gib']:.1f} of {tr['gpu_memory_gib']:.1f} GiB per GPU "
                       f"(peak at {tr.get('peak_phase', 'backward')}), {tr['gpus']:,} x {tr['gpu']}")
        if not tr["fits"]:
            verdict.append(f"\n{tr['reason']}", style="red")
        update_static(title, verdict)
        bar.set(tr["breakdown_gib"], tr["gpu_memory_gib"])
        self.query_one("#training-legend", TrainingLegend).set(tr["breakdown_gib"])
        rows = [r for r in training_rows(tr) if not r[0].startswith("  ")]  # the bar shows the breakdown
        lines = Text()
        for k, v in rows:
            if lines:
                lines.append("\n")
            lines.append(f"{k:<34}", style="dim")
            lines.append(v)
        update_static(self.query_one("#training-figures", Static), lines)
        table.clear()
        for row in what_if_rows(tr):
            table.add_row(*row)

    def _session_training(self) -> dict[str, Any]:
        doc = getattr(self.app, "doc", None)
        session = getattr(doc, "session", None)
        training = getattr(session, "training", None)
        if training is None:
            from engine.inputs import TrainingInputs

            defaults = TrainingInputs()
            return {f.path.split(".", 1)[1]: getattr(defaults, f.path.split(".", 1)[1]) for f in CONTROLS}
        return training.model_dump(mode="python")

    def _sync_controls(self) -> None:
        values = self._session_training()
        for spec in CONTROLS:
            key = spec.path.split(".", 1)[1]
            control = self.query_one(f"#{_id(spec)}")
            if control.has_focus or spec.path in self._errors:
                continue  # never overwrite what the user is typing
            value = values.get(key)
            if isinstance(control, Select):
                if value is not None and control.value != value:
                    self._quiet[spec.path] = value
                    control.value = value
            else:
                text = _text(spec, value)
                if control.value != text:
                    self._quiet[spec.path] = text
                    control.value = text

    # -- what it reports ------------------------------------------------------------------
    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        spec = _spec(event.input.id)
        if spec is None:
            return
        event.stop()
        if self._quiet.pop(spec.path, None) == event.value:
            return
        try:
            value = parse_value(spec, event.value)
        except FieldInputError as exc:
            self._set_error(spec.path, str(exc))
            return
        self._set_error(spec.path, None)
        if value == self._session_training().get(_key(spec)):
            return  # what the session already says (a widget announcing its value): not an edit
        self.app.post_message(FieldEdited(spec.path, event.value))
        self.call_after_refresh(self._app_errors)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        spec = _spec(event.select.id)
        if spec is None:
            return
        event.stop()
        if self._quiet.pop(spec.path, None) == event.value or event.value is Select.BLANK:
            return
        if event.value == self._session_training().get(_key(spec)):
            return
        self.app.post_message(FieldEdited(spec.path, event.value))
        self.call_after_refresh(self._app_errors)

    def _app_errors(self) -> None:
        errors = getattr(self.app, "field_errors", {}) or {}
        for spec in CONTROLS:
            if spec.path in errors:
                self._set_error(spec.path, errors[spec.path])
            elif spec.path in self._errors:
                self._set_error(spec.path, None)

    def _set_error(self, path: str, message: str | None) -> None:
        if message is None:
            self._errors.pop(path, None)
        else:
            self._errors[path] = message
        for spec in CONTROLS:
            self.query_one(f"#{_id(spec)}").set_class(spec.path in self._errors, "-invalid")
        text = "\n".join(f"✖ {_label(p)}: {m}" for p, m in self._errors.items())
        self.query_one("#training-errors", Static).update(text)


def _key(spec: FieldSpec) -> str:
    return spec.path.split(".", 1)[1]


def _text(spec: FieldSpec, value: Any) -> str:
    if _key(spec) == "dataset_tokens" and isinstance(value, (int, float)) and value >= 1e6:
        return f"{value:g}"  # 1e+09, not 1000000000
    return format_value(spec, value)


def _id(spec: FieldSpec) -> str:
    return "t-" + spec.path.split(".", 1)[1].replace("_", "-")


def _spec(widget_id: str | None) -> FieldSpec | None:
    return next((s for s in CONTROLS if _id(s) == widget_id), None)


def _label(path: str) -> str:
    return next((s.label for s in CONTROLS if s.path == path), path)
