"""The llama.cpp teacher with the real SmolLM2-135M GGUF: generated, graded, stored end to end."""

from __future__ import annotations

import hashlib
import os

import pytest

import store
from engine.config import LlamaCppTeacherConfig
from engine.generation import PassItem, PassOptions, run_teacher_pass
from engine.grading.answers import grade
from engine.prompts import load_template, prompt_fields
from engine.teachers import TeacherCallFailed, make_teacher
from engine.teachers.stderr_redirect import stderr_to

pytestmark = pytest.mark.slow


def _count_calls(teacher, monkeypatch) -> list:
    calls = []
    original = teacher.complete

    async def counting(messages, params):
        calls.append(messages)
        return await original(messages, params)

    monkeypatch.setattr(teacher, "complete", counting)
    return calls


def test_llamacpp_pass_generates_grades_and_stores(db, gsm8k_dataset, llama_teacher,
                                                   teacher_gguf, monkeypatch):
    examples = store.load_examples(db, gsm8k_dataset, "train", limit=3)
    run_id = store.create_run(db, "llama", {}, kind="generate", dataset_id=gsm8k_dataset)
    calls = _count_calls(llama_teacher, monkeypatch)
    report = run_teacher_pass(db, llama_teacher, [PassItem(e) for e in examples],
                              PassOptions(run_id=run_id, keep="all"))
    assert len(calls) == 3 and report.calls_made == 3 and report.attempted == 3

    digest = hashlib.sha256(teacher_gguf.read_bytes()).hexdigest()
    assert llama_teacher.model_id == f"gguf:{digest}"
    template = load_template("initial")
    rows = store.rationales_for_iteration(db, run_id, 1)
    assert len(rows) == 3
    for example, row, sent in zip(examples, rows, calls):
        messages = template.render(prompt_fields(example, "number"),
                                   system_prompt=llama_teacher.config.system_prompt)
        assert sent == messages and row.prompt_hash == store.prompt_hash(messages)
        assert row.template == "initial@v1" and row.source == "teacher_initial"
        assert row.status in ("ok", "truncated") and row.text.strip()
        graded = grade(row.text, example.answer, "number")
        assert (row.answer, row.correct) == (graded.answer, graded.correct)
        assert row.kept == (row.status == "ok")  # keep="all": every complete output
        hit = store.cache_get(db, row.cache_key)
        assert hit.model_id == llama_teacher.model_id and hit.response.strip() == row.text
        assert 0 < hit.completion_tokens <= 40 and hit.prompt_tokens > 100
    usage = store.get_iteration(db, run_id, 1)
    assert usage.teacher_calls == 3
    assert usage.teacher_completion_tokens == report.completion_tokens > 0
    final = store.latest_progress(db, run_id)["teacher"]
    assert (final.done, final.total) == (3, 3) and final.data["tokens_per_s"] > 0

    again = run_teacher_pass(db, llama_teacher, [PassItem(e) for e in examples],
                             PassOptions(run_id=run_id, keep="all"))
    assert len(calls) == 3 and again.calls_made == 0 and again.cache_hits == 3
    assert store.get_iteration(db, run_id, 1).teacher_calls == 3


def test_llama_stderr_goes_to_the_log_not_the_terminal(tmp_path, teacher_gguf, capfd):
    log = tmp_path / "run.log"
    with make_teacher(LlamaCppTeacherConfig(model=str(teacher_gguf), max_tokens=4, n_ctx=64),
                      log_path=log) as teacher:
        completion = teacher.complete_sync([{"role": "user", "content": "Hi"}], {})
        assert completion.text
        with pytest.raises(TeacherCallFailed, match="does not fit n_ctx=64"):
            teacher.complete_sync([{"role": "user", "content": "hello " * 100}], {})
    with stderr_to(log):
        os.write(2, b"chatter from C code\n")
    assert capfd.readouterr().err == ""
    assert "chatter from C code" in log.read_text()
