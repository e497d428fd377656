"""Batched greedy generation: same tokens as one at a time, input order, EOS handling, stop."""

import time

import pytest
import torch

from engine.student.generation import (GenerationOutput, GenerationStopped, _decode, generate_answers,
                                       generate_with_model, left_pad, load_student)
from engine.student.prompting import prompt_token_ids

QUESTIONS = [
    "What is 7 times 8?",
    "A farmer has 17 sheep. All but 9 run away. How many sheep does the farmer have left now, "
    "counting only the ones still in the field at the end of the day?",
    "2+2?",
    "Lisa buys 3 books at $12 each and pays with a $50 bill. How much change does she get?",
    "How many minutes are in 3 hours?",
]


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir):
    return load_student(tiny_llama_dir, dtype="float32", device="cpu")


def _greedy_one(model, tokenizer, question, max_new_tokens):
    """Reference: plain greedy decoding of a single unpadded prompt, token by token, no cache."""
    ids = torch.tensor([prompt_token_ids(question, tokenizer)])
    new = []
    with torch.inference_mode():
        for _ in range(max_new_tokens):
            token = int(model(input_ids=ids, use_cache=False).logits[0, -1].argmax())
            new.append(token)
            if token == tokenizer.eos_token_id:
                break
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    return new


def test_batched_generation_matches_one_at_a_time_token_for_token(tiny):
    model, tokenizer = tiny
    batched = generate_with_model(model, tokenizer, QUESTIONS, max_new_tokens=12, batch_size=4)
    for question, output in zip(QUESTIONS, batched):
        reference = _greedy_one(model, tokenizer, question, 12)
        assert list(output.token_ids) == [t for t in reference if t != tokenizer.eos_token_id]
        assert output.new_tokens == len(reference)
        assert output.text == tokenizer.decode(output.token_ids, skip_special_tokens=True)


def test_batch_size_does_not_change_answers_and_order_is_kept(tiny):
    model, tokenizer = tiny
    one = generate_with_model(model, tokenizer, QUESTIONS, max_new_tokens=10, batch_size=1)
    many = generate_with_model(model, tokenizer, QUESTIONS, max_new_tokens=10, batch_size=16)
    assert one == many
    reversed_outputs = generate_with_model(model, tokenizer, QUESTIONS[::-1], 10, batch_size=3)
    assert reversed_outputs == many[::-1]


def test_left_padding_puts_prompts_flush_right():
    ids, mask = left_pad([[5, 6, 7], [9]], pad_id=0, device="cpu")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 9]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_decode_cuts_at_the_first_eos(tiny):
    _, tokenizer = tiny
    eos = tokenizer.eos_token_id
    hello = tokenizer("Answer: 4", add_special_tokens=False)["input_ids"]
    done = _decode(hello + [eos, eos, eos], tokenizer, {eos})
    assert done == GenerationOutput("Answer: 4", len(hello) + 1, True, tuple(hello))
    cut = _decode(hello, tokenizer, {eos})
    assert cut == GenerationOutput("Answer: 4", len(hello), False, tuple(hello))


def test_progress_events(tiny):
    model, tokenizer = tiny
    events = []
    generate_with_model(model, tokenizer, QUESTIONS, max_new_tokens=4, batch_size=2,
                        progress=events.append)
    assert [e["done"] for e in events] == [2, 4, 5]
    assert all(e["stage"] == "evaluate" and e["total"] == 5 for e in events)
    assert events[-1]["eta_s"] == 0 and events[-1]["tokens_per_s"] > 0


def test_stop_between_batches_keeps_the_finished_ones(tiny):
    model, tokenizer = tiny
    batches = []
    progress = lambda event: batches.append(event["done"])  # noqa: E731
    with pytest.raises(GenerationStopped) as stopped:
        generate_with_model(model, tokenizer, QUESTIONS, max_new_tokens=20, batch_size=2,
                            progress=progress, should_stop=lambda: len(batches) >= 1)
    assert sorted(stopped.value.partial) == [1, 3]  # the two longest prompts went first
    full = generate_with_model(model, tokenizer, QUESTIONS, max_new_tokens=20, batch_size=2)
    assert all(full[i] == output for i, output in stopped.value.partial.items())


def test_stop_mid_batch_interrupts_decoding(tiny, monkeypatch):
    from engine.student import generation

    monkeypatch.setattr(generation, "POLL_EVERY_S", 0.0)
    model, tokenizer = tiny
    calls = []
    started = time.perf_counter()
    with pytest.raises(GenerationStopped) as stopped:
        generate_with_model(model, tokenizer, QUESTIONS, max_new_tokens=2000, batch_size=8,
                            should_stop=lambda: calls.append(1) or len(calls) > 5)
    assert stopped.value.partial == {}  # the only batch was cut off, not reported half-done
    assert len(calls) == 6 and time.perf_counter() - started < 5  # not 2000 tokens


def test_generate_answers_with_a_trained_adapter(tiny_student, tmp_path):
    base = generate_answers(tiny_student.model_dir, None, QUESTIONS[:2], max_new_tokens=6,
                            dtype="float32", device="cpu")
    result = tiny_student.train(tmp_path / "ckpt", lr=0.05, epochs=2)
    tuned = generate_answers(tiny_student.model_dir, result.checkpoint, QUESTIONS[:2],
                             max_new_tokens=6, dtype="float32", device="cpu")
    assert len(tuned) == 2 and tuned != base  # the adapter was applied


def test_bad_arguments(tiny):
    model, tokenizer = tiny
    with pytest.raises(ValueError, match="batch_size"):
        generate_with_model(model, tokenizer, QUESTIONS, batch_size=0)


def test_batches_are_planned_from_the_prompts_alone_so_a_resume_decodes_the_same_batches(
        tiny_llama_dir):
    """In bf16 an answer depends on its batch's shape: a resumed evaluation (some prompts done)
    must decode exactly the batches of the uninterrupted one, skipping only the finished ones."""
    from engine.student.generation import generate_in_batches

    model, tokenizer = load_student(tiny_llama_dir, dtype="bfloat16", device="cpu")
    full: list[tuple[list[int], list]] = []
    generate_in_batches(model, tokenizer, QUESTIONS, 8, 2,
                        lambda batch, outputs: full.append((batch, outputs)))
    assert sorted(i for batch, _ in full for i in batch) == list(range(len(QUESTIONS)))
    first_batch = full[0][0]
    done = set(first_batch) | {full[1][0][0]}  # one batch whole, one batch half done
    resumed: list[tuple[list[int], list]] = []
    generate_in_batches(model, tokenizer, QUESTIONS, 8, 2,
                        lambda batch, outputs: resumed.append((batch, outputs)), done=done)
    assert [batch for batch, _ in resumed] == [batch for batch, _ in full[1:]]
    assert resumed == full[1:]  # same shapes, so the same bf16 answers
