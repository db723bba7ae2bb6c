"""The Search tab: the cheapest configurations that meet the SLA across the catalog, live.

Every plan the app hands it reruns `engine.search` on that plan's inputs in a thread worker
while the tab is on screen (a hidden tab searches when it is shown). Latest wins: a newer plan
stops a running search within an evaluation (`should_stop`) and an older result is dropped. The
ranked table shows the cheapest feasible configurations and, for every other GPU, why it lost;
the plot shows the highlighted GPU's Pareto front (tokens/s per GPU against tokens/s per user).

Keys: enter applies the highlighted row to the session (one edit; `u` undoes it), g e w k p
keep or free the session's GPU, engine, weights, KV cache and parallel layout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ..css import tcss
from .fresh_table import FreshDataTable

if TYPE_CHECKING:
    from engine.search import Candidate, SearchOptions, SearchResult
    from sessions.schema import Session

KEEP_KEYS = (("g", "gpu", "GPU"), ("e", "engine", "engine"), ("w", "weights", "weights"),
             ("k", "kv_cache", "KV"), ("p", "parallel", "TP/PP"), ("b", "batch", "batch"))
COLUMNS = ("#", "GPU", "layout", "$/h", "why not first", "GPUs", "$/Mtok", "TTFT", "ITL")
TOP = 10
NARROW_PLOT = 100  # below this pane width the plot gives its room to the table


def row_cells(result: SearchResult, top: int = TOP) -> list[tuple[Candidate, tuple[str, ...]]]:
    """The table's rows: the `top` cheapest feasible configurations, then each other GPU's best
    candidate with why it lost (the same rows as `gpuplan search`)."""
    from ..search_cli import table_rows

    out = []
    for n, (c, cells) in enumerate(table_rows(result, top), 1):
        gpu, tp, weights, kv, engine, _batch, _repl, gpus, per_h, _month, mtok, _tok, _user, ttft, itl, _kw, why = cells
        if c.price_kind == "owned":
            gpu += " (owned)"
        layout = f"TP{tp} {weights}/{kv} {engine}"
        out.append((c, (str(n) if c.feasible else "-", gpu, layout, per_h, why, gpus, mtok, ttft, itl)))
    return out


class SearchPane(Vertical):
    """The Search tab's pane (registered in tui/pane_registry.py)."""

    DEFAULT_CSS = tcss("widgets/search.tcss")
    BINDINGS = [
        Binding("u", "undo", "Undo apply", show=False),
        *[Binding(key, f"toggle_keep('{name}')", f"keep {label}", show=False) for key, name, label in KEEP_KEYS],
    ]

    class Searched(Message):
        """A search finished for the newest plan (tests and the app may wait on it)."""

        def __init__(self, result: SearchResult, token: int) -> None:
            super().__init__()
            self.result = result
            self.token = token

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ready = False
        self.result: SearchResult | None = None
        self.rows: list[Candidate] = []
        self.keep: set[str] = set()
        self._inputs: Any = None
        self._shown = False  # the tab is on screen (Show/Hide events)
        self._stale = False  # a plan arrived that no search has run for yet
        self._token = 0  # the newest search asked for
        self.done_token = -1  # the newest search shown
        self._undo: Session | None = None
        self._fronts: dict[tuple[int, str], tuple] = {}  # (search token, GPU) -> whole Pareto front
        self._front_wanted: tuple[int, str] | None = None  # the next front to compute (latest wins)
        self._front_running: tuple[int, str] | None = None
        self.plotted: PlotState | None = None
        self._changed = asyncio.Event()  # set at every change of state a waiter may wait for

    def compose(self) -> ComposeResult:
        yield Static("searching...", id="search-summary")
        yield Static(self._keep_text(), id="search-keep")
        with Horizontal(id="search-body"):
            table = FreshDataTable(id="search-table", cursor_type="row", zebra_stripes=True)
            yield table
            yield _pareto_plot()

    def on_resize(self, event: Any) -> None:
        self.set_class(event.size.width < NARROW_PLOT, "-narrow")  # the table first when space is short

    def on_mount(self) -> None:
        table = self.query_one("#search-table", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        self.ready = True
        self._changed.set()
        plan = getattr(self.app, "plan", None)
        if plan is not None:
            self.set_plan(plan)

    # -------------------------------------------------------------------------------------
    # searching (a thread worker; latest wins)
    # -------------------------------------------------------------------------------------
    def set_plan(self, plan: Any) -> None:
        """A new plan: search now if the tab is on screen, else when it is shown (a hidden tab
        would only take the CPU from the app's other work on every keystroke)."""
        self._inputs = plan.inputs
        self._stale = True
        if self.ready and self._shown:
            self._search()

    def on_show(self, event: Any) -> None:
        self._shown = True
        if self.ready and self._stale:
            self._search()

    def on_hide(self, event: Any) -> None:
        self._shown = False

    def _options(self) -> SearchOptions:
        from engine.search import SearchOptions

        return SearchOptions(**{f"keep_{k}": True for k in self.keep}, top=TOP)

    def _search(self) -> None:
        catalog = getattr(self.app, "catalog", None)
        if self._inputs is None or catalog is None:
            return
        self._stale = False
        self._token += 1
        token, inputs, options = self._token, self._inputs, self._options()
        self.query_one("#search-summary", Static).update(Text("searching...", style="dim"))

        def run() -> None:
            from engine.search import SearchCancelled, search

            gpus = list(catalog.gpus.values())
            prices = {g.id: catalog.prices_for(g.id) for g in gpus}
            try:  # a newer plan or option supersedes this search: it stops at once
                result = search(inputs, gpus, prices, options, should_stop=lambda: token != self._token)
            except SearchCancelled:
                return
            self.post_message(self.Searched(result, token))

        self.run_worker(run, thread=True, exclusive=True, group="search", name="search", exit_on_error=False)

    def on_search_pane_searched(self, message: Searched) -> None:
        message.stop()
        if message.token != self._token:
            return  # an older search: a newer plan or option superseded it
        self.done_token = message.token
        self._fronts = {k: v for k, v in self._fronts.items() if k[0] == message.token}  # older searches' go
        self.show_result(message.result)

    def show_result(self, result: SearchResult) -> None:
        self.result = result
        self.query_one("#search-summary", Static).update(self._summary(result))
        table = self.query_one("#search-table", DataTable)
        keep_row = table.cursor_row if table.row_count else 0
        table.clear()
        self.rows = []
        for c, cells in row_cells(result):
            style = "" if c.feasible else "dim"
            table.add_row(*(Text(cell, style=style) for cell in cells))
            self.rows.append(c)
        if self.rows:
            table.move_cursor(row=min(keep_row, len(self.rows) - 1))
        self._plot(self.highlighted())

    def _summary(self, r: SearchResult) -> Text:
        feasible = sum(c.feasible for c in r.candidates)
        s = r.scenario
        text = Text()
        text.append(r.message + "\n", style="bold" if r.winner else "bold red")
        text.append(f"{r.considered:,} configurations, {feasible:,} feasible, {r.pruned:,} pruned by a cost bound; "
                    f"recommended scenario (+{s.headroom:.0%} headroom, N+{s.redundancy}); USD, ms", style="dim")
        return text

    def _keep_text(self) -> Text:
        text = Text("keep: ", style="dim")
        for key, name, label in KEEP_KEYS:
            kept = name in self.keep
            text.append(f"[{key}] {label} ", style="bold" if kept else "dim")
            text.append("kept  " if kept else "free  ", style="bold" if kept else "dim")
        text.append("  enter: apply row  u: undo", style="dim")
        return text

    def action_toggle_keep(self, name: str) -> None:
        self.keep ^= {name}
        self.query_one("#search-keep", Static).update(self._keep_text())
        self._search()

    # -------------------------------------------------------------------------------------
    # applying a row (one edit of the session) and undoing it
    # -------------------------------------------------------------------------------------
    def highlighted(self) -> Candidate | None:
        table = self.query_one("#search-table", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._plot(self.highlighted())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        c = self.highlighted()
        if c is not None:
            self.apply(c)

    def apply(self, c: Candidate) -> bool:
        """Apply a candidate to the session as one edit; False (with a notice) when it cannot be."""
        app = self.app
        doc = getattr(getattr(app, "documents", None), "doc", None)
        if doc is None or not hasattr(app, "apply_session"):
            return False
        if c.status in ("memory", "layout", "pruned"):
            app.notify(f"{c.label}: {c.reason}", title="Not applied", severity="warning")
            return False
        from sessions.errors import SessionError

        from ..search_cli import apply_candidate

        try:
            edited = apply_candidate(doc.session, app.catalog, c, "batch" in self.keep)
        except SessionError as exc:
            app.notify(str(exc), title="Not applied", severity="warning")
            return False
        self._undo = doc.session
        app.apply_session(edited)
        app.notify(f"applied {c.label}; u undoes it", title="Search")
        return True

    def action_undo(self) -> None:
        if self._undo is not None and hasattr(self.app, "apply_session"):
            previous, self._undo = self._undo, None
            self.app.apply_session(previous)

    # -------------------------------------------------------------------------------------
    # the Pareto plot of the highlighted GPU
    # -------------------------------------------------------------------------------------
    def _plot(self, c: Candidate | None) -> None:
        """Draw the highlighted GPU's front. The search evaluates only the candidates the cost
        bound lets through, so a GPU it spared has a partial front or none: its whole front is
        computed in a worker (one at a time, the newest wanted GPU next; fronts kept per search)
        and drawn when it lands. A GPU the step model cannot time says so."""
        result = self.result
        if result is None:
            return
        gpu = c.gpu if c is not None else (result.winner.gpu if result.winner else None)
        token = self.done_token
        note = ""
        points: tuple = ()
        complete = True
        if gpu is not None:
            points = self._fronts.get((token, gpu)) or result.pareto.get(gpu, ())
            slow = result.speed_unknown(gpu)
            if slow is not None:
                note = f"speed unknown: {slow}"
            elif (token, gpu) not in self._fronts and not result.front_complete(gpu):
                complete = False
                note = "computing the whole front..."
                self._want_front(token, gpu)
        self._draw(gpu, points, c, note)
        self.plotted = PlotState(token, gpu, len(points), complete, note)
        self._changed.set()

    def _draw(self, gpu: str | None, points: tuple, c: Candidate | None, note: str) -> None:
        try:
            widget = self.query_one("#search-pareto")
        except Exception:  # noqa: BLE001 - not composed (yet)
            return
        plt = getattr(widget, "plt", None)
        if plt is None:  # textual-plotext missing: the Static placeholder
            return
        plt.clear_data()
        plt.clear_figure()
        # The plot is 34 columns wide: the GPU and a word of state fit, the reason is in the table.
        state = "speed unknown" if note.startswith("speed unknown") else "computing..." if note else "tok/s/GPU"
        plt.title(f"{gpu or '-'}: {state}")
        if points:
            plt.plot([p.tokens_per_s_per_user for p in points], [p.tokens_per_s_per_gpu for p in points],
                     marker="dot")
        if c is not None and c.gpu == gpu and c.tokens_per_s_per_user and c.output_tokens_per_s_per_gpu:
            plt.scatter([c.tokens_per_s_per_user], [c.output_tokens_per_s_per_gpu], marker="x")
        plt.xlabel("tok/s/user")
        widget.refresh()

    def _want_front(self, token: int, gpu: str) -> None:
        """Latest wins: the newest GPU asked for is computed next; one worker at a time."""
        self._front_wanted = (token, gpu)
        if self._front_running is None:
            self._start_front()

    def _start_front(self) -> None:
        wanted, self._front_wanted = self._front_wanted, None
        catalog, inputs = getattr(self.app, "catalog", None), self._inputs
        if wanted is None or catalog is None or inputs is None or wanted in self._fronts or wanted[0] != self.done_token:
            self._front_running = None
            return
        token, gpu = wanted
        spec = inputs.gpu if gpu == inputs.gpu.id else catalog.gpus.get(gpu)
        if spec is None:
            self._front_running = None
            return
        self._front_running = wanted
        options = self._options()

        def run() -> None:
            from engine.search import gpu_front

            from engine.search import SearchCancelled

            points = None  # None: not computed (stopped or failed)
            try:  # a newer search makes this front moot: it stops, and the slot frees
                points = gpu_front(inputs, spec, catalog.prices_for(gpu), options,
                                   should_stop=lambda: token != self._token)
            except SearchCancelled:
                pass
            finally:  # a failure still frees the slot (the worker's error is logged by the app)
                self.post_message(self.FrontReady(gpu, token, points))

        self.run_worker(run, thread=True, group="search-front", name="search-front", exit_on_error=False)

    class FrontReady(Message):
        """One GPU's whole Pareto front, computed for the search `token` showed."""

        def __init__(self, gpu: str, token: int, points: tuple | None) -> None:
            super().__init__()
            self.gpu, self.token, self.points = gpu, token, points

    def on_search_pane_front_ready(self, message: FrontReady) -> None:
        message.stop()
        if message.token == self.done_token and message.points is not None:
            self._fronts[(message.token, message.gpu)] = message.points
        self._front_running = None
        if self._front_wanted is not None:
            self._start_front()
        c = self.highlighted()
        if message.token == self.done_token and c is not None and c.gpu == message.gpu:
            self._plot(c)
        self._changed.set()

    # -------------------------------------------------------------------------------------
    # the pane's own signal (tests and scripts wait on it, never on a clock)
    # -------------------------------------------------------------------------------------
    @property
    def searching(self) -> bool:
        """A search for the newest plan or options is still running."""
        return self.done_token != self._token

    async def wait_until(self, predicate: Callable[[SearchPane], bool]) -> None:
        """Return once `predicate(pane)` holds, re-checked whenever the pane's state changes (it
        is mounted, shows a search, draws the plot)."""
        while not predicate(self):
            self._changed.clear()
            await self._changed.wait()


@dataclass(frozen=True, slots=True)
class PlotState:
    """What the Pareto plot shows: for which search and GPU, how many front points, whether the
    front is whole (False while the GPU's whole front is being computed) and the plot's note."""

    token: int
    gpu: str | None
    points: int
    complete: bool
    note: str


def _pareto_plot() -> Any:
    try:
        from textual_plotext import PlotextPlot
    except ImportError:  # pragma: no cover - a declared dependency; the table still works
        return Static("install textual-plotext for the Pareto plot", id="search-pareto")
    return PlotextPlot(id="search-pareto")


def on_plan(pane: SearchPane, plan: Any, report: dict) -> None:
    """The registry's handler: every plan reruns the search on its inputs."""
    pane.set_plan(plan)


__all__ = ["PlotState", "SearchPane", "on_plan", "row_cells"]
