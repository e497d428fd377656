"""Transfer runs end to end on CPU: export -> load with `datasets` -> `undo-tui transfer` trains the
tiny random Llama one epoch with the loop's stage processes -> evaluate; the stored run is
checked row by row. Also `--from-run`, and kill -9 + `undo-tui resume` of a transfer run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import store
from store.transfers import transfer_link, transfers_from
from tests.transfer_helpers import N_TEST, N_TRAIN, N_VAL, build_source_store
from undo_tui.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(store_path: Path, *args) -> int:
    return main(["--store", str(store_path), *map(str, args)])


def outcome(store_path: Path, run_id: int) -> dict:
    """What a resumed transfer must reproduce: iterations and every prediction."""
    db = store.open_store(store_path)
    try:
        iterations = {it.k: (it.status, it.val_accuracy, it.test_accuracy, it.train_size)
                      for it in store.list_iterations(db, run_id)}
        predictions = sorted((r["iteration"], r["split"], r["example_id"], r["output"],
                              r["correct"]) for r in db.query(
            "SELECT * FROM predictions WHERE run_id = ?", [run_id]))
        return {"iterations": iterations, "predictions": predictions,
                "status": store.get_run(db, run_id).status}
    finally:
        db.close()


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory, tiny_llama_dir):
    """Export iteration 2 as a `datasets` directory, then transfer it to the tiny student."""
    base = tmp_path_factory.mktemp("transfer")
    store_path = base / "store.db"
    ids = build_source_store(store_path)
    export = base / "refined-hf"
    assert cli(store_path, "export", ids["run"], "--iteration", "2", "--format", "hf",
               "--out", export) == 0
    assert cli(store_path, "transfer", "--from-export", export, "--student", tiny_llama_dir,
               "--epochs", "1") == 0
    return store_path, ids, export


def test_round_trip_stores_a_linked_transfer_run(round_trip, tiny_llama_dir):
    from datasets import load_from_disk

    store_path, ids, export = round_trip
    rows = load_from_disk(str(export)).to_list()  # what any trainer would load
    assert len(rows) == N_TRAIN
    db = store.open_store(store_path)
    try:
        run = next(s.run for s in store.list_runs(db) if s.run.kind == "transfer")
        assert run.status == "finished" and run.stop_reason == "transfer student trained and " \
                                                               "evaluated"
        assert run.source_run_id == ids["run"] and run.student == str(tiny_llama_dir.resolve())
        record = store.list_exports(db, ids["run"])[0]
        assert run.source_export_id == record.id and record.iteration == 2
        assert record.format == "hf" and record.path == str(export.absolute())
        # training knobs: the flag wins, the rest is the source run's config
        assert run.config["training"]["epochs"] == 1 and run.config["training"]["lr"] == 5e-3
        assert run.config["training"]["lora_r"] == 8 and run.config["run"]["kind"] == "transfer"
        # the training set is exactly the export's rows, linked to the exported rationales
        stored = store.rationales_for_iteration(db, run.id, 1, kept_only=True)
        examples = {e.id: e for e in store.load_examples(db, ids["dataset"], "train")}
        assert sorted((examples[r.example_id].question, r.text) for r in stored) == \
            sorted((row["question"], row["rationale"]) for row in rows)
        assert sorted(r.parent_id for r in stored) == sorted(row["rationale_id"] for row in rows)
        assert {r.source for r in stored} == {"teacher_refined"}
        # iteration 0 (untrained) and 1 (trained) evaluated on every val and test example
        iterations = {it.k: it for it in store.list_iterations(db, run.id)}
        assert set(iterations) == {0, 1} and iterations[1].is_best
        assert iterations[1].train_size == N_TRAIN and iterations[1].epochs_total == 1
        assert Path(iterations[1].checkpoint_path, "undo_train.json").is_file()
        for k in (0, 1):
            for split, n in (("val", N_VAL), ("test", N_TEST)):
                scored = store.score(db, run.id, k, split)
                assert scored.total == n
            assert iterations[k].val_accuracy == store.score(db, run.id, k, "val").accuracy
            assert iterations[k].test_accuracy == store.score(db, run.id, k, "test").accuracy
        assert store.score(db, run.id, 1, "train").total == 0  # no refinement step follows
        # the dashboard's comparison reads the same links
        link = transfer_link(db, run)
        assert link.data_iteration == 2 and link.data_label == "refined data"
        assert link.source.trained_val == pytest.approx(2 / 6)
        assert link.transfer.trained_val == iterations[1].val_accuracy
        assert [li.transfer.run_id for li in transfers_from(db, ids["run"])] == [run.id]
    finally:
        db.close()


def test_status_lists_the_transfer_run(round_trip, capsys):
    store_path, _, _ = round_trip
    capsys.readouterr()
    assert cli(store_path, "status") == 0
    assert "transfer" in capsys.readouterr().out


def test_from_run_exports_beside_the_store_with_the_exporters_filters(tmp_path, tiny_llama_dir):
    store_path = tmp_path / "store.db"
    ids = build_source_store(store_path)
    assert cli(store_path, "transfer", "--from-run", "undo-src", "--iteration", "1",
               "--correct-only", "--student", tiny_llama_dir, "--create-only") == 0
    assert cli(store_path, "transfer", "--from-run", ids["run"], "--student", tiny_llama_dir,
               "--name", "refined", "--lr", "0.01", "--create-only") == 0
    db = store.open_store(store_path)
    try:
        first, best = sorted((s.run for s in store.list_runs(db) if s.run.kind == "transfer"),
                             key=lambda r: r.id)
        exports = {e.id: e for e in store.list_exports(db, ids["run"])}
        assert exports[first.source_export_id].iteration == 1
        assert exports[best.source_export_id].iteration == 2  # best
        path = Path(exports[first.source_export_id].path)
        assert path.parent == tmp_path / "exports" and path.is_file()
        assert exports[first.source_export_id].manifest["filters"]["correct_only"] is True
        # iteration 1 kept 6 of 8 initial rationales: only those are trained on
        assert len(store.rationales_for_iteration(db, first.id, 1)) == 6
        assert len(store.rationales_for_iteration(db, best.id, 1)) == N_TRAIN
        assert first.name == f"undo-src-k1-to-{tiny_llama_dir.name}" and best.name == "refined"
        assert best.config["training"]["lr"] == 0.01 and first.config["training"]["lr"] == 5e-3
        assert first.status == best.status == "created"
        labels = [(li.data_iteration, li.data_label) for li in transfers_from(db, ids["run"])]
        assert labels == [(1, "iteration-1 data"), (2, "refined data")]
    finally:
        db.close()


def test_config_toml_overrides_and_flags_win(tmp_path, tiny_llama_dir):
    store_path = tmp_path / "store.db"
    ids = build_source_store(store_path)
    toml = tmp_path / "transfer.toml"
    toml.write_text('[training]\nepochs = 4\nlr = 0.02\n[evaluation]\nmax_new_tokens = 20\n'
                    '[run]\nname = "from-toml"\n')
    assert cli(store_path, "transfer", "--from-run", ids["run"], "--student", tiny_llama_dir,
               "--config", toml, "--epochs", "2", "--create-only") == 0
    db = store.open_store(store_path)
    try:
        run = store.list_runs(db)[0].run
    finally:
        db.close()
    assert run.name == "from-toml"
    assert run.config["training"]["epochs"] == 2 and run.config["training"]["lr"] == 0.02
    assert run.config["evaluation"]["max_new_tokens"] == 20
    assert run.config["loop"]["max_iterations"] == 1


def _wait_for(predicate, timeout: float, what: str):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_during_training_then_resume_matches(round_trip, tmp_path, tiny_llama_dir):
    """The same data through --from-run, killed in its train stage, resumed: same predictions."""
    reference_store, _, _ = round_trip
    db = store.open_store(reference_store)
    reference_id = next(s.run.id for s in store.list_runs(db) if s.run.kind == "transfer")
    db.close()
    expected = outcome(reference_store, reference_id)

    store_path = tmp_path / "store.db"
    ids = build_source_store(store_path)
    assert cli(store_path, "transfer", "--from-run", ids["run"], "--iteration", "2",
               "--student", tiny_llama_dir, "--epochs", "1", "--create-only") == 0
    db = store.open_store(store_path)
    run_id = store.list_runs(db)[0].run.id
    proc = subprocess.Popen([sys.executable, "-m", "undo_tui.cli", "--store", str(store_path),
                             "resume", str(run_id)], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    train_started = ("SELECT count(*) FROM events WHERE run_id = ? AND stage = 'train' "
                     "AND message LIKE 'train child pid%'")
    _wait_for(lambda: db.execute(train_started, [run_id]).fetchone()[0] > 0
              or proc.poll() is not None, 120, "the train stage")
    assert proc.poll() is None, "the transfer ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert store.get_run(db, run_id).status == "running"  # killed: nobody marked it
    db.close()

    assert cli(store_path, "resume", run_id) == 0
    got = outcome(store_path, run_id)
    assert got == expected and got["status"] == "finished"
