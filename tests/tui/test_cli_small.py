"""Small CLI promises (issue 7): a closed pipe ends quietly, `--version`, help for every argument."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from tui import cli

ROOT = Path(__file__).resolve().parents[2]


def test_a_reader_that_leaves_early_ends_the_command_quietly(tmp_path):
    """`gpuplan catalog models --json | head`: the reader is gone before we write."""
    env = {**os.environ, "GPUPLAN_HOME": str(tmp_path / "home"), "HF_HOME": str(tmp_path / "hf")}
    read, write = os.pipe()
    os.close(read)  # the reader left: every write gets EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "tui.cli", "catalog", "models", "--json"], cwd=ROOT,
                              stdout=write, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    finally:
        os.close(write)
    assert proc.returncode == 0 and proc.stderr == ""


def test_version(capsys):
    try:
        cli.main(["--version"])
    except SystemExit as done:
        assert done.code == 0
    out = capsys.readouterr().out
    assert out.startswith("gpuplan ") and out.strip() != "gpuplan"


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_argument_has_help():
    missing = []
    for parser in _parsers(cli._parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help:
                missing.append(f"{parser.prog}: {action.dest}")
    assert not missing, missing
