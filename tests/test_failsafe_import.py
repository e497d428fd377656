"""Import messages a new user can act on: one mapping message with a guessed command line, no
--skip-bad advice when nothing would import, a hint for choice letters, an id-like field used by
default (duplicates name both lines), and a configurable size limit per row."""

from __future__ import annotations

import json
from pathlib import Path

import store
from undo_tui.cli import main

SVAMP_FIELDS = ("ID", "Body", "Question", "Equation", "Answer", "Type")


def svamp_json(path: Path, n: int = 50) -> Path:
    rows = [{"ID": f"chal-{i}", "Body": f"Jack had {i + 3} apples.",
             "Question": "He ate 2 of them. How many apples does he have now?",
             "Equation": f"( {i + 3} - 2 )", "Answer": float(i + 1), "Type": "Subtraction"}
            for i in range(n)]
    path.write_text(json.dumps(rows))
    return path


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def imported(store_path: Path, dataset: str) -> list[store.Example]:
    db = store.open_store(store_path)
    try:
        found = store.get_dataset(db, dataset)
        return [e for split in ("train", "val", "test")
                for e in store.load_examples(db, found.id, split)]
    finally:
        db.close()


def test_unmapped_fields_fail_once_with_a_guessed_command_line(tmp_path, capsys):
    path = svamp_json(tmp_path / "svamp.json")
    store_path = tmp_path / "store.db"
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "svamp"]) == 2
    err = capsys.readouterr().err
    assert err.count("is missing") == 0 and err.count("row") == 1  # one message, not 50 lines
    assert f"(fields found: {', '.join(SVAMP_FIELDS)})" in err
    guessed = (f"undo-tui import {path} --dataset svamp --question Body,Question "
               "--answer Answer --id ID")
    assert guessed in err and "--skip-bad" not in err and "Traceback" not in err

    line = next(text for text in err.splitlines() if guessed in text)
    assert main(["--store", str(store_path), *line.split()[1:]]) == 0  # it works as printed
    examples = imported(store_path, "svamp")
    assert len(examples) == 50 and {e.ext_id for e in examples} == {f"chal-{i}" for i in range(50)}
    assert examples[0].question.startswith("Jack had") and "How many apples" in examples[0].question
    assert examples[0].category == "Subtraction"  # --category Type was guessed too


def test_skip_bad_is_never_advised_when_every_row_fails(tmp_path, capsys):
    path = jsonl(tmp_path / "words.jsonl", [{"question": f"q{i}", "answer": "many"}
                                            for i in range(3)])
    assert main(["--store", str(tmp_path / "s.db"), "import", str(path), "--dataset", "w"]) == 2
    err = capsys.readouterr().err
    assert "3 bad row(s)" in err and "--skip-bad would import nothing" in err
    assert "pass --skip-bad" not in err
    mixed = jsonl(tmp_path / "mixed.jsonl", [{"question": "q", "answer": "many"},
                                             {"question": "r", "answer": "4"}])
    assert main(["--store", str(tmp_path / "s.db"), "import", str(mixed), "--dataset", "w"]) == 2
    assert "pass --skip-bad to import the good rows only" in capsys.readouterr().err


def test_choice_letters_without_choices_get_a_hint(tmp_path, capsys):
    path = jsonl(tmp_path / "mc.jsonl", [{"question": f"Pick one {i}", "answer": "BCDA"[i]}
                                         for i in range(4)])
    store_path = tmp_path / "s.db"
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "mc"]) == 2
    err = capsys.readouterr().err
    assert "answer 'B' is not a number" in err
    assert "The answers look like choice letters: pass --answer-type choice" in err
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "mc",
                 "--answer-type", "choice"]) == 0
    assert sorted(e.answer for e in imported(store_path, "mc")) == ["A", "B", "C", "D"]


def test_an_id_field_is_used_by_default_and_duplicates_name_both_lines(tmp_path, capsys):
    rows = [{"id": f"q{i}", "question": f"{i} + 1?", "answer": str(i + 1)} for i in range(4)]
    rows.append({"id": "q1", "question": "Another question?", "answer": "7"})
    path = jsonl(tmp_path / "ids.jsonl", rows)
    store_path = tmp_path / "s.db"
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "ids"]) == 2
    assert "line 5: duplicate id 'q1' (first at line 2)" in capsys.readouterr().err
    path = jsonl(tmp_path / "ids.jsonl", rows[:4])
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "ids"]) == 0
    assert "example ids from field 'id'" in capsys.readouterr().out
    assert sorted(e.ext_id for e in imported(store_path, "ids")) == ["q0", "q1", "q2", "q3"]
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "hashed",
                 "--no-id"]) == 0
    assert all(len(e.ext_id) == 40 for e in imported(store_path, "hashed"))


def test_a_dataset_imported_with_hashed_ids_keeps_them_on_reimport(tmp_path, capsys):
    path = jsonl(tmp_path / "ids.jsonl", [{"id": f"q{i}", "question": f"{i} + 1?",
                                           "answer": str(i + 1)} for i in range(4)])
    store_path = tmp_path / "s.db"
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "d",
                 "--no-id"]) == 0
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "d"]) == 0
    assert "0 added, 4 already in dataset 'd'" in capsys.readouterr().out
    assert len(imported(store_path, "d")) == 4


def test_a_row_over_the_size_limit_is_an_error_naming_its_line(tmp_path, capsys):
    path = jsonl(tmp_path / "big.jsonl", [{"question": "2 + 2?", "answer": "4"},
                                          {"question": "x" * 5_000_000, "answer": "1"}])
    store_path = tmp_path / "s.db"
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "big"]) == 2
    err = capsys.readouterr().err
    assert "line 2: the row holds 5,000,001 characters, over the limit of 100,000" in err
    assert main(["--store", str(store_path), "import", str(path), "--dataset", "big",
                 "--max-row-chars", "6000000"]) == 0
    assert len(imported(store_path, "big")) == 2


def test_the_cli_default_size_limit_is_the_engine_one():
    from engine.importing.rows import DEFAULT_MAX_ROW_CHARS
    from undo_tui.commands import import_data

    assert import_data.DEFAULT_MAX_ROW_CHARS == DEFAULT_MAX_ROW_CHARS
