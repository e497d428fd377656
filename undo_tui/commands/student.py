"""`undo-tui student shrink --from MODEL --keep-layers K --out DIR`: a weaker student with the
same tokenizer, made by keeping K evenly spaced decoder layers (DistilBERT's initialisation)."""

from __future__ import annotations

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser("student", help="make students (shrink a model)",
                                   description="Tools that make student models.")
    actions = parser.add_subparsers(dest="student_action", metavar="ACTION", required=True,
                                    help="shrink: a weaker student with the same tokenizer")
    shrink = actions.add_parser(
        "shrink", help="keep K evenly spaced layers of a model (same tokenizer)",
        description="Copy MODEL keeping K evenly spaced decoder layers (first and last "
                    "included), renumbered so the KV cache works. Distil it before use: it is "
                    "weaker, and untrained it writes garbage.")
    shrink.add_argument("--from", dest="source", required=True, metavar="MODEL",
                        help="'smollm2', a GGUF file or a Hugging Face model directory")
    shrink.add_argument("--keep-layers", type=int, required=True, metavar="K",
                        help="how many decoder layers to keep (fewer: weaker and faster)")
    shrink.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="directory for the smaller model (a Hugging Face model directory)")
    shrink.add_argument("--force", action="store_true", help="replace a non-empty --out")
    return parser


def run(args) -> int:
    from engine.model_registry import model_path
    from engine.wheels.shrink import shrink_model

    result = shrink_model(model_path(args.source), args.keep_layers, args.out,
                          overwrite=args.force)
    print(f"kept layers {result.kept} of {result.layers_before} "
          f"({result.parameters / 1e6:.1f}M parameters) -> {result.out_dir}")
    return 0
