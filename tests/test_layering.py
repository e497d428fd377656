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
# Training Wheels sweep point (engine.wheels.report: formatting of stored numbers only).
TUI_MAY_IMPORT = {"engine.answers", "engine.stats", "engine.wheels.report"}


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
            "from engine.answers import grade; "
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
