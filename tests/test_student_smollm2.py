"""The real packaged SmolLM2-135M (GGUF) as a student: convert, train one LoRA step, evaluate."""

import json
import math

import pytest

from engine.config.training import TrainConfig
from engine.student.generation import generate_answers
from engine.student.loading import model_identity, resolve_model_dir
from engine.student.training import train_student
from tests.fixtures.model_fixtures import TINY_EXAMPLES

pytestmark = pytest.mark.slow


def test_gguf_converts_once_into_a_plain_hf_directory(smollm2_gguf, smollm2_dir):
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    assert (smollm2_dir / "tokenizer.json").is_file()
    stamp = (smollm2_dir / "model.safetensors").stat().st_mtime_ns
    assert resolve_model_dir(smollm2_gguf) == smollm2_dir
    assert (smollm2_dir / "model.safetensors").stat().st_mtime_ns == stamp  # not converted again
    assert model_identity(smollm2_gguf) == model_identity(smollm2_dir)
    assert model_identity(smollm2_gguf).startswith("gguf-sha256:")


def test_smollm2_trains_a_lora_step_and_answers(smollm2_gguf, smollm2_dir, tmp_path):
    config = TrainConfig(epochs=1, batch_size=2, max_length=256, warmup_ratio=0.0)
    events = []
    result = train_student(smollm2_gguf, TINY_EXAMPLES[:2], tmp_path / "ckpt", config,
                           progress=events.append)
    assert result.steps == 1 and len(events) == 1
    # A real instruct model already predicts these rationales well; a broken load gives ~ln(49152)=10.8.
    assert math.isfinite(result.final_loss) and result.final_loss < 4.0
    outputs = generate_answers(smollm2_gguf, result.checkpoint, ["What is 3 + 4?", "What is 10 - 6?"],
                               max_new_tokens=12, batch_size=2)
    assert len(outputs) == 2
    assert all(o.text.strip() and 1 <= o.new_tokens <= 12 for o in outputs)
