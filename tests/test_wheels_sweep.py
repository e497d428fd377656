"""Sweeps as runs: planned points, stored outputs, stop, kill -9 and resume, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import store
from engine.errors import ConfigError
from engine.wheels.config import load_sweep_config
from store import wheels as store_wheels
from tests.fixtures.model_fixtures import TINY_EXAMPLES

REPO = Path(__file__).resolve().parents[1]


def sweep_toml(path: Path, student: Path, teacher: Path, **sections) -> Path:
    tables = {
        "sweep": {"name": "tiny-sweep", "dataset": "tinyw", "split": "test",
                  "policies": ["student", "teacher", "random", "threshold", "disagree",
                               "speculative"],
                  "budgets": [0, 20, 50, 100]},
        "models": {"student": str(student), "teacher": str(teacher), "dtype": "float32",
                   "device": "cpu"},
        "decoding": {"max_new_tokens": 12, "batch_size": 3},
    }
    for name, values in sections.items():
        tables.setdefault(name, {}).update(values)
    return write_toml(path, tables)


def write_toml(path: Path, tables: dict) -> Path:
    """`tables` ({table: {key: value}}) as a TOML file."""
    lines = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def toml_value(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


@pytest.fixture
def wheels_store(db, store_path):
    return add_tinyw(db, store_path)


def add_tinyw(db, store_path):
    """A dataset 'tinyw' whose test split has six of the eight tiny GSM8K-style problems and
    its train split the other two."""
    dataset = store.get_or_create_dataset(db, "tinyw", "number", "fixture")
    rows = [dict(ext_id=f"t{i}", split="test" if i < 6 else "train", question=q,
                 answer=r.rsplit("Answer: ", 1)[1], rationale=r)
            for i, (q, r) in enumerate(TINY_EXAMPLES)]
    store.add_examples(db, dataset, rows)
    return store_path


def cli(store_path: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "undo_tui.cli", "--store", str(store_path), *args],
                          capture_output=True, text=True, env=env, timeout=900, **kwargs)


def test_config_errors_name_the_file_and_the_key(tmp_path, wheels_pair_dirs):
    student, teacher = wheels_pair_dirs
    bad = sweep_toml(tmp_path / "a.toml", student, teacher, decoding={"batch_size": 0})
    with pytest.raises(ConfigError, match=r"a.toml: decoding.batch_size: must be >= 1 and <= 1024, got 0"):
        load_sweep_config(bad)
    bad = sweep_toml(tmp_path / "b.toml", student, teacher, budget={"cap": "share", "capp": 1})
    with pytest.raises(ConfigError, match=r"b.toml: budget.capp: unknown key; allowed keys: cap, cap_count"):
        load_sweep_config(bad)
    bad = sweep_toml(tmp_path / "c.toml", student, teacher, sweep={"policies": ["oracle"]})
    with pytest.raises(ConfigError, match=r"c.toml: sweep.policies.0: 'oracle' is not allowed; choose one of 'student'"):
        load_sweep_config(bad)
    bad = sweep_toml(tmp_path / "d.toml", student, teacher, sweep={"budgets": [10, 120]})
    with pytest.raises(ConfigError, match=r"d.toml: sweep.budgets.1: must be <= 100"):
        load_sweep_config(bad)
    bad = sweep_toml(tmp_path / "e.toml", student, teacher, distill={"training": {"lr": -1}})
    with pytest.raises(ConfigError, match=r"e.toml: distill.training.lr: must be > 0, got -1"):
        load_sweep_config(bad)


def test_points_run_anchors_first_then_each_budget():
    from engine.wheels.config import SweepConfig

    config = SweepConfig.model_validate({
        "sweep": {"dataset": "d", "policies": ["threshold", "student", "random", "teacher"],
                  "budgets": [50, 0, 10, 100]},
        "models": {"student": "s"}})
    assert config.points() == [("student", 0), ("teacher", 100), ("threshold", 10),
                               ("random", 10), ("threshold", 50), ("random", 50)]
    config.sweep.policies.append("speculative")
    assert config.points()[-1] == ("speculative", 100)
    config.sweep.policies.append("learned")  # the asker alone, told 0%, is its own anchor
    assert config.points()[2:4] == [("learned", 0), ("threshold", 10)]


def test_a_sweep_stores_every_point_and_output(wheels_store, wheels_pair_dirs, tmp_path):
    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "s.toml", student, teacher)
    done = cli(wheels_store, "wheels", "sweep", str(config))
    assert done.returncode == 0, done.stderr
    db = store.open_store(wheels_store)
    run = store.list_runs(db)[0].run
    assert (run.kind, run.status) == ("wheels", "finished")
    points = store_wheels.list_points(db, run.id)
    assert [p.label for p in points] == [
        "student", "teacher", "random 20%", "threshold 20%", "disagree 20%",
        "random 50%", "threshold 50%", "disagree 50%", "speculative"]
    by_label = {p.label: p for p in points}
    for point in points:
        outputs = store_wheels.point_outputs(db, point.id)
        assert point.status == "done" and point.n == len(outputs) == 6
        assert point.tokens == sum(o.new_tokens for o in outputs)
        assert point.teacher_written == sum(o.asks for o in outputs)
        for output in outputs:
            assert "".join(output.pieces) == output.text
            assert len(output.owners) == len(output.pieces) == output.new_tokens
            assert output.owners.count("t") == output.asks
        if point.policy not in ("teacher", "speculative"):
            assert point.violations == 0 and point.realised_share <= point.budget / 100
    assert by_label["student"].teacher_written == by_label["student"].teacher_tokens == 0
    assert by_label["teacher"].realised_share == 1.0
    teacher_texts = [o.text for o in store_wheels.point_outputs(db, by_label["teacher"].id)]
    assert [o.text for o in store_wheels.point_outputs(db, by_label["speculative"].id)] == teacher_texts
    assert by_label["speculative"].teacher_forwards > 0
    # one example side by side across every policy
    first = store_wheels.point_outputs(db, points[0].id)[0].example_id
    assert len(store_wheels.example_outputs(db, run.id, first)) == len(points)
    status = cli(wheels_store, "status", str(run.id))
    assert "threshold 20%: accuracy" in status.stdout and "(target 20%)" in status.stdout
    db.close()


def test_a_point_cap_holds_the_points_share_and_counts_sequences_over_it(
        wheels_store, wheels_pair_dirs, tmp_path):
    """cap = "point": the point's share never exceeds its budget (no violation), while single
    sequences may; the sweep counts those separately instead of calling them violations."""
    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "p.toml", student, teacher, budget={"cap": "point"},
                        sweep={"policies": ["disagree"], "budgets": [20]})
    done = cli(wheels_store, "wheels", "sweep", str(config))
    assert done.returncode == 0, done.stderr
    db = store.open_store(wheels_store)
    point = store_wheels.list_points(db, store.list_runs(db)[0].run.id)[0]
    outputs = store_wheels.point_outputs(db, point.id)
    over = sum(o.asks > int(0.2 * o.new_tokens) for o in outputs)
    assert point.label == "disagree 20%" and point.violations == 0
    assert 0 < point.teacher_written <= int(0.2 * point.tokens)
    assert point.metrics["sequences_over_share"] == over
    db.close()


def test_kill_9_mid_sweep_resumes_without_recomputing_stored_points(
        wheels_store, wheels_pair_dirs, tmp_path):
    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "s.toml", student, teacher, decoding={"max_new_tokens": 24})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-m", "undo_tui.cli", "--store", str(wheels_store),
                              "wheels", "sweep", str(config)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = store.open_store(wheels_store)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # wait on the store: two points stored
            runs = store.list_runs(db)
            if runs and sum(p.status == "done" for p in store_wheels.list_points(db, runs[0].run.id)) >= 2:
                break
            assert child.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        child.wait()
        run_id = store.list_runs(db)[0].run.id
        before = {p.id: (p.finished_at, [o.text for o in store_wheels.point_outputs(db, p.id)])
                  for p in store_wheels.list_points(db, run_id) if p.status == "done"}
        assert 2 <= len(before) < 9
        assert store.get_run(db, run_id).status == "running"  # killed: nobody marked it
        resumed = cli(wheels_store, "resume", str(run_id))
        assert resumed.returncode == 0, resumed.stderr
        points = store_wheels.list_points(db, run_id)
        assert all(p.status == "done" for p in points)
        for point in points:
            if point.id in before:  # stored before the kill: untouched, not computed again
                outputs = [o.text for o in store_wheels.point_outputs(db, point.id)]
                assert (point.finished_at, outputs) == before[point.id]
        assert store.get_run(db, run_id).status == "finished"
    finally:
        if child.poll() is None:
            child.kill()
        db.close()


def test_sigterm_stops_a_sweep_like_a_stop_request(wheels_store, wheels_pair_dirs, tmp_path):
    """A terminal closed or a `kill` ends the sweep `stopped`, not `running` with a dead pid."""
    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "s.toml", student, teacher, decoding={"max_new_tokens": 24})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-m", "undo_tui.cli", "--store", str(wheels_store),
                              "wheels", "sweep", str(config)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    db = store.open_store(wheels_store)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # wait on the store: the first point stored
            runs = store.list_runs(db)
            if runs and any(p.status == "done" for p in store_wheels.list_points(db, runs[0].run.id)):
                break
            assert child.poll() is None, "the sweep ended before the signal"
            time.sleep(0.2)
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=300)
        assert child.returncode == 0 and "Traceback" not in stderr
        run = store.get_run(db, store.list_runs(db)[0].run.id)
        assert (run.status, run.pid, run.stop_reason) == ("stopped", None, "stopped on request")
        assert any("SIGTERM received" in (e.message or "") for e in store.events_since(db, run.id, kinds=("stage",)))
        assert any(p.status == "pending" for p in store_wheels.list_points(db, run.id))
    finally:
        if child.poll() is None:
            child.kill()
        db.close()


def test_a_stop_request_stops_between_batches_and_resume_finishes(wheels_store,
                                                                    wheels_pair_dirs, tmp_path):
    from engine.wheels.sweep import drive_sweep

    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "s.toml", student, teacher)
    created = cli(wheels_store, "wheels", "sweep", str(config), "--create-only")
    run_id = int(created.stdout.split()[1])
    db = store.open_store(wheels_store)

    def echo(line: str) -> None:  # as the second point starts, someone presses stop
        if line.startswith("point 2/"):
            store.request_stop(db, run_id)

    stopped = drive_sweep(wheels_store, run_id, echo=echo)
    assert (stopped.status, stopped.pid) == ("stopped", None)
    points = store_wheels.list_points(db, run_id)
    assert points[0].status == "done" and points[-1].status == "pending"
    assert all(len(store_wheels.point_outputs(db, p.id)) == (6 if p.status == "done" else 0)
               for p in points)
    assert drive_sweep(wheels_store, run_id).status == "finished"
    db.close()


def test_a_learned_point_needs_a_student_with_an_ask_token(wheels_store, wheels_pair_dirs,
                                                           tmp_path):
    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "s.toml", student, teacher,
                        sweep={"policies": ["learned"], "budgets": [20]})
    done = cli(wheels_store, "wheels", "sweep", str(config))
    assert done.returncode == 2
    assert "undo-tui: error: policy 'learned' needs a student with an <ask> token" in done.stderr
    assert "Traceback" not in done.stderr
    db = store.open_store(wheels_store)
    run = store.list_runs(db)[0].run
    assert run.status == "failed" and "<ask> token" in run.error
    db.close()


PAIRS = [("Der Hund schläft.", "The dog sleeps."), ("Ich habe zwei Katzen.", "I have two cats."),
         ("Es regnet heute.", "It is raining today."), ("Wo ist der Bahnhof?", "Where is the station?")]


@pytest.mark.parametrize("metric", ["chrf", "rougeL"])
def test_free_text_pairs_are_imported_and_scored_against_their_references(
        store_path, wheels_pair_dirs, tmp_path, metric):
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import CHRF

    source = tmp_path / "test.jsonl"
    source.write_text("".join(json.dumps({"source": s, "reference": r}) + "\n" for s, r in PAIRS))
    imported = cli(store_path, "import", str(source), "--dataset", "tinyw", "--answer-type", "text",
                   "--split", "test", "--val-size", "0")
    assert imported.returncode == 0, imported.stderr
    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "s.toml", student, teacher, prompts={"teacher": "question"},
                        sweep={"policies": ["student", "threshold"], "budgets": [30]},
                        quality={"metric": "auto" if metric == "chrf" else metric})
    done = cli(store_path, "wheels", "sweep", str(config))
    assert done.returncode == 0, done.stderr
    db = store.open_store(store_path)
    run = store.list_runs(db)[0].run
    references = {e.id: e.answer for e in store.load_examples(db, run.dataset_id, "test")}
    assert sorted(references.values()) == sorted(r for _, r in PAIRS)
    rouge = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    for point in store_wheels.list_points(db, run.id):
        assert point.metric == metric and point.correct is None
        scores = []
        for output in store_wheels.point_outputs(db, point.id):
            reference = references[output.example_id]
            expected = (CHRF().sentence_score(output.text, [reference]).score if metric == "chrf"
                        else 100 * rouge.score(reference, output.text)["rougeL"].fmeasure)
            assert output.score == pytest.approx(expected)
            scores.append(expected)
        assert point.quality == pytest.approx(sum(scores) / len(scores))
        assert point.quality_low <= point.quality <= point.quality_high
    db.close()


def test_the_undo_loop_refuses_a_free_text_dataset(store_path, tmp_path):
    source = tmp_path / "train.jsonl"
    source.write_text("".join(json.dumps({"source": s, "reference": r}) + "\n" for s, r in PAIRS))
    assert cli(store_path, "import", str(source), "--dataset", "mt", "--answer-type", "text",
               "--val-size", "1").returncode == 0
    config = tmp_path / "run.toml"
    config.write_text('[dataset]\nname = "mt"\n')
    refused = cli(store_path, "run", str(config), "--create-only")
    assert refused.returncode == 2
    assert "holds free text (answer type text)" in refused.stderr


def test_the_sample_sweep_config_is_valid():
    config = load_sweep_config(REPO / "sample_runs" / "wheels" / "wheels-arith.toml")
    assert config.sweep.limit == 200 and config.distill.enabled
    assert len(config.points()) == 3 + 3 * 5  # three anchors, three policies at five budgets


def test_a_sweep_distils_its_student_first_and_records_the_data(wheels_store, wheels_pair_dirs,
                                                                 tmp_path):
    student, teacher = wheels_pair_dirs
    config = sweep_toml(
        tmp_path / "s.toml", student, teacher,
        sweep={"policies": ["student"], "split": "test", "limit": 2},
        distill={"enabled": True, "data": "auto", "min_kept": 5, "held_out": "test",
                 "held_out_limit": 3,
                 "training": {"lora": False, "epochs": 1, "batch_size": 2, "lr": 1e-3,
                              "warmup_ratio": 0,  # one step: a warm-up would make its lr 0
                              "max_length": 128, "dtype": "float32", "device": "cpu"}})
    done = cli(wheels_store, "wheels", "sweep", str(config))
    assert done.returncode == 0, done.stderr
    assert "student distilled on kept+gold: 0 kept rationales, 2 gold solutions; sft, 1 steps; " \
        "KL(teacher||student) on 3 test solutions " in done.stdout
    db = store.open_store(wheels_store)
    run = store.list_runs(db)[0].run
    path, info = store_wheels.get_distill(db, run.id)
    assert Path(path) == wheels_store.parent / "runs" / f"run-{run.id}" / "student"
    assert info["data"] == "kept+gold" and info["requested"] == "auto"
    assert (info["kept"], info["gold"], info["examples"]) == (0, 2, 2) and info["steps"] == 1
    # the student's distance to the teacher, before and after, on the held-out solutions
    before, after = info["kl_before"], info["kl_after"]
    assert before["n"] == after["n"] == 3 and before["tokens"] == after["tokens"] > 0
    assert before["mean"] != after["mean"] and min(before["low"], after["low"]) >= 0
    trained = json.loads((Path(path) / "undo_train.json").read_text())
    assert trained["steps"] == 1 and not trained["stopped"]
    # [tracking] left out: the distillation's Trainer curve reaches TensorBoard beside the store
    from tests.tracking_helpers import tensorboard_scalars

    curve = tensorboard_scalars(wheels_store.parent / "tracking" / f"run-{run.id}" / "distill")
    assert curve["train/loss"] == [(1, pytest.approx(trained["final_loss"], rel=1e-6))]
    status = cli(wheels_store, "status", str(run.id))
    assert "distilled on kept+gold: 0 kept rationales, 2 gold solutions" in status.stdout
    # as if killed after the distillation, before the point was stored: resume reuses the
    # student and keeps its record (steps, loss, time), instead of rewriting it without them
    with store.write(db):
        db.execute("UPDATE wheels_points SET status = 'pending' WHERE run_id = ?", [run.id])
        db.execute("UPDATE runs SET status = 'failed' WHERE id = ?", [run.id])
    resumed = cli(wheels_store, "resume", str(run.id))
    assert resumed.returncode == 0, resumed.stderr
    assert "student distilled earlier on kept+gold (1 steps): reused" in resumed.stdout
    assert "distilling the student" not in resumed.stdout
    assert store_wheels.get_distill(db, run.id) == (path, info)
    assert store.get_run(db, run.id).status == "finished"
    db.close()
