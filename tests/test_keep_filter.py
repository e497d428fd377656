"""The keep filter on real teacher rationales: each rule rejects what it must and keeps what it
must; a real teacher pass stores the reason on the row; each rule can be switched off in [loop];
the counts reach the iteration metrics, the export manifest, `undo-tui status` and the dashboard.

The texts are SmolLM2-135M's own outputs: its rationales in sample_runs/demo.db (`#id` there), and
its outputs for the demo's questions under the hinted and refine_full templates, generated once
through the teacher pass ("generated"). The few edited ones say how.
"""

from __future__ import annotations

import json
import re

import pytest

import store
from engine.config import load_config
from engine.errors import ConfigError
from engine.export import export_run
from engine.generation import (KEEP_RULES, Candidate, PassItem, PassOptions, keep_problem,
                               run_teacher_pass)
from engine.generation.keep_filter import COPY_SIMILARITY, copied
from engine.loop.stage_context import StageContext
from engine.loop.teacher_stage import stage_teacher
from engine.prompts import StudentAttempt, load_template
from engine.teachers import make_teacher
from tests.fixtures.teacher_fixtures import add_dataset, fault_rows, fault_run_file, gsm8k_rows
from tests.fixtures.tui_fixtures import screen_named, wait_for
from undo_tui.cli import main
from undo_tui.commands.status import rejection_lines

ELENA = ("Elena buys 3 packs of pencils. Each pack holds 6 pencils. How many pencils did she buy?",
         "18")
MATEO = ("Mateo shares 36 apples equally among 3 friends. How many apples does each friend get?",
         "12")
TARIQ = ("A sandwich costs $10. How many dollars does Tariq pay for 3 sandwiches?", "30")
CHLOE_SANDWICHES = ("A sandwich costs $4. How many dollars does Chloe pay for 6 sandwiches?", "24")
GRACE = ("Grace had 44 beads and gave 24 of them to Kim. How many beads does Grace have left?",
         "20")
DIEGO = ("Diego drives at 61 km per hour for 5 hours. How many kilometres does he drive?", "305")
ELENA_SAVED = ("Elena saved $67 in March and $97 in April. How many dollars did she save in the "
               "two months?", "164")
AISHA_SAVED = ("Aisha saved $37 in March and $66 in April. How many dollars did she save in the "
               "two months?", "103")
LUCAS = ("A book has 109 pages. Lucas has read 94 pages. How many pages does he still have to "
         "read?", "15")
AISHA_BAKES = ("Aisha bakes 4 trays of cupcakes with 15 on each tray and gives 42 to the "
               "neighbours. How many cupcakes are left?", "18")
ZARA = ("A plant costs $5. How many dollars does Zara pay for 8 plants?", "40")
CHLOE_ROSES = ("Chloe plants 33 rose bushes in rows of 3. How many rows does she plant?", "11")
LIAM = ("Liam bakes 6 trays of cookies with 13 on each tray and gives 35 to the neighbours. How "
        "many cookies are left?", "43")
AISHA_CARDS = ("Aisha buys 6 packs of cards. Each pack holds 11 cards. How many cards did she "
               "buy?", "66")

# demo.db's kept initial rationales (#1, #6, #14, #24, #28, #91, #104): genuine derivations
ELENA_DERIVED = ("Elena bought 3 packs of 6 pencils.\nEach pack holds 6 pencils, so she bought "
                 "3 * 6 = 18 pencils.\nAnswer: 18")
GENUINE = [
    (ELENA, ELENA_DERIVED),
    (TARIQ, "To solve this problem, we need to find out how many dollars Tariq pays for 3 "
            "sandwiches.\nWe know that 3 sandwiches cost $10.\nWe can multiply 3 by 10 to find out "
            "how many dollars Tariq pays for 3 sandwiches.\n3 * 10 = 30 dollars\nAnswer: 30"),
    (ZARA, "The plant costs $5.\nThe total cost of 8 plants is 8 * $5 = $40.\n"
                         "Answer: 40"),
    (MATEO, "Mateo has 36 apples.\nEach friend gets 36 / 3 = 12 apples.\nAnswer: 12"),
    (CHLOE_SANDWICHES, "The total cost of 6 sandwiches is 6 x $4 = $24.\nAnswer: 24"),
    (GRACE, "To solve this, we need to find 44 - 24.\nWe need to subtract 24, so 44 - 24 = 20.\n"
            "The answer is 20.\n\nAnswer: 20"),
    (("Liam shares 21 apples equally among 3 friends. How many apples does each friend get?",
      "7"), "Two of the friends share 21 / 3 = 7 apples equally among themselves.\nAnswer: 7"),
]
# demo.db's kept refinements (#176, #198, #121), the junk issue 13 names
JUNK = [
    (ELENA, "Student's answer: 18", "no_derivation"),
    (MATEO, "Demonstrating that the answer is indeed 12, the student finally gets the answer "
            "right.", "no_derivation"),
    (TARIQ, "The student's final answer is 30, which is incorrect. The correct answer is 38.",
     "talks_about_student"),
]
MATEO_STUDENT = ("Mateo has 36 apples.\nEach friend gets 36 apples / 3 = 12 apples.\nMateo has 12 "
                 "apples.\nEach friend gets 12 apples.\n#### 12\nThe answer is: 12")
ELENA_STUDENT = ("Elena buys 3 packs of pencils, which is equivalent to 3 x 6 = 18 pencils.\nShe "
                 "buys 3 x 6 = 18 pencils.\nShe buys 18 pencils.\n#### 18\nThe answer is: 18")
# generated refine_full output: the student's work re-emitted under a header
MATEO_STUDENTS_WORK = ("The student's work:\nMateo has 36 apples.\nEach friend gets 36 / 3 = 12 "
                       "apples.\nMateo has 12 apples.\nEach friend gets 12 apples.\n#### 12\n"
                       "The answer is: 12")
MATEO_COPY = MATEO_STUDENTS_WORK.split("\n", 1)[1]  # the same without its header line
# generated hinted outputs
LUCAS_PASTED = ("To solve this problem, we need to find out how many pages Lucas still has to "
                "read.\nLet's break it down step by step:\n1. Lucas reads 94 pages.\n"
                "2. He still has 109 pages.\n3. So, Lucas has 109 - 94 = 10 pages left.\n"
                "Answer: 15")
AISHA_HINTED = ("Aisha bakes 4 trays of cupcakes with 15 on each tray and gives 42 to the "
                "neighbours.\nThe total number of cups of cupcakes is 4 * 15 = 60 cups.\nThe "
                "number of remaining cups is 60 - 42 = 18 cups.\nAnswer: 18")
AISHA_HINT_FIRST = "There are 18 cupcakes left.\n" + AISHA_HINTED  # edited: the answer put first

# (rule, (question, gold), text, hinted, student output shown, previous version shown)
MUST_REJECT = [
    ("no_derivation", ELENA, "Answer: 18", False, None, None),
    ("no_derivation", LUCAS, LUCAS_PASTED, True, None, None),
    ("hint_before_derivation", DIEGO, "Dropping the decimal, 305 is 305 * 1.067 = 362.67 "
     "kilometres.\nAnswer: 362.67", True, None, None),
    ("hint_before_derivation", ELENA_SAVED, "Elena saved $67 in March and $97 in April.\nShe "
     "saved $164 in March and $164 in April.\nThe total amount of money she saved is $164 + $164 "
     "= $220.\nAnswer: 220", True, None, None),
    ("talks_about_student", TARIQ, JUNK[2][1], False, None, None),
    ("talks_about_student", DIEGO, "It appears that your explanation was incorrect.\n\nThe correct "
     "answer is 1.000001.\n\nYou can correct the explanation to:\n\nMismatch:\nMismatch:\nCorrect "
     "answer: 1.000001", False, None, None),
    ("talks_about_student", AISHA_SAVED, "Correct answer: 155", False, None, None),
    ("copies_student", LIAM, "The student's work:\nLiam bakes 6 trays of cookies and gives 35 "
     "cookies to the neighbours, so he gives 35 cookies to the neighbours.\nThe total number of "
     "cookies left is the sum of the cookies he gave and the cookies he gave to the "
     "neighbours.\nThe total number of cookies left is 35 + 35 = 70 cookies.\n#### 70\nThe answer "
     "is: 70", False, "Liam bakes 6 trays of cookies and gives 35 cookies to the neighbours, so he "
     "gives 35 cookies to the neighbours.\nThe total number of cookies left is the sum of the "
     "cookies he gave and the cookies he gave to the neighbours.\nThe total number of cookies "
     "left is 35 + 35 = 70 cookies.\n#### 70\nThe answer is: 70", None),
    ("copies_previous", CHLOE_ROSES, "Fix: Please provide the answer.\nYour explanation:\nOne rose "
     "bush needs to be planted by Chloe 3 times.\nIn 13 rows of 3, there are 3 rows of 3.\n"
     "Answer: 4", False, None, "One rose bush needs to be planted by Chloe 3 times.\nIn 13 rows "
     "of 3, there are 3 rows of 3.\nAnswer: 3"),
]
MUST_KEEP = [
    ("no_derivation", CHLOE_SANDWICHES, GENUINE[4][1], False, None, None),  # one line of working
    ("no_derivation", TARIQ, GENUINE[1][1], False, None, None),
    ("hint_before_derivation", AISHA_BAKES, AISHA_HINTED, True, None, None),
    ("hint_before_derivation", ELENA, "Elena buys 3 packs of pencils, which means she has 3 packs "
     "x 6 pencils = 18 pencils.\nAnswer: 18", True, None, None),  # generated, cut to its line 1
    ("talks_about_student", GRACE, GENUINE[5][1], False, None, None),
    ("copies_student", ELENA, ELENA_DERIVED, False, ELENA_STUDENT, None),  # resembles, not a copy
    # the closest two independent samples of one question (demo.db #54, its retry #109)
    ("copies_previous", AISHA_CARDS, "There are 3 packs of cards in a pack of 6.\nEach pack holds "
     "11 cards.\nAnswer: 3 * 11 = 33 cards.\nAnswer: 33", False, None,
     "Aisha buys 6 packs of 11 cards.\nEach pack holds 11 * 6 = 60 cards.\nAnswer: 60"),
]


def _candidate(case) -> Candidate:
    _, (question, gold), text, hinted, student, previous = case
    return Candidate(text, question, gold, "number", hinted=hinted, student_output=student,
                     previous=previous)


@pytest.mark.parametrize("case", MUST_REJECT, ids=lambda c: c[0])
def test_each_rule_rejects_real_junk(case):
    problem = keep_problem(_candidate(case), [case[0]])
    assert problem is not None and problem.reason == case[0]


@pytest.mark.parametrize("case", MUST_KEEP, ids=lambda c: c[0])
def test_each_rule_keeps_real_rationales(case):
    assert keep_problem(_candidate(case), [case[0]]) is None


@pytest.mark.parametrize("question_gold, text", GENUINE, ids=[str(i) for i in range(7)])
def test_the_demos_genuine_rationales_pass_every_rule(question_gold, text):
    question, gold = question_gold
    assert keep_problem(Candidate(text, question, gold)) is None


@pytest.mark.parametrize("question_gold, text, reason", JUNK, ids=[r for *_, r in JUNK])
def test_the_junk_the_demo_kept_is_rejected(question_gold, text, reason):
    question, gold = question_gold
    problem = keep_problem(Candidate(text, question, gold))
    assert problem is not None and problem.reason == reason


def test_a_question_about_students_lets_the_rationale_say_student():
    """GSM8K train #560: the question is about a student council."""
    row = gsm8k_rows(561)[560]
    text = row["rationale"] + f"\nAnswer: {row['answer']}"
    assert "student council" in text
    assert keep_problem(Candidate(text, row["question"], row["answer"])) is None
    assert keep_problem(Candidate(text, "How many erasers?", row["answer"]),
                        ["talks_about_student"]).reason == "talks_about_student"


def test_copy_threshold_sits_between_independent_samples_and_copies():
    independent = MUST_KEEP[-1]
    assert copied(independent[2], independent[5]) is None  # 0.66
    framed_copy = MUST_REJECT[-1]
    assert COPY_SIMILARITY <= copied(framed_copy[2], framed_copy[5]) < 0.8  # 0.78
    assert copied(MATEO_COPY, MATEO_STUDENT) > 0.95
    assert copied("Answer: 12", "Answer: 12") is None  # nothing but the answer: not a copy


# -- a real teacher pass stores the reason -------------------------------------------------------

def _examples(db, server, rows: list[tuple]) -> int:
    """One train example per (name, (question, gold), reply text); the server answers the text."""
    data = []
    for i, (name, (question, gold), text) in enumerate(rows):
        if text is not None:
            server.replies[name] = text
        marker = f"[reply={name}]" if text is not None else name
        data.append(dict(ext_id=f"k{i}", split="train", question=f"{question} {marker}",
                         answer=gold))
    return add_dataset(db, "keep-" + "-".join(name for name, *_ in rows), data)


def _pass(db, config, items, run_id, **options):
    report = run_teacher_pass(db, make_teacher(config), items,
                              PassOptions(run_id=run_id, **options))
    rows = store.rationales_for_iteration(db, run_id, options.get("iteration", 1))
    return report, {_name(store.get_example(db, r.example_id)): r for r in rows}


def _name(example) -> str:
    """The reply name (or fault marker) at the end of an example's question."""
    return re.search(r"\[(?:reply=)?([^\]]+)\]$", example.question).group(1)


def _reason_store(db, server, config) -> tuple[int, dict]:
    """An undo run whose iteration-1 pass rejected one output for each kind of reason."""
    rows = [("good", ELENA, ELENA_DERIVED), ("restates", ELENA, "Answer: 18"),
            ("talks", MATEO, MATEO_STUDENTS_WORK),
            ("wrong", CHLOE_ROSES, MUST_REJECT[-1][2]),
            ("[length]", CHLOE_ROSES, None), ("[500always]", CHLOE_ROSES, None)]
    dataset_id = _examples(db, server, rows)
    run_id = store.create_run(db, "keep-filter", {"loop": {"keep": "correct"}}, kind="undo",
                              dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    report, by_name = _pass(db, config, items, run_id)
    return run_id, {"report": report, "rows": by_name}


EXPECTED_COUNTS = {"failed": 1, "truncated": 1, "not_correct": 1, "no_derivation": 1,
                   "talks_about_student": 1}


def test_a_real_pass_stores_each_reason_and_counts_them(db, fault_server, fault_teacher_config):
    run_id, made = _reason_store(db, fault_server, fault_teacher_config)
    rows = made["rows"]
    assert {name: (r.kept, r.reject_reason) for name, r in rows.items()} == {
        "good": (True, None), "restates": (False, "no_derivation"),
        "talks": (False, "talks_about_student"), "wrong": (False, "not_correct"),
        "length": (False, "truncated"), "500always": (False, "failed")}
    assert rows["talks"].correct and rows["restates"].correct
    assert rows["talks"].error.startswith("not kept: talks about the student")
    assert store.rejection_counts(db, run_id, 1) == EXPECTED_COUNTS
    assert dict(made["report"].reasons) == EXPECTED_COUNTS
    metrics = store.get_iteration(db, run_id, 1).metrics
    assert metrics["teacher_rejected"] == EXPECTED_COUNTS
    assert store.get_iteration(db, run_id, 1).teacher_kept == 1


def test_hinted_and_refinement_passes_store_their_reasons(db, fault_server, fault_teacher_config):
    rows = [("first", AISHA_BAKES, AISHA_HINT_FIRST), ("pasted", LUCAS, LUCAS_PASTED),
            ("derived", AISHA_BAKES, AISHA_HINTED)]
    dataset_id = _examples(db, fault_server, rows)
    run_id = store.create_run(db, "hinted", {}, kind="undo", dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    _, hinted = _pass(db, fault_teacher_config, items, run_id, keep="hinted")
    assert {name: (r.reject_reason, r.hinted) for name, r in hinted.items()} == {
        "first": ("hint_before_derivation", True), "pasted": ("no_derivation", True),
        "derived": (None, True)}

    rows = [("copy-student", MATEO, MATEO_COPY), ("copy-previous", ELENA, ELENA_DERIVED)]
    dataset_id = _examples(db, fault_server, rows)
    run_id = store.create_run(db, "refine", {}, kind="undo", dataset_id=dataset_id)
    shown = {"copy-student": (GENUINE[3][1], MATEO_STUDENT),
             "copy-previous": (ELENA_DERIVED, ELENA_STUDENT)}
    items = []
    for example in store.load_examples(db, dataset_id, "train"):
        previous, student = shown[_name(example)]
        items.append(PassItem(example, previous_rationale=previous,
                              student=StudentAttempt(student, example.answer, True)))
    _, refined = _pass(db, fault_teacher_config, items, run_id, iteration=2,
                       template=load_template("refine_full"))
    assert {name: r.reject_reason for name, r in refined.items()} == {
        "copy-student": "copies_student", "copy-previous": "copies_previous"}
    # refine_answer_only does not show the student's output: re-emitting it is no copy of it
    run_id = store.create_run(db, "refine-answer-only", {}, kind="undo", dataset_id=dataset_id)
    _, answer_only = _pass(db, fault_teacher_config, items, run_id, iteration=2,
                           template=load_template("refine_answer_only"))
    assert {name: r.reject_reason for name, r in answer_only.items()} == {
        "copy-student": None, "copy-previous": "copies_previous"}


def test_keep_all_keeps_every_complete_output_unfiltered(db, fault_server, fault_teacher_config):
    rows = [("junk", ELENA, "Student's answer: 18"), ("wrong", CHLOE_ROSES, MUST_REJECT[-1][2])]
    dataset_id = _examples(db, fault_server, rows)
    run_id = store.create_run(db, "all", {}, kind="undo", dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    _, by_name = _pass(db, fault_teacher_config, items, run_id, keep="all")
    assert [(r.kept, r.reject_reason) for r in by_name.values()] == [(True, None)] * 2


def test_retry_samples_again_after_a_rejection(db, fault_server, fault_teacher_config):
    dataset_id = _examples(db, fault_server,
                           [("junk", ELENA, "Answer: 18")])
    run_id = store.create_run(db, "retry", {}, kind="undo", dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    report = run_teacher_pass(db, make_teacher(fault_teacher_config), items,
                              PassOptions(run_id=run_id, keep="retry", retries=1))
    rows = store.rationales_for_iteration(db, run_id, 1)
    assert [(r.attempt, r.reject_reason) for r in rows] == [(0, "no_derivation"),
                                                            (1, "no_derivation")]
    assert report.reasons == {"no_derivation": 2} and store.teacher_yield(db, run_id, 1) == (0, 1)


# -- each rule switched off in [loop], through the real teacher stage ----------------------------

# rule -> (keep, k, (question, gold), reply, previous version, student output)
SWITCH_CASES = {
    "no_derivation": ("correct", 1, LUCAS, LUCAS_PASTED, None, None),
    "hint_before_derivation": ("hinted", 1, AISHA_BAKES, AISHA_HINT_FIRST, None, None),
    "talks_about_student": ("correct", 1, MATEO, MATEO_STUDENTS_WORK, None, None),
    "copies_student": ("correct", 2, MATEO, MATEO_COPY, GENUINE[3][1], MATEO_STUDENT),
    "copies_previous": ("correct", 2, ELENA, ELENA_DERIVED, ELENA_DERIVED, ELENA_STUDENT),
}


def _config_file(tmp_path, server, keep: str, switch_off: str | None):
    off = f"reject_{switch_off} = false\n" if switch_off else ""
    path = fault_run_file(tmp_path / f"keep-{switch_off}.toml", server, "keep-filter", f"""
[prompts]
refine_variant = "full"
[loop]
keep = "{keep}"
{off}""")
    return load_config(path)


def _stage(db, store_path, tmp_path, server, rule: str, switch_off: bool) -> store.Rationale:
    keep, k, (question, gold), reply, previous, student = SWITCH_CASES[rule]
    dataset_id = store.get_or_create_dataset(db, "keep-filter", "number", "fixture")
    server.replies[rule] = reply
    store.add_examples(db, dataset_id, [dict(ext_id=rule, split="train", answer=gold,
                                             question=f"{question} [reply={rule}]")])
    example = next(e for e in store.load_examples(db, dataset_id, "train") if e.ext_id == rule)
    config = _config_file(tmp_path, server, keep, rule if switch_off else None)
    assert (rule in config.loop.keep_rules()) is not switch_off
    run_id = store.create_run(db, f"{rule}-{switch_off}", config.model_dump(mode="json"), kind="undo",
                              dataset_id=dataset_id)
    if k == 2:  # what iteration 1 left: the teacher's rationale and the student's answer
        store.add_rationales(db, [store.NewRationale(example.id, run_id, 1, "teacher_initial",
                                                     previous, correct=True, kept=True)])
        store.add_predictions(db, [store.NewPrediction(run_id, 1, "train", example.id, student,
                                                       True, answer=gold)])
    stage_teacher(StageContext.load(store_path, run_id, k))
    rows = [r for r in store.rationales_for_iteration(db, run_id, k)
            if r.example_id == example.id]
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("rule", KEEP_RULES)
def test_each_rule_switched_off_in_loop_keeps_what_it_rejected(rule, db, store_path, tmp_path,
                                                               fault_server):
    rejected = _stage(db, store_path, tmp_path, fault_server, rule, switch_off=False)
    assert (rejected.kept, rejected.reject_reason, rejected.correct) == (False, rule, True)
    kept = _stage(db, store_path, tmp_path, fault_server, rule, switch_off=True)
    assert (kept.kept, kept.reject_reason) == (True, None)


def test_a_switch_must_be_true_or_false(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[dataset]\nname = "d"\n[loop]\nreject_copies_student = "no"\n')
    with pytest.raises(ConfigError, match="bad.toml: loop.reject_copies_student: expected true "
                                          "or false"):
        load_config(path)


# -- the counts reach the export manifest, `undo-tui status` and the dashboard ---------------------

def test_counts_reach_the_export_manifest_and_status(db, store_path, fault_server,
                                                     fault_teacher_config, tmp_path, capsys):
    run_id, _ = _reason_store(db, fault_server, fault_teacher_config)
    out = tmp_path / "export" / "kept.jsonl"
    result = export_run(db, run_id, iteration=1, fmt="trl-messages", out=out)
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["teacher_yield"] == {"1": {"kept": 1, "attempted": 6,
                                               "rejected": EXPECTED_COUNTS}}
    assert result.rows == 1
    assert main(["--store", str(store_path), "status", str(run_id)]) == 0
    printed = capsys.readouterr().out.splitlines()
    line = ("teacher rejected (k=1): failed 1, truncated 1, not_correct 1, no_derivation 1, "
            "talks_about_student 1")
    assert printed[-1] == line
    assert rejection_lines(store.list_iterations(db, run_id)) == [line]


def test_generate_prints_the_outputs_not_kept_per_reason(db, store_path, tmp_path, fault_server,
                                                         capsys):
    add_dataset(db, "faults", fault_rows(["[ok] a", "[ans=9] b", "[bare] c"]))
    config = tmp_path / "teacher.toml"
    config.write_text(f'[teacher]\nbackend = "openai"\nmodel = "m"\n'
                      f'base_url = "{fault_server.url}"\n')
    assert main(["--store", str(store_path), "generate", "--dataset", "faults", "--teacher",
                 str(config)]) == 0
    out = capsys.readouterr().out
    assert "kept 1/3" in out and "not kept: not_correct 1, no_derivation 1" in out


@pytest.fixture
def reason_run(db, fault_server, fault_teacher_config) -> int:
    """The pass runs its own event loop, so it is made before the app's loop starts."""
    return _reason_store(db, fault_server, fault_teacher_config)[0]


@pytest.mark.anyio
@pytest.mark.usefixtures("tui_env")
async def test_counts_reach_the_dashboard(reason_run, store_path):
    from undo_tui.app import UndoApp

    run_id = reason_run
    app = UndoApp(store_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
        app.open_dashboard(run_id)
        dash = await wait_for(pilot, lambda: (s := screen_named(app, "DashboardScreen"))
                              and s.data and s, what="dashboard loaded")
        note = dash.query_one("#quality-note").render()
        assert ("Not kept (k=1): failed 1, truncated 1, not_correct 1, no_derivation 1, "
                "talks_about_student 1") in str(note)


# -- a store written before reject_reason ---------------------------------------------------------

def test_upgrading_an_old_store_labels_what_it_already_knew(store_path):
    from store.schema import migrations

    old = store.connect(store_path)
    migrations.apply(old, stop_before="m002_rationale_reject_reason")
    dataset_id = add_dataset(old, "old", [dict(ext_id=f"o{i}", split="train", question=f"Q{i}?",
                                              answer="5") for i in range(6)])
    run_id = store.create_run(old, "old", {}, kind="undo", dataset_id=dataset_id)
    ids = [e.id for e in store.load_examples(old, dataset_id, "train")]
    # (example, source, status, text, error, correct, kept)
    rows = [(ids[0], "teacher_initial", "ok", "2 + 3 = 5\nAnswer: 5", None, 1, 1),
            (ids[1], "teacher_initial", "ok", "Answer: 4", None, 0, 0),
            (ids[2], "teacher_initial", "truncated", "2 +", "truncated at max_tokens=8", 0, 0),
            (ids[3], "teacher_initial", "failed", "", "HTTP 500", None, 0),
            (ids[4], "teacher_hinted", "ok", "Answer: 5", "not kept: states the answer without "
             "a derivation (fewer than 2 lines of working)", 1, 0),
            (ids[5], "teacher_initial", "ok", "2 + 3 = 6\nAnswer: 6", None, 0, 0),
            (ids[5], "human", "ok", "2 + 3 = 5\nAnswer: 5", None, 1, 1)]
    for example_id, source, status, text, error, correct, kept in rows:
        old.execute("INSERT INTO rationales (example_id, run_id, iteration, source, status, text, "
                    "error, correct, kept) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)",
                    [example_id, run_id, source, status, text, error, correct, kept])
    store.upsert_iteration(old, run_id, 1, teacher_attempted=6, teacher_kept=1,
                           metrics={"teacher_yield": {"initial@v1": {"kept": 1, "attempted": 6}}})
    old.close()

    db = store.open_store(store_path)
    try:
        reasons = {(r.example_id, r.source): r.reject_reason
                   for r in store.rationales_for_iteration(db, run_id, 1)}
        assert [reasons[(i, "teacher_initial")] for i in (ids[0], ids[1], ids[2], ids[3])] == [
            None, "not_correct", "truncated", "failed"]
        assert reasons[(ids[4], "teacher_hinted")] == "no_derivation"
        # a human edit un-kept the teacher's row: not known to be a rejection
        assert reasons[(ids[5], "teacher_initial")] is None
        metrics = store.get_iteration(db, run_id, 1).metrics
        assert metrics["teacher_rejected"] == store.rejection_counts(db, run_id, 1) == {
            "failed": 1, "truncated": 1, "not_correct": 1, "no_derivation": 1}
        assert metrics["teacher_yield"] == {"initial@v1": {"kept": 1, "attempted": 6}}
    finally:
        db.close()
