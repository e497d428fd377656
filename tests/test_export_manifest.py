"""The manifest beside every export says what the data is; no secret reaches any export byte."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib import metadata

import pytest

import store
from engine.export import FORMAT_NAMES, ExportFilters, export_run, read_manifest
from engine.export.redact import is_secret_key, scrub
from tests.test_export_fixtures import ENV_SECRET, KEY_ENV, SECRET, world  # noqa: F401


def test_manifest_names_run_models_iteration_filters_counts_and_versions(world, tmp_path):
    out = tmp_path / "out" / "refined.jsonl"
    filters = ExportFilters(correct_only=True, tags=("hard", "units"))
    result = export_run(world.db, world.run_id, fmt="trl-messages", out=out, filters=filters)
    manifest = json.loads((tmp_path / "out" / "refined.jsonl.manifest.json").read_text())
    assert manifest == result.manifest == read_manifest(out)
    assert manifest["format"] == "trl-messages" and manifest["data"] == "refined.jsonl"
    assert manifest["run"]["id"] == world.run_id and manifest["run"]["name"] == "refine-demo"
    assert manifest["run"]["config"]["training"] == {"lr": 0.0001, "epochs": 3}
    assert (manifest["teacher"], manifest["student"]) == ("openai:big-teacher", "smollm2-135m")
    assert manifest["dataset"]["name"] == "arith-demo"
    assert manifest["dataset"]["answer_type"] == "number"
    assert (manifest["iteration"], manifest["iteration_requested"]) == (2, "best")
    assert manifest["iteration_metrics"]["val_accuracy"] == 0.5
    val = manifest["iteration_metrics"]["val"]  # every accuracy with n and its 95% interval
    assert val["n"] == 10 and val["strict"]["correct"] == 5 and val["flexible"]["correct"] == 6
    assert [round(x, 3) for x in val["strict"]["ci95"]] == [0.237, 0.763]
    assert val["format_rate"] == 0.8 and "test" not in manifest["iteration_metrics"]
    assert manifest["filters"]["correct_only"] and manifest["filters"]["tags"] == ["hard", "units"]
    assert manifest["counts"] == {"candidates": 7, "after_excluded": 6, "after_correct_only": 4,
                                  "after_refined_only": 4, "after_tags": 2, "written": 2}
    assert manifest["rows"] == 2 == len(out.read_text().splitlines())
    assert manifest["rationale_sources"] == {"human": 1, "teacher_refined": 1}
    assert manifest["versions"]["datasets"] == metadata.version("datasets")
    assert manifest["versions"]["undo-tui"] == metadata.version("undo-tui")
    created = datetime.fromisoformat(manifest["created_at"])
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 60


def test_manifest_lists_the_prompt_templates_behind_the_rows(world, tmp_path):
    result = export_run(world.db, world.run_id, fmt="hf", out=tmp_path / "d")
    templates = {t["template"]: t for t in result.manifest["prompt_templates"]}
    assert set(templates) == {"refine_answer_only", "initial", "initial_hinted", None}
    assert templates["refine_answer_only"]["rows"] == 2  # t0, t5 (t2 is a human edit)
    assert templates["refine_answer_only"]["prompt_hashes"] == ["ph-ref-0", "ph-ref-5"]
    assert templates["initial_hinted"]["prompt_hashes"] == ["ph-hint-4"]
    assert templates[None]["rows"] == 2 and templates[None]["distinct_prompt_hashes"] == 0


def test_manifest_of_a_file_carries_the_data_hash(world, tmp_path):
    import hashlib

    result = export_run(world.db, world.run_id, fmt="parquet", out=tmp_path / "x.parquet")
    assert result.manifest["data_sha256"] == hashlib.sha256(result.path.read_bytes()).hexdigest()


def all_bytes(root) -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]


def test_no_secret_in_any_output_byte_of_any_format(world, tmp_path):
    out = tmp_path / "out"
    for fmt in FORMAT_NAMES:
        suffix = {"hf": "", "parquet": ".parquet"}.get(fmt, ".json" if "llama" in fmt else ".jsonl")
        export_run(world.db, world.run_id, fmt=fmt, out=out / f"{fmt}{suffix}")
    files = all_bytes(out)
    assert len(files) >= 14  # 6 data + 5 manifests + dataset_info + hf's own files
    for secret in (SECRET, ENV_SECRET):
        leaked = [name for name, data in files if secret.encode() in data]
        assert not leaked, f"{secret} leaked into {leaked}"
    for record in store.list_exports(world.db, world.run_id):
        assert SECRET not in json.dumps(record.manifest)
    teacher = read_manifest(out / "trl-messages.jsonl")["run"]["config"]["teacher"]
    assert teacher["api_key_env"] == KEY_ENV  # the variable's NAME is kept
    assert "api_key" not in teacher and teacher["headers"] == {}
    assert teacher["base_url"] == "https://***@teacher.invalid/v1?api_key=***"
    assert read_manifest(out / "trl-messages.jsonl")["run"]["config"]["evaluation"] == {
        "max_new_tokens": 64}


@pytest.mark.parametrize("key, value, secret", [
    ("api_key", "x", True), ("openaiApiKey", "x", True), ("x-api-key", "x", True),
    ("hf_token", "x", True), ("client_secret", "x", True), ("password", "x", True),
    ("Authorization", "Bearer x", True), ("token", "x", True), ("api_key_env", "OPENAI_KEY", False),
    ("token_env", "HF_TOKEN", False), ("api_key_env", "sk-live key value!", True),
    ("max_new_tokens", 64, False), ("tokenizer", "x", False), ("teacher_prompt_tokens", 1, False),
    ("monkey", "x", False), ("keep", "all", False),
])
def test_secret_keys_are_matched_by_name_part(key, value, secret):
    assert is_secret_key(key, value) is secret


def test_scrub_walks_nested_values_and_masks_urls():
    config = {"teacher": [{"auth": {"user": "u"}, "url": "http://a:b@h/x?token=abc&n=1"}],
              "keep": 1}
    assert scrub(config) == {"teacher": [{"url": "http://***@h/x?token=***&n=1"}], "keep": 1}
