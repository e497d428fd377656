"""Known answers for the distillation losses on a 3-token, 3-word example worked out by hand.

Row layout of the examples: position 0 is a prompt token (masked), positions 1-3 are the three
response tokens, position 4 is padding (masked). Teacher and student logits are logs of simple
probabilities so every expected value below is a short sum of logs.
"""

from __future__ import annotations

import math

import pytest
import torch

from engine.student.objectives.kd import forward_kl
from engine.student.objectives.on_policy import generalized_jsd
from engine.student.objectives.pcl import pcl_loss, pcl_residuals
from engine.student.objectives.tokens import align

TEACHER_P = [0.5, 0.25, 0.25]  # the teacher's distribution at every response position
STUDENT_P = [0.25, 0.5, 0.25]
MASK = torch.tensor([[False, True, True, True, False]])
LN2 = math.log(2)


def logits_from(rows: list[list[float]]) -> torch.Tensor:
    """(1, 5, 3) logits: log of the given 3 rows at positions 1-3, arbitrary at 0 and 4."""
    out = torch.tensor([[[3.0, -1.0, 0.5]] + [[math.log(v) for v in row] for row in rows]
                        + [[-2.0, 4.0, 1.0]]])
    return out.requires_grad_(True)


def teacher_logits() -> torch.Tensor:
    return logits_from([TEACHER_P] * 3)


def student_logits() -> torch.Tensor:
    return logits_from([STUDENT_P] * 3)


def test_forward_kl_by_hand():
    # KL(T || S) = 0.5 ln(0.5/0.25) + 0.25 ln(0.25/0.5) + 0.25 ln(0.25/0.25) = 0.25 ln 2 per token
    loss = forward_kl(student_logits(), teacher_logits(), MASK)
    assert loss.item() == pytest.approx(0.25 * LN2, rel=1e-6)


def test_forward_kl_temperature_softens_and_scales_by_t_squared():
    # T = 2: softmax(log p / 2) is sqrt(p) normalised; teacher (a, .5, .5)/z, student (.5, a, .5)/z
    a = math.sqrt(0.5)
    z = a + 1.0
    by_hand = (a / z) * math.log(a / 0.5) + (0.5 / z) * math.log(0.5 / a)  # third terms cancel
    loss = forward_kl(student_logits(), teacher_logits(), MASK, temperature=2.0)
    assert loss.item() == pytest.approx(4 * by_hand, rel=1e-6)


@pytest.mark.parametrize("beta, by_hand", [
    (0.0, 0.25 * LN2),  # forward KL(T || S), as above
    (1.0, 0.25 * math.log(0.25 / 0.5) + 0.5 * math.log(0.5 / 0.25)),  # reverse KL(S || T)
    # m = (0.375, 0.375, 0.25); KL(T||m) = KL(S||m) = 0.5 ln(0.5/0.375) + 0.25 ln(0.25/0.375)
    (0.5, 0.5 * math.log(0.5 / 0.375) + 0.25 * math.log(0.25 / 0.375)),
    # m = 0.25 T + 0.75 S = (0.3125, 0.4375, 0.25)
    (0.25, 0.25 * (0.5 * math.log(0.5 / 0.3125) + 0.25 * math.log(0.25 / 0.4375))
     + 0.75 * (0.25 * math.log(0.25 / 0.3125) + 0.5 * math.log(0.5 / 0.4375))),
])
def test_generalized_jsd_by_hand(beta, by_hand):
    loss = generalized_jsd(student_logits(), teacher_logits(), MASK, beta=beta)
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)


# PCL example: student rows (as unnormalised weights) and the actions taken.
#   s_0: weights (1, 1, 2) -> V = ln 4, action 0 with pi = 1/4
#   s_1: weights (2, 1, 1) -> V = ln 4, action 1 with pi = 1/4
#   s_2: weights (1, 1, 1) -> V = ln 3, action 2 with pi = 1/3
# teacher (0.5, 0.25, 0.25) everywhere -> rewards ln .5, ln .25, ln .25. tau = 1.
PCL_STUDENT = [[1.0, 1.0, 2.0], [2.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
ACTIONS = torch.tensor([[2, 0, 1, 2, 0]])  # position 0 and 4 are masked; 1-3 take 0, 1, 2
V = [math.log(4), math.log(4), math.log(3)]
R = [math.log(0.5), math.log(0.25), math.log(0.25)]
LOG_PI = [math.log(1 / 4), math.log(1 / 4), math.log(1 / 3)]
STEP = [r - lp for r, lp in zip(R, LOG_PI)]  # r - tau log pi: ln 2, 0, ln .75

PCL_CASES = {
    # d = 1: C_t = -V_t + V_{t+1} + step_t, V after the end = 0
    1: [-V[0] + V[1] + STEP[0], -V[1] + V[2] + STEP[1], -V[2] + STEP[2]],
    # d = 2
    2: [-V[0] + V[2] + STEP[0] + STEP[1], -V[1] + STEP[1] + STEP[2], -V[2] + STEP[2]],
    # d = 0: to the end
    0: [-V[0] + sum(STEP), -V[1] + STEP[1] + STEP[2], -V[2] + STEP[2]],
}


@pytest.mark.parametrize("window", sorted(PCL_CASES))
def test_pcl_residuals_by_hand(window):
    expected = PCL_CASES[window]
    residuals = pcl_residuals(logits_from(PCL_STUDENT), teacher_logits(), ACTIONS, MASK,
                              tau=1.0, window=window)
    assert residuals[0, 1:4].tolist() == pytest.approx(expected, abs=1e-6)
    assert residuals[0, [0, 4]].tolist() == [0.0, 0.0]
    loss = pcl_loss(logits_from(PCL_STUDENT), teacher_logits(), ACTIONS, MASK, window=window)
    assert loss.item() == pytest.approx(sum(0.5 * c * c for c in expected) / 3, rel=1e-6)


def test_pcl_d1_values_written_out():
    # The d = 1 case with the numbers substituted: ln 2, ln 3 - ln 4 = ln .75, -ln 4.
    residuals = pcl_residuals(logits_from(PCL_STUDENT), teacher_logits(), ACTIONS, MASK)
    assert residuals[0, 1:4].tolist() == pytest.approx([LN2, math.log(0.75), -math.log(4)], abs=1e-6)


def test_pcl_tau_scales_values_and_entropy():
    # tau = 2, d = 1 at s_0: pi = softmax(z / 2) over weights sqrt(1, 1, 2), V = 2 ln(2 + sqrt 2);
    # s_1 has the same V; so C_0 = -V + V + ln .5 - 2 ln(1 / (2 + sqrt 2)).
    residuals = pcl_residuals(logits_from(PCL_STUDENT), teacher_logits(), ACTIONS, MASK, tau=2.0)
    assert residuals[0, 1].item() == pytest.approx(math.log(0.5) + 2 * math.log(2 + math.sqrt(2)),
                                                   rel=1e-6)


def test_student_equal_to_teacher_gives_zero_kl_and_jsd():
    same = teacher_logits()
    assert forward_kl(same, teacher_logits(), MASK).item() == pytest.approx(0.0, abs=1e-7)
    for beta in (0.0, 0.5, 1.0):
        assert generalized_jsd(same, teacher_logits(), MASK, beta=beta).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("window", [0, 1, 2])
def test_pcl_residuals_vanish_when_student_logits_are_the_teachers_log_probs(window):
    # The condition under which they vanish: same policy, tau = 1, and normalised logits
    # (logsumexp = 0, so V = 0 everywhere). Random teacher logits, student = log_softmax of them.
    torch.manual_seed(0)
    teacher = torch.randn(2, 6, 5) * 3
    student = torch.log_softmax(teacher, dim=-1)
    actions = torch.randint(0, 5, (2, 6))
    mask = torch.tensor([[0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1]], dtype=torch.bool)
    residuals = pcl_residuals(student, teacher, actions, mask, tau=1.0, window=window)
    assert residuals.abs().max().item() < 1e-5


def test_pcl_residuals_of_raw_teacher_logits_are_value_differences():
    # The same policy with unnormalised logits: every step term is 0 and C_t = V(s_{t+1}) - V(s_t)
    # (d = 1), -V(s_t) at the end: the identity does not hold for arbitrary logits.
    torch.manual_seed(1)
    teacher = torch.randn(1, 4, 5) * 3
    actions = torch.randint(0, 5, (1, 4))
    mask = torch.ones(1, 4, dtype=torch.bool)
    values = torch.logsumexp(teacher, dim=-1)[0]
    residuals = pcl_residuals(teacher.clone(), teacher, actions, mask, tau=1.0, window=1)[0]
    expected = torch.cat([values[1:], torch.zeros(1)]) - values
    assert torch.allclose(residuals, expected, atol=1e-5)
    assert residuals.abs().max().item() > 0.1


def test_packed_row_gives_the_residuals_of_separate_rows():
    torch.manual_seed(2)
    student, teacher = torch.randn(1, 9, 4), torch.randn(1, 9, 4)
    actions = torch.randint(0, 4, (1, 9))
    # two trajectories in one row: [prompt, a, a, a, prompt, prompt, b, b, pad]
    mask = torch.tensor([[0, 1, 1, 1, 0, 0, 1, 1, 0]], dtype=torch.bool)
    for window in (0, 1, 2, 5):
        packed = pcl_residuals(student, teacher, actions, mask, window=window)
        first = pcl_residuals(student[:, :4], teacher[:, :4], actions[:, :4], mask[:, :4],
                              window=window)
        second = pcl_residuals(student[:, 4:], teacher[:, 4:], actions[:, 4:], mask[:, 4:],
                               window=window)
        assert torch.allclose(packed, torch.cat([first, second], dim=1), atol=1e-6)


LOSSES = {
    "kd": lambda s, t: forward_kl(s, t, MASK, temperature=1.5),
    "jsd": lambda s, t: generalized_jsd(s, t, MASK, beta=0.3),
    "pcl_d1": lambda s, t: pcl_loss(s, t, ACTIONS, MASK, tau=1.0, window=1),
    "pcl_end": lambda s, t: pcl_loss(s, t, ACTIONS, MASK, tau=0.5, window=0),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("position", [0, 4])
def test_masked_positions_change_nothing(name, position):
    loss = LOSSES[name]
    before = loss(logits_from(PCL_STUDENT), teacher_logits()).item()
    student, teacher = logits_from(PCL_STUDENT).detach(), teacher_logits().detach()
    student[0, position] = torch.tensor([9.0, -7.0, 2.0])
    teacher[0, position] = torch.tensor([-5.0, 8.0, 0.0])
    assert loss(student, teacher).item() == before


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_reach_only_the_student(name):
    student, teacher = logits_from(PCL_STUDENT), teacher_logits()
    LOSSES[name](student, teacher).backward()
    assert teacher.grad is None
    assert student.grad[0, 1:4].abs().sum().item() > 0
    assert student.grad[0, [0, 4]].abs().sum().item() == 0


def test_align_masks_prompt_and_padding_and_shifts_by_one():
    logits = torch.arange(5 * 3, dtype=torch.float).reshape(1, 5, 3)
    labels = torch.tensor([[-100, -100, 2, 1, -100]])
    shifted, actions, mask = align(logits, labels)
    assert shifted.shape == (1, 4, 3) and torch.equal(shifted[0, 1], logits[0, 1])
    assert mask.tolist() == [[False, True, True, False]]
    assert actions.tolist() == [[0, 2, 1, 0]]


@pytest.mark.parametrize("call", [
    lambda: forward_kl(student_logits(), teacher_logits(), MASK, temperature=0.0),
    lambda: generalized_jsd(student_logits(), teacher_logits(), MASK, beta=1.5),
    lambda: pcl_residuals(student_logits(), teacher_logits(), ACTIONS, MASK, tau=0.0),
    lambda: pcl_residuals(student_logits(), teacher_logits(), ACTIONS, MASK, window=-1),
])
def test_out_of_range_knobs_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_pcl_with_given_values_keeps_the_policy_of_the_logits():
    # Same example, but V comes from elsewhere (a value head): V = (1, 2, 0.5) at s_0..s_2.
    # The step terms keep the policy softmax(z): STEP as above; d = 1.
    values = torch.tensor([[7.0, 1.0, 2.0, 0.5, 9.0]])  # positions 0 and 4 are masked
    residuals = pcl_residuals(logits_from(PCL_STUDENT), teacher_logits(), ACTIONS, MASK,
                              values=values)
    expected = [-1.0 + 2.0 + STEP[0], -2.0 + 0.5 + STEP[1], -0.5 + STEP[2]]
    assert residuals[0, 1:4].tolist() == pytest.approx(expected, abs=1e-6)


def test_pcl_residuals_of_the_teacher_itself_vanish_with_zero_values():
    # A value head starting at 0 (the optimum for tau = 1) makes the residuals of a student
    # equal to the teacher vanish whatever the logits' normaliser.
    torch.manual_seed(1)
    teacher = torch.randn(1, 4, 5) * 3 + 20
    actions = torch.randint(0, 5, (1, 4))
    mask = torch.ones(1, 4, dtype=torch.bool)
    residuals = pcl_residuals(teacher.clone(), teacher, actions, mask, window=0,
                              values=torch.zeros(1, 4))
    assert residuals.abs().max().item() < 1e-5


@pytest.mark.parametrize("window, expected", [
    # V after the end is 2.0 instead of 0: every window that reaches the end gains 2.0
    (1, [-V[0] + V[1] + STEP[0], -V[1] + V[2] + STEP[1], -V[2] + 2.0 + STEP[2]]),
    (2, [-V[0] + V[2] + STEP[0] + STEP[1], -V[1] + 2.0 + STEP[1] + STEP[2], -V[2] + 2.0 + STEP[2]]),
    (0, [-V[0] + 2.0 + sum(STEP), -V[1] + 2.0 + STEP[1] + STEP[2], -V[2] + 2.0 + STEP[2]]),
])
def test_a_cut_sequence_bootstraps_from_its_tail_value(window, expected):
    residuals = pcl_residuals(logits_from(PCL_STUDENT), teacher_logits(), ACTIONS, MASK,
                              window=window, tail_values=torch.tensor([2.0]))
    assert residuals[0, 1:4].tolist() == pytest.approx(expected, abs=1e-6)


def test_only_a_packed_row_s_last_trajectory_takes_the_tail_value():
    torch.manual_seed(3)
    student, teacher = torch.randn(1, 8, 4), torch.randn(1, 8, 4)
    actions = torch.randint(0, 4, (1, 8))
    mask = torch.tensor([[0, 1, 1, 0, 1, 1, 1, 0]], dtype=torch.bool)
    plain = pcl_residuals(student, teacher, actions, mask, window=0)
    tailed = pcl_residuals(student, teacher, actions, mask, window=0, tail_values=torch.tensor([1.5]))
    assert torch.allclose(tailed - plain, torch.tensor([[0, 0, 0, 0, 1.5, 1.5, 1.5, 0]]))
