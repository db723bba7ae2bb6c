"""`gpuplan` builds only the parser of the subcommand it runs and reads its version only when
asked (start-up speed, bench cli_plan_s_median): what users see -- help, version, parsed options,
argparse's errors -- must be exactly what the whole parser gives."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tui import cli

ROOT = Path(__file__).resolve().parents[1]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def full_parser_says(argv: list[str], capsys) -> tuple[object, str, str]:
    try:
        result: object = vars(cli._parser().parse_args(argv))
    except SystemExit as exc:
        result = ("exit", exc.code)
    out, err = capsys.readouterr()
    return result, out, err


def gpuplan_says(argv: list[str], capsys) -> tuple[object, str, str]:
    """What main() parses (or how argparse exits) for argv, with the parser main() builds."""
    try:
        result: object = vars(cli._parser(cli._only_command(argv)).parse_args(argv))
    except SystemExit as exc:
        result = ("exit", exc.code)
    out, err = capsys.readouterr()
    return result, out, err


def test_every_subcommand_is_known_to_the_fast_path():
    assert set(subcommands(cli._parser())) == cli._COMMANDS


def help_argvs() -> list[list[str]]:
    full = subcommands(cli._parser())
    argvs = [["--help"], ["-h"], ["--no-mouse", "--help"]]
    for name, parser in full.items():
        argvs.append([name, "--help"])
        argvs.append(["--no-mouse", name, "-h"])
        for nested in (subcommands(parser) if any(isinstance(a, argparse._SubParsersAction) for a in parser._actions) else {}):
            argvs.append([name, nested, "--help"])
    return argvs


@pytest.mark.parametrize("argv", help_argvs(), ids=" ".join)
def test_help_is_the_whole_parsers_help(argv, capsys):
    said = gpuplan_says(argv, capsys)
    assert said == full_parser_says(argv, capsys)
    assert said[0] == ("exit", 0) and "usage: gpuplan" in said[1]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--no-mouse"],
        ["plan", "--default"],
        ["plan", "--default", "--format", "json", "-o", "out.json"],
        ["plan", "x.toml", "--format", "md"],
        ["--no-mouse", "open", "s.toml", "--watch"],
        ["watch", "--simulate", "4", "--interval", "0.5", "--record", "t"],
        ["catalog", "gpus", "--json"],
        ["catalog", "import", "cfg.json", "--id", "m", "--replace"],
        ["search", "--default", "--top", "3", "--keep", "gpu"],
        ["exporter", "--simulate", "2", "--listen", "127.0.0.1:0"],
        ["fleet", "--once", "--prometheus", "http://127.0.0.1:9"],
        ["forecast", "h.csv", "--horizon", "7d"],
        # argparse's own errors and exits
        ["plan"],
        ["plan", "--default", "--format", "xml"],
        ["plan", "--default", "--bogus"],
        ["plan", "--def"],  # an abbreviated option inside the subcommand
        ["watch", "--interval", "0"],
        ["catalog"],
        ["nosuch"],
        ["--bogus"],
        ["--vers"],  # an abbreviation of --version
        ["--version"],
        ["--no-mouse", "--version", "plan"],
        ["--", "plan"],
    ],
    ids=lambda argv: " ".join(argv) or "(none)",
)
def test_parses_and_fails_exactly_as_the_whole_parser(argv, capsys):
    assert gpuplan_says(argv, capsys) == full_parser_says(argv, capsys)


def test_version_says_the_installed_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"gpuplan {version('gpuplan')}\n"


def test_headless_plan_leaves_other_commands_and_unused_engine_parts_unloaded(tmp_path):
    """`gpuplan plan --default` (fits, no [training]) loads neither the other subcommands'
    modules nor the training and what-would-fit models (start-up time, bench/planner_bench.py)."""
    unused = ["tui.fleet_cli", "tui.search_cli", "tui.forecast_cli", "engine.training", "engine.advice",
              "catalogs.toml_lines"]
    code = (
        "import sys, io, contextlib\n"
        "from tui import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert cli.main(['plan', '--default', '--format', 'json']) == 0\n"
        f"print([m for m in {unused!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "GPUPLAN_HOME": str(tmp_path / "home"), "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
