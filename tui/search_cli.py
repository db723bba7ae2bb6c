"""`gpuplan search FILE`: the cheapest configuration that meets the session's SLA, across the
catalog (headless; no Textual).

Also the bridge the app's Search view uses: `search_session()` runs the engine for a session and
`apply_candidate()` turns a chosen row into the edited session (one undoable edit).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalogs.loader import Catalog
    from engine.search import Candidate, SearchOptions, SearchResult
    from sessions.schema import Session

KEEP_CHOICES = ("gpu", "engine", "weights", "kv_cache", "parallel")
EXIT_OK = 0


class SearchInputError(Exception):
    """Bad input to `gpuplan search` (tui/cli.py turns it into exit code 2)."""
DEFAULT_TOP = 10
CSV_FIELDS = (
    "rank", "status", "gpu", "tensor_parallel", "pipeline_parallel", "weights", "kv_cache", "engine", "batch",
    "replicas", "gpus", "gpus_provisioned", "nodes", "fits", "meets_sla", "cost_per_hour", "cost_per_month",
    "cost_per_million_output_tokens", "output_tokens_per_s_per_gpu", "tokens_per_s_per_user", "ttft_ms", "itl_ms",
    "power_kw", "price_per_gpu_hour", "price_basis", "cost_lower_bound", "reason", "why_not_first",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    se = sub.add_parser("search", help="search the catalog for the cheapest configuration meeting the SLA (headless)")
    target = se.add_mutually_exclusive_group(required=True)
    target.add_argument("file", type=Path, nargs="?", help="the session file (TOML) whose model and workload to search for")
    target.add_argument("--default", action="store_true", help="search for the embedded default session")
    se.add_argument("--top", type=int, metavar="N", help="rows to show (text: default 10; json/csv: all)")
    se.add_argument("--format", choices=("text", "json", "csv"), default="text", help="output format (default text)")
    se.add_argument("--gpu", dest="gpus", action="extend", nargs="+", metavar="ID", help="only these catalog GPUs")
    se.add_argument("--max-gpus", type=int, metavar="N", help="provision at most N GPUs for the fleet")
    se.add_argument("--keep", action="extend", nargs="+", choices=KEEP_CHOICES, default=[],
                    help="hold these session choices fixed (default: search them all)")
    se.add_argument("--save-winner", type=Path, metavar="OUT", help="write the session with the winner applied (new file)")


# ------------------------------------------------------------------------------------------
# The engine call, shared with the app
# ------------------------------------------------------------------------------------------


def search_session(session: Session, catalog: Catalog, options: SearchOptions, *, file: str = "<session>",
                   text: str | None = None) -> SearchResult:
    from engine.search import search
    from sessions.resolve import to_plan_inputs

    inputs = to_plan_inputs(session, catalog, file=file, text=text)
    gpus = list(catalog.gpus.values())
    prices = {g.id: catalog.prices_for(g.id) for g in gpus}
    return search(inputs, gpus, prices, options)


def apply_candidate(session: Session, catalog: Catalog, candidate: Candidate) -> Session:
    """The session edited to plan `candidate` (sessions.io.update_session: validated)."""
    from engine.search import session_edits
    from sessions.io import update_session
    from sessions.resolve import to_plan_inputs

    return update_session(session, session_edits(to_plan_inputs(session, catalog), candidate))


def options_from_args(args: argparse.Namespace, catalog: Catalog) -> SearchOptions:
    from engine.search import SearchOptions

    BadInput = SearchInputError
    gpu_ids = None
    if args.gpus:
        gpu_ids = []
        for gid in args.gpus:
            try:
                gpu_ids.append(catalog.gpus.resolve(gid))
            except KeyError as exc:
                raise BadInput(f"--gpu: {exc}") from None
        gpu_ids = tuple(gpu_ids)
    if args.max_gpus is not None and args.max_gpus < 1:
        raise BadInput(f"--max-gpus: must be at least 1, got {args.max_gpus}")
    if args.top is not None and args.top < 1:
        raise BadInput(f"--top: must be at least 1, got {args.top}")
    keep = set(args.keep or ())
    return SearchOptions(
        keep_gpu="gpu" in keep, keep_engine="engine" in keep, keep_weights="weights" in keep,
        keep_kv_cache="kv_cache" in keep, keep_parallel="parallel" in keep,
        gpu_ids=gpu_ids, max_gpus=args.max_gpus, top=max(args.top or DEFAULT_TOP, DEFAULT_TOP),
    )


def run_search(args: argparse.Namespace) -> int:
    from catalogs.files import atomic_write_text
    from catalogs.loader import CatalogError, load_catalog
    from sessions.errors import SessionError
    from sessions.examples import default_session_text
    from sessions.io import dump_session, parse_session

    BadInput = SearchInputError

    if args.default:
        text, filename = default_session_text(), "<default session>"
    else:
        path: Path = args.file
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BadInput(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: cannot read: {exc}") from None
        filename = str(path)
    try:
        catalog = load_catalog()
        session = parse_session(text, filename)
        options = options_from_args(args, catalog)
        result = search_session(session, catalog, options, file=filename, text=text)
    except (SessionError, CatalogError) as exc:
        raise BadInput(str(exc)) from exc
    if args.save_winner is not None:
        out: Path = args.save_winner
        if result.winner is None:
            raise BadInput(f"--save-winner: nothing to save: {result.message}")
        if out.exists():
            raise BadInput(f"{out}: refusing to overwrite an existing file with the winner's session")
        try:
            atomic_write_text(out, dump_session(apply_candidate(session, catalog, result.winner)))
        except OSError as exc:
            raise BadInput(f"{out}: cannot write: {exc}") from None
    sys.stdout.write(render(result, args.format, args.top))
    return EXIT_OK


# ------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------


def render(result: SearchResult, fmt: str, top: int | None = None) -> str:
    if fmt == "json":
        data = result.to_dict()
        if top is not None:
            data["candidates"] = data["candidates"][:top]
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        return render_csv(result, top)
    return render_text(result, top or DEFAULT_TOP)


def render_csv(result: SearchResult, top: int | None = None) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for rank, c in enumerate(result.candidates[:top] if top else result.candidates, 1):
        w.writerow(dict(c.to_dict(), rank=rank, why_not_first=result.lost_because(c)))
    return buf.getvalue()


def _n(value: float | None, spec: str, unknown: str = "-") -> str:
    return unknown if value is None else format(value, spec)


def table_rows(result: SearchResult, top: int) -> list[tuple[Candidate, list[str]]]:
    """The ranked rows: the `top` cheapest feasible, then each other GPU's best candidate with
    why it lost."""
    shown = [c for c in result.candidates if c.feasible][:top]
    seen = {c.gpu for c in shown}
    for c in result.candidates:
        if c.gpu not in seen:
            shown.append(c)
            seen.add(c.gpu)
    rows = []
    for c in shown:
        pp = f"x{c.pipeline_parallel}" if c.pipeline_parallel > 1 else ""
        rows.append((c, [
            c.gpu, f"{c.tensor_parallel}{pp}", c.weights, c.kv_cache, c.engine, _n(c.batch, "d"), _n(c.replicas, "d"),
            _n(c.gpus_provisioned, "d"), _cost_cell(c), _n(c.cost_per_month, ",.0f"),
            _n(c.cost_per_million_output_tokens, ",.3f"), _n(c.output_tokens_per_s_per_gpu, ",.0f"),
            _n(c.tokens_per_s_per_user, ",.1f"), _n(c.ttft_ms, ",.0f"), _n(c.itl_ms, ",.1f"), _n(c.power_kw, ",.1f"),
            result.lost_because(c),
        ]))
    return rows


def _cost_cell(c: Candidate) -> str:
    """$/h, or the bound a pruned candidate was dropped at (">=")."""
    if c.cost_per_hour is None and c.cost_lower_bound is not None and c.status in ("pruned", "too-many-gpus"):
        return f">={c.cost_lower_bound:,.2f}"
    return _n(c.cost_per_hour, ",.2f")


HEADERS = ("GPU", "TP", "weights", "KV", "engine", "batch", "repl", "GPUs", "$/h", "$/month", "$/Mtok",
           "tok/s/GPU", "tok/s/user", "TTFT", "ITL", "kW", "why not first")


def render_text(result: SearchResult, top: int = DEFAULT_TOP) -> str:
    from collections import Counter

    counts = Counter(c.status for c in result.candidates)
    s = result.scenario
    lines = [
        f"gpuplan search: {result.model} - cheapest fleet meeting the SLA, recommended scenario "
        f"(+{s.headroom:.0%} headroom, N+{s.redundancy}); money in USD, latency in ms",
        f"{result.considered:,} configurations: {counts['feasible']:,} feasible, {result.evaluated:,} evaluated in full, "
        f"{result.pruned:,} pruned by a cost bound, "
        + ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items()) if k not in ("feasible", "pruned"))
        + f" ({result.elapsed_ms:.0f} ms)",
        result.message,
        "",
    ]
    rows = table_rows(result, top)
    cells = [list(HEADERS)] + [["", *r] for _, r in rows]
    cells[0] = ["#", *HEADERS]
    for i, (c, r) in enumerate(rows, 1):
        cells[i][0] = str(i) if c.feasible else "-"
    widths = [max(len(row[k]) for row in cells) for k in range(len(cells[0]) - 1)]
    for n, row in enumerate(cells):
        left = "  ".join(cell.rjust(w) if k in range(6, 17) else cell.ljust(w) for k, (cell, w) in enumerate(zip(row, widths)))
        lines.append((left + "  " + row[-1]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(HEADERS[-1]))
    if result.winner:
        lines += ["", f"price: {result.winner.price_basis}"]
    if result.cost_latency:
        front = ", ".join(f"{c.label} ${c.cost_per_hour:,.2f}/h ITL {c.itl_ms:.1f}" for c in result.cost_latency[:5])
        lines.append(f"cost vs latency frontier: {front}")
    return "\n".join(lines) + "\n"


__all__ = ["SearchInputError", "add_parser", "apply_candidate", "render", "run_search", "search_session"]

