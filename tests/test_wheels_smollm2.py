"""The real pair: SmolLM2-135M-Instruct teaching a 10-of-30-layer copy of itself (not distilled;
decoding is what is checked here, quality is the sweep's business). Small: three problems."""

from __future__ import annotations

import pytest
import torch

from engine.wheels.budget import BudgetController, Cap
from engine.wheels.decoding import DecodeOptions, assisted_generate
from engine.wheels.policies import Always, Never, Threshold
from tests.test_wheels_decoding import plain_greedy

pytestmark = pytest.mark.slow
MAX_NEW = 40


@pytest.fixture(scope="module")
def smollm2_pair(smollm2_dir, tmp_path_factory):
    from engine.wheels.models import load_pair
    from engine.wheels.shrink import shrink_model

    student = tmp_path_factory.mktemp("shrunk") / "student"
    result = shrink_model(smollm2_dir, 10, student)
    assert result.layers_before == 30 and round(result.parameters / 1e6, 1) == 63.7
    return load_pair(student, smollm2_dir, dtype="float32", device="cpu")


@pytest.fixture(scope="module")
def arith_prompts(smollm2_pair):
    from benchmarks.bench_wheels import prompts

    _, tokenizer = smollm2_pair
    return prompts(tokenizer, 3)


def run(models, prompts, policy, cap=Cap("none"), controller=None):
    return assisted_generate(models, prompts.student, prompts.teacher, policy, cap,
                             DecodeOptions(max_new_tokens=MAX_NEW), controller)


def test_the_teacher_policy_is_smollm2s_own_greedy_answer(smollm2_pair, arith_prompts):
    models, tokenizer = smollm2_pair
    for prompt, output in zip(arith_prompts.teacher, run(models, arith_prompts, Always())):
        assert output.token_ids == plain_greedy(models.teacher, models, prompt, MAX_NEW)
    text = tokenizer.decode(output.text_ids())
    assert any(ch.isdigit() for ch in text)  # the one-shot prompt gets it calculating


def test_the_shrunk_student_decodes_with_its_cache(smollm2_pair, arith_prompts):
    models, _ = smollm2_pair
    for prompt, output in zip(arith_prompts.student, run(models, arith_prompts, Never())):
        assert output.token_ids == plain_greedy(models.student, models, prompt, MAX_NEW)
        assert output.teacher_tokens == 0


def test_asking_where_the_student_is_unsure_stays_under_its_cap(smollm2_pair, arith_prompts):
    models, _ = smollm2_pair
    controller = BudgetController(0.3)
    outputs = run(models, arith_prompts, Threshold("entropy"), Cap("share", 0.3), controller)
    for output in outputs:
        assert not Cap("share", 0.3).violated(output.asks, output.new_tokens)
    assert 0.15 <= controller.share <= 0.3
    # the teacher read its prompt and the continuation up to its last call, once
    assert all(o.teacher_tokens <= len(p) + o.new_tokens for o, p in
               zip(outputs, arith_prompts.teacher))
    assert torch.is_grad_enabled()  # decoding left global state alone
