"""Prompt templates: packaged versions, overrides, rendering, an answer format the grader reads."""

from __future__ import annotations

import pytest

from engine.grading.answers import grade
from engine.prompts import (TEMPLATE_NAMES, PromptError, StudentAttempt, StudentError,
                            load_template, prompt_fields)
from store.models import Example


def _example(question="Tom pays $5 for 2 pens. What is ${price}?", answer="2.5", choices=None):
    return Example(1, 1, "train", "e1", question, answer, None, None, choices, None, None)


def test_every_packaged_template_is_versioned_and_asks_for_an_answer_line():
    fields = {"initial": {"question", "choices", "answer_format"},
              "hinted": {"question", "choices", "answer_format", "gold_answer"},
              "refine_full": {"student_output", "previous_rationale", "student_errors"},
              "refine_answer_only": {"previous_rationale", "student_result", "student_errors"}}
    for name in TEMPLATE_NAMES:
        template = load_template(name)
        assert template.id == f"{name}@v1" and template.packaged
        assert fields[name] <= template.fields
        assert 'write "Answer: "' in template.messages[-1][1]
    assert "student_output" not in load_template("refine_answer_only").fields


def test_the_one_shot_answer_is_read_by_the_graders_answer_line_rule():
    messages = load_template("initial").render(prompt_fields(_example(), "number"))
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    graded = grade(messages[1]["content"], "5", "number")
    assert (graded.answer, graded.rule, graded.correct) == ("5", "answer_line", True)


def test_rendering_keeps_dollars_literal_and_adds_choices_and_system_prompt():
    example = _example(choices=["1", "2.5"])
    messages = load_template("initial").render(prompt_fields(example, "choice"),
                                               system_prompt="Be brief.")
    assert messages[0] == {"role": "system", "content": "Be brief."}
    last = messages[-1]["content"]
    assert "Tom pays $5 for 2 pens. What is ${price}?\nChoices:\nA) 1\nB) 2.5" in last
    assert "the letter of the correct choice" in last


def test_hinted_reveals_gold_and_refinement_shows_the_students_work():
    hinted = load_template("hinted").render(prompt_fields(_example(), "number",
                                                          reveal_gold=True))
    assert "Correct final answer: 2.5" in hinted[-1]["content"]
    values = prompt_fields(_example(), "number", previous_rationale="5 / 2 = 2.5\nAnswer: 2.5",
                           student=StudentAttempt("5 * 2 = 10\nAnswer: 10", "10", False),
                           errors=[StudentError("2 + 2?", None, "4")])
    full = load_template("refine_full").render(values)[-1]["content"]
    assert "5 * 2 = 10" in full and "final answer was 10, which is wrong" in full
    assert "Question: 2 + 2?\nStudent's answer: (none)\nCorrect answer: 4" in full
    only = load_template("refine_answer_only").render(values)[-1]["content"]
    assert "5 * 2 = 10" not in only and "which is wrong" in only
    assert "Correct final answer" not in full + only  # the gold is only told when hinted


def test_a_missing_value_is_an_error_naming_template_and_field():
    with pytest.raises(PromptError, match=r"refine_full@v1 uses \$\{previous_rationale\}"):
        load_template("refine_full").render(prompt_fields(_example(), "number"))


def test_user_overrides_a_directory_first_then_packaged(tmp_path):
    (tmp_path / "initial.v7.txt").write_text("# mine\n### user\nQ: ${question}\n")
    (tmp_path / "initial.v2.txt").write_text("### user\nold ${question}\n")
    mine = load_template("initial", tmp_path)
    assert mine.version == "7" and not mine.packaged and mine.id.startswith("initial@v7~")
    assert mine.render(prompt_fields(_example(), "number"))[-1]["content"].startswith("Q: Tom")
    assert load_template("initial.v2", tmp_path).version == "2"
    assert load_template("hinted", tmp_path).packaged  # not overridden: the packaged one
    single = tmp_path / "custom.v3.txt"
    single.write_text("### user\nOnly ${question}\n")
    assert load_template("initial", single).id.startswith("custom@v3~")
    with pytest.raises(PromptError, match="neither a file nor a directory"):
        load_template("initial", tmp_path / "missing")


@pytest.mark.parametrize("text, message", [
    ("### user\nQ: ${questoin}\n", r"bad.v1.txt, line 2: unknown field \$\{questoin\}"),
    ("### robot\nhi\n", r"bad.v1.txt, line 1: unknown role 'robot'"),
    ("no roles at all\n", "no '### user' line"),
    ("### user\nhi\n### assistant\nhello\n", "last message must be a '### user'"),
])
def test_malformed_templates_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.v1.txt"
    path.write_text(text)
    with pytest.raises(PromptError, match=message):
        load_template("bad", path)


def test_unknown_template_lists_the_packaged_ones():
    with pytest.raises(PromptError, match="no prompt template 'refine'.*initial"):
        load_template("refine")
