"""Training Wheels part 2's constrained PCL stage on the tiny same-tokenizer pair: the reward of
an ask, the dual update of λ per budget level, and training that follows both.

The warm-started asker is imitated by biasing the student's `<ask>` output row along its mean
hidden state, so it over-asks from the first step (a real warm start takes ~50 s here)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from engine.wheels.ask_pcl import (Rollout, ask_residuals, dual_update, level_usage,
                                   rollout_loss, sample_rollouts, train_ask_pcl)
from engine.wheels.ask_settings import AskPCL
from engine.wheels.ask_token import add_ask_token
from engine.wheels.ask_training import build_references
from engine.student.distilling import ValueHead
from tests.fixtures.model_fixtures import TINY_EXAMPLES
from tests.test_wheels_ask import SENTENCE, load_student

LEVELS = (0.0, 0.1, 0.4)


@pytest.fixture(scope="module")
def references(tiny_pair):
    _, tokenizer = tiny_pair
    return build_references(TINY_EXAMPLES[:4], tokenizer, LEVELS, SENTENCE)


def over_asker(tiny_pair, wheels_pair_dirs, references, push: float, teacher=None):
    """A fresh asker whose `<ask>` logit is raised by about `push` on its states, paired with
    the tiny teacher (or `teacher`)."""
    models, _ = tiny_pair
    model, tokenizer = load_student(wheels_pair_dirs[0])
    ask_id = add_ask_token(model, tokenizer)
    reference = references[0]
    ids = torch.tensor([reference.student_prompts[0.1] + reference.continuation])
    with torch.no_grad():
        mean = model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0].mean(0)
        model.get_output_embeddings().weight[ask_id] += push * mean / mean.norm() ** 2
    return replace(models, student=model, teacher=teacher or models.teacher, ask_token_id=ask_id)


def test_the_dual_update_raises_lambda_over_budget_and_lowers_it_never_below_zero():
    lambdas = {0.0: 0.0, 0.2: 0.5}
    raised = dual_update(lambdas, {0.0: 0.1, 0.2: 0.5}, eta=2.0)
    assert raised == pytest.approx({0.0: 0.2, 0.2: 1.1})  # 0.5 + 2 x (0.5 - 0.2)
    falling = [raised]
    for _ in range(4):  # usage 0 at both levels from here on
        falling.append(dual_update(falling[-1], {0.0: 0.0, 0.2: 0.0}, eta=2.0))
    assert [f[0.2] for f in falling] == pytest.approx([1.1, 0.7, 0.3, 0.0, 0.0])
    assert all(f[0.0] == pytest.approx(0.2) for f in falling)  # B = 0: usage 0 is on budget
    assert dual_update({0.0: 0.0}, {0.0: 0.0}, eta=2.0) == {0.0: 0.0}
    assert dual_update({0.1: 0.3}, {}, eta=2.0) == {0.1: 0.3}  # a level not measured keeps λ


def test_usage_is_asks_over_tokens_written_per_level():
    rollouts = [Rollout(0.2, [1], [1], [5, 6, 7, 2], [True, False, False, False], True),
                Rollout(0.2, [1], [1], [5, 2], [True, True], True),
                Rollout(0.0, [1], [1], [5, 6], [False, False], False)]
    assert level_usage(rollouts) == pytest.approx({0.2: 3 / 6, 0.0: 0.0})


def test_ask_residuals_by_hand():
    """Three steps; the student asked at the second, where the teacher wrote token 1. Shared
    vocabulary of 3 tokens, the student's 4th column is `<ask>`."""
    student_p = [0.125, 0.25, 0.125, 0.5]  # over vocab + ask; logits = log p, so V = 0 (τ = 1)
    teacher_p = [0.5, 0.25, 0.25]
    student = torch.tensor([[[math.log(p) for p in student_p]] * 3 + [[9.0, 0.0, 0.0, 0.0]]])
    teacher = torch.tensor([[[math.log(p) + 3.0 for p in teacher_p]] * 4])  # unnormalised
    written = torch.tensor([[0, 1, 2, 0]])
    asked = torch.tensor([[False, True, False, False]])
    mask = torch.tensor([[True, True, True, False]])  # the fourth is padding
    lam = 0.5
    residuals = ask_residuals(student, teacher, written, asked, mask, torch.tensor([lam]),
                              ask_id=3, window=1)
    ln2 = math.log(2)
    # r - log π(action): log .5 - log .125; log .25 - λ - log .5 (the ask's log-prob); log .25 - log .125
    steps = [2 * ln2, -ln2 - lam, ln2]
    torch.testing.assert_close(residuals[0], torch.tensor(steps + [0.0]))
    to_end = ask_residuals(student, teacher, written, asked, mask, torch.tensor([lam]),
                           ask_id=3, window=0)
    torch.testing.assert_close(to_end[0], torch.tensor([sum(steps), sum(steps[1:]),
                                                        steps[2], 0.0]))
    not_asked = ask_residuals(student, teacher, written, torch.zeros_like(asked), mask,
                              torch.tensor([lam]), ask_id=3, window=1)
    assert not_asked[0, 1].item() == pytest.approx(0.0, abs=1e-6)  # log .25 - log .25, no λ


def test_an_over_asking_student_sees_lambda_rise_at_its_levels(tiny_pair, wheels_pair_dirs,
                                                                 references):
    models = over_asker(tiny_pair, wheels_pair_dirs, references, push=15.0)
    seen = []
    settings = AskPCL(steps=3, rollouts=2, max_new_tokens=24, lr=1e-5, eta=1.0)
    history = train_ask_pcl(models, references, LEVELS, settings,
                            lambda step, total, metrics: seen.append((step, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert set(history[0]) == {"loss", "residual_ms", "ce", "tokens", "lambda_0", "usage_0",
                               "lambda_10", "usage_10", "lambda_40", "usage_40"}
    assert all(isinstance(value, float) for m in history for value in m.values())
    for key in ("10", "0"):
        assert all(m[f"usage_{key}"] > float(key) / 100 for m in history)  # over budget
        lambdas = [m[f"lambda_{key}"] for m in history]
        assert 0 < lambdas[0] < lambdas[1] < lambdas[2]
    expected = 0.0
    for m in history:  # λ follows the dual update of the usage it reports
        expected = max(0.0, expected + (m["usage_10"] - 0.1))
        assert m["lambda_10"] == pytest.approx(expected)


def test_pcl_steps_lower_the_loss_on_a_fixed_batch_of_rollouts(tiny_pair, wheels_pair_dirs,
                                                                 references):
    models = over_asker(tiny_pair, wheels_pair_dirs, references, push=12.0)
    settings = AskPCL(max_new_tokens=24)
    rows = [(level, reference) for level in LEVELS for reference in references[:2]]
    rollouts = sample_rollouts(models, rows, settings, seed=5)
    assert any(any(r.asked) for r in rollouts)
    head = ValueHead(models.student.get_input_embeddings().embedding_dim)
    parameters = list(models.student.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=1e-3)
    lambdas = {level: 1.0 for level in LEVELS}
    losses = []
    models.student.train()
    for _ in range(5):
        loss, _ = rollout_loss(models, rollouts, lambdas, settings, head)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def sharp_teacher(wheels_pair_dirs):
    """The tiny teacher with its output logits scaled by 8: sure of its tokens (top log-prob
    about -0.7 instead of -10), so its token is worth asking for when λ is 0."""
    teacher, _ = load_student(wheels_pair_dirs[1])
    teacher.config.tie_word_embeddings = False
    teacher.lm_head.weight = torch.nn.Parameter(teacher.lm_head.weight.detach().clone() * 8.0)
    return teacher.eval()


def test_a_large_lambda_lowers_the_ask_rate_where_lambda_zero_raises_it(
        tiny_pair, wheels_pair_dirs, references):
    teacher = sharp_teacher(wheels_pair_dirs)
    rows = [(level, reference) for level in LEVELS for reference in references]

    def usage(models) -> float:  # sampled decoding at temperature 1, the same seed each time
        return level_usage(sample_rollouts(models, rows, AskPCL(max_new_tokens=24), 99))[0.1]

    rates = {}
    for lam in (0.0, 20.0):
        models = over_asker(tiny_pair, wheels_pair_dirs, references, push=12.0, teacher=teacher)
        before = usage(models)
        train_ask_pcl(models, references, LEVELS, AskPCL(steps=3, rollouts=2, max_new_tokens=24,
                                                         lr=3e-4, eta=0.0, lambda_init=lam))
        rates[lam] = (before, usage(models))
    assert rates[0.0][0] == rates[20.0][0]  # the same start
    assert rates[20.0][1] < rates[20.0][0] - 0.05  # λ = 20: fewer asks
    assert rates[20.0][1] < rates[0.0][1] - 0.2  # where λ = 0 asks as much or more


@pytest.mark.parametrize("field, value", [("tau", 0.0), ("eta", -1.0), ("rollouts", 0),
                                          ("window", -1), ("value", "q")])
def test_settings_out_of_range_are_refused_by_name(field, value):
    from store.errors import UndoError

    with pytest.raises(UndoError, match=f"ask PCL settings: {field} = "):
        AskPCL(**{field: value})
