"""Loading a student and a teacher as a checked same-tokenizer pair, ready for assisted decoding."""

from __future__ import annotations

from pathlib import Path

from engine.wheels.decoding import Models
from engine.wheels.pair import PairMismatch, check_pair


def load_pair(student_path: Path, teacher_path: Path, dtype: str = "float32",
              device: str | None = None, student_adapter: Path | None = None,
              teacher: tuple | None = None):
    """(Models, tokenizer): both models in eval mode; PairMismatch if they cannot trade tokens.
    `teacher` (model, tokenizer) reuses a teacher already loaded from `teacher_path`."""
    from engine.student.generation import eos_ids, load_student

    student, student_tokenizer = load_student(Path(student_path), student_adapter, dtype, device)
    teacher, teacher_tokenizer = teacher or load_student(Path(teacher_path), None, dtype, device)
    pair = check_pair(student_tokenizer, teacher_tokenizer, f"student {student_path}",
                      f"teacher {teacher_path}")
    vocab = min(pair.vocab_size, _logit_width(student), _logit_width(teacher))
    if pair.ask_token_id is not None and pair.ask_token_id < vocab:
        raise PairMismatch(f"student {student_path}: its <ask> token (id {pair.ask_token_id}) "
                           "sits inside the shared vocabulary; it must be a new, last token")
    eos = list(dict.fromkeys(eos_ids(teacher, teacher_tokenizer) + eos_ids(student, student_tokenizer)))
    pad = teacher_tokenizer.pad_token_id
    models = Models(student=student, teacher=teacher, vocab_size=vocab, eos_ids=eos,
                    pad_id=pad if pad is not None else eos[0], ask_token_id=pair.ask_token_id)
    return models, teacher_tokenizer


def _logit_width(model) -> int:
    return int(model.get_output_embeddings().weight.shape[0])
