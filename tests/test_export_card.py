"""Dataset cards (issue 19, part 4): every export leaves a README.md that huggingface_hub reads
back with the manifest's facts, and that `datasets` itself follows to load the data."""

from __future__ import annotations

import json

import pytest

from engine.export import export_run, read_manifest, records_from_export
from engine.export.source_license import source_license
from tests.test_export_fixtures import world  # noqa: F401  (fixture)


def card_at(folder):
    from huggingface_hub import DatasetCard

    return DatasetCard.load(folder / "README.md")


def load_config(folder, name, tmp_path):
    """The rows `datasets` loads by following the card's configs, offline."""
    from datasets import load_dataset

    return load_dataset(str(folder), name, split="train", cache_dir=str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_a_file_exports_card_states_its_manifest(world, tmp_path):
    out = tmp_path / "out" / "refined.jsonl"
    result = export_run(world.db, world.run_id, fmt="trl-messages", out=out)
    assert result.card_path == out.parent / "README.md"
    card = card_at(out.parent)
    manifest = read_manifest(out)
    data = card.data.to_dict()
    assert data["configs"] == [{"config_name": "refined", "default": True,
                                "data_files": [{"split": "train", "path": "refined.jsonl"}]}]
    assert (data["license"], data["license_name"]) == ("other", "unknown")  # "fixture" source
    assert manifest["dataset"]["license"] is None
    assert data["size_categories"] == ["n<1K"] and "text-generation" in data["task_categories"]
    assert "language" not in data  # not recorded at import: left out, not guessed
    assert data["pretty_name"] == "arith-demo: distilled rationales"
    assert manifest["rows"] == 6 and manifest["counts"]["candidates"] == 7
    text = card.text
    assert "- Data: `refined.jsonl` (trl-messages), 6 rows, split `train`." in text
    assert "- Exclusions: 1 example(s) a person excluded were left out." in text
    assert "Run: 1 `refine-demo` (undo, finished), best iteration 2." in text
    assert "Teacher: `openai:big-teacher`; student: `smollm2-135m`." in text
    assert "strict val accuracy 50.0% [23.7%–76.3%] n=10" in text
    assert "hf upload YOUR-NAME/out . --repo-type dataset" in text
    assert [row["ext_id"] for row in load_config(out.parent, "refined", tmp_path)] == \
        [row["ext_id"] for row in map(json.loads, out.read_text().splitlines())]


def test_the_exports_of_one_folder_share_a_card_with_a_config_each(world, tmp_path):
    folder = tmp_path / "out"
    export_run(world.db, world.run_id, fmt="trl-messages", out=folder / "refined.jsonl")
    export_run(world.db, world.run_id, fmt="parquet", out=folder / "first.parquet", iteration=1)
    configs = {c["config_name"]: c for c in card_at(folder).data.to_dict()["configs"]}
    assert set(configs) == {"refined", "first"}
    assert configs["first"].get("default") and not configs["refined"].get("default")  # newest
    assert configs["first"]["data_files"] == [{"split": "train", "path": "first.parquet"}]
    rows = load_config(folder, "first", tmp_path)
    assert len(rows) == read_manifest(folder / "first.parquet")["rows"]
    assert set(rows["iteration"]) == {1}
    (folder / "first.parquet").unlink()  # gone from the folder: gone from the next card
    export_run(world.db, world.run_id, fmt="trl-messages", out=folder / "refined.jsonl",
               force=True)
    assert [c["config_name"] for c in card_at(folder).data.to_dict()["configs"]] == ["refined"]


def test_a_directory_export_carries_its_card_and_still_imports_back(world, tmp_path):
    out = tmp_path / "refined-hf"
    result = export_run(world.db, world.run_id, fmt="hf", out=out)
    assert result.card_path == out / "README.md"
    config = card_at(out).data.to_dict()["configs"]
    assert config == [{"config_name": "refined-hf", "default": True,
                       "data_files": [{"split": "train", "path": "*.arrow"}]}]
    # `datasets` refuses to load a local save_to_disk folder by path (the Hub reads the card's
    # data files instead): load those files as the Hub does, with the arrow builder
    from datasets import load_dataset

    files = sorted(str(p) for p in out.glob(config[0]["data_files"][0]["path"]))
    rows = load_dataset("arrow", data_files={"train": files}, split="train",
                        cache_dir=str(tmp_path / "cache"))
    assert len(rows) == result.rows == 6
    assert sorted(r["ext_id"] for r in records_from_export(out)) == sorted(rows["ext_id"])


def test_a_readme_someone_else_wrote_is_left_alone(world, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "README.md").write_text("# my notes\n")
    result = export_run(world.db, world.run_id, fmt="trl-messages", out=folder / "r.jsonl")
    assert result.card_path is None
    assert (folder / "README.md").read_text() == "# my notes\n"


def test_the_license_comes_from_what_the_source_says(tmp_path):
    from datasets import Dataset, DatasetInfo

    saved = tmp_path / "gsm"
    Dataset.from_list([{"question": "1+1?", "answer": "2"}],
                      info=DatasetInfo(license="mit")).save_to_disk(str(saved))
    assert source_license(f"hf:{saved}")[0] == "mit"
    assert source_license("builtin:arith levels=1 seed=0")[0] == "apache-2.0"
    unknown, why = source_license(f"jsonl:{tmp_path / 'train.jsonl'}")
    assert unknown is None and "states no license" in why
