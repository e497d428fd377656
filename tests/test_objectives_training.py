"""Distillation objectives in the student trainer, on the tiny same-tokenizer pair (CPU, seconds).

The tiny student is the tiny teacher with 5% noise on every weight (tests/fixtures/wheels_fixtures):
close enough that a few steps move it measurably toward the teacher.
"""

from __future__ import annotations

import json

import pytest
import torch

from engine.config.training import TrainConfig
from engine.errors import ConfigError
from engine.student.data import PadCollator, encode_examples
from engine.student.distilling import Distillation, load_teacher, takes_sample
from engine.student.generation import eos_ids
from engine.student.loading import load_model, load_tokenizer
from engine.student.sampling import batch_prompts, sample_batch
from engine.student.training import is_complete_checkpoint, train_student
from engine.wheels.pair import PairMismatch
from tests.fixtures.model_fixtures import TINY_EXAMPLES

EXAMPLES = list(TINY_EXAMPLES[:8])


def settings(teacher, **overrides) -> TrainConfig:
    values = {"epochs": 2, "batch_size": 4, "max_length": 96, "lr": 3e-4, "warmup_ratio": 0.0,
              "dtype": "float32", "device": "cpu", "lora": False, "teacher_model": str(teacher),
              "max_new_tokens": 8}
    return TrainConfig(**{**values, **overrides})


def fixed_batch(tokenizer) -> dict:
    features = encode_examples(EXAMPLES[:4], tokenizer, 96).features
    return PadCollator(tokenizer.pad_token_id)(features)


def objective_loss(student_dir, teacher, config: TrainConfig, batch: dict) -> float:
    """The objective on `batch` as reference data (no sampling), without gradients."""
    tokenizer = load_tokenizer(student_dir)
    student = load_model(student_dir, "float32", "cpu").eval()
    fixed = config.model_copy(update={"on_policy_ratio": 0.0})
    distillation = Distillation(fixed, teacher, tokenizer.pad_token_id, eos_ids(teacher, tokenizer))
    with torch.no_grad():
        loss, _ = distillation.loss(student, batch, 0)
    return loss.item()


@pytest.fixture(scope="module")
def teacher(wheels_pair_dirs):
    return load_teacher(wheels_pair_dirs[1], torch.float32, "cpu")


@pytest.mark.parametrize("objective, knobs, part", [
    ("kd", {"temperature": 2.0}, "kl"),
    ("on_policy", {"beta": 0.5, "on_policy_ratio": 1.0}, "jsd"),
    ("pcl", {"pcl_window": 0, "on_policy_ratio": 0.5, "ce_weight": 0.1}, "residual_ms"),
])
def test_a_few_steps_lower_the_objective_on_a_fixed_batch(wheels_pair_dirs, teacher, tmp_path,
                                                           objective, knobs, part):
    student_dir, teacher_dir = wheels_pair_dirs
    tokenizer = load_tokenizer(student_dir)
    config = settings(teacher_dir, objective=objective, **knobs)
    batch = fixed_batch(tokenizer)
    if objective == "on_policy":  # its fixed batch: continuations the untrained student wrote
        torch.manual_seed(0)
        batch = sample_batch(load_model(student_dir, "float32", "cpu"), batch, 8, 1.0,
                             tokenizer.pad_token_id, [tokenizer.eos_token_id])
    before = objective_loss(student_dir, teacher, config, batch)
    events = []
    result = train_student(student_dir, EXAMPLES, tmp_path / "out", config, progress=events.append)
    after = objective_loss(tmp_path / "out", teacher, config, batch)
    assert after < 0.8 * before, (before, after)
    assert result.steps == 4 and all(part in event for event in events)
    if objective == "pcl":  # every second batch is the student's own; each carries the anchor
        assert [e["on_policy"] for e in events] == [0.0, 1.0, 0.0, 1.0]
        assert all(e["ce"] > 0 for e in events)
        assert events[1]["sample_s"] > 0 and "sample_s" not in events[0]


def test_kd_trains_and_saves_a_complete_checkpoint_with_its_loss_parts(wheels_pair_dirs, tmp_path):
    student_dir, teacher_dir = wheels_pair_dirs
    events = []
    config = settings(teacher_dir, objective="kd", lora=True, epochs=1)
    result = train_student(student_dir, EXAMPLES, tmp_path / "kd", config, progress=events.append)
    assert is_complete_checkpoint(tmp_path / "kd") and not result.stopped
    assert [e["kl"] for e in events] == [e["loss"] for e in events]  # kd's loss is its KL
    assert all("jsd" not in e and "residual_ms" not in e and "on_policy" not in e for e in events)
    info = json.loads((tmp_path / "kd" / "undo_train.json").read_text())
    assert info["config"]["objective"] == "kd" and info["steps"] == 2


def test_a_teacher_with_another_tokenizer_is_refused_before_training(wheels_pair_dirs,
                                                                     other_tokenizer_teacher,
                                                                     tmp_path):
    student_dir, _ = wheels_pair_dirs
    with pytest.raises(PairMismatch, match=r"^training\.teacher_model: .*not-in-the-student"):
        train_student(student_dir, EXAMPLES, tmp_path / "out",
                      settings(other_tokenizer_teacher, objective="kd"))
    assert not (tmp_path / "out").exists()


def test_a_missing_teacher_is_refused_naming_the_key(wheels_pair_dirs, tmp_path):
    student_dir, _ = wheels_pair_dirs
    with pytest.raises(ConfigError, match=r"^training\.teacher_model: .*no such file"):
        train_student(student_dir, EXAMPLES, tmp_path / "out",
                      settings(tmp_path / "nowhere", objective="pcl"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("ratio, pattern", [
    (0.0, [False] * 6), (1.0, [True] * 6), (0.5, [False, True] * 3),
    (1 / 3, [False, False, True] * 2),
])
def test_on_policy_batches_are_spread_evenly_by_batch_number(ratio, pattern):
    assert [takes_sample(n, ratio) for n in range(6)] == pattern


def test_student_samples_become_a_batch_with_the_prompt_masked(wheels_pair_dirs):
    student_dir, _ = wheels_pair_dirs
    tokenizer = load_tokenizer(student_dir)
    reference = fixed_batch(tokenizer)
    torch.manual_seed(0)
    sampled = sample_batch(load_model(student_dir, "float32", "cpu"), reference, 6, 1.0,
                           tokenizer.pad_token_id, [tokenizer.eos_token_id])
    for row in range(4):
        prompt = int((reference["labels"][row] == -100).long().argmin())  # first target
        assert torch.equal(sampled["input_ids"][row, :prompt], reference["input_ids"][row, :prompt])
        targets = sampled["labels"][row][sampled["labels"][row] != -100]
        assert 1 <= len(targets) <= 6
        assert (sampled["labels"][row, :prompt] == -100).all()
        assert int(sampled["attention_mask"][row].sum()) == prompt + len(targets)


def test_a_stopped_pcl_training_resumes_to_the_uninterrupted_losses(wheels_pair_dirs, tmp_path):
    """Student samples included: batch numbers, the sampling RNG and the replay buffer (the
    off-policy batches replay the samples) come back with the state."""
    student_dir, teacher_dir = wheels_pair_dirs
    config = settings(teacher_dir, objective="pcl", on_policy_ratio=0.5, batch_size=2,
                      grad_accum=2, pcl_window=2, off_policy="replay", replay_size=2)
    whole = []
    reference = train_student(student_dir, EXAMPLES, tmp_path / "ref", config, progress=whole.append)
    calls = []
    state = tmp_path / "state"
    stopped = train_student(student_dir, EXAMPLES, tmp_path / "out", config, state_dir=state,
                            should_stop=lambda: calls.append(1) or len(calls) >= 2)
    assert stopped.stopped and stopped.steps == 2
    assert (state / "checkpoint-2" / "undo_replay.pt").is_file()
    resumed_events = []
    resumed = train_student(student_dir, EXAMPLES, tmp_path / "out", config, state_dir=state,
                            progress=resumed_events.append)
    assert resumed.resumed_from_step == 2 and resumed.losses == reference.losses
    assert [e["residual_ms"] for e in resumed_events] == [e["residual_ms"] for e in whole[2:]]
    assert [e["on_policy"] for e in whole] == [0.5] * 4  # one of each step's two micro-batches


def test_pcl_with_a_value_head_trains_resumes_and_saves_the_student_alone(wheels_pair_dirs,
                                                                         tmp_path):
    """The head starts at V = 0, learns with the student, comes back on resume (LoRA checkpoints
    hold only the adapter, so it is saved beside it) and is not part of the saved student."""
    student_dir, teacher_dir = wheels_pair_dirs
    config = settings(teacher_dir, objective="pcl", pcl_value="head", pcl_window=0,
                      on_policy_ratio=0.0, lora=True, batch_size=2)
    whole = train_student(student_dir, EXAMPLES, tmp_path / "ref", config)
    assert sum(whole.losses[4:]) < sum(whole.losses[:4])  # the second epoch, the same examples
    calls = []
    state = tmp_path / "state"
    train_student(student_dir, EXAMPLES, tmp_path / "out", config, state_dir=state,
                  should_stop=lambda: calls.append(1) or len(calls) >= 3)
    assert (state / "checkpoint-3" / "undo_value_head.pt").is_file()
    resumed = train_student(student_dir, EXAMPLES, tmp_path / "out", config, state_dir=state)
    assert resumed.resumed_from_step == 3 and resumed.losses == whole.losses
    from safetensors.torch import load_file
    saved = load_file(tmp_path / "out" / "adapter_model.safetensors")
    assert saved and not any("value_head" in key for key in saved)


def test_rows_cut_before_their_end_token_are_told_apart():
    from engine.student.distilling import last_targets

    labels = torch.tensor([[-100, 5, 6, 2, -100],    # ends with the end token (2)
                           [-100, -100, 5, 6, 7],    # cut at the last column
                           [-100, 5, 6, -100, -100],  # cut before padding
                           [-100, -100, -100, -100, -100]])  # nothing to learn
    last, cut = last_targets(labels, [2])
    assert last.tolist()[:3] == [3, 4, 2] and cut.tolist() == [False, True, True, False]


def test_teacher_samples_replace_the_references_as_off_policy_data(wheels_pair_dirs, teacher):
    """With off_policy = "teacher" the batch's own completions do not matter, only its prompts."""
    student_dir, teacher_dir = wheels_pair_dirs
    tokenizer = load_tokenizer(student_dir)
    student = load_model(student_dir, "float32", "cpu").eval()
    other = [(question, "A different completion entirely.") for question, _ in EXAMPLES[:4]]
    batches = [fixed_batch(tokenizer),
               PadCollator(tokenizer.pad_token_id)(encode_examples(other, tokenizer, 96).features)]
    losses = {}
    for off_policy in ("references", "teacher"):
        config = settings(teacher_dir, objective="kd", off_policy=off_policy)
        distillation = Distillation(config, teacher, tokenizer.pad_token_id,
                                    eos_ids(teacher, tokenizer))
        for index, batch in enumerate(batches):
            torch.manual_seed(0)
            with torch.no_grad():
                losses[off_policy, index] = distillation.loss(student, batch, 0)
    assert losses["teacher", 0][0].item() == losses["teacher", 1][0].item()
    assert losses["references", 0][0].item() != losses["references", 1][0].item()
    assert "teacher_sample_s" in losses["teacher", 0][1]


def test_progress_counts_the_tokens_of_the_batches_trained_on(wheels_pair_dirs, tmp_path):
    """On-policy batches are the student's short samples, not the references they replace."""
    student_dir, teacher_dir = wheels_pair_dirs
    references = train_student(student_dir, EXAMPLES, tmp_path / "kd",
                               settings(teacher_dir, objective="kd", epochs=1))
    sampled = train_student(student_dir, EXAMPLES, tmp_path / "op",
                            settings(teacher_dir, objective="on_policy", epochs=1,
                                     on_policy_ratio=1.0, max_new_tokens=2))
    tokenizer = load_tokenizer(student_dir)
    features = encode_examples(EXAMPLES, tokenizer, 96).features
    prompts = sum(len(p) for p in batch_prompts(PadCollator(tokenizer.pad_token_id)(features)))
    assert prompts < sampled.tokens <= prompts + 2 * len(EXAMPLES) < references.tokens


def test_the_replay_buffer_keeps_the_newest_batches_and_replays_them_in_turn(tmp_path):
    from engine.student.replay import ReplayBuffer

    buffer = ReplayBuffer(2)
    assert buffer.pick(0, "cpu") is None  # nothing sampled yet: the references are used
    for value in (1, 2, 3):
        buffer.add({key: torch.full((1, 2), value) for key in ("input_ids", "attention_mask",
                                                                "labels", "use_cache")})
    assert [int(buffer.pick(n, "cpu")["input_ids"][0, 0]) for n in range(4)] == [2, 3, 2, 3]
    assert set(buffer.pick(0, "cpu")) == {"input_ids", "attention_mask", "labels"}
    buffer.save(tmp_path)
    again = ReplayBuffer(2)
    again.load(tmp_path)
    assert [int(b["input_ids"][0, 0]) for b in again.batches] == [2, 3]
