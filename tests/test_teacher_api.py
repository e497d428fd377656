"""The OpenAI-compatible teacher against a real `python -m llama_cpp.server` on 127.0.0.1."""

from __future__ import annotations

import pytest

import store
from engine.config import OpenAITeacherConfig
from engine.generation import PassItem, PassOptions, run_teacher_pass
from engine.teachers import make_teacher

pytestmark = pytest.mark.slow


def test_api_teacher_against_a_real_llama_cpp_server(db, gsm8k_dataset, llama_server):
    examples = store.load_examples(db, gsm8k_dataset, "train", limit=3)
    run_id = store.create_run(db, "api", {}, kind="generate", dataset_id=gsm8k_dataset)
    config = OpenAITeacherConfig(backend="openai", model="smollm2", base_url=llama_server,
                                 concurrency=2, max_tokens=24, timeout_s=120,
                                 price_prompt_per_1k=0.5, price_completion_per_1k=1.5)
    teacher = make_teacher(config)
    assert teacher.model_id == f"openai:{llama_server}:smollm2"
    report = run_teacher_pass(db, teacher, [PassItem(e) for e in examples],
                              PassOptions(run_id=run_id, keep="all"))
    assert report.calls_made == 3 and report.failed == 0 and report.attempted == 3
    rows = store.rationales_for_iteration(db, run_id, 1)
    assert len(rows) == 3 and all(r.text.strip() for r in rows)
    for row in rows:
        hit = store.cache_get(db, row.cache_key)
        assert hit.model_id == teacher.model_id
        assert hit.prompt_tokens > 100 and 0 < hit.completion_tokens <= 24
        assert hit.cost == pytest.approx((hit.prompt_tokens * 0.5 + hit.completion_tokens * 1.5)
                                         / 1000)
        # 24 tokens rarely finish a GSM8K rationale: the server's finish_reason decides
        assert (row.status == "truncated") == (hit.finish_reason == "length")
        assert not (row.status == "truncated" and row.kept)
    usage = store.get_iteration(db, run_id, 1)
    assert usage.teacher_calls == 3
    assert usage.teacher_cost == pytest.approx(report.cost) and report.cost > 0
    assert usage.teacher_prompt_tokens == report.prompt_tokens

    again = run_teacher_pass(db, teacher, [PassItem(e) for e in examples],
                             PassOptions(run_id=run_id, keep="all"))
    assert again.calls_made == 0 and again.cache_hits == 3 and again.cost == 0
