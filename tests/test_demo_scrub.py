"""Scrubbing a recorded store for sharing: no machine paths left, data untouched, file compacted."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import store
from engine.demo.scrub import absolute_paths_left, scrub_store, scrub_text
from undo_tui.cli import main


def recorded_store(path: Path) -> dict:
    """A store whose run names files of this machine the way a real run does."""
    db = store.open_store(path)
    dataset = store.get_or_create_dataset(db, "arith-demo", "number", "builtin:arith")
    store.add_examples(db, dataset, [dict(ext_id="a", split="train", answer="7",
                                          question="Maya has 3 / 4 of a pie and km/h. Sum?")])
    checkpoint = path.parent / "runs" / "run-1" / "iter-1" / "student"
    config = {"source": str(Path(__file__).resolve()), "student": {"model": "/tmp/models/x.gguf"},
              "teacher": {"base_url": "http://127.0.0.1:8000/v1"}}
    run = store.create_run(db, "demo", config, dataset_id=dataset,
                           log_path=str(path.parent / "logs" / "run-1.log"))
    store.update_run(db, run, status="finished",
                     error=f"log tail ({path.parent}/logs/run-1.log):\nboom in /home/u/x.py.")
    store.upsert_iteration(db, run, 1, checkpoint_path=str(checkpoint), status="done",
                           metrics={"stage_seconds": {"train": 1.0}, "out": str(checkpoint)})
    store.add_event(db, run, "log", message=f"training stopped; partial checkpoint at "
                                            f"{checkpoint} (a resume retrains)")
    store.add_event(db, run, "stage", message="3/4 done, 12 / 3 = 4", data={"dir": "/root/a b"})
    db.close()
    return {"run": run, "checkpoint": checkpoint}


def test_scrub_replaces_every_machine_path_and_keeps_the_rest(tmp_path):
    path = tmp_path / "demo.db"
    ids = recorded_store(path)
    assert absolute_paths_left(path)  # the fixture really holds machine paths
    report = scrub_store(path)
    assert report.paths >= 6 and absolute_paths_left(path) == []
    conn = sqlite3.connect(path)
    dump = "\n".join(conn.iterdump())  # what `sqlite3 demo.db .dump` prints
    conn.close()
    for marker in ("/work", "/root", "/home", "/tmp"):
        assert marker not in dump
    db = store.open_store(path)
    try:
        run = store.get_run(db, ids["run"])
        assert run.log_path == "<store-dir>/logs/run-1.log"
        assert run.config["source"] == "<repo>/tests/test_demo_scrub.py"
        assert run.config["student"]["model"] == "<abs>/x.gguf"
        assert run.config["teacher"]["base_url"] == "http://127.0.0.1:8000/v1"  # a URL is kept
        assert "<store-dir>/logs/run-1.log" in run.error and "<abs>/x.py." in run.error
        iteration = store.get_iteration(db, ids["run"], 1)
        assert iteration.checkpoint_path == "<store-dir>/runs/run-1/iter-1/student"
        assert iteration.metrics["out"] == iteration.checkpoint_path
        messages = [e.message for e in store.recent_events(db, ids["run"], 10)]
        assert "3/4 done, 12 / 3 = 4" in messages  # fractions and divisions are not paths
        assert any("<store-dir>/runs/run-1/iter-1/student (a resume" in m for m in messages)
        example = store.load_examples(db, run.dataset_id, "train")[0]
        assert example.question == "Maya has 3 / 4 of a pie and km/h. Sum?"
    finally:
        db.close()
    assert scrub_store(path).paths == 0  # a second scrub finds nothing


def test_scrubbed_store_is_one_file_that_opening_does_not_change(tmp_path):
    path = tmp_path / "demo.db"
    recorded_store(path)
    scrub_store(path)
    assert not Path(f"{path}-wal").exists()
    before = path.read_bytes()
    db = store.open_store(path)  # what the TUI and `undo-tui demo` do first
    store.list_runs(db)
    db.close()
    assert path.read_bytes() == before  # a committed sample stays clean in git


@pytest.mark.parametrize("text, expected", [
    ("see /tmp/a/b.log.", "see <abs>/b.log."),
    ('{"p": "/home/me/x"}', '{"p": "<abs>/x"}'),
    ("url http://h:1/v1 and 1/2", "url http://h:1/v1 and 1/2"),
    ("(/srv/x/y):", "(<abs>/y):"),
])
def test_scrub_text(text, expected):
    assert scrub_text(text, [])[0] == expected
    if expected.startswith("{"):
        json.loads(scrub_text(text, [])[0])


def test_demo_scrub_command_refuses_an_active_run_and_scrubs_a_finished_one(tmp_path, capsys):
    path = tmp_path / "demo.db"
    ids = recorded_store(path)
    db = store.open_store(path)
    store.update_run(db, ids["run"], status="running")
    db.close()
    assert main(["demo", "--scrub", "--store", str(path)]) == 2
    assert "still active" in capsys.readouterr().err
    db = store.open_store(path)
    store.update_run(db, ids["run"], status="finished")
    db.close()
    assert main(["demo", "--scrub", "--store", str(path)]) == 0
    assert "path(s)" in capsys.readouterr().out and absolute_paths_left(path) == []
