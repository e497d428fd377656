"""A student and a teacher may only trade single tokens when they share one tokenizer.

Token-level help needs the teacher's token id to mean the same text to the student, and both
models' logits to index the same vocabulary. The check compares the vocabularies and the special
tokens; a student trained to ask (part 2) may carry exactly one extra token, `<ask>`, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.errors import UndoError

ASK_TOKEN = "<ask>"


class PairMismatch(UndoError):
    """The two models do not share a tokenizer; the message says where they differ."""


@dataclass(frozen=True)
class Pair:
    vocab_size: int  # ids both models understand: logits are compared on [:vocab_size]
    ask_token_id: int | None  # the student's <ask> token, when it has one


def check_pair(student_tokenizer, teacher_tokenizer, student_name: str = "student",
               teacher_name: str = "teacher") -> Pair:
    """The shared vocabulary, or PairMismatch naming the first difference found."""
    student_vocab = student_tokenizer.get_vocab()
    teacher_vocab = teacher_tokenizer.get_vocab()
    ask_id = student_vocab.get(ASK_TOKEN)
    if ask_id is not None and ASK_TOKEN not in teacher_vocab:
        student_vocab = {t: i for t, i in student_vocab.items() if t != ASK_TOKEN}
    if student_vocab != teacher_vocab:
        raise PairMismatch(_vocab_difference(student_vocab, teacher_vocab, student_name,
                                             teacher_name))
    for attribute in ("bos_token", "eos_token", "pad_token", "unk_token"):
        mine, theirs = getattr(student_tokenizer, attribute), getattr(teacher_tokenizer, attribute)
        if mine != theirs:
            raise PairMismatch(f"{student_name} and {teacher_name} use different special tokens: "
                               f"{attribute} is {mine!r} vs {theirs!r}")
    extra_student = _added(student_tokenizer) - {ASK_TOKEN}
    if extra_student != _added(teacher_tokenizer):
        raise PairMismatch(f"{student_name} and {teacher_name} declare different special tokens: "
                           f"{sorted(extra_student ^ _added(teacher_tokenizer))[:5]}")
    return Pair(vocab_size=len(teacher_vocab), ask_token_id=ask_id)


def _added(tokenizer) -> set[str]:
    return {str(token) for token in tokenizer.all_special_tokens}


def _vocab_difference(student: dict, teacher: dict, student_name: str, teacher_name: str) -> str:
    head = (f"{student_name} and {teacher_name} do not share a tokenizer "
            f"({len(student)} vs {len(teacher)} tokens)")
    only_student = sorted(set(student) - set(teacher), key=student.get)
    only_teacher = sorted(set(teacher) - set(student), key=teacher.get)
    if only_student or only_teacher:
        examples = [f"{t!r} only in {student_name}" for t in only_student[:2]]
        examples += [f"{t!r} only in {teacher_name}" for t in only_teacher[:2]]
        return f"{head}: {', '.join(examples)}; token-level help needs one tokenizer"
    moved = next(t for t in sorted(student, key=student.get) if student[t] != teacher[t])
    return (f"{head}: token {moved!r} has id {student[moved]} in {student_name} but "
            f"{teacher[moved]} in {teacher_name}; token-level help needs one tokenizer")
