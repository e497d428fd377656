"""`undo-tui import` end to end: through the CLI entry point into a fresh store file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import store
from undo_tui.cli import main

GSM8K_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gsm8k"
needs_gsm8k = pytest.mark.skipif(
    not (GSM8K_DIR / "train.jsonl").exists(), reason=f"GSM8K data not found at {GSM8K_DIR}"
)


@pytest.fixture
def cli(store_path, capsys):
    """Run `undo-tui --store <fresh store> ARGS...`; returns (exit code, stdout, stderr)."""

    def invoke(*args):
        code = main(["--store", str(store_path), *map(str, args)])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def read_store(store_path):
    """Open the store after the command ran; closed at the end of the test."""
    opened = []

    def read():
        opened.append(store.open_store(store_path))
        return opened[-1]

    yield read
    for db in opened:
        db.close()


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def counts(read_store, name: str) -> dict[str, int]:
    return store.get_dataset(read_store(), name).counts


@needs_gsm8k
def test_gsm8k_train_and_test_with_carved_validation_and_idempotent_reimport(cli, read_store):
    code, out, _ = cli("import", GSM8K_DIR / "train.jsonl", "--dataset", "gsm8k")
    assert code == 0
    assert "7473 examples read, 7473 added" in out and "500 val examples carved from train" in out
    code, out, _ = cli("import", GSM8K_DIR / "test.jsonl", "--dataset", "gsm8k")
    assert code == 0 and "1319 added" in out
    assert counts(read_store, "gsm8k") == {"train": 6973, "val": 500, "test": 1319}

    code, out, _ = cli("import", GSM8K_DIR / "train.jsonl", "--dataset", "gsm8k")
    assert code == 0 and "0 added, 7473 already in dataset" in out
    assert counts(read_store, "gsm8k") == {"train": 6973, "val": 500, "test": 1319}

    db = read_store()
    dataset_id = store.get_dataset(db, "gsm8k").id
    rows = {e.position: e for e in store.load_examples(db, dataset_id, "test")}
    assert len(rows) == 1319 and all(e.answer and e.rationale for e in rows.values())
    assert all("<<" not in e.rationale for e in rows.values())
    natalia = [e for s in ("train", "val") for e in store.load_examples(db, dataset_id, s) if e.position == 1]
    assert natalia[0].answer == "72" and natalia[0].question.startswith("Natalia sold clips")


@needs_gsm8k
def test_validation_split_is_the_same_in_another_store_with_the_same_seed(tmp_path, capsys):
    def val_ids(name: str, seed: int) -> set[str]:
        path = tmp_path / f"{name}.db"
        assert main(["--store", str(path), "import", str(GSM8K_DIR / "train.jsonl"), "--dataset", "g",
                     "--seed", str(seed)]) == 0
        db = store.open_store(path)
        try:
            return {e.ext_id for e in store.load_examples(db, store.get_dataset(db, "g").id, "val")}
        finally:
            db.close()

    assert val_ids("a", 0) == val_ids("b", 0) != val_ids("c", 1)
    capsys.readouterr()


@pytest.fixture
def malformed(tmp_path) -> Path:
    return write_jsonl(tmp_path / "broken.jsonl", [
        {"question": "What is 2+2?", "answer": "4"},
        '{"question": "oops" "answer": "1"}',
        {"question": "Where is the answer?"},
        {"question": "Which number?", "answer": "many"},
        {"question": "What is 3+3?", "answer": "6"},
    ])


def test_malformed_file_imports_nothing_and_names_every_bad_line(cli, read_store, malformed):
    code, out, err = cli("import", malformed, "--dataset", "mine")
    assert code != 0 and out == ""
    assert "broken.jsonl, line 2: invalid JSON" in err
    assert "broken.jsonl, line 3: field 'answer' is missing" in err
    assert "broken.jsonl, line 4: answer 'many' is not a number" in err
    assert store.list_datasets(read_store()) == []


def test_failed_import_leaves_an_existing_dataset_untouched(cli, read_store, malformed, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"question": f"q{i}", "answer": str(i)} for i in range(5)])
    assert cli("import", good, "--dataset", "mine", "--val-size", "0")[0] == 0
    assert cli("import", malformed, "--dataset", "mine")[0] != 0
    assert counts(read_store, "mine") == {"train": 5}


def test_skip_bad_imports_the_good_rows_and_lists_the_bad(cli, read_store, malformed):
    code, out, _ = cli("import", malformed, "--dataset", "mine", "--skip-bad", "--val-size", "0")
    assert code == 0
    assert "3 bad row(s) skipped" in out and "line 3: field 'answer' is missing" in out
    assert counts(read_store, "mine") == {"train": 2}


def test_csv_with_split_question_fields(cli, read_store, tmp_path):
    path = tmp_path / "svamp.csv"
    path.write_text("ID,Body,Question,Answer\n"
                    "a1,Jack has 8 pens.,How many pens does he have?,8.0\n"
                    "a2,Ann has 3 cats.,How many cats?,3\n")
    code, out, _ = cli("import", path, "--dataset", "svamp", "--question", "Body,Question",
                       "--answer", "Answer", "--id", "ID", "--val-size", "0")
    assert code == 0, out
    db = read_store()
    examples = store.load_examples(db, store.get_dataset(db, "svamp").id, "train")
    assert [(e.ext_id, e.answer) for e in examples] == [("a1", "8"), ("a2", "3")]
    assert examples[0].question == "Jack has 8 pens.\n\nHow many pens does he have?"


def test_json_with_val_fraction(cli, read_store, tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps({"data": [{"question": f"q{i}", "answer": i} for i in range(20)]}))
    assert cli("import", path, "--dataset", "j", "--val-fraction", "0.25")[0] == 0
    assert counts(read_store, "j") == {"train": 15, "val": 5}


def test_parquet_multiple_choice_with_index_answers(cli, read_store, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"question": ["2+2?", "3+3?"], "options": [["3", "4", "5"], ["6", "7", "8"]],
                      "label": [1, 0]})
    pq.write_table(table, tmp_path / "mc.parquet")
    code, out, _ = cli("import", tmp_path / "mc.parquet", "--dataset", "mc", "--choices", "options",
                       "--answer", "label", "--split", "test")
    assert code == 0, out
    db = read_store()
    dataset = store.get_dataset(db, "mc")
    assert dataset.answer_type == "choice" and dataset.counts == {"test": 2}
    first = store.load_examples(db, dataset.id, "test")[0]
    assert (first.answer, first.choices) == ("B", ["3", "4", "5"])
    assert first.question.endswith("(A) 3\n(B) 4\n(C) 5")


def test_hf_dataset_dict_keeps_its_own_validation_split(cli, read_store, tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = lambda n: [{"question": f"q{i}-{n}", "answer": str(i)} for i in range(n)]  # noqa: E731
    datasets.DatasetDict({
        "train": datasets.Dataset.from_list(rows(8)),
        "validation": datasets.Dataset.from_list(rows(3)),
        "test": datasets.Dataset.from_list(rows(2)),
    }).save_to_disk(str(tmp_path / "hf"))
    code, out, _ = cli("import", tmp_path / "hf", "--dataset", "h")
    assert code == 0 and "carved" not in out
    assert counts(read_store, "h") == {"train": 8, "val": 3, "test": 2}


def test_math_solutions_with_boxed_answers(cli, read_store, tmp_path):
    path = write_jsonl(tmp_path / "math_train.jsonl", [
        {"problem": "Half of 1?", "solution": "Divide: $\\boxed{\\dfrac{1}{2}}$."},
        {"problem": "Root?", "solution": "It is \\boxed{\\sqrt{2}}."},
    ])
    code, _, err = cli("import", path, "--dataset", "math", "--question", "problem", "--answer", "solution",
                       "--answer-type", "math", "--val-size", "0")
    assert code == 0, err
    db = read_store()
    examples = store.load_examples(db, store.get_dataset(db, "math").id, "train")
    assert [e.answer for e in examples] == ["0.5", "\\sqrt{2}"]
    assert examples[0].rationale.startswith("Divide:")


def test_builtin_arith(cli, read_store):
    code, out, _ = cli("import", "--builtin", "arith", "--dataset", "arith", "--n", "300", "--levels", "1,2",
                       "--seed", "0")
    assert code == 0, out
    assert counts(read_store, "arith") == {"train": 243, "val": 27, "test": 30}
    code, out, _ = cli("import", "--builtin", "arith", "--dataset", "arith", "--n", "300", "--levels", "1,2",
                       "--seed", "0")
    assert code == 0 and "0 added, 300 already in dataset" in out
    db = read_store()
    example = store.load_examples(db, store.get_dataset(db, "arith").id, "val")[0]
    assert example.rationale.endswith(f"Answer: {example.answer}")
    assert example.category.startswith(("arith-L1-", "arith-L2-"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "x"], "either a PATH or --builtin"),
        (["nothing.jsonl", "--dataset", "x"], "no such file"),
        (["--builtin", "arith", "--dataset", "x", "--levels", "1,9"], "levels must be among"),
        (["--builtin", "arith", "--dataset", "x", "--levels", "one"], "--levels"),
        (["--builtin", "arith", "--dataset", "x", "--val-fraction", "1.5"], "--val-fraction"),
    ],
)
def test_bad_arguments_fail_with_a_message(cli, read_store, args, message):
    code, _, err = cli("import", *args)
    assert code != 0 and message in err
    assert store.list_datasets(read_store()) == []


def test_answer_type_conflict_with_existing_dataset(cli, read_store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"question": "q", "answer": "B"}])
    assert cli("import", "--builtin", "arith", "--dataset", "d", "--n", "10")[0] == 0
    code, _, err = cli("import", path, "--dataset", "d", "--answer-type", "choice")
    assert code != 0 and "already exists with answer type 'number'" in err
    assert counts(read_store, "d") == {"train": 8, "val": 1, "test": 1}


def test_answer_type_defaults_to_the_existing_datasets(cli, read_store, tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", [{"question": "q1", "answer": "Paris"}])
    second = write_jsonl(tmp_path / "second.jsonl", [{"question": "q2", "answer": "Rome."}])
    assert cli("import", first, "--dataset", "s", "--answer-type", "string")[0] == 0
    code, _, err = cli("import", second, "--dataset", "s")
    assert code == 0, err
    assert counts(read_store, "s") == {"train": 2}


def test_an_id_reused_for_another_question_is_refused(cli, read_store, tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [{"id": i, "question": f"train q{i}", "answer": "1"}
                                                   for i in range(3)])
    test = write_jsonl(tmp_path / "test.jsonl", [{"id": 2, "question": "test q", "answer": "1"},
                                                 {"id": 9, "question": "test r", "answer": "1"}])
    assert cli("import", train, "--dataset", "ids", "--id", "id")[0] == 0
    code, _, err = cli("import", test, "--dataset", "ids", "--id", "id")
    assert code != 0
    assert "test.jsonl, line 1: id '2' is already used in dataset 'ids' by another question" in err
    assert counts(read_store, "ids") == {"train": 3}
    code, out, _ = cli("import", test, "--dataset", "ids", "--id", "id", "--skip-bad")
    assert code == 0 and "1 added" in out and "line 1: id '2'" in out
    assert counts(read_store, "ids") == {"train": 3, "test": 1}
