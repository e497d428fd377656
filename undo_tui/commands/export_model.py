"""`undo-tui export-model RUN --format hf|gguf --out DIR`: the trained student as a model of its own.

hf: the LoRA adapter merged into its base (or a complete checkpoint copied) with tokenizer,
generation config and a model card. gguf: that directory under DIR/hf plus GGUF files made by
llama.cpp's own converter, each checked against the HF model and given an Ollama Modelfile.
Prints each step and, last, where every file went. Engine code is imported inside `run`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from undo_tui.commands.export import _iteration
from undo_tui.commands.generate import _positive
from undo_tui.commands.run_arg import add_run_argument

FORMATS = ("hf", "gguf")  # engine.export_model.run.FORMATS, without importing it here
QUANTS = ("f32", "f16", "bf16", "q8_0")  # engine.export_model.converter.CONVERTER_TYPES


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export-model", help="export a run's student as a Hugging Face model or a GGUF",
        description="Merge the iteration's LoRA adapter into its base model (a full fine-tune, "
                    "a distilled student or an asker is copied as it is) and write a Hugging "
                    "Face directory with a model card; --format gguf also converts it with "
                    "llama.cpp's converter, checks each GGUF's greedy outputs against the HF "
                    "model and writes an Ollama Modelfile beside it.")
    add_run_argument(parser, "run_id")
    parser.add_argument("--iteration", default="best", type=_iteration, metavar="K|best",
                        help="which iteration's student (default: best; distill and ask runs "
                             "have one)")
    parser.add_argument("--format", dest="fmt", required=True, choices=FORMATS,
                        help="hf: a Hugging Face directory; gguf: that under DIR/hf plus GGUF "
                             "files and Ollama Modelfiles")
    parser.add_argument("--quant", default="f16,q8_0", type=_quants, metavar="Q[,Q]",
                        help=f"GGUF types, comma-separated, of {', '.join(QUANTS)} "
                             f"(default: f16,q8_0)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="output directory (created; must be empty unless --force)")
    parser.add_argument("--check-tokens", default=48, type=_positive, metavar="N",
                        help="new tokens per prompt in the GGUF check (default: 48)")
    parser.add_argument("--force", action="store_true", help="replace an existing DIR")
    return parser


def _quants(text: str) -> tuple[str, ...]:
    chosen = tuple(q.strip() for q in text.split(",") if q.strip())
    unknown = [q for q in chosen if q not in QUANTS]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or 'nothing'}: choose from "
                                         f"{', '.join(QUANTS)}")
    return chosen


def run(args) -> int:
    import store
    from engine.export_model.run import export_model

    db = store.open_store(args.store)
    try:
        result = export_model(db, args.run_id, args.out, iteration=args.iteration, fmt=args.fmt,
                              quants=args.quant, force=args.force,
                              check_tokens=args.check_tokens,
                              say=lambda line: print(line, flush=True))
    finally:
        db.close()
    print_result(result)
    return 0


def print_result(result) -> None:
    source = result.source
    which = f"iteration {source.iteration}" if source.iteration is not None else source.run.kind
    print(f"Exported run {source.run.id} ({source.run.name}) {which}")
    for check in result.checks:
        if check.quant == "f16" and check.identical < check.prompts:
            print(f"  warning: f16 differs from the HF model: {check.first_difference}")
    print(f"hf model:  {result.hf_dir}")
    for gguf, modelfile in zip(result.ggufs, result.modelfiles):
        print(f"gguf:      {gguf}")
        print(f"modelfile: {modelfile}")
    print(f"card:      {result.out / 'README.md'}")
