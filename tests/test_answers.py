"""Answer extraction and grading: the rules that decide accuracy and which rationales are kept."""

from __future__ import annotations

import pytest

from engine.grading.answers import (
    answers_match,
    extract_answer,
    grade,
    gsm8k_gold,
    last_boxed,
    normalize_answer,
)
from engine.grading.numbers import numbers_in

NUMBER_NORMALISATION = [
    ("42", "42"),
    ("1,234", "1234"),
    ("1,000,000", "1000000"),
    ("1 234", "1234"),
    ("1\u202f234\u202f567", "1234567"),
    ("$5", "5"),
    ("$-3.50", "-3.5"),
    ("-$3.50", "-3.5"),
    ("€12", "12"),
    ("£ 7.25", "7.25"),
    ("\\$18", "18"),
    ("75%", "75"),
    ("75\\%", "75"),
    ("50 percent", "50"),
    ("12.0", "12"),
    ("12.00", "12"),
    ("12.", "12"),
    ("+7", "7"),
    ("-4", "-4"),
    ("\u22124", "-4"),
    ("-0", "0"),
    ("-0.0", "0"),
    ("0.125", "0.125"),
    (".5", "0.5"),
    ("3/4", "0.75"),
    ("2/4", "0.5"),
    ("1/3", "1/3"),
    ("-2/6", "-1/3"),
    ("\\frac{3}{4}", "0.75"),
    ("\\dfrac{1}{3}", "1/3"),
    ("\\tfrac12", "0.5"),
    ("-\\frac{1}{2}", "-0.5"),
    ("\\frac{-1}{2}", "-0.5"),
    ("1 1/2", "1.5"),
    ("5\\text{ cm}", "5"),
    ("5 \\text{dollars}", "5"),
    ("5 dollars", "5"),
    ("18 eggs.", "18"),
    ("**42**", "42"),
    ("twelve", "12"),  # number words up to twenty (issue 13)
    ("Twenty apples", "20"),
    ("$42$", "42"),
    ("\\boxed{7}", "7"),
    ("x = 5", "5"),
    ("90^\\circ", "90"),
    ("1.5e3", "1500"),
    ("{5}", "5"),
]


@pytest.mark.parametrize("raw, expected", NUMBER_NORMALISATION)
def test_normalize_number(raw, expected):
    assert normalize_answer(raw, "number") == expected


@pytest.mark.parametrize(
    "raw",
    ["abc", "", "   ", "3 apples and 4 pears", "1/0", "\\frac{1}{0}", "twenty-one", "1,23,4", "--",
     "5 or six", "12 is wrong"],
)
def test_normalize_number_rejects_non_numbers(raw):
    assert normalize_answer(raw, "number") is None


@pytest.mark.parametrize(
    "raw, expected",
    [("B", "B"), ("b", "B"), ("(C)", "C"), ("D)", "D"), ("a.", "A"), ("**E**", "E"), ("B) 12", "B")],
)
def test_normalize_choice(raw, expected):
    assert normalize_answer(raw, "choice") == expected


@pytest.mark.parametrize("raw", ["12", "a big one", "", "(1)"])
def test_normalize_choice_rejects(raw):
    assert normalize_answer(raw, "choice") is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("\\left( 1, 2 \\right)", "(1,2)"),
        ("\\dfrac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{2}"),
        ("\\text{Devon}", "Devon"),
        ("x^2 + 1", "x^2+1"),
        ("\\frac{2}{4}", "0.5"),
        ("45^\\circ", "45"),
        ("\\frac12x", "\\frac{1}{2}x"),
    ],
)
def test_normalize_math(raw, expected):
    assert normalize_answer(raw, "math") == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("The Eiffel Tower.", "eiffel tower"), ("  an   APPLE!", "apple"), ("Paris", "paris"), ("?!", None)],
)
def test_normalize_string(raw, expected):
    assert normalize_answer(raw, "string") == expected


def test_unknown_answer_type_is_refused():
    with pytest.raises(ValueError, match="answer type"):
        normalize_answer("1", "integer")


EXTRACTION = [
    # text, expected value, rule, fallback
    ("The answer is 1,000,000.", "1000000", "answer_line", False),
    ("Answer: $-3.50", "-3.5", "answer_line", False),
    ("Answer: **42**", "42", "answer_line", False),
    ("**Answer:** 42", "42", "answer_line", False),
    ("Final answer: 17", "17", "answer_line", False),
    ("Answer:\n17\n", "17", "answer_line", False),  # the value on the next line
    ("The final answer is: 9 apples", "9", "answer_line", False),
    ("answer: 3\nmore thinking\nAnswer: 5", "5", "answer_line", False),
    ("18 eggs; answer: 18 dollars", "18", "answer_line", False),
    ("The answer is 42. I hope this helps with 7 things", "42", "answer_line", False),
    ("Answer: x = 7", "7", "answer_line", False),
    ("Answer: 5 + 3 = 8", "8", "answer_line", False),
    ("The final answer is 15 gallons * 8 pints / gallon = 120 pints", "120", "answer_line", False),
    ("The answer is $\\boxed{12}$.", "12", "boxed", False),  # the box is the later marker
    ("So we get \\boxed{\\frac{1}{2}}", "0.5", "boxed", False),
    ("First \\boxed{3}, wait, actually \\boxed{4}", "4", "boxed", False),
    ("\\boxed{\\frac{\\frac{1}{2}}{2}} done", "0.25", "boxed", False),
    ("\\fbox{6}", "6", "boxed", False),
    ("Natalia sold 48/2 = 24 clips.\n#### 1,234", "1234", "hashes", False),
    ("#### 72\n", "72", "hashes", False),
    ("She had 3 apples, ate 2, so 1 is left", "1", "last_number", True),
    ("It costs $4.50 in total", "4.5", "last_number", True),
    ("Answer: I don't know, but 12 is close", "12", "answer_line", False),
    ("\\boxed{x+1} though 5 apples remain", "5", "last_number", True),  # boxed is read strictly
    ("Answer: 3/4 of a cup", "0.75", "answer_line", False),
    ("Answer: \u22127", "-7", "answer_line", False),
    ("no numbers or markers here", None, None, False),
    ("", None, None, False),
]


@pytest.mark.parametrize("text, value, rule, fallback", EXTRACTION)
def test_extract_number(text, value, rule, fallback):
    found = extract_answer(text)
    assert (found.value, found.rule, found.fallback) == (value, rule, fallback)


def test_the_last_marker_wins_whatever_its_kind():
    # issue 13: markers are ordered by position in the text, not by a rule priority
    assert extract_answer("#### 1\n\\boxed{2}\nAnswer: 3").value == "3"
    assert extract_answer("Answer: 3\n#### 1\n\\boxed{2}").value == "2"
    assert extract_answer("\\boxed{2}\nAnswer: 3\n#### 1").value == "1"


def test_an_answer_line_without_any_value_is_prose_not_a_marker():
    found = extract_answer("We get \\boxed{5}. Answer: unknown")
    assert (found.value, found.rule) == ("5", "boxed")


def test_strict_grading_never_guesses_from_the_last_number():
    graded = grade("I think it is 12", "12")
    assert (graded.answer, graded.correct) == (None, False)
    assert (graded.flexible_answer, graded.flexible_correct, graded.fallback) == ("12", True, True)


CHOICE_EXTRACTION = [
    ("I choose (B).", "B", "choice"),
    ("B) is correct", "B", "choice"),
    ("Answer: B", "B", "answer_line"),
    ("the answer is b", "B", "answer_line"),
    ("The answer is (c).", "C", "answer_line"),
    ("Option D looks right", "D", "choice"),
    ("Answer: twelve", "C", "answer_line"),  # the text of choice C
    ("I choose (B), no, I choose (D)", "D", "choice"),
    ("see a) for details", None, None),
    ("The answer is a big number", None, None),
    ("The answer is (F)", None, None),  # only four choices
]


@pytest.mark.parametrize("text, value, rule", CHOICE_EXTRACTION)
def test_extract_choice(text, value, rule):
    found = extract_answer(text, "choice", choices=["ten", "eleven", "twelve", "thirteen"])
    assert (found.value, found.rule) == (value, rule)
    assert found.fallback is False


def test_a_bare_letter_is_only_the_flexible_fallback():
    found = extract_answer("(A) is wrong, (B) is wrong, so (D)", "choice", choices="1234")
    assert (found.value, found.rule, found.fallback) == ("D", "last_letter", True)


def test_choice_type_never_guesses_last_number():
    assert extract_answer("There are 3 options", "choice").value is None


MATCHES = [
    ("2/4", "0.5", "number", True),
    ("12.0", "12", "number", True),
    ("-0", "0", "number", True),
    ("1,234", "1234", "number", True),
    ("$1,234.00", "1234", "number", True),
    ("0.3333333", "1/3", "number", True),  # within rel_tol 1e-6
    ("0.333", "1/3", "number", False),
    ("13", "12", "number", False),
    ("-12", "12", "number", False),
    (None, "12", "number", False),
    ("abc", "abc", "number", False),  # numbers must parse on both sides
    ("\\frac{1}{2}", "0.5", "math", True),
    ("\\boxed{\\frac{1}{2}}", "\\dfrac12", "math", True),
    ("\\left(1, 2\\right)", "(1,2)", "math", True),
    ("\\sqrt{2}", "\\sqrt{3}", "math", False),
    ("b", "B", "choice", True),
    ("(B)", "C", "choice", False),
    ("the Eiffel Tower", "Eiffel tower.", "string", True),
    ("Eiffel", "Eiffel tower", "string", False),
]


@pytest.mark.parametrize("predicted, gold, answer_type, expected", MATCHES)
def test_answers_match(predicted, gold, answer_type, expected):
    assert answers_match(predicted, gold, answer_type) is expected


def test_rel_tol_is_respected():
    assert answers_match("100.05", "100", rel_tol=1e-3)
    assert not answers_match("100.05", "100", rel_tol=1e-6)


@pytest.mark.parametrize(
    "text, gold, correct, flexible, has_line, fallback",
    [
        ("48/2 = 24, 48+24 = 72.\nAnswer: 72", "72", True, True, True, False),
        ("48/2 = 24, 48+24 = 72.\nAnswer: 70", "72", False, False, True, False),
        # right only by the fallback: strictly wrong (issue 13), flexibly right
        ("48/2 = 24, 48+24 = 72", "72", False, True, False, True),
        ("so \\boxed{72}", "72", True, True, True, False),
        ("#### 72", "72", True, True, True, False),
        ("Answer: no idea", "72", False, False, True, False),
        ("I cannot solve this", "72", False, False, False, False),
    ],
)
def test_grade(text, gold, correct, flexible, has_line, fallback):
    graded = grade(text, gold)
    assert (graded.correct, graded.flexible_correct, graded.has_answer_line, graded.fallback) == (
        correct, flexible, has_line, fallback)
    assert graded.strict_correct is graded.correct


def test_grade_reports_the_rule_and_answer():
    graded = grade("Answer: 1,000", "1000")
    assert (graded.answer, graded.rule) == ("1000", "answer_line")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\\boxed{5}", "5"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("a \\boxed{1} b \\boxed{{2}+{3}}", "{2}+{3}"),
        ("\\fbox{x}", "x"),
        ("\\boxed 7 done", "7"),
        ("\\boxed{1} and \\boxed{unclosed", "1"),
        ("no box", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_gsm8k_gold_splits_rationale_and_strips_calculator_notes():
    field = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nSo 48+24 = <<48+24=72>>72.\n#### 72"
    rationale, final = gsm8k_gold(field)
    assert final == "72"
    assert rationale == "Natalia sold 48/2 = 24 clips in May.\nSo 48+24 = 72."


def test_gsm8k_gold_keeps_the_raw_final_text():
    assert gsm8k_gold("steps\n#### 1,080")[1] == "1,080"


@pytest.mark.parametrize("field", ["no hashes here", "steps\n####   "])
def test_gsm8k_gold_without_final_answer_raises(field):
    with pytest.raises(ValueError):
        gsm8k_gold(field)


def test_numbers_in_finds_tokens_in_order():
    assert numbers_in("I paid $-3.50 for 1,000,000 beans, 3/4 of them red, 25%.") == [
        "-3.50",
        "1,000,000",
        "3/4",
        "25",
    ]
