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


# ------------------------------------------------------------------------------------------
# no import cycles between modules (DESIGN section 1)
# ------------------------------------------------------------------------------------------
PACKAGES = ("engine", "catalogs", "sessions", "tui")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _known_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sources(package)}


def module_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every project module `path` imports: at the top, inside functions and under TYPE_CHECKING
    alike (a cycle that only type checkers or a late import see is still a cycle of the design)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def add(name: str) -> None:
        # `from a.b import c`: c may be a module (a.b.c) or a name in a.b
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != here:
            found.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                add(f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _graph() -> dict[str, set[str]]:
    known = _known_modules()
    graph = {name: module_imports(path, known) for name, path in known.items()}
    # A package's __init__ importing its children is not a cycle with a child importing a sibling.
    return graph


def test_no_import_cycles_between_modules():
    cycles = import_cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_sees_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_late_and_type_checking_imports():
    graph = _graph()
    assert "tui.widgets.sizing" in graph["tui.pane_registry"]  # imported inside a function
    assert "engine.plan" in graph["tui.report"]  # imported under TYPE_CHECKING
