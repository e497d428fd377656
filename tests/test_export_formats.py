"""Every format, read by the library that consumes it, holds the rows the store chose.

JSONL and Parquet go through `datasets.load_dataset`, the hf directory through `load_from_disk`;
the LLaMA-Factory JSON and its dataset_info.json entry are checked against the schema in
LLaMA-Factory's data/README.md, read the way its parser does (a `columns` object unsets every
column it does not name; human turns at odd positions, gpt turns at even ones).
"""

from __future__ import annotations

import json

import pytest

from engine.export import FORMAT_NAMES, export_run, load_export, read_manifest
from engine.export.filters import ExportFilters
from tests.test_export_fixtures import world  # noqa: F401  (fixture)

EXPECTED_EXT_IDS = ["t0", "t1", "t2", "t3", "t4", "t5"]
PROVENANCE = {"ext_id", "dataset", "split", "answer", "answer_raw", "rationale_source",
              "iteration", "rationale_id", "correct", "template", "prompt_hash", "run_id"}

# LLaMA-Factory data/README.md: the keys of a dataset description, of `columns` and of `tags`.
LF_ENTRY_KEYS = {"hf_hub_url", "ms_hub_url", "script_url", "cloud_file_name", "file_name",
                 "file_sha1", "formatting", "ranking", "subset", "split", "folder", "num_samples",
                 "columns", "tags"}
LF_COLUMN_KEYS = {"prompt", "query", "response", "history", "messages", "system", "tools",
                  "images", "videos", "audios", "chosen", "rejected", "kto_tag"}
LF_TAG_KEYS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag",
               "function_tag", "system_tag"}
LF_DEFAULTS = {"prompt": "instruction", "query": "input", "response": "output",
               "messages": "conversations", "role_tag": "from", "content_tag": "value",
               "user_tag": "human", "assistant_tag": "gpt"}


def do_export(world, tmp_path, fmt, name=None, **kwargs):
    suffix = {"hf": "", "parquet": ".parquet", "llamafactory-alpaca": ".json",
              "llamafactory-sharegpt": ".json"}.get(fmt, ".jsonl")
    out = tmp_path / "out" / (name or f"{fmt}{suffix}")
    return export_run(world.db, world.run_id, fmt=fmt, out=out, **kwargs)


def load_json_dataset(path, tmp_path, builder="json"):
    from datasets import load_dataset

    return load_dataset(builder, data_files=str(path), split="train",
                        cache_dir=str(tmp_path / "hf-cache"))


def expected(world):
    return {"t0": world.text["ref0"], "t1": world.text["init1"], "t2": world.text["human2"],
            "t3": world.text["human3"], "t4": world.text["hint4"], "t5": world.text["ref5"]}


def test_trl_messages_loads_with_datasets_as_a_conversation(world, tmp_path):
    result = do_export(world, tmp_path, "trl-messages")
    ds = load_json_dataset(result.path, tmp_path)
    assert ds.num_rows == 6 and PROVENANCE <= set(ds.column_names)
    for row in ds:
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert row["messages"][1]["content"] == expected(world)[row["ext_id"]]
    first = ds[0]
    assert first["messages"][0]["content"].startswith("Zoë has 2 apples\nand buys")
    assert (first["answer"], first["correct"], first["split"]) == ("5", True, "train")
    assert "Zoë" in result.path.read_text(encoding="utf-8")  # UTF-8 kept, not \u-escaped


def test_trl_prompt_completion_is_the_conversational_form(world, tmp_path):
    ds = load_json_dataset(do_export(world, tmp_path, "trl-prompt-completion").path, tmp_path)
    assert ds.num_rows == 6 and {"prompt", "completion"} <= set(ds.column_names)
    for row in ds:
        assert row["prompt"] == [{"role": "user", "content": row["prompt"][0]["content"]}]
        assert row["completion"] == [{"role": "assistant",
                                      "content": expected(world)[row["ext_id"]]}]


def test_hf_directory_loads_with_load_from_disk(world, tmp_path):
    from datasets import load_from_disk

    result = do_export(world, tmp_path, "hf")
    ds = load_from_disk(str(result.path))
    assert ds.num_rows == 6 and {"question", "rationale", "messages"} | PROVENANCE <= set(
        ds.column_names)
    assert {r["ext_id"]: r["rationale"] for r in ds} == expected(world)
    assert result.manifest_path == result.path / "manifest.json"
    assert read_manifest(result.path)["format"] == "hf"


def test_parquet_loads_with_datasets(world, tmp_path):
    ds = load_json_dataset(do_export(world, tmp_path, "parquet").path, tmp_path, "parquet")
    assert ds.num_rows == 6
    assert {r["ext_id"]: r["rationale"] for r in ds} == expected(world)
    assert {r["ext_id"]: r["messages"][1]["content"] for r in ds} == expected(world)
    assert [r["ext_id"] for r in ds] == EXPECTED_EXT_IDS


def lf_attributes(entry: dict) -> dict:
    """What LLaMA-Factory's parser makes of a dataset description."""
    assert set(entry) <= LF_ENTRY_KEYS, set(entry) - LF_ENTRY_KEYS
    assert entry.get("formatting", "alpaca") in ("alpaca", "sharegpt")
    attrs = dict(LF_DEFAULTS)
    if "columns" in entry:
        assert set(entry["columns"]) <= LF_COLUMN_KEYS
        names = ["prompt", "query", "response"] if entry.get("formatting", "alpaca") == "alpaca" \
            else ["messages"]
        attrs.update({name: entry["columns"].get(name) for name in names})
    if "tags" in entry:
        assert entry.get("formatting") == "sharegpt" and set(entry["tags"]) <= LF_TAG_KEYS
        attrs.update({tag: entry["tags"].get(tag) for tag in
                      ("role_tag", "content_tag", "user_tag", "assistant_tag")})
    return attrs


def lf_dataset(result):
    info = json.loads(result.dataset_info_path.read_text())
    entry = info[result.dataset_info_entry]
    data = result.dataset_info_path.parent / entry["file_name"]
    assert data == result.path
    return entry, lf_attributes(entry), json.loads(data.read_text(encoding="utf-8"))


def test_llamafactory_alpaca_matches_the_documented_schema(world, tmp_path):
    result = do_export(world, tmp_path, "llamafactory-alpaca", name="undo_refined.json")
    entry, attrs, rows = lf_dataset(result)
    assert result.dataset_info_entry == "undo_refined" and entry.get("formatting") == "alpaca"
    assert isinstance(rows, list) and len(rows) == 6
    for row in rows:
        prompt = row[attrs["prompt"]]
        if attrs["query"] and row.get(attrs["query"]):
            prompt += "\n" + row[attrs["query"]]
        assert isinstance(prompt, str) and prompt.startswith("Zoë has")
        assert row[attrs["response"]] == expected(world)[row["ext_id"]]
    assert load_json_dataset(result.path, tmp_path).num_rows == 6  # LLaMA-Factory's loader


def test_llamafactory_sharegpt_matches_the_documented_schema(world, tmp_path):
    result = do_export(world, tmp_path, "llamafactory-sharegpt", name="undo_sharegpt.json")
    entry, attrs, rows = lf_dataset(result)
    assert entry["formatting"] == "sharegpt"
    for row in rows:
        turns = row[attrs["messages"]]
        roles = [turn[attrs["role_tag"]] for turn in turns]
        assert roles[0::2] == [attrs["user_tag"]] * len(roles[0::2])  # odd positions (1-based)
        assert roles[1::2] == [attrs["assistant_tag"]] * len(roles[1::2])
        assert turns[-1][attrs["content_tag"]] == expected(world)[row["ext_id"]]
    assert load_json_dataset(result.path, tmp_path).num_rows == 6


def test_llamafactory_entry_joins_an_existing_dataset_info(world, tmp_path):
    info = tmp_path / "out" / "dataset_info.json"
    info.parent.mkdir()
    info.write_text(json.dumps({"alpaca_en": {"file_name": "alpaca_en.json"}}))
    do_export(world, tmp_path, "llamafactory-alpaca", name="a.json")
    do_export(world, tmp_path, "llamafactory-sharegpt", name="s.json")
    assert set(json.loads(info.read_text())) == {"alpaca_en", "a", "s"}


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_load_export_reads_every_format_back_to_the_same_records(world, tmp_path, fmt):
    result = do_export(world, tmp_path, fmt, filters=ExportFilters(correct_only=True))
    records = load_export(result.path)
    assert [r["ext_id"] for r in records] == ["t0", "t1", "t2", "t4"]
    for record in records:
        assert record["rationale"] == expected(world)[record["ext_id"]]
        assert record["question"].startswith("Zoë has") and record["answer"].isdigit()
        assert record["rationale_source"] and record["iteration"] in (1, 2)
