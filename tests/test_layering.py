"""The layers stay apart: store imports neither engine nor textual; engine never imports the UI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "store": {"engine", "undo_tui", "textual"},
    "engine": {"undo_tui", "textual"},
}


def imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_a_higher_layer(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_top_modules(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not offenders, "\n".join(offenders)


# The TUI drives the engine through processes (undo_tui/commands, engine_control); in its own
# process it may use only pure engine modules: grading a human edit with the teacher's rules, and
# the statistics (intervals, McNemar) behind every accuracy it shows, and the words for a
# Training Wheels sweep point, a distillation run and an ask training (engine.wheels.report,
# engine.distill.report, engine.wheels.ask_report: formatting of stored numbers only).
TUI_MAY_IMPORT = {"engine.grading.answers", "engine.grading.stats", "engine.wheels.report",
                  "engine.distill.report", "engine.wheels.ask_report"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_tui_imports_only_pure_engine_modules():
    offenders = []
    for path in sorted((ROOT / "undo_tui").rglob("*.py")):
        if "commands" in path.relative_to(ROOT / "undo_tui").parts:
            continue
        engine = {m for m in imported_modules(path) if m.split(".")[0] == "engine"}
        if engine - TUI_MAY_IMPORT:
            offenders.append(f"{path.relative_to(ROOT)} imports "
                             f"{', '.join(sorted(engine - TUI_MAY_IMPORT))}")
    assert not offenders, "\n".join(offenders)


def test_the_tui_process_loads_no_model_code():
    # every screen imported and an edit graded: no torch, transformers, peft, llama.cpp, datasets
    code = ("import sys, importlib, pkgutil, undo_tui.app, undo_tui.screens; "
            "[importlib.import_module(m.name) for m in "
            "pkgutil.walk_packages(undo_tui.screens.__path__, 'undo_tui.screens.')]; "
            "from engine.grading.answers import grade; "
            "assert grade('Answer: 4', '4').correct; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'transformers', 'peft', 'llama_cpp', 'datasets', 'pandas', 'numpy'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_the_checker_catches_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from textual.app import App\n    import engine.loop\n")
    assert imported_top_modules(bad) == {"textual", "engine"}
    assert imported_modules(bad) - TUI_MAY_IMPORT == {"textual.app", "engine.loop"}


@pytest.mark.parametrize("package", ["store", "engine"])
def test_importing_a_lower_layer_loads_no_ui(package):
    code = (f"import sys, importlib, pkgutil; import {package}; "
            f"[importlib.import_module(m.name) for m in pkgutil.walk_packages({package}.__path__, '{package}.')]; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'undo_tui')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


# -- no import cycles ---------------------------------------------------------------------------
# Module-level imports only: an import inside a function runs when it is called, after every
# module has loaded, and is how the CLI keeps torch out of `--help`. A cycle at module level makes
# the import order matter and hides what depends on what. Allowed exceptions: none.
ALLOWED_CYCLES: list[set[str]] = []


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(path: Path, known: set[str], name: str = "") -> set[str]:
    """The modules of `known` the module `name` (file `path`) imports when it is loaded
    (`from a import b` counts as a.b when b is a module), leaving out `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _module_level(tree.body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return (found & known) - {name}  # a package importing its own submodules is no cycle


def _module_level(body: list[ast.stmt]):
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, block, []):
                    yield from _module_level(child.body if isinstance(child, ast.ExceptHandler)
                                             else [child])
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def import_cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module, or a module importing
    itself (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        cycles.append(component)
    return cycles


def package_graph(package: str) -> dict[str, set[str]]:
    paths = {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}
    return {name: module_level_imports(path, set(paths), name) for name, path in paths.items()}


@pytest.mark.parametrize("package", ["store", "engine", "undo_tui", "benchmarks"])
def test_no_import_cycle_inside_a_package(package):
    cycles = [sorted(c) for c in import_cycles(package_graph(package)) if c not in ALLOWED_CYCLES]
    assert not cycles, "module-level import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert sorted(map(sorted, import_cycles(graph))) == [["a", "b", "c"], ["e"]]
    bad = tmp_path / "m.py"
    bad.write_text("import x.y\nfrom x import z\nif TYPE_CHECKING:\n    import x.w\n"
                   "def f():\n    import x.v\n")
    assert module_level_imports(bad, {"x.y", "x.z", "x.w", "x.v", "x"}) == {"x.y", "x.z", "x"}
