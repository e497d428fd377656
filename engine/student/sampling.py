"""On-policy data: continuations the student samples from a training batch's prompts, laid out
as a training batch of their own (prompt masked, the sampled tokens as targets).

The student generates in eval mode (no dropout), without gradients; the continuation runs up to
and including its first end-of-sequence token, or to max_new_tokens. The new batch is right-padded
by the same collator as the reference batches, so every loss reads both kinds the same way.
"""

from __future__ import annotations

import torch
from transformers import GenerationConfig

from engine.student.data import IGNORE, PadCollator
from engine.student.generation import left_pad


def batch_prompts(inputs: dict) -> list[list[int]]:
    """Each row's prompt: its tokens before the first target (rows are right-padded)."""
    prompts = []
    for ids, labels in zip(inputs["input_ids"].tolist(), inputs["labels"].tolist()):
        first = next((i for i, label in enumerate(labels) if label != IGNORE), len(labels))
        prompts.append(ids[:first])
    return prompts


def sample_batch(model, inputs: dict, max_new_tokens: int, temperature: float, pad_id: int,
                 eos_ids: list[int]) -> dict:
    """A batch of (prompt + the student's continuation) rows on the model's device."""
    prompts = batch_prompts(inputs)
    ids, mask = left_pad(prompts, pad_id, model.device)
    config = GenerationConfig(do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                              max_new_tokens=max_new_tokens, pad_token_id=pad_id,
                              eos_token_id=eos_ids, use_cache=True)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
    finally:
        model.train(was_training)
    features = []
    for prompt, row in zip(prompts, out[:, ids.shape[1]:].tolist()):
        continuation = _until_end(row, set(eos_ids))
        features.append({"input_ids": prompt + continuation,
                         "labels": [IGNORE] * len(prompt) + continuation})
    batch = PadCollator(pad_id)(features)
    return {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _until_end(row: list[int], eos: set[int]) -> list[int]:
    end = next((i for i, token in enumerate(row) if token in eos), None)
    return row if end is None else row[:end + 1]
