"""Keep policies (correct, all, retry, hinted) and the checks behind them."""

from __future__ import annotations

import pytest

import store
from engine.generation import (PassItem, PassOptions, derivation_problem, keep_decision,
                               run_teacher_pass, split_solution)
from engine.prompts import load_template
from engine.teachers import make_teacher
from tests.fixtures.teacher_fixtures import add_dataset, fault_rows


def _run(db, config, markers, **options):
    dataset_id = add_dataset(db, "keep", fault_rows(markers))
    run_id = store.create_run(db, "keep", {}, kind="generate", dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    report = run_teacher_pass(db, make_teacher(config), items, PassOptions(run_id=run_id,
                                                                           **options))
    return report, store.rationales_for_iteration(db, run_id, 1), run_id


def test_correct_keeps_only_gold_correct_and_all_keeps_every_complete_output(
        db, fault_server, fault_teacher_config):
    report, rows, _ = _run(db, fault_teacher_config, ["[ok]", "[ans=9]", "[length]"])
    assert [(r.correct, r.kept) for r in rows] == [(True, True), (False, False), (False, False)]
    assert (report.kept, report.attempted) == (1, 3)
    report, rows, _ = _run(db, fault_teacher_config, ["[ok]", "[ans=9]", "[length]"], keep="all")
    assert [r.kept for r in rows] == [True, True, False]


def test_retry_samples_again_only_for_unkept_examples(db, fault_server, fault_teacher_config):
    report, rows, run_id = _run(db, fault_teacher_config, ["[ok]", "[wrongx1]", "[ans=9]"],
                                keep="retry", retries=2, retry_temperature=0.8)
    by_example = {}
    for r in rows:
        by_example.setdefault(r.example_id, []).append((r.attempt, r.correct, r.kept))
    ok, fixed, hopeless = (by_example[k] for k in sorted(by_example))
    assert ok == [(0, True, True)]
    assert fixed == [(0, False, False), (1, True, True)]  # stopped retrying once correct
    assert hopeless == [(0, False, False), (1, False, False), (2, False, False)]
    assert (report.kept, report.attempted, report.calls_made) == (2, 3, 6)
    first, retries = fault_server.bodies[:3], fault_server.bodies[3:]
    assert {b["temperature"] for b in first} == {0.0}
    assert {b["temperature"] for b in retries} == {0.8}
    assert sorted(b["seed"] for b in retries) == [1, 1, 2]  # seed + sample index
    cache_rows = {store.cache_get(db, r.cache_key).sample_index for r in rows}
    assert cache_rows == {0, 1, 2}
    assert store.teacher_yield(db, run_id, 1) == (2, 3)


def test_progress_counts_the_whole_pass_with_its_retries_from_the_start(
        db, fault_server, fault_teacher_config):
    """3 examples x 3 tries: the total is 9 from the first event on (it never grows when the
    retries start), a kept example's unneeded tries count as done, and done ends at 9."""
    _, _, run_id = _run(db, fault_teacher_config, ["[ok]", "[wrongx1]", "[ans=9]"],
                        keep="retry", retries=2, progress_interval_s=0.0)
    events = store.events_since(db, run_id, kinds=("progress",))
    assert len(events) >= 6 and {e.total for e in events} == {9}
    done = [e.done for e in events]
    assert done == sorted(done) and done[-1] == 9
    assert all(e.data["examples"] == 3 and e.data["rounds"] == 3 for e in events)
    # after the first round's 3 results, "[ok]" was kept: its other 2 tries count as done
    first_round = next(e for e in events
                       if e.data["calls_made"] + e.data["cache_hits"] == 3)
    assert first_round.done == 5


def test_hinted_tells_the_gold_answer_and_rejects_bare_answers(db, fault_server,
                                                                fault_teacher_config):
    report, rows, run_id = _run(db, fault_teacher_config, ["[ok]", "[bare]"], keep="hinted")
    assert all("Correct final answer: 5" in b["messages"][-1]["content"]
               for b in fault_server.bodies)
    derived, bare = rows
    assert derived.source == "teacher_hinted" and derived.hinted and derived.kept
    assert derived.template == "hinted@v1"
    assert bare.correct and not bare.kept and bare.hinted
    assert "without a derivation" in bare.error
    assert report.rejected == 1 and (report.kept, report.attempted) == (1, 2)
    metrics = store.get_iteration(db, run_id, 1).metrics
    assert metrics["teacher_yield"]["hinted@v1"] == {"kept": 1, "attempted": 2}


def test_refinement_stores_only_the_solution_with_its_parent(db, fault_server,
                                                             fault_teacher_config):
    from engine.prompts import StudentAttempt, StudentError

    dataset_id = add_dataset(db, "keep", fault_rows(["[ok]"]))
    run_id = store.create_run(db, "refine", {}, kind="undo", dataset_id=dataset_id)
    example = store.load_examples(db, dataset_id, "train")[0]
    store.add_rationales(db, [store.NewRationale(example.id, run_id, 1, "teacher_initial",
                                                 "2 + 3 = 6\nAnswer: 6")])
    parent = store.rationales_for_example(db, example.id)[0]
    item = PassItem(example, parent_id=parent.id, previous_rationale=parent.text,
                    student=StudentAttempt("I think 6.\nAnswer: 6", "6", False),
                    errors=(StudentError("What is 1 + 1?", "3", "2"),))
    report = run_teacher_pass(db, make_teacher(fault_teacher_config), [item],
                              PassOptions(run_id=run_id, iteration=2,
                                          template=load_template("refine_full")))
    sent = fault_server.bodies[0]["messages"][-1]["content"]
    for shown in ("2 + 3 = 6", "I think 6.", "which is wrong", "What is 1 + 1?",
                  "Student's answer: 3"):
        assert shown in sent
    row = store.rationales_for_iteration(db, run_id, 2)[0]
    assert row.source == "teacher_refined" and row.parent_id == parent.id and row.kept
    assert row.template == "refine_full@v1" and report.kept == 1


@pytest.mark.parametrize("text, problem", [
    ("Answer: 72", "no working before the answer"),
    ("The answer is clear.\nAnswer: 72", "no calculation"),
    ("We know the result.\nIt is seventy-two.\nAnswer: 72", "no calculation"),
    ("She sold 48 in April.\nThe total is 72.\nAnswer: 72", "no calculation"),  # 48 is given
    ("In May she sold 24.\nAltogether that makes 72.\nAnswer: 72", None),  # 24 is derived
    ("48 / 2 = 24 in May.\n48 + 24 = 72.\nAnswer: 72", None),
    ("She sold 48 x 1.5 clips\nwhich is 72\nFinal answer: 72", None),
])
def test_derivation_check(text, problem):
    question = "Natalia sold 48 clips in April and half as many in May. How many in total?"
    found = derivation_problem(text, question, "number", "72")
    assert (found is None) if problem is None else (problem in found)


def test_derivation_check_for_non_numeric_answers_only_needs_working():
    assert derivation_problem("Paris is in France.\nIt is the capital.\nAnswer: Paris",
                              "Capital of France?", "string", "Paris") is None


def test_split_solution_keeps_only_the_rationale():
    diagnosis, solution = split_solution(
        "Diagnosis: the student added instead of multiplying.\n\n**Solution:**\n"
        "3 * 4 = 12\nAnswer: 12")
    assert diagnosis.startswith("Diagnosis:") and solution == "3 * 4 = 12\nAnswer: 12"
    assert split_solution("Solution: 3 * 4 = 12\nAnswer: 12")[1] == "3 * 4 = 12\nAnswer: 12"
    assert split_solution("no marker\nAnswer: 1") == (None, "no marker\nAnswer: 1")
    assert split_solution("Diagnosis: x\nSolution:")[1] == "Diagnosis: x\nSolution:"


def test_keep_decision_never_keeps_failed_or_truncated_output():
    for policy in ("correct", "all", "retry", "hinted"):
        assert not keep_decision(policy, status="truncated", correct=True)
        assert not keep_decision(policy, status="failed", correct=None)
    assert keep_decision("all", status="ok", correct=False)
    assert not keep_decision("hinted", status="ok", correct=True, derivation_problem="bare")
    with pytest.raises(ValueError, match="keep policy 'best'"):
        keep_decision("best", status="ok", correct=True)
