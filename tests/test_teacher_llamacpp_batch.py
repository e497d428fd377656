"""The batched llama.cpp teacher against llama-cpp-python's own one-at-a-time decoding.

The reference is `Llama.create_chat_completion` on the same packaged SmolLM2 GGUF (what the
teacher called before it batched): every text, finish reason and token count must be equal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

import store
from engine.prompts import load_template, prompt_fields
from engine.teachers import TeacherCallFailed
from engine.teachers.llamacpp_chat import SequenceRequest
from engine.teachers.llamacpp_sequence import SequenceState
from engine.teachers.stderr_redirect import stderr_to
from tests.fixtures.teacher_fixtures import ROOT, subprocess_env

pytestmark = pytest.mark.slow

SYSTEM = "You are a careful teacher. Solve the problem step by step, then write 'Answer: N'."
QUESTIONS = ["What is 7 times 8?", "Tom has 3 apples and buys 5 more. How many apples now?",
             "Name a primary colour.", "A car drives 60 km each hour. How far in 3 hours?",
             "What is 12 + 30?"]
MAX_TOKENS = [12, 20, 8, 16, 12]  # a budget of its own per sequence


@pytest.fixture(scope="module")
def reference(teacher_gguf, tmp_path_factory):
    """llama-cpp-python's Llama, decoding one call at a time as the teacher used to."""
    from llama_cpp import Llama

    log = tmp_path_factory.mktemp("reference") / "llama.log"
    with stderr_to(log):
        llm = Llama(model_path=str(teacher_gguf), n_ctx=2048, n_threads=1, n_threads_batch=1,
                    verbose=False)

    def complete(messages, params):
        llm.reset()  # the whole prompt evaluated, as on a first call (see MIN_EVALUATED)
        with stderr_to(log):
            out = llm.create_chat_completion(
                messages=messages, temperature=params["temperature"], top_p=params["top_p"],
                max_tokens=params["max_tokens"], seed=params["seed"])
        choice = out["choices"][0]
        return (choice["message"]["content"], choice["finish_reason"],
                out["usage"]["completion_tokens"])

    complete.llm = llm
    yield complete
    with stderr_to(log):
        llm.close()


def _messages(question):
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


def _together(teacher, calls):
    """All calls issued at once, as the teacher pass's workers do; outcomes in order."""
    async def run():
        return await asyncio.gather(*(teacher.complete(m, p) for m, p in calls),
                                    return_exceptions=True)
    return asyncio.run(run())


def _calls(temperature, seed):
    return [(_messages(q), {"temperature": temperature, "top_p": 0.9, "max_tokens": n,
                            "seed": seed + i})
            for i, (q, n) in enumerate(zip(QUESTIONS, MAX_TOKENS))]


@pytest.mark.parametrize("temperature", [0.0, 0.8], ids=["greedy", "seeded-sampling"])
def test_batched_outputs_equal_one_at_a_time(llama_teacher, reference, temperature):
    assert llama_teacher.concurrency == 4  # 5 calls: a slot is reused, a prefix copied
    calls = _calls(temperature, seed=11)
    steps_before, stepped_before = llama_teacher.decode_steps()
    batched = _together(llama_teacher, calls)
    expected = [reference(m, p) for m, p in calls]
    got = [(c.text, c.finish_reason, c.completion_tokens) for c in batched]
    assert got == expected
    assert any(reason == "length" for _, reason, _ in got)
    for (_, reason, tokens), budget in zip(got, MAX_TOKENS):
        assert tokens <= budget and (reason != "length" or tokens == budget)
    steps, stepped = llama_teacher.decode_steps()
    assert (stepped - stepped_before) / (steps - steps_before) > 2  # really decoded together


def test_a_request_is_reproducible_whatever_runs_beside_it(llama_teacher):
    messages, params = _calls(0.8, seed=3)[1]
    alone = llama_teacher.complete_sync(messages, params)
    crowded = _together(llama_teacher, [(messages, params), *_calls(0.8, seed=40)])[0]
    assert (crowded.text, crowded.completion_tokens) == (alone.text, alone.completion_tokens)


def test_a_prompt_too_long_fails_alone(llama_teacher):
    too_long = (_messages("hello " * 2100), _calls(0.0, 0)[0][1])
    outcomes = _together(llama_teacher, [_calls(0.0, 0)[0], too_long, _calls(0.0, 0)[2]])
    assert isinstance(outcomes[1], TeacherCallFailed)
    assert "does not fit n_ctx=2048" in outcomes[1].reason
    assert outcomes[0].text.strip() and outcomes[2].text.strip()


def test_a_refused_decode_fails_its_calls_by_name_and_the_teacher_goes_on(llama_teacher,
                                                                          monkeypatch):
    import llama_cpp

    real = llama_cpp.llama_decode

    def refuse_shared_steps(ctx, batch):  # a fault: llama.cpp finds no KV slot for a step
        several = batch.n_tokens > 1 and all(batch.logits[i] for i in range(batch.n_tokens))
        return 1 if several else real(ctx, batch)

    monkeypatch.setattr(llama_cpp, "llama_decode", refuse_shared_steps)
    outcomes = _together(llama_teacher, _calls(0.0, 0)[:2])
    assert [type(o) for o in outcomes] == [TeacherCallFailed, TeacherCallFailed]
    assert "could not decode a batch of 2 tokens (llama_decode returned 1)" in outcomes[0].reason
    monkeypatch.undo()
    assert _together(llama_teacher, _calls(0.0, 0)[:2])[1].text.strip()


def test_a_stop_string_cuts_the_text_and_counts_its_tokens(reference):
    llm = reference.llm
    tokens = llm.tokenize(b"7 times 8 is 56. Answer: 56", add_bos=False)
    request = SequenceRequest(prompt=(1, 2, 3), max_tokens=50, temperature=0.0, top_p=1.0,
                              seed=0, stops=(b"nowhere", b"Answer:"))
    state = SequenceState(request, budget=50, is_end=lambda t: t == llm.token_eos(),
                          detokenize=llm.detokenize)
    ended_at = next(i for i, token in enumerate(tokens) if state.accept(token))
    assert state.output.text == "7 times 8 is 56. " and state.output.finish_reason == "stop"
    assert state.output.completion_tokens == ended_at + 1 < len(tokens)


def _generate(store_path, gguf):
    return [sys.executable, "-m", "undo_tui.cli", "--store", str(store_path), "generate",
            "--dataset", "gsm8k", "--teacher-backend", "llamacpp", "--model", str(gguf),
            "--limit", "4", "--concurrency", "3", "--max-tokens", "8", "--keep", "all"]


def _stored(db):
    rows = db.execute("SELECT cache_key, text FROM rationales ORDER BY example_id").fetchall()
    cache = db.execute("SELECT key, response, latency_s FROM teacher_cache").fetchall()
    return rows, {key: (response, latency) for key, response, latency in cache}


def test_a_kill_mid_batch_loses_only_unfinished_sequences(db, store_path, gsm8k_dataset,
                                                          teacher_gguf, reference):
    proc = subprocess.Popen(_generate(store_path, teacher_gguf), cwd=ROOT, env=subprocess_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _stored(db)[0]:  # the first row of the first batch is stored
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the pass never got going"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _, cached_at_kill = _stored(db)
    in_flight = db.execute("SELECT count(*) FROM teacher_inflight").fetchone()[0]
    assert 0 < len(cached_at_kill) < 4 and in_flight <= 3

    again = subprocess.run(_generate(store_path, teacher_gguf), cwd=ROOT, env=subprocess_env(),
                           capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    rows, cache = _stored(db)
    assert len(rows) == 4 and len(cache) == 4
    assert all(cache[key] == value for key, value in cached_at_kill.items())  # never re-decoded
    template = load_template("initial")
    examples = store.load_examples(db, gsm8k_dataset, "train", limit=4)
    for example, (_, text) in zip(examples, rows, strict=True):
        messages = template.render(prompt_fields(example, "number"),
                                   system_prompt=_default_system_prompt())
        params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 8, "seed": 0}
        assert text == reference(messages, params)[0].strip()


def _default_system_prompt():
    from engine.config.teacher import DEFAULT_SYSTEM_PROMPT

    return DEFAULT_SYSTEM_PROMPT
