"""Dataset parsers: every format, bad rows named precisely, and stable ids and splits."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from engine.importing import (
    ColumnMapping,
    ImportFailed,
    carve_validation,
    default_val_size,
    detect_format,
    parse_source,
)
from engine.importing.splits import split_from_filename

GSM8K_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gsm8k"
needs_gsm8k = pytest.mark.skipif(
    not (GSM8K_DIR / "train.jsonl").exists(), reason=f"GSM8K data not found at {GSM8K_DIR}"
)


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def parse(path, fmt="auto", mapping=None, answer_type="number", split="train", skip_bad=False):
    return parse_source(path, fmt, mapping or ColumnMapping(), answer_type, split, skip_bad)


# --- GSM8K ---------------------------------------------------------------------------------


@needs_gsm8k
def test_real_gsm8k_train_parses_completely():
    result = parse(GSM8K_DIR / "train.jsonl", split="auto")
    assert len(result.examples) == 7473 and result.skipped == []
    first = result.examples[0]
    assert first.answer == "72" and first.split == "train" and first.position == 1
    assert "<<" not in first.rationale and "####" not in first.rationale
    assert first.rationale.startswith("Natalia sold 48/2 = 24 clips in May.")
    with_commas = [e for e in result.examples if "," in e.answer_raw]
    assert with_commas and all(e.answer == e.answer_raw.replace(",", "") for e in with_commas)
    assert len({e.ext_id for e in result.examples}) == 7473


@needs_gsm8k
def test_real_gsm8k_test_split_comes_from_the_file_name():
    result = parse(GSM8K_DIR / "test.jsonl", split="auto")
    assert len(result.examples) == 1319
    assert {e.split for e in result.examples} == {"test"}


def test_gsm8k_row_without_final_answer_is_bad(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", [
        {"question": "q1", "answer": "1+1 = <<1+1=2>>2\n#### 2"},
        {"question": "q2", "answer": "no final line"},
    ])
    with pytest.raises(ImportFailed, match=r"g\.jsonl, line 2: field 'answer': no '#### <final answer>'"):
        parse(path, fmt="gsm8k")


# --- JSON Lines and atomicity ------------------------------------------------------------


@pytest.fixture
def malformed(tmp_path) -> Path:
    return write_jsonl(tmp_path / "bad.jsonl", [
        {"question": "What is 2+2?", "answer": "4"},
        '{"question": "broken", "answer": ',
        {"question": "No answer here"},
        {"question": "Words?", "answer": "abc"},
        {"question": "", "answer": "3"},
        {"question": "What is 3+3?", "answer": "$6.00"},
    ])


def test_bad_rows_are_all_named_and_nothing_is_returned(malformed):
    with pytest.raises(ImportFailed) as caught:
        parse(malformed)
    message = str(caught.value)
    assert "bad.jsonl: 4 bad row(s), nothing imported" in message
    assert "bad.jsonl, line 2: invalid JSON" in message
    assert "bad.jsonl, line 3: field 'answer' is missing (fields: question)" in message
    assert "bad.jsonl, line 4: answer 'abc' is not a number" in message
    assert "bad.jsonl, line 5: question is empty" in message
    assert "line 1:" not in message and "line 6:" not in message
    assert "--skip-bad" in message


def test_skip_bad_returns_good_rows_and_lists_the_bad(malformed):
    result = parse(malformed, skip_bad=True)
    assert [(e.position, e.answer, e.answer_raw) for e in result.examples] == [(1, "4", "4"), (6, "6", "$6.00")]
    assert [b.line for b in result.skipped] == [2, 3, 4, 5]
    assert str(result.skipped[0]).startswith("line 2: invalid JSON")


def test_blank_lines_keep_physical_line_numbers(tmp_path):
    path = tmp_path / "gaps.jsonl"
    path.write_text('{"question": "a", "answer": "1"}\n\n\n{"question": "b", "answer": "x"}\n')
    with pytest.raises(ImportFailed, match="line 4: answer 'x'"):
        parse(path)


def test_message_caps_the_list_of_bad_rows(tmp_path):
    path = write_jsonl(tmp_path / "many.jsonl", [{"question": f"q{i}", "answer": "nope"} for i in range(80)])
    with pytest.raises(ImportFailed) as caught:
        parse(path)
    message = str(caught.value)
    assert "80 bad row(s)" in message and "... and 30 more" in message
    assert "line 50:" in message and "line 51:" not in message
    assert len(caught.value.bad_rows) == 80


def test_non_object_line_is_bad(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [[1, 2], {"question": "q", "answer": "1"}])
    result = parse(path, skip_bad=True)
    assert result.skipped[0].reason == "expected a JSON object, got list"


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    with pytest.raises(ImportFailed, match="no rows"):
        parse(path, fmt="jsonl")


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ImportFailed, match="no such file"):
        parse(tmp_path / "nope.jsonl", fmt="jsonl")


def test_invalid_utf8_is_refused(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"question": "caf\xe9", "answer": "1"}\n')
    with pytest.raises(ImportFailed, match="not UTF-8"):
        parse(path, fmt="jsonl")


# --- ids and duplicates ---------------------------------------------------------------------


def test_content_hash_id_is_sha1_of_question_and_raw_answer(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"question": "What is 1+1?", "answer": "2"}])
    example = parse(path).examples[0]
    assert example.ext_id == hashlib.sha1("What is 1+1?\x1f2".encode()).hexdigest()
    assert parse(path).examples[0].ext_id == example.ext_id


def test_given_ids_are_used_and_duplicates_are_bad(tmp_path):
    path = write_jsonl(tmp_path / "ids.jsonl", [
        {"id": 7, "question": "a", "answer": "1"},
        {"id": "8", "question": "b", "answer": "2"},
        {"id": "7", "question": "c", "answer": "3"},
    ])
    mapping = ColumnMapping(id="id")
    with pytest.raises(ImportFailed, match=r"line 3: duplicate id '7' \(first at line 1\)"):
        parse(path, mapping=mapping)
    result = parse(path, mapping=mapping, skip_bad=True)
    assert [e.ext_id for e in result.examples] == ["7", "8"]


def test_exact_repeats_without_ids_are_dropped_and_counted(tmp_path):
    row = {"question": "a", "answer": "1"}
    result = parse(write_jsonl(tmp_path / "rep.jsonl", [row, row, {"question": "b", "answer": "1"}]))
    assert len(result.examples) == 2 and result.duplicates == 1 and result.skipped == []


# --- JSON, CSV, Parquet, HF ------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [lambda rows: rows, lambda rows: {"data": rows}])
def test_json_list_or_data_object(tmp_path, wrap):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(wrap([{"question": "a", "answer": 1}, {"question": "b", "answer": 2.0}]), indent=2))
    assert detect_format(path) == "json"
    result = parse(path)
    assert [(e.answer, e.answer_raw, e.position) for e in result.examples] == [("1", "1", 1), ("2", "2", 2)]


def test_json_that_is_not_a_list_is_refused(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(ImportFailed, match=r"expected a list of objects.*keys: rows"):
        parse(path, fmt="json")


def test_json_bad_rows_are_named_by_row(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([{"question": "a", "answer": "1"}, {"question": "b"}]))
    with pytest.raises(ImportFailed, match=r"d\.json, row 2: field 'answer' is missing"):
        parse(path)


def test_csv_with_split_question_fields_and_line_numbers(tmp_path):
    path = tmp_path / "svamp.csv"
    path.write_text(
        'Body,Question,Answer,Kind\n'
        'Jack has 8 pens.,"How many pens\ndoes he have?",8,count\n'
        'Ann has 3 cats and 2 dogs.,How many pets?,lots,count\n'
    )
    mapping = ColumnMapping(question=["Body", "Question"], answer="Answer", category="Kind")
    with pytest.raises(ImportFailed, match=r"svamp\.csv, line 4: answer 'lots' is not a number"):
        parse(path, mapping=mapping)
    good = parse(path, mapping=mapping, skip_bad=True).examples[0]
    assert good.question == "Jack has 8 pens.\n\nHow many pens\ndoes he have?"
    assert (good.answer, good.category, good.position) == ("8", "count", 2)


def test_csv_missing_column_fails_once_naming_the_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("q,a\nx,1\ny,2\n")
    with pytest.raises(ImportFailed) as failed:
        parse(path)
    assert str(failed.value).startswith(
        "t.csv: no row has the field(s) 'question', 'answer' (fields found: q, a)")
    assert "line" not in str(failed.value)  # one message, not one per row
    assert len(parse(path, mapping=ColumnMapping(question="q", answer="a")).examples) == 2


def test_tsv_is_read_with_tabs(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("question\tanswer\nHow many, roughly?\t1,200\n")
    assert detect_format(path) == "csv"
    assert parse(path).examples[0].answer == "1200"


def test_parquet_with_numeric_answers(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"question": ["a", "b"], "answer": [12.0, 0.5]}), path)
    assert detect_format(path) == "parquet"
    assert [e.answer for e in parse(path).examples] == ["12", "0.5"]


def test_hf_dataset_dict_maps_split_names(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = lambda tag: [{"question": f"{tag} {i}", "answer": str(i)} for i in range(3)]  # noqa: E731
    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_list(rows("tr")),
        "validation": datasets.Dataset.from_list(rows("va")),
        "test": datasets.Dataset.from_list(rows("te")),
    })
    dd.save_to_disk(str(tmp_path / "hfdir"))
    assert detect_format(tmp_path / "hfdir") == "hf"
    result = parse(tmp_path / "hfdir", split="auto")
    assert sorted(e.split for e in result.examples) == ["test"] * 3 + ["train"] * 3 + ["val"] * 3
    assert {e.question.split()[0]: e.split for e in result.examples} == {"tr": "train", "va": "val", "te": "test"}


def test_hf_single_dataset_uses_the_given_split(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list([{"q": "a", "a": "1"}]).save_to_disk(str(tmp_path / "one"))
    result = parse(tmp_path / "one", mapping=ColumnMapping(question="q", answer="a"), split="test")
    assert result.examples[0].split == "test"


def test_hf_unknown_split_name_is_refused(tmp_path):
    datasets = pytest.importorskip("datasets")
    dd = datasets.DatasetDict({"other": datasets.Dataset.from_list([{"question": "a", "answer": "1"}])})
    dd.save_to_disk(str(tmp_path / "odd"))
    with pytest.raises(ImportFailed, match="split 'other'"):
        parse(tmp_path / "odd")


def test_directory_that_is_not_a_dataset_is_refused(tmp_path):
    with pytest.raises(ImportFailed, match="not one written by datasets.save_to_disk"):
        detect_format(tmp_path)


# --- multiple choice, boxed answers, splits --------------------------------------------------


def test_multiple_choice_letters_indexes_and_choice_shapes(tmp_path):
    path = write_jsonl(tmp_path / "mc.jsonl", [
        {"question": "Pick 2", "options": ["1", "2", "3"], "label": "b"},
        {"question": "Pick 3", "options": ["1", "2", "3"], "label": 2},
        {"question": "Pick x", "options": {"label": ["B", "A"], "text": ["y", "x"]}, "label": "(A)"},
        {"question": "Pick z", "options": '{"A": "z", "B": "w"}', "label": "A"},
        {"question": "Out of range", "options": ["1", "2"], "label": 5},
        {"question": "Bad letter", "options": ["1", "2"], "label": "D"},
        {"question": "No choices", "options": [], "label": "A"},
    ])
    mapping = ColumnMapping(answer="label", choices="options")
    result = parse(path, mapping=mapping, answer_type="choice", skip_bad=True)
    assert [e.answer for e in result.examples] == ["B", "C", "A", "A"]
    assert result.examples[0].question == "Pick 2\n\n(A) 1\n(B) 2\n(C) 3"
    assert result.examples[2].choices == ["x", "y"]
    assert result.examples[3].choices == ["z", "w"]
    reasons = {b.line: b.reason for b in result.skipped}
    assert reasons[5] == "choice index 5 is out of range (2 choices)"
    assert reasons[6] == "answer 'D' is not one of the 2 choices"
    assert reasons[7] == "field 'options' holds no choices"


def test_math_solutions_give_boxed_answers_and_keep_the_solution(tmp_path):
    path = write_jsonl(tmp_path / "math.jsonl", [
        {"problem": "Half of one?", "solution": "We halve: $\\boxed{\\frac{1}{2}}$."},
        {"problem": "Pair?", "solution": "So it is \\boxed{\\left( 1, 2 \\right)}"},
        {"problem": "Broken", "solution": "\\boxed{1"},
    ])
    mapping = ColumnMapping(question="problem", answer="solution")
    result = parse(path, mapping=mapping, answer_type="math", skip_bad=True)
    first, second = result.examples
    assert (first.answer, first.answer_raw) == ("0.5", "\\frac{1}{2}")
    assert first.rationale == "We halve: $\\boxed{\\frac{1}{2}}$."
    assert second.answer == "(1,2)"
    assert result.skipped[0].line == 3 and "never closed" in result.skipped[0].reason


def test_boxed_answer_in_a_number_dataset(tmp_path):
    path = write_jsonl(tmp_path / "n.jsonl", [{"question": "q", "answer": "so \\boxed{1,000}"}])
    assert parse(path).examples[0].answer == "1000"


def test_split_column_and_bad_split_values(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [
        {"question": "a", "answer": "1", "part": "validation"},
        {"question": "b", "answer": "2", "part": "TEST"},
        {"question": "c", "answer": "3", "part": "holdout"},
    ])
    result = parse(path, mapping=ColumnMapping(split="part"), skip_bad=True)
    assert [e.split for e in result.examples] == ["val", "test"]
    assert result.skipped[0].reason.startswith("split 'holdout' is not")


@pytest.mark.parametrize(
    "name, split",
    [("test.jsonl", "test"), ("gsm8k_dev.csv", "val"), ("train-00000.parquet", "train"),
     ("validation.json", "val"), ("problems.jsonl", "train"), ("latest.jsonl", "train")],
)
def test_split_from_filename(name, split):
    assert split_from_filename(Path(name)) == split


def test_string_and_bad_answer_type(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [{"question": "Capital of France?", "answer": "Paris."}])
    assert parse(path, answer_type="string").examples[0].answer == "paris"
    with pytest.raises(ImportFailed, match="answer type 'integer'"):
        parse(path, answer_type="integer")


@pytest.mark.parametrize(
    "name, content, fmt",
    [("a.jsonl", '{"question": "q", "answer": "x\\n#### 3"}\n', "gsm8k"),
     ("a.jsonl", '{"question": "q", "answer": "3"}\n', "jsonl"),
     ("a.json", '{"question": "q", "answer": "3"}\n{"question": "r", "answer": "4"}\n', "jsonl"),
     ("a.json", '{"data": [{"question": "q", "answer": "3"}]}', "json"),
     ("a.json", '[\n {"question": "q", "answer": "3"}\n]', "json"),
     ("a.csv", "question,answer\n", "csv")],
)
def test_detect_format(tmp_path, name, content, fmt):
    path = tmp_path / name
    path.write_text(content)
    assert detect_format(path) == fmt


def test_unknown_suffix_asks_for_a_format(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("hello")
    with pytest.raises(ImportFailed, match="pass --format"):
        detect_format(path)


# --- carving validation --------------------------------------------------------------------


def make_examples(tmp_path, n=50):
    rows = [{"question": f"q{i}", "answer": str(i)} for i in range(n)]
    return parse(write_jsonl(tmp_path / "c.jsonl", rows)).examples


def test_carve_validation_is_deterministic_and_exact(tmp_path):
    examples = make_examples(tmp_path)
    carved = carve_validation(examples, 10, seed=0)
    val = {e.ext_id for e in carved if e.split == "val"}
    assert len(val) == 10 and len(carved) == 50
    assert val == {e.ext_id for e in carve_validation(list(reversed(examples)), 10, seed=0) if e.split == "val"}
    assert val != {e.ext_id for e in carve_validation(examples, 10, seed=1) if e.split == "val"}
    assert all(e.split == "train" for e in examples)  # the input is not modified


def test_carve_validation_takes_only_train_examples(tmp_path):
    examples = make_examples(tmp_path, 6)
    examples[0].split = "test"
    carved = carve_validation(examples, 100, seed=0)
    assert [e.split for e in carved] == ["test"] + ["val"] * 5
    assert [e.split for e in carve_validation(examples, 0, seed=0)] == ["test"] + ["train"] * 5


@pytest.mark.parametrize("train, size", [(7473, 500), (1000, 100), (30, 3), (4, 0)])
def test_default_val_size(train, size):
    assert default_val_size(train) == size
