"""The real app in a real terminal (tmux), driven like a person: keys in, screen text out.

Opens the fixture store with `python -m undo_tui.cli STORE`, finds an example the student fixed
after the teacher refined its rationale, reads the diff, excludes it, and quits.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import store

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
ROOT = Path(__file__).resolve().parents[1]


class Terminal:
    def __init__(self, command: str, tmp_path: Path, size: tuple[int, int] = (120, 40)) -> None:
        self.socket = f"undo-tui-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.tmux([
            "new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), "-c", str(ROOT),
            "-e", f"UNDO_TUI_CONFIG={tmp_path / 'no-keys.toml'}", "-e", "TZ=UTC",
            "-e", "TERM=xterm-256color",
            f"sh -c '{command}; echo \"[exit=$?]\"; sleep 60'"])

    def tmux(self, args: list[str]) -> str:
        # The test process may carry COLUMNS/LINES from pytest's own terminal; a real terminal
        # session must not, or the app would size itself by them instead of the pane.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        out = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True,
                             timeout=30, env=env)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def screen(self) -> str:
        return self.tmux(["capture-pane", "-p"])

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux(["send-keys", key])
            time.sleep(0.05)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never appeared; the screen shows:\n{text}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def test_a_person_finds_a_fixed_example_reads_its_diff_excludes_it_and_quits(tui_store,
                                                                              tmp_path):
    path, ids = tui_store
    term = Terminal(f"{sys.executable} -m undo_tui.cli {path}", tmp_path)
    try:
        runs = term.wait_for(r"undo-arith")
        assert "live-run" in runs and "running" in runs and "train (iteration 2)" in runs
        term.keys("G", "e")  # the oldest run, its errors
        term.wait_for(r"val · iteration 3 · wrong at k")
        term.keys("s", "f")  # train split, fixed: wrong at 2, right at 3
        listing = term.wait_for(r"train · iteration 3 vs 2 · fixed .*row 1 of 2")
        assert "train-03" in listing and "train-08" in listing and "train-00" not in listing
        term.keys("Enter")
        detail = term.wait_for(r"Example \d+ · train · train-03")
        assert "rationale versions" in detail and "Gold answer: 16" in detail
        diff = term.wait_for(r"A #\d+ it1 initial\s+→\s+B #\d+ it3 refined")
        assert re.search(r"\+\d+ words, −\d+ words", diff)
        term.keys("j", "a")  # compare the two refined versions instead
        term.wait_for(r"A #\d+ it2 refined\s+→\s+B #\d+ it3 refined")
        term.keys("x")
        term.wait_for(r"EXCLUDED from training and exports")
        term.keys("q")
        term.wait_for(r"\[exit=0\]")
    finally:
        term.close()
    db = store.open_store(path)
    try:
        assert store.get_annotation(db, ids["train_ids"][3]).excluded
    finally:
        db.close()


def test_at_80_by_24_the_tables_fit_and_slash_always_searches(tui_store, tmp_path):
    """The runs table keeps iterations, best val and progress on screen; in the errors browser,
    keys typed fast while filters reload, then / and a word, search for that word."""
    path, _ = tui_store
    term = Terminal(f"{sys.executable} -m undo_tui.cli {path}", tmp_path, size=(80, 24))
    try:
        runs = term.wait_for(r"undo-arith")
        header = next(line for line in runs.splitlines() if " name " in line)
        assert all(label in header for label in ("iters", "best val", "progress")), header
        assert "62.5%" in runs
        term.keys("G", "e")
        term.wait_for(r"val · iteration 3 · wrong at k")
        term.keys("c", "s", "]", "]", "/", *"apples", "Enter")
        found = term.wait_for(r"search “apples”")
        assert "apples" in found.splitlines()[2]  # the search box kept the word
        term.keys("q")
        term.wait_for(r"\[exit=0\]")
    finally:
        term.close()
