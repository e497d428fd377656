"""`undo-tui wheels add`: points appended to a measured sweep (a student that asks, trained after
the baselines), computed without touching the points already stored."""

from __future__ import annotations

import store
from store import wheels as store_wheels
from tests.test_wheels_sweep import cli, sweep_toml, wheels_store  # noqa: F401  (a fixture)


def make_asker(student_dir, out_dir):
    """The tiny student with an <ask> token (rows at the mean): a learned policy can run it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.wheels.ask_token import add_ask_token

    model = AutoModelForCausalLM.from_pretrained(student_dir)
    tokenizer = AutoTokenizer.from_pretrained(student_dir)
    add_ask_token(model, tokenizer)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def test_points_added_to_a_finished_sweep_run_with_the_asker_and_keep_the_rest(
        wheels_store, wheels_pair_dirs, tmp_path):
    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "s.toml", student, teacher,
                        sweep={"policies": ["student"], "limit": 3})
    first = cli(wheels_store, "wheels", "sweep", str(config))
    assert first.returncode == 0, first.stderr
    db = store.open_store(wheels_store)
    run_id = store.list_runs(db)[0].run.id
    (before,) = store_wheels.list_points(db, run_id)

    # the sweep's own student cannot ask: refused, and nothing is recorded
    refused = cli(wheels_store, "wheels", "add", str(run_id), "--policies", "learned",
                  "--budgets", "20")
    assert refused.returncode != 0 and "needs a student with an <ask> token" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert store_wheels.list_points(db, run_id) == [before]

    asker = make_asker(student, tmp_path / "asker")
    added = cli(wheels_store, "wheels", "add", str(run_id), "--policies", "learned,random",
                "--budgets", "0,20,40", "--asker", str(asker))
    assert added.returncode == 0, added.stderr
    assert f"run {run_id}: 5 points added" in added.stdout
    points = store_wheels.list_points(db, run_id)
    assert points[0] == before  # the measured point is untouched
    # the asker told it has no budget is its own anchor; random at 0% would be the student
    assert [p.label for p in points[1:]] == ["learned 0%", "learned 20%", "random 20%",
                                             "learned 40%", "random 40%"]
    assert points[1].teacher_written == 0
    assert all(p.status == "done" and p.violations == 0 for p in points)
    run = store.get_run(db, run_id)
    assert run.status == "finished"
    assert run.config["models"]["asker"] == str(asker)
    assert run.config["sweep"]["policies"] == ["student", "learned", "random"]
    assert 20 in run.config["sweep"]["budgets"] and 40 in run.config["sweep"]["budgets"]

    again = cli(wheels_store, "wheels", "add", str(run_id), "--policies", "learned",
                "--budgets", "20", "--asker", str(asker))
    assert again.returncode != 0 and "already has every point" in again.stderr
    no_budget = cli(wheels_store, "wheels", "add", str(run_id), "--policies", "random")
    assert no_budget.returncode != 0 and "--budgets" in no_budget.stderr
    db.close()
