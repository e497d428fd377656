"""The student: load (HF dir or GGUF), fine-tune (LoRA), and generate answers for evaluation.

Names are exported lazily so importing the package stays free of torch/transformers.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "TrainConfig": "engine.config.training",
    "TrainResult": "engine.student.result",
    "train_student": "engine.student.training",
    "is_complete_checkpoint": "engine.student.training",
    "GenerationOutput": "engine.student.generation",
    "GenerationStopped": "engine.student.generation",
    "generate_answers": "engine.student.generation",
    "generate_with_model": "engine.student.generation",
    "load_student": "engine.student.generation",
    "build_prompt": "engine.student.prompting",
    "model_identity": "engine.student.loading",
    "resolve_model_dir": "engine.student.loading",
    "load_model": "engine.student.loading",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'engine.student' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
