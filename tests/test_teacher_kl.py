"""KL(teacher||student) on held-out continuations: the figure that compares objectives."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from engine.student.prompting import completion_token_ids, prompt_token_ids
from engine.student.teacher_kl import example_kl, held_out_kl
from tests.fixtures.model_fixtures import TINY_EXAMPLES


@pytest.fixture(scope="module")
def continuations(tiny_pair):
    _, tokenizer = tiny_pair
    return [(prompt_token_ids(q, tokenizer), completion_token_ids(r, tokenizer))
            for q, r in TINY_EXAMPLES[:3]]


def test_a_student_equal_to_its_teacher_is_at_kl_zero(tiny_pair, continuations):
    models, _ = tiny_pair
    summary = held_out_kl(models.teacher, models.teacher, continuations, models.vocab_size)
    assert summary.n == 3 and summary.tokens == sum(len(c) for _, c in continuations)
    assert abs(summary.mean) < 1e-6 and summary.low == 0.0 and summary.high < 1e-5


def test_against_a_uniform_student_the_kl_is_log_v_minus_the_teachers_entropy(tiny_pair,
                                                                                 continuations):
    models, _ = tiny_pair
    uniform = copy.deepcopy(models.teacher)
    with torch.no_grad():
        uniform.get_output_embeddings().weight.zero_()  # every logit 0: uniform over the vocab
    prompt, continuation = continuations[0]
    ids = torch.tensor([prompt + continuation])
    with torch.inference_mode():
        logits = models.teacher(input_ids=ids).logits[0, len(prompt) - 1:-1, :models.vocab_size]
    p = torch.softmax(logits.float(), -1)
    entropy = -(p * p.clamp_min(1e-30).log()).sum(-1)
    expected = float((math.log(models.vocab_size) - entropy).mean())
    got = example_kl(uniform, models.teacher, prompt, continuation, models.vocab_size)
    assert got == pytest.approx(expected, rel=1e-4)
    summary = held_out_kl(uniform, models.teacher, continuations, models.vocab_size)
    assert 0 < summary.low < summary.mean < summary.high


def test_no_examples_is_refused(tiny_pair):
    models, _ = tiny_pair
    with pytest.raises(ValueError, match="at least one"):
        held_out_kl(models.student, models.teacher, [], models.vocab_size)
