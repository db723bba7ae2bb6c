"""The Monitor's "Fits here" line: can the plan on the planner's screen run on this host's
GPUs now, and if not, exactly why (how many GPUs have the free memory, how many a replica needs,
what the others have). `fits_lines` is pure: the plan, the verdict of engine/telemetry/fits.py and
the sample in, the two lines as Rich Text out; MonitorPane hands them to a FitsLine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from engine.telemetry.fits import FitVerdict
from engine.telemetry.samples import HostSample

from .monitor_format import BAD, DIM, LABEL, OK, WARN, gib
from .text_lines import Line, TextLines

if TYPE_CHECKING:
    from engine.plan import Plan

ENGINE_WORDS = {
    "vllm": "vLLM gpu_memory_utilization",
    "sglang": "SGLang mem_fraction_static",
    "trtllm": "TensorRT-LLM: weights, activations and overhead + KV pool",
}


FITS_MAX_ROWS = 3  # the head and two lines of verdict


class FitsLine(TextLines):
    """The head line and the verdict wrapped to the width, drawn line by line (only the lines
    whose text changed are redrawn; Textual's Static rendered the whole Group through Rich each
    sample). Its height is set here, not by the content: the verdict's figures change every
    sample, and "63.7 GiB free" becoming "9.5 GiB free" moved the wrap by a line every few
    seconds, each time a layout pass of the whole screen. Within one shape of verdict (the same
    plan, width and outcome) the height only grows, so a row the figures no longer need stays,
    blank, until the shape changes."""

    DEFAULT_CSS = "FitsLine { height: 1; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.head = Text("")
        self.body: Text | None = None
        self.rows = 1
        self._shape: object = None
        self._wrapped: tuple[tuple, list[Text]] | None = None  # (what the body was, its lines)

    @property
    def plain(self) -> str:
        """The head and the whole verdict as text (tests; what the lines are cut from)."""
        return self.head.plain if self.body is None else f"{self.head.plain}\n{self.body.plain}"

    def show(self, head: Text, body: Text | None, shape: object) -> None:
        """New lines; `shape` names what the height may grow within (see the class)."""
        self.head, self.body = head, body
        grow = shape == self._shape
        self._shape = shape
        self._fit_rows(grow)

    def _fit_rows(self, grow: bool) -> None:
        width = self.size.width
        if not width:  # not laid out yet: on_resize sets the height
            self.refresh()
            return
        needed = min(FITS_MAX_ROWS, 1 + len(self._body_lines(width)))
        rows = max(needed, self.rows) if grow else needed
        if rows != self.rows:
            self.rows = rows
            self.styles.height = rows  # a layout pass: only when the row count changes
            self._strips = None
            self.refresh()
        else:
            self.refresh_lines()

    def on_resize(self) -> None:
        super().on_resize()
        if self.size.width != self._laid_out_width:
            self._laid_out_width = self.size.width
            self._fit_rows(grow=False)

    _laid_out_width = 0

    def _body_lines(self, width: int) -> list[Text]:
        body = self.body
        if body is None or width <= 0:
            return []
        key = (body.plain, tuple(body.spans), body.style, width)
        got = self._wrapped
        if got is None or got[0] != key:
            got = self._wrapped = (key, list(body.wrap(self.app.console, width)))
        return got[1]

    def lines(self, width: int) -> list[Text | Line]:
        return [self.head, *self._body_lines(width)[:FITS_MAX_ROWS - 1]]


def fits_lines(p: Plan | None, need: tuple[int, int] | None, v: FitVerdict | None, s: HostSample | None,
               width: int) -> tuple[Text, Text | None]:
    """(the head line: the plan and what it needs per GPU, in the longest wording that fits
    `width`; the verdict, None before there is a plan)."""
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append("Fits here ", style=LABEL)
    if p is None:
        head.append("no plan yet: the planner's result is checked against these GPUs", style=DIM)
        return head, None
    assert need is not None
    tp, pp = p.inputs.tensor_parallel, p.inputs.pipeline_parallel
    engine = p.inputs.serving.engine
    head.append(p.inputs.name or p.inputs.model.label, style="bold")
    layout = f"TP {tp}" + (f" × PP {pp}" if pp > 1 else "")
    head.append(f" · {layout} · ")
    needs = f"needs {gib(need[0])} GiB"  # the requirement, not free memory
    if engine in ("vllm", "sglang"):
        # the planner's total is CUDA's; the MEM (NVML) column counts more. The longest
        # wording that fits the line: at 80 columns "CUDA-visible" must not be cut off.
        basis = f"{p.inputs.serving.memory_fraction:.2f} × {gib(p.memory.gpu_total_bytes)} GiB CUDA-visible"
        wordings = ((f"{needs} per GPU", f" ({ENGINE_WORDS[engine]} {basis})"),
                    (f"{needs} per GPU", f" ({ENGINE_WORDS[engine].split()[0]} {basis})"),
                    (f"{needs} per GPU", f" ({basis})"), (f"{needs}/GPU", f" ({basis})"))
    else:
        wordings = ((f"{needs} per GPU", f" ({ENGINE_WORDS.get(engine, engine)})"),)
    room = (width or 80) - head.cell_len
    text, note = next((w for w in wordings if len(w[0]) + len(w[1]) <= room), wordings[-1])
    head.append(text)
    head.append(note, style=DIM)
    body = Text()
    if not p.memory.fits:
        body.append("✗ ", style=BAD)
        body.append(f"the plan does not fit on one {p.inputs.gpu.label} at all: {p.memory.reason}", style=BAD)
    elif v is None:
        body.append("waiting for a GPU sample…", style=DIM)
    elif not v.gpus and s is not None and s.error:
        body.append("✗ ", style=BAD)
        body.append("no GPU telemetry on this host (see above)", style=WARN)
    else:
        body.append("✓ " if v.fits else "✗ ", style=OK if v.fits else BAD)
        body.append_text(why_not(v) if not v.fits else Text(v.reason, style=OK))
        totals = {f.total_bytes for f in v.gpus if f.total_bytes}
        if totals:
            host_total = max(totals)
            plan_total = p.memory.gpu_total_bytes
            if plan_total and abs(host_total - plan_total) / plan_total > 0.05:
                body.append(
                    f"; note: planned for {p.inputs.gpu.label} ({gib(plan_total)} GiB), the GPUs here have "
                    f"{gib(host_total)} GiB",
                    style=DIM,
                )
    return head, body


def _runs(indices: list[int]) -> str:
    """[0, 1, 2, 3, 6] -> '0-3, 6'."""
    out: list[str] = []
    k = 0
    while k < len(indices):
        j = k
        while j + 1 < len(indices) and indices[j + 1] == indices[j] + 1:
            j += 1
        out.append(str(indices[k]) if j == k else f"{indices[k]}-{indices[j]}")
        k = j + 1
    return ", ".join(out)


def why_not(v: FitVerdict) -> Text:
    """Exactly why a plan does not fit now, short enough for two lines: how many GPUs have the
    free memory, how many a replica needs, and what the others have (same figures grouped)."""
    tp = v.tensor_parallel
    n = len(v.gpus)
    totals = [f.total_bytes for f in v.gpus if f.total_bytes is not None]
    if not v.gpus or tp > n or (totals and v.per_gpu_need_bytes > max(totals)):
        return Text(v.reason, style=WARN)  # no GPU / too few GPUs / GPUs too small: the engine's words
    t = Text(style=WARN)
    k = len(v.eligible)
    t.append(f"{'only ' if k else ''}{k} GPU{'s' if k != 1 else ''} ha{'s' if k == 1 else 've'} "
             f"{gib(v.per_gpu_need_bytes)} GiB free")
    if v.eligible:
        t.append(f" (GPU {_runs(list(v.eligible))})")
    t.append(f", a replica needs {tp}")
    by_note: dict[str, list[int]] = {}
    for f in v.gpus:
        if not f.eligible:
            note = f.note if f.note.startswith("unhealthy") or f.free_bytes is None else f"{gib(f.free_bytes)} GiB free"
            by_note.setdefault(note, []).append(f.index)
    if by_note:
        t.append("; short: ")
        t.append(", ".join(f"GPU {_runs(idx)} {note}" for note, idx in by_note.items()))
    if v.simulated:
        t.append(" (simulated)", style=DIM)
    return t
