"""The import direction of DESIGN section 1: tui -> sessions -> catalogs -> engine."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_engine_imports_none_of_the_faces():
    for path in sources("engine"):
        bad = imported_modules(path) & {"tui", "sessions", "catalogs", "textual"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_catalogs_and_sessions_never_import_the_ui():
    for package, forbidden in (("catalogs", {"tui", "sessions", "textual"}), ("sessions", {"tui", "textual"})):
        for path in sources(package):
            bad = imported_modules(path) & forbidden
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_tui_imports_textual():
    for package in ("engine", "catalogs", "sessions", "bench"):
        for path in sources(package):
            assert "textual" not in imported_modules(path), path


def test_only_the_nvml_backend_imports_pynvml():
    for package in ("engine", "catalogs", "sessions", "tui"):
        for path in sources(package):
            if path == ROOT / "engine" / "telemetry" / "nvml.py":
                continue
            assert "pynvml" not in imported_modules(path), f"{path.relative_to(ROOT)} imports pynvml"


def test_the_rule_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom textual.app import App\nimport pynvml as nv\n")
    assert {"textual", "pynvml"} <= imported_modules(bad)


def test_headless_plan_never_loads_textual():
    code = (
        "import sys, io, contextlib\n"
        "from tui import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['plan', '--default', '--format', 'json'])\n"
        "print('textual' in sys.modules, 'pynvml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False", out.stdout + out.stderr
