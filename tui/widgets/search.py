"""The Search tab: the cheapest configurations that meet the SLA across the catalog, live.

Every plan the app hands it reruns `engine.search` on that plan's inputs in a thread worker
(latest wins: a newer plan supersedes a running search and an older result is dropped). The
ranked table shows the cheapest feasible configurations and, for every other GPU, why it lost;
the plot shows the highlighted GPU's Pareto front (tokens/s per GPU against tokens/s per user).

Keys: enter applies the highlighted row to the session (one edit; `u` undoes it), g e w k p
keep or free the session's GPU, engine, weights, KV cache and parallel layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ..css import tcss

if TYPE_CHECKING:
    from engine.search import Candidate, SearchOptions, SearchResult
    from sessions.schema import Session

KEEP_KEYS = (("g", "gpu", "GPU"), ("e", "engine", "engine"), ("w", "weights", "weights"),
             ("k", "kv_cache", "KV"), ("p", "parallel", "TP/PP"))
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
        self._token = 0  # the newest search asked for
        self.done_token = -1  # the newest search shown
        self._undo: Session | None = None
        self._fronts: dict[tuple[int, str], tuple] = {}  # (search token, GPU) -> Pareto front

    def compose(self) -> ComposeResult:
        yield Static("searching...", id="search-summary")
        yield Static(self._keep_text(), id="search-keep")
        with Horizontal(id="search-body"):
            table = DataTable(id="search-table", cursor_type="row", zebra_stripes=True)
            yield table
            yield _pareto_plot()

    def on_resize(self, event: Any) -> None:
        self.set_class(event.size.width < NARROW_PLOT, "-narrow")  # the table first when space is short

    def on_mount(self) -> None:
        table = self.query_one("#search-table", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        self.ready = True
        plan = getattr(self.app, "plan", None)
        if plan is not None:
            self.set_plan(plan)

    # -------------------------------------------------------------------------------------
    # searching (a thread worker; latest wins)
    # -------------------------------------------------------------------------------------
    def set_plan(self, plan: Any) -> None:
        self._inputs = plan.inputs
        if self.ready:
            self._search()

    def _options(self) -> SearchOptions:
        from engine.search import SearchOptions

        return SearchOptions(**{f"keep_{k}": True for k in self.keep}, top=TOP)

    def _search(self) -> None:
        catalog = getattr(self.app, "catalog", None)
        if self._inputs is None or catalog is None:
            return
        self._token += 1
        token, inputs, options = self._token, self._inputs, self._options()
        self.query_one("#search-summary", Static).update(Text("searching...", style="dim"))

        def run() -> None:
            from engine.search import search

            gpus = list(catalog.gpus.values())
            prices = {g.id: catalog.prices_for(g.id) for g in gpus}
            result = search(inputs, gpus, prices, options)
            self.post_message(self.Searched(result, token))

        self.run_worker(run, thread=True, exclusive=True, group="search", name="search", exit_on_error=False)

    def on_search_pane_searched(self, message: Searched) -> None:
        message.stop()
        if message.token != self._token:
            return  # an older search: a newer plan or option superseded it
        self.done_token = message.token
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
            edited = apply_candidate(doc.session, app.catalog, c)
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
        try:
            widget = self.query_one("#search-pareto")
        except Exception:  # noqa: BLE001 - no plot widget (textual-plotext missing)
            return
        plt = getattr(widget, "plt", None)
        if plt is None or self.result is None:
            return
        plt.clear_data()
        plt.clear_figure()
        gpu = c.gpu if c is not None else (self.result.winner.gpu if self.result.winner else None)
        points = self.result.pareto.get(gpu or "", ()) or self._fronts.get((self.done_token, gpu), ())
        if not points and gpu and (self.done_token, gpu) not in self._fronts:
            self._front_for(gpu)  # pruned before the full model: evaluate this GPU alone
        plt.title(f"Pareto {gpu or '-'}: tok/s/GPU vs tok/s/user")
        if points:
            plt.plot([p.tokens_per_s_per_user for p in points], [p.tokens_per_s_per_gpu for p in points],
                     marker="dot")
        if c is not None and c.tokens_per_s_per_user and c.output_tokens_per_s_per_gpu:
            plt.scatter([c.tokens_per_s_per_user], [c.output_tokens_per_s_per_gpu], marker="x")
        plt.xlabel("tok/s/user")
        widget.refresh()


    def _front_for(self, gpu: str) -> None:
        """Every layout and format of one GPU, unpruned, for its Pareto front (a worker)."""
        catalog, inputs, token = getattr(self.app, "catalog", None), self._inputs, self.done_token
        if catalog is None or inputs is None:
            return
        self._fronts[(token, gpu)] = ()
        options = self._options()

        def run() -> None:
            import dataclasses

            from engine.search import search

            gpus = [g for g in catalog.gpus.values() if g.id == gpu]
            prices = {gpu: catalog.prices_for(gpu)}
            one = dataclasses.replace(options, gpu_ids=(gpu,), exhaustive=True)
            result = search(inputs, gpus, prices, one)
            self.post_message(self.FrontReady(gpu, token, result.pareto.get(gpu, ())))

        self.run_worker(run, thread=True, group="search-front", name="search", exit_on_error=False)

    class FrontReady(Message):
        def __init__(self, gpu: str, token: int, points: tuple) -> None:
            super().__init__()
            self.gpu, self.token, self.points = gpu, token, points

    def on_search_pane_front_ready(self, message: FrontReady) -> None:
        message.stop()
        self._fronts[(message.token, message.gpu)] = message.points
        c = self.highlighted()
        if message.token == self.done_token and c is not None and c.gpu == message.gpu:
            self._plot(c)


def _pareto_plot() -> Any:
    try:
        from textual_plotext import PlotextPlot
    except ImportError:  # pragma: no cover - a declared dependency; the table still works
        return Static("install textual-plotext for the Pareto plot", id="search-pareto")
    return PlotextPlot(id="search-pareto")


def on_plan(pane: SearchPane, plan: Any, report: dict) -> None:
    """The registry's handler: every plan reruns the search on its inputs."""
    pane.set_plan(plan)


__all__ = ["SearchPane", "on_plan", "row_cells"]
