"""`undo-tui demo` in a real terminal (tmux): the plan, then the live dashboard; quitting the TUI
leaves the engine running, and running the demo again reopens the same run until it finishes.

Uses a shortened config (4 training and 4 validation problems, one iteration, the tiny random
student, the real llama.cpp SmolLM2 teacher).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import store
from engine.demo.plan import default_config_path
from store.processes import pid_alive
from tests.test_tui_tmux import TMUX, Terminal

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


def one_iteration_config(path: Path, student_dir: Path) -> Path:
    text = default_config_path().read_text()
    for old, new in {'train_limit = 60': 'train_limit = 4', 'val_limit = 100': 'val_limit = 4',
                     'max_tokens = 160': 'max_tokens = 96', 'keep = "retry"': 'keep = "all"',
                     'epochs = 3': 'epochs = 1', 'max_new_tokens = 96': 'max_new_tokens = 12',
                     'evaluate_base = true': 'evaluate_base = false',
                     'max_iterations = 2': 'max_iterations = 1',
                     'model = "smollm2"       # the packaged GGUF, converted':
                         f'model = "{student_dir}"  #'}.items():
        assert old in text, f"demo.toml no longer has {old!r}; update the test's shrinking"
        text = text.replace(old, new)
    path.write_text(text)
    return path


def demo_run(store_path: Path) -> store.Run:
    db = store.open_store(store_path)
    try:
        return store.get_run(db, 1)
    finally:
        db.close()


def test_demo_opens_the_live_dashboard_survives_quit_and_reopens(tmp_path, tiny_llama_dir,
                                                                 smollm2_gguf):
    store_path = tmp_path / "demo.db"
    config = one_iteration_config(tmp_path / "tiny.toml", tiny_llama_dir)
    command = f"{sys.executable} -m undo_tui.cli demo --store {store_path} --config {config}"
    term = Terminal(command, tmp_path)
    try:
        term.wait_for(r"demo\s+·\s+undo\s+·\s+running", timeout=60)
        term.keys("q")  # quit the TUI while the engine works
        after = term.wait_for(r"\[exit=0\]")
        assert "undo-tui demo: a real UNDO loop" in after
        assert "engine started in the background" in after
    finally:
        term.close()
    run = demo_run(store_path)
    assert run.status == "running" and pid_alive(run.pid)  # the engine outlived the TUI

    term = Terminal(command, tmp_path)
    try:
        term.wait_for(r"demo\s+·\s+undo\s+·\s+(running|finished)", timeout=60)
        term.wait_for(r"demo\s+·\s+undo\s+·\s+finished", timeout=240)
        term.keys("q")
        after = term.wait_for(r"\[exit=0\]")
        assert "is running (pid" in after or "already finished" in after
        assert "engine started" not in after  # the live run was reopened, not started again
    finally:
        term.close()
    run = demo_run(store_path)
    assert run.status == "finished"
    db = store.open_store(store_path)
    try:
        assert len(store.list_runs(db)) == 1
        starts = db.execute("SELECT count(*) FROM events WHERE run_id = 1 AND message LIKE "
                            "'supervisor started%'").fetchone()[0]
        assert starts == 1
    finally:
        db.close()
