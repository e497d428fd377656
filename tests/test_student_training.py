"""Training the tiny student: determinism, progress, stop and resume, atomic checkpoints, continue,
full FT."""

import json
import math

import pytest
import torch
from pydantic import ValidationError
from safetensors.torch import load_file

from engine.config.training import TrainConfig
from engine.student.resume import latest_checkpoint
from engine.student.training import is_complete_checkpoint, train_student


def test_same_seed_same_losses_and_adapter(tiny_student, tmp_path):
    first = tiny_student.train(tmp_path / "a", epochs=2, batch_size=4, lora_dropout=0.1)
    second = tiny_student.train(tmp_path / "b", epochs=2, batch_size=4, lora_dropout=0.1)
    assert first.losses == second.losses and len(first.losses) == 4
    a = load_file(tmp_path / "a" / "adapter_model.safetensors")
    b = load_file(tmp_path / "b" / "adapter_model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = tiny_student.train(tmp_path / "c", epochs=2, batch_size=4, lora_dropout=0.1, seed=1)
    assert other.losses != first.losses


def test_result_and_progress_events(tiny_student, tmp_path):
    events = []
    config = tiny_student.config(epochs=2, batch_size=4)
    result = train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "ckpt", config,
                           progress=events.append)
    assert result.steps == 4 and not result.stopped and result.examples == 8
    assert [e["step"] for e in events] == [1, 2, 3, 4]
    assert all(e["stage"] == "train" and e["total_steps"] == 4 for e in events)
    assert events[-1]["eta_s"] == 0 and events[-1]["epoch"] == pytest.approx(2.0)
    assert all(e["tokens_per_s"] > 0 and math.isfinite(e["loss"]) for e in events)
    assert result.final_loss == events[-1]["loss"] and events[-1]["tokens"] == result.tokens
    assert [e["tokens"] for e in events] == sorted(e["tokens"] for e in events)
    assert result.mean_loss == pytest.approx(sum(e["loss"] for e in events) / 4)
    assert 2 * 8 * 40 < result.tokens < 2 * 8 * 120  # real tokens only: ~60-90 per example
    assert result.checkpoint == tmp_path / "ckpt" and is_complete_checkpoint(result.checkpoint)
    info = json.loads((result.checkpoint / "undo_train.json").read_text())
    assert info["steps"] == 4 and info["base_model"].startswith("dir-sha256:")
    assert (result.checkpoint / "adapter_config.json").is_file()
    assert (result.checkpoint / "tokenizer.json").is_file()


def test_loss_is_on_completion_tokens_only(tiny_student, tmp_path):
    """Same completions after very different prompts: prompt tokens must not enter the loss."""
    short = [("q", c) for _, c in tiny_student.examples]
    long = [("a much longer question " * 20, c) for _, c in tiny_student.examples]
    a = tiny_student.train(tmp_path / "s", examples=short, lr=1e-9)
    b = tiny_student.train(tmp_path / "l", examples=long, lr=1e-9)
    assert a.losses[0] == pytest.approx(b.losses[0], rel=0.02)  # random model: loss ~ ln(vocab) either way
    assert b.tokens > a.tokens + 8 * 40  # ...but many more tokens were processed


def test_stop_request_ends_after_the_current_step_and_saves(tiny_student, tmp_path):
    calls = []
    config = tiny_student.config(epochs=3, batch_size=2)
    result = train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "ckpt", config,
                           should_stop=lambda: calls.append(1) or len(calls) >= 2)
    assert result.stopped and result.steps == 2
    assert (tmp_path / "ckpt" / "adapter_model.safetensors").is_file()  # the weights so far
    assert json.loads((tmp_path / "ckpt" / "undo_train.json").read_text())["stopped"] is True
    assert not is_complete_checkpoint(tmp_path / "ckpt")  # a stopped training is not complete


def _stop_at(step: int):
    """should_stop for train_student: true from the `step`-th optimizer step on."""
    calls = []
    return lambda: calls.append(1) or len(calls) >= step


def _adapter(path):
    return load_file(path / "adapter_model.safetensors")


def _same_adapter(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("stop_step,grad_accum", [(4, 1), (5, 1), (3, 2)],
                         ids=["epoch-boundary", "mid-epoch", "mid-epoch-grad-accum"])
def test_stop_then_resume_ends_exactly_like_an_uninterrupted_training(
        tiny_student, tmp_path, stop_step, grad_accum):
    """Optimizer, scheduler, RNG (LoRA dropout) and sampler position all come back."""
    settings = dict(epochs=3, batch_size=2, grad_accum=grad_accum, lora_dropout=0.2, lr=5e-3)
    reference = tiny_student.train(tmp_path / "ref", **settings)
    state = tmp_path / "state"
    config = tiny_student.config(**settings)
    stopped = train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "out", config,
                            should_stop=_stop_at(stop_step), state_dir=state)
    assert stopped.stopped and stopped.steps == stop_step
    assert latest_checkpoint(state).name == f"checkpoint-{stop_step}"
    events = []
    resumed = train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "out", config,
                            progress=events.append, state_dir=state)
    assert resumed.resumed_from_step == stop_step and not resumed.stopped
    assert events[0]["step"] == stop_step + 1  # continued, not retrained from step 1
    assert resumed.losses == reference.losses and resumed.tokens == reference.tokens
    assert _same_adapter(_adapter(tmp_path / "out"), _adapter(tmp_path / "ref"))
    assert is_complete_checkpoint(tmp_path / "out") and not state.exists()


def test_a_kill_resumes_from_the_last_complete_saved_step(tiny_student, tmp_path):
    """save_steps checkpoints survive a crash; a half-written newer one is ignored."""
    settings = dict(epochs=3, batch_size=2, lora_dropout=0.2, lr=5e-3, save_steps=2)
    reference = tiny_student.train(tmp_path / "ref", **settings)
    state = tmp_path / "state"
    config = tiny_student.config(**settings)

    def crash():
        if crash.calls == 5:
            raise KeyboardInterrupt("killed")  # dies between saves, like a SIGKILL
        crash.calls += 1
        return False

    crash.calls = 0
    with pytest.raises(KeyboardInterrupt):
        train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "out", config,
                      should_stop=crash, state_dir=state)
    assert latest_checkpoint(state).name == "checkpoint-4"
    assert not (tmp_path / "out").exists()
    (state / "checkpoint-6").mkdir()  # a save the kill interrupted: no completion marker
    (state / "checkpoint-6" / "trainer_state.json").write_text("{")
    resumed = train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "out", config,
                            state_dir=state)
    assert resumed.resumed_from_step == 4 and resumed.losses == reference.losses
    assert _same_adapter(_adapter(tmp_path / "out"), _adapter(tmp_path / "ref"))


def test_saved_state_for_other_data_is_discarded(tiny_student, tmp_path):
    state = tmp_path / "state"
    config = tiny_student.config(epochs=2, batch_size=2)
    train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "out", config,
                  should_stop=_stop_at(2), state_dir=state)
    fewer = tiny_student.examples[:6]  # e.g. examples excluded between the stop and the resume
    result = train_student(tiny_student.model_dir, fewer, tmp_path / "out", config, state_dir=state)
    reference = tiny_student.train(tmp_path / "ref", examples=fewer, epochs=2, batch_size=2)
    assert result.resumed_from_step == 0 and result.losses == reference.losses


def test_save_settings_are_validated():
    with pytest.raises(ValueError, match="save_steps"):
        TrainConfig(save_steps=-1)


def test_a_failed_save_keeps_the_previous_checkpoint(tiny_student, tmp_path, monkeypatch):
    out = tmp_path / "ckpt"
    tiny_student.train(out)
    before = (out / "adapter_model.safetensors").read_bytes()
    from peft import PeftModel

    def crash(self, path, *args, **kwargs):
        (path / "adapter_model.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(PeftModel, "save_pretrained", crash)
    with pytest.raises(OSError, match="disk full"):
        tiny_student.train(out, seed=5)
    assert (out / "adapter_model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_continue_from_an_adapter(tiny_student, tmp_path):
    first = tiny_student.train(tmp_path / "it1", epochs=3, lr=1e-2)
    resumed = train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "it2",
                            tiny_student.config(lr=1e-9), init_adapter=first.checkpoint)
    fresh = tiny_student.train(tmp_path / "fresh", lr=1e-9)
    assert resumed.losses[0] < fresh.losses[0] - 0.05  # it starts where iteration 1 ended
    assert resumed.losses[0] == pytest.approx(first.losses[-1], abs=0.1)
    with pytest.raises(ValueError, match="no adapter_config.json"):
        train_student(tiny_student.model_dir, tiny_student.examples, tmp_path / "x",
                      tiny_student.config(), init_adapter=tmp_path)


def test_full_fine_tuning_saves_a_whole_model_that_evaluation_loads(tiny_student, tmp_path):
    from engine.student.generation import load_student

    result = tiny_student.train(tmp_path / "full", lora=False, lr=1e-3, epochs=2, dtype="auto")
    assert (tmp_path / "full" / "config.json").is_file()
    assert not (tmp_path / "full" / "adapter_config.json").exists()
    assert result.losses[-1] < result.losses[0]  # bf16 autocast over fp32 master weights
    # The loop passes (base, checkpoint) whatever kind of checkpoint an iteration produced.
    tuned, _ = load_student(tiny_student.model_dir, result.checkpoint, dtype="float32", device="cpu")
    base, _ = load_student(tiny_student.model_dir, None, dtype="float32", device="cpu")
    name = "model.layers.0.mlp.up_proj.weight"
    assert not torch.equal(tuned.state_dict()[name], base.state_dict()[name])


@pytest.mark.parametrize("batching", ["packed", "random", "pad_max"])
def test_other_batching_modes_train(tiny_student, tmp_path, batching):
    result = tiny_student.train(tmp_path / batching, batching=batching, epochs=1)
    assert result.steps == 2 and math.isfinite(result.final_loss)
    assert 8 * 40 < result.tokens < 8 * 120  # padding (pad_max: to 128) is never counted


def test_config_validation_names_the_field():
    for bad in ({"batching": "sorted"}, {"lora_r": 0}, {"dtype": "int4"}, {"epoch": 3}):
        with pytest.raises(ValidationError) as info:
            TrainConfig.model_validate(bad)
        assert [error["loc"] for error in info.value.errors()] == [tuple(bad)]
    config = TrainConfig(target_modules=["q_proj"])
    assert TrainConfig.model_validate(config.model_dump(mode="json")) == config


def test_nothing_to_train_is_an_error(tiny_student, tmp_path):
    with pytest.raises(ValueError, match="no trainable examples"):
        train_student(tiny_student.model_dir, [("q " * 300, "Answer: 1")], tmp_path / "x",
                      tiny_student.config(max_length=32))
