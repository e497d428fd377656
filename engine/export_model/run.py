"""Export a run's student: the HF directory, and for `gguf` the GGUF files, their check against
the HF model, an Ollama Modelfile each and the model card. All of it is written into a temp
directory beside `out` and renamed into place at the end, so a failed export leaves nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import store
from engine.export_model.card import card_facts, render_card
from engine.export_model.converter import CONVERTER_TYPES, Converter, convert, find_converter
from engine.export_model.gguf_check import FALLBACK_PROMPTS, GGUFCheck, check_gguf, hf_reference
from engine.export_model.source import ModelSource, resolve_source
from store.errors import UndoError

FORMATS = ("hf", "gguf")
QUANTS = CONVERTER_TYPES
DEFAULT_QUANTS = ("f16", "q8_0")
CHECK_PROMPTS = 20


@dataclass
class ModelExport:
    source: ModelSource
    out: Path
    hf_dir: Path
    ggufs: list[Path] = field(default_factory=list)
    modelfiles: list[Path] = field(default_factory=list)
    checks: list[GGUFCheck] = field(default_factory=list)
    converter: str | None = None


def export_model(db, run_id: int, out: Path, *, iteration: int | str = "best", fmt: str = "hf",
                 quants: tuple[str, ...] = DEFAULT_QUANTS, force: bool = False,
                 check_tokens: int = 48, say: Callable[[str], None] = lambda _: None
                 ) -> ModelExport:
    from engine.student.atomic import atomic_dir

    if fmt not in FORMATS:
        raise UndoError(f"--format {fmt}: one of {', '.join(FORMATS)}")
    out = Path(out).expanduser()
    if out.exists() and not force and (not out.is_dir() or any(out.iterdir())):
        raise UndoError(f"{out} exists and is not empty (--force replaces it)")
    source = resolve_source(db, run_id, iteration)
    converter = find_converter() if fmt == "gguf" else None  # missing: fail before any work
    facts = card_facts(db, source)
    with atomic_dir(out, replace=True) as tmp:
        hf_tmp = tmp if fmt == "hf" else tmp / "hf"
        result = ModelExport(source, out, out if fmt == "hf" else out / "hf")
        say(f"writing the Hugging Face model ({facts.how})")
        _write_hf(source, hf_tmp)
        (hf_tmp / "README.md").write_text(render_card(facts), encoding="utf-8")
        if converter is not None:
            _write_ggufs(db, source, converter, hf_tmp, tmp, quants, check_tokens, result, say)
            facts.gguf_lines = [f"`{p.name}` (Ollama: `{m.name}`)"
                                for p, m in zip(result.ggufs, result.modelfiles)]
            facts.gguf_lines += [check.line() for check in result.checks]
            facts.gguf_lines.append(f"converted by {converter.describe()}")
            (tmp / "README.md").write_text(render_card(facts), encoding="utf-8")
    return result


def _write_hf(source: ModelSource, target: Path) -> None:
    from engine.export_model.merge import write_hf_model

    target.mkdir(parents=True, exist_ok=True)
    write_hf_model(source, target)


def _write_ggufs(db, source: ModelSource, converter: Converter, hf_dir: Path, tmp: Path,
                 quants: tuple[str, ...], check_tokens: int, result: ModelExport, say) -> None:
    from transformers import AutoTokenizer

    from engine.export_model.modelfile import write_modelfile

    result.converter = converter.describe()
    questions = check_questions(db, source.run)
    say(f"greedy reference answers of the HF model on {len(questions)} prompts")
    reference = hf_reference(hf_dir, questions, source.system_prompt, check_tokens)
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    stem = _slug(source.run.name) or f"run-{source.run.id}"
    for quant in dict.fromkeys(quants):
        gguf = tmp / f"{stem}-{quant}.gguf"
        say(f"converting to {gguf.name}")
        convert(converter, hf_dir, gguf, quant)
        check = check_gguf(gguf, quant, reference)
        say(f"check: {check.line()}")
        modelfile = write_modelfile(gguf, tokenizer, source.system_prompt)
        result.ggufs.append(result.out / gguf.name)
        result.modelfiles.append(result.out / modelfile.name)
        result.checks.append(check)


def check_questions(db, run: store.Run) -> list[str]:
    """Up to CHECK_PROMPTS questions of the run's own data (validation first), else a few
    built-in ones (a run without a dataset)."""
    questions: list[str] = []
    if run.dataset_id is not None:
        for split in ("val", "test", "train"):
            missing = CHECK_PROMPTS - len(questions)
            if missing > 0:
                questions += [e.question for e in store.load_examples(db, run.dataset_id, split,
                                                                     limit=missing)]
    return questions or list(FALLBACK_PROMPTS)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
