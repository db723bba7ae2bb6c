"""The `gpuplan` command line.

Headless commands (`plan`, `catalog`) never import Textual: they must start fast and work in
scripts. Exit codes: 0 ok, 2 bad input (the message names file, line and field), 1 internal error
(details in the JSON-lines log).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, BadInput

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_OK", "BadInput", "main", "plan_from_text", "run"]


DEFAULT_RECORD_MAX_MB = 512.0  # ~18 hours of 8 GPUs at 10 Hz, compressed


def _finite(text: str, what: str, low: float, high: float, unit: str = "") -> float:
    """An argparse type: a finite number in [low, high]; otherwise argparse exits 2 saying why."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}{unit}, got {text}")
    return value


def _interval(text: str) -> float:
    return _finite(text, "--interval", 0.01, 3600.0, " seconds")


def _record_cap(text: str) -> float:
    return _finite(text, "--record-max-mb", 0.02, 1_000_000.0, " MB")


# The subcommands `_parser` builds, for `_only_command` (a name missing here still works: the
# whole parser is built for it).
_COMMANDS = frozenset({"open", "watch", "plan", "catalog", "exporter", "fleet", "search", "forecast"})


def _only_command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` runs, when nothing before it needs the whole parser (help, version,
    an unknown command, an abbreviated option): `""` for none (the app). None: build them all."""
    for arg in argv:
        if arg != "--no-mouse":
            return arg if arg in _COMMANDS else None
    return ""


class _LazyVersion(argparse._VersionAction):
    """`--version` reads the installed version (importlib.metadata, ~25 ms) only when asked."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        self.version = f"%(prog)s {_version()}"
        super().__call__(parser, namespace, values, option_string)


class _Discard:
    """A parser nobody will use: whatever is added to it is dropped."""

    def __getattr__(self, name: str) -> Callable[..., _Discard]:
        return lambda *args, **kwargs: self


class _OneSubcommand:
    """The subparsers action, building only the subcommand `name` (argparse then accepts only
    that one, which is all that `argv` asks for); the others are discarded unbuilt."""

    def __init__(self, action: Any, name: str):
        self._action, self._name = action, name

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        return self._action.add_parser(name, **kwargs) if name == self._name else _Discard()


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line. `only` names the one subcommand to build (main() passes what
    `_only_command` found, `""` for none); None builds every one (help, errors listing them)."""
    p = argparse.ArgumentParser(
        prog="gpuplan",
        description="Size LLM serving and fine-tuning on GPUs, live, with a GPU monitor.",
        epilog="Without a command, opens the app on the default session (needs a terminal).",
    )
    p.add_argument("--version", action=_LazyVersion, help="print the version and exit")
    p.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    if only is not None:
        sub = _OneSubcommand(sub, only)

    op = sub.add_parser("open", help="open a session file in the app")
    op.add_argument("file", type=Path, help="the session file (TOML) to open")
    op.add_argument("--watch", action="store_true", help="reload and recalculate when the file changes on disk")
    op.add_argument("--no-mouse", action="store_true", help=argparse.SUPPRESS)

    wa = sub.add_parser("watch", help="monitor-first layout for long unattended watching")
    wa.add_argument("file", type=Path, nargs="?", help="a session file to watch beside the monitor (optional)")
    wa.add_argument("--interval", type=_interval, default=1.0, help="seconds between GPU samples (default 1)")
    src = wa.add_mutually_exclusive_group()
    src.add_argument("--replay", type=Path, metavar="TRACE", help="play a recorded trace instead of NVML")
    src.add_argument("--simulate", type=int, metavar="N", help="N simulated GPUs instead of NVML")
    wa.add_argument("--metrics", metavar="ADDR", help="also serve the samples as Prometheus /metrics on HOST:PORT")
    wa.add_argument("--allow-remote", action="store_true", help="allow a --metrics address other than loopback")
    wa.add_argument("--record", type=Path, metavar="TRACE",
                    help="record the samples to a gzip JSON-lines trace (.gz is added to the name if missing)")
    wa.add_argument("--record-max-mb", type=_record_cap, default=DEFAULT_RECORD_MAX_MB, metavar="MB",
                    help=f"cap on the trace: at half of it the file rotates to NAME.1.gz, so both stay"
                         f" under MB (default {DEFAULT_RECORD_MAX_MB:g})")
    wa.add_argument("--no-mouse", action="store_true", help=argparse.SUPPRESS)

    pl = sub.add_parser("plan", help="print the plan for a session file (headless)")
    target = pl.add_mutually_exclusive_group(required=True)
    target.add_argument("file", type=Path, nargs="?", help="the session file (TOML) to plan")
    target.add_argument("--default", action="store_true", help="plan the embedded default session")
    pl.add_argument("--format", choices=("text", "json", "md", "csv"), default="text",
                    help="report format: text, json, md (markdown) or csv (default text)")
    pl.add_argument("--output", "-o", type=Path, help="write the report to this file (atomically)")

    ca = sub.add_parser("catalog", help="list or import catalog entries (headless)")
    ca_sub = ca.add_subparsers(dest="catalog_command", required=True)
    for kind in ("models", "gpus", "servers", "prices"):
        k = ca_sub.add_parser(kind, help=f"list {kind}")
        k.add_argument("--json", action="store_true", help="print JSON instead of a table")
    im = ca_sub.add_parser("import", help="import a local Hugging Face config.json as a user model")
    im.add_argument("path", type=Path, help="a config.json, or the folder that holds one")
    im.add_argument("--id", dest="model_id", help="catalog id to give it (default: from the path)")
    im.add_argument("--replace", action="store_true", help="replace an existing user entry with that id")

    if only in (None, "exporter", "fleet"):
        from .fleet_cli import add_exporter_parser, add_fleet_parser

        add_exporter_parser(sub)
        add_fleet_parser(sub)
    if only in (None, "search"):
        from .search_cli import add_parser as add_search_parser  # `gpuplan search` (tui/search_cli.py)

        add_search_parser(sub)
    if only in (None, "forecast"):
        from .forecast_cli import add_parser as add_forecast_parser

        add_forecast_parser(sub)
    return p


# ------------------------------------------------------------------------------------------
# plan
# ------------------------------------------------------------------------------------------


def plan_from_text(text: str, filename: str):
    """Parse, resolve against the catalog and plan. Raises BadInput for anything the user can fix."""
    from catalogs.loader import CatalogError, load_catalog
    from engine.plan import plan
    from sessions.io import SessionError, parse_session
    from sessions.resolve import to_plan_inputs

    try:
        catalog = load_catalog()
        session = parse_session(text, filename)
        return plan(to_plan_inputs(session, catalog, file=filename, text=text))
    except (SessionError, CatalogError) as exc:
        raise BadInput(str(exc)) from exc


def _cmd_plan(args: argparse.Namespace) -> int:
    from catalogs.files import atomic_write_text
    from sessions.examples import default_session_text

    from .report import render

    if args.default:
        text, filename = default_session_text(), "<default session>"
    else:
        from sessions.io import SessionError, read_session_file

        path: Path = args.file
        try:  # the app's reader too: BOM, size limit, non-regular files, line:col of bad bytes
            text = read_session_file(path)
        except SessionError as exc:
            raise BadInput(str(exc)) from None
        filename = str(path)
    result = plan_from_text(text, filename)
    if not args.default:
        from .plan_forecast import with_forecast  # the session's [forecast] block (issue 12)

        result = with_forecast(result, text, filename)
    output = render(result, args.format)
    if args.output:
        out: Path = args.output
        if not args.default and out.resolve() == args.file.resolve():
            raise BadInput(f"{out}: refusing to overwrite the session file with its report")
        if out.suffix.lower() == ".toml" and out.exists():
            raise BadInput(f"{out}: refusing to overwrite an existing TOML file with a report")
        try:
            atomic_write_text(out, output)
        except OSError as exc:
            raise BadInput(f"{out}: cannot write: {exc}") from None
    else:
        sys.stdout.write(output)
    return EXIT_OK


# ------------------------------------------------------------------------------------------
# catalog
# ------------------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _cmd_catalog(args: argparse.Namespace) -> int:
    import json

    from catalogs.cli_support import as_json, rows_for
    from catalogs.loader import CatalogError, load_catalog

    try:
        if args.catalog_command == "import":
            from catalogs.hf import import_config_json, save_user_model

            entry = import_config_json(args.path, id=args.model_id)
            path = save_user_model(entry, replace=args.replace)
            print(f"imported {entry.id} into {path}")
            return EXIT_OK
        catalog = load_catalog()
    except (CatalogError, ValueError, OSError) as exc:
        raise BadInput(str(exc)) from exc
    kind = args.catalog_command
    if args.json:
        print(json.dumps(as_json(kind, catalog), indent=2))
    else:
        headers, rows = rows_for(kind, catalog)
        sys.stdout.write(_table(headers, rows))
    return EXIT_OK


# ------------------------------------------------------------------------------------------
# the app
# ------------------------------------------------------------------------------------------


def _cmd_app(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            "gpuplan: the app needs a terminal. For a report without one, use:\n"
            "  gpuplan plan FILE [--format text|json|md|csv]   (or: gpuplan plan --default)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    command = args.command
    file = getattr(args, "file", None)
    if file is not None and not file.exists() and command == "open":
        raise BadInput(f"{file}: no such file")
    if file is not None and file.exists():
        _refuse_non_regular(file)
    record = getattr(args, "record", None)
    if record is not None and record.suffix != ".gz":
        record = record.with_name(record.name + ".gz")  # traces are compressed (README)
    from .launch import run_app

    return run_app(
        session_path=file,
        watch_file=bool(getattr(args, "watch", False)) or (command == "watch" and file is not None),
        monitor_first=command == "watch",
        interval=getattr(args, "interval", 1.0),
        replay=getattr(args, "replay", None),
        simulate=getattr(args, "simulate", None),
        record=record,
        record_max_mb=getattr(args, "record_max_mb", None),
        mouse=not args.no_mouse,
        metrics=getattr(args, "metrics", None),
        allow_remote=getattr(args, "allow_remote", False),
    )


def _refuse_non_regular(path: Path) -> None:
    """A FIFO, device or directory would block or make no sense as a session: refuse it before
    the app starts (the readers refuse it too; this says so before the screen is taken)."""
    import stat

    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a directory" if stat.S_ISDIR(mode) else "not a file"
        raise BadInput(f"{path}: is {kind}, not a regular file: refusing to open it")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gpuplan")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _stdout_gone() -> int:
    """The reader of our output left (`gpuplan catalog models --json | head`): that is its
    choice, not an error. Point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(_only_command(argv)).parse_args(argv)
    try:
        if args.command == "plan":
            return _cmd_plan(args)
        if args.command == "catalog":
            return _cmd_catalog(args)
        if args.command in ("exporter", "fleet"):
            from .fleet_cli import cmd_exporter, cmd_fleet

            return cmd_exporter(args) if args.command == "exporter" else cmd_fleet(args)
        if args.command == "search":
            from .search_cli import SearchInputError, run_search

            try:
                return run_search(args)
            except SearchInputError as exc:
                raise BadInput(str(exc)) from exc
        if args.command == "forecast":
            from engine.forecast.errors import ForecastInputError

            from .forecast_cli import cmd_forecast

            try:
                return cmd_forecast(args)
            except ForecastInputError as exc:
                raise BadInput(str(exc)) from None
        return _cmd_app(args)
    except BadInput as exc:
        print(f"gpuplan: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return _stdout_gone()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place an unexpected error becomes exit 1
        from .logs import log_exception

        where = log_exception("cli", exc)
        print(f"gpuplan: internal error: {type(exc).__name__}: {exc} (details in {where})", file=sys.stderr)
        return EXIT_INTERNAL


def run() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    sys.exit(main())


if __name__ == "__main__":
    run()
