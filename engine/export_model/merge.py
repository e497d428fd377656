"""The Hugging Face directory of an export: the adapter merged into its base, or a complete model
copied as it is, with its tokenizer and a greedy generation config.

Merging runs in float32 on the CPU (peft's merge_and_unload: W + BA, exact in float32) and the
merged weights are saved in float32, so the directory holds what the in-process evaluation ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

from engine.export_model.source import ModelSource

# Files of a checkpoint or a converted GGUF that are no part of a model.
TRAINING_FILES = ("undo_train.json", "training_args.bin", "undo_tui_source.json")


def write_hf_model(source: ModelSource, target: Path) -> None:
    """Write the model `source` describes into the empty directory `target`."""
    if source.is_adapter:
        _merge(source, target)
    else:
        _copy(source.weights, target)
    _greedy_generation_config(target)


def _merge(source: ModelSource, target: Path) -> None:
    from engine.student.generation import load_student

    model, tokenizer = load_student(source.base, source.weights, dtype="float32", device="cpu")
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


def _copy(directory: Path, target: Path) -> None:
    """A complete model as it is; the tokenizer of the base is not needed: every complete
    student directory the engine writes holds its own (an asker's includes `<ask>`)."""
    from transformers import AutoTokenizer

    from engine.student.loading import resolve_model_dir

    directory = resolve_model_dir(directory)
    shutil.copytree(directory, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(*TRAINING_FILES, "checkpoint-*"))
    if not any(target.glob("tokenizer*")):
        AutoTokenizer.from_pretrained(directory).save_pretrained(target)


def _greedy_generation_config(target: Path) -> None:
    """generation_config.json ending answers on every EOS the evaluation stopped at."""
    from transformers import AutoTokenizer, GenerationConfig

    from engine.student.generation import eos_ids

    tokenizer = AutoTokenizer.from_pretrained(target)
    try:
        config = GenerationConfig.from_pretrained(target)
    except OSError:
        config = GenerationConfig()

    config.eos_token_id = eos_ids(SimpleNamespace(generation_config=config), tokenizer)
    config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None \
        else config.eos_token_id[0]
    config.do_sample = False
    for sampling in ("temperature", "top_p", "top_k"):
        setattr(config, sampling, None)
    config.save_pretrained(target)
