"""`undo-tui status`: strict and flexible accuracy with intervals, p-values, honest verdicts."""

from __future__ import annotations

import subprocess
import sys

import store


def status(path, *args) -> str:
    out = subprocess.run([sys.executable, "-m", "undo_tui.cli", "--store", str(path), "status",
                          *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_one_run_shows_intervals_p_values_and_what_may_be_claimed(tui_store):
    path, ids = tui_store
    text = status(path, str(ids["run"]))
    rows = {line.split()[0]: line.split() for line in text.splitlines()
            if line.strip()[:1].isdigit() and "done" in line}
    # k=1: strict 4/8 with its Wilson interval and n, flexible 5/8, 3 fixed 0 regressed vs k=0
    assert rows["1"][4:11] == ["50.0%", "21.5%-78.5%", "8", "62.5%", "75.0%", "+3/-0", "0.25"]
    # the marked best (k=2) is not starred: it does not beat the untrained student beyond noise
    assert "2" in rows and "2*" not in rows
    assert ("no trained iteration beats the untrained student beyond noise (best trained: "
            "iteration 2; 4 fixed, 0 regressed, McNemar p=0.12)") in text
    assert ("equal-budget baseline run 2 at iteration 2: 37.5% [13.7-69.4] n=8; this run "
            "+3/-1, McNemar p=0.62 (within noise)") in text
    assert "warning: 8 validation examples detect changes of 75.0 points at best" in text


def test_a_best_that_beat_the_base_is_starred(tui_store):
    path, ids = tui_store
    db = store.open_store(path)
    store.mark_best_iteration(db, ids["run"], 2, beats_base=True)
    db.close()
    text = status(path, str(ids["run"]))
    assert any(line.split()[:1] == ["2*"] for line in text.splitlines())
    assert "best: iteration 2, better than the untrained student" in text


def test_the_runs_list_shows_the_best_with_its_interval(tui_store):
    path, ids = tui_store
    text = status(path)
    line = next(line for line in text.splitlines() if "undo-arith" in line)
    assert line.split()[0] == str(ids["run"]) and "k=2: 62.5% [30.6-86.3] n=8" in line
