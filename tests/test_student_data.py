"""Prompt building and batching: same prompt ids in training and evaluation, completion-only
labels, batches that carry little padding, and packing that keeps examples apart."""

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from engine.student.data import (IGNORE, PackCollator, PadCollator, count_tokens, encode_examples,
                                 make_batching)
from engine.student.prompting import build_prompt, prompt_token_ids, to_messages


@pytest.fixture(scope="module")
def tokenizer(smollm2_tokenizer_dir):
    return AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)


def test_prompt_uses_chat_template_and_ends_at_the_answer(tokenizer):
    text = build_prompt("What is 2+2?", tokenizer, system="Solve it.")
    assert text.startswith("<|im_start|>system\nSolve it.<|im_end|>")
    assert "<|im_start|>user\nWhat is 2+2?<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_message_lists_keep_their_own_system_turn():
    messages = [{"role": "system", "content": "mine"}, {"role": "user", "content": "q"}]
    assert to_messages(messages, system="other") == messages
    assert to_messages("q", system="s")[0] == {"role": "system", "content": "s"}
    with pytest.raises(ValueError, match="empty message list"):
        to_messages([])


def test_training_prompt_ids_equal_evaluation_prompt_ids(tokenizer):
    """The student must be evaluated on exactly the token ids it was trained after."""
    question = "A shop sells 3 pens for $2. How much do 12 pens cost?"
    encoded = encode_examples([(question, "12 / 3 = 4 and 4 * 2 = 8.\nAnswer: 8")], tokenizer, 512,
                              system="Be brief.").features[0]
    prompt = prompt_token_ids(question, tokenizer, system="Be brief.")
    assert encoded["input_ids"][:len(prompt)] == prompt
    assert encoded["labels"][:len(prompt)] == [IGNORE] * len(prompt)
    completion = encoded["labels"][len(prompt):]
    assert IGNORE not in completion and completion[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(completion[:-1]) == "12 / 3 = 4 and 4 * 2 = 8.\nAnswer: 8"


def test_long_examples_are_cut_and_hopeless_ones_skipped(tokenizer):
    prompt_len = len(prompt_token_ids("q", tokenizer))
    pairs = [("q", "word " * 100), ("q " * 200, "Answer: 1")]
    encoded = encode_examples(pairs, tokenizer, max_length=prompt_len + 5)
    assert encoded.skipped == 1 and len(encoded.features) == 1
    assert len(encoded.features[0]["input_ids"]) == prompt_len + 5


def test_bad_examples_are_named(tokenizer):
    with pytest.raises(ValueError, match="example 1: completion must be non-empty"):
        encode_examples([("q", "a"), ("q", "  ")], tokenizer, 64)
    with pytest.raises(ValueError, match="example 0: expected a"):
        encode_examples(["just a string"], tokenizer, 64)


def _padding_fraction(mode: str, lengths: list[int], batch_size: int = 4) -> float:
    sampler, _ = make_batching(mode, lengths, batch_size, seed=0, pad_id=0, max_length=max(lengths))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in sampler.batches(0))
    return 1 - sum(lengths) / padded


def test_length_grouping_wastes_far_less_than_random_batches():
    lengths = [int(x) for x in torch.randint(40, 400, (200,), generator=torch.Generator().manual_seed(1))]
    grouped, shuffled = _padding_fraction("length_grouped", lengths), _padding_fraction("random", lengths)
    assert grouped < 0.05 < 0.25 < shuffled


def test_batches_cover_every_example_once_and_change_per_epoch():
    lengths = [5, 9, 3, 7, 7, 2, 8, 1, 6, 4]
    sampler, _ = make_batching("length_grouped", lengths, 3, seed=7, pad_id=0, max_length=16)
    for epoch in range(3):
        flat = sorted(i for batch in sampler.batches(epoch) for i in batch)
        assert flat == list(range(len(lengths)))
    assert sampler.batches(0) != sampler.batches(1)
    again, _ = make_batching("length_grouped", lengths, 3, seed=7, pad_id=0, max_length=16)
    assert again.batches(1) == sampler.batches(1)  # seeded
    sampler.set_epoch(2)
    assert list(sampler) == sampler.batches(2)


def test_pad_collators():
    features = [{"input_ids": [5, 6, 7], "labels": [IGNORE, 6, 7]}, {"input_ids": [8], "labels": [8]}]
    batch = PadCollator(pad_id=0)(features)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE, 6, 7], [8, IGNORE, IGNORE]]
    assert count_tokens(batch) == 4
    assert PadCollator(pad_id=0, pad_to=6)(features)["input_ids"].shape == (2, 6)
    packed = PackCollator()(features)
    assert packed["input_ids"].tolist() == [[5, 6, 7, 8]]
    assert packed["position_ids"].tolist() == [[0, 1, 2, 0]]
    assert "attention_mask" not in packed and count_tokens(packed) == 4
    assert packed["use_cache"] is False and batch["use_cache"] is False  # a cache disables packing masks


def test_packed_batch_gives_the_same_loss_as_a_padded_one(tiny_llama_dir, tokenizer):
    """Packed examples must not attend to each other (else the loss would differ)."""
    from tests.fixtures.model_fixtures import TINY_EXAMPLES

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32).eval()
    features = encode_examples(TINY_EXAMPLES[:3], tokenizer, 256).features
    with torch.no_grad():
        padded = model(**PadCollator(tokenizer.pad_token_id)(features)).loss
        packed = model(**PackCollator()(features)).loss
        leaky = PackCollator()(features)
        leaky["position_ids"] = torch.arange(leaky["input_ids"].shape[1])[None]  # one long sequence
        crossed = model(**leaky).loss
    assert torch.allclose(padded, packed, atol=1e-5)
    assert not torch.allclose(padded, crossed, atol=1e-4)
