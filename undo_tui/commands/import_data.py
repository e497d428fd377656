"""`undo-tui import PATH --dataset NAME`: read a dataset file (or a built-in task) into the store.

The module is `import_data` because `import` is a keyword; the subcommand is `import`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = ("auto", "gsm8k", "jsonl", "json", "csv", "parquet", "hf")
SPLITS = ("auto", "train", "val", "test")
ANSWER_TYPES = ("number", "choice", "math", "string", "text")
LISTED_SKIPS = 20
DEFAULT_MAX_ROW_CHARS = 100_000  # engine.importing.rows.DEFAULT_MAX_ROW_CHARS (a test checks)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "import",
        help="import a dataset file or a built-in task",
        description="Import examples into the store. Bad rows stop the import and are all named "
        "(nothing is written) unless --skip-bad is given. Re-importing adds nothing twice. When the "
        "source has no validation split, one is carved from train (10%, at most 500).",
    )
    parser.add_argument("path", type=Path, nargs="?", help="file or datasets.save_to_disk directory")
    parser.add_argument("--builtin", choices=["arith"], help="generate a built-in task instead of a file")
    parser.add_argument("--dataset", required=True, help="name of the dataset to create or add to")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="auto",
                        help="file format (auto: from the suffix, and for JSON(L) from the "
                        "content: GSM8K answers end in '#### N'); hf is a save_to_disk directory")
    parser.add_argument("--split", choices=SPLITS, default="auto",
                        help="split for rows that do not name one (auto: from the file name, else train)")
    fields = parser.add_argument_group("field mapping")
    fields.add_argument("--question", default="question", metavar="FIELD[,FIELD2]",
                        help="question field; several are joined with a blank line")
    fields.add_argument("--answer", default="answer", metavar="FIELD",
                        help="gold answer field (default: answer)")
    fields.add_argument("--rationale", metavar="FIELD",
                        help="gold rationale field, if the data has worked solutions")
    fields.add_argument("--choices", metavar="FIELD", help="list of choices (implies --answer-type choice)")
    fields.add_argument("--id", dest="id_field", metavar="FIELD",
                        help="example id field (default: an id-like field such as id or ID, "
                             "else a hash of question and answer)")
    fields.add_argument("--no-id", action="store_true",
                        help="ids from a hash of question and answer, even with an id field")
    fields.add_argument("--category", metavar="FIELD",
                        help="category field (the teacher's refinement can pick errors by it)")
    fields.add_argument("--split-field", metavar="FIELD", help="field naming each row's split")
    parser.add_argument("--answer-type", choices=ANSWER_TYPES,
                        help="default: the existing dataset's type, else choice with --choices, else "
                        "number; text: free-text references (source/reference pairs, scored by "
                        "chrF or ROUGE-L in Training Wheels sweeps)")
    val = parser.add_mutually_exclusive_group()
    val.add_argument("--val-size", type=int, metavar="N",
                     help="validation examples to carve from train (0: none); only when neither the "
                     "source nor the dataset has a validation split yet")
    val.add_argument("--val-fraction", type=float, metavar="X", help="fraction of train to carve instead")
    parser.add_argument("--seed", type=int, default=0, help="seed for carving splits and built-in tasks")
    parser.add_argument("--skip-bad", action="store_true", help="import the good rows, list the bad")
    parser.add_argument("--max-row-chars", type=int, default=DEFAULT_MAX_ROW_CHARS, metavar="N",
                        help="a row longer than this is a bad row (default %(default)s; 0: no "
                             "limit)")
    builtin = parser.add_argument_group("built-in task")
    builtin.add_argument("--n", type=int, default=300, help="problems to generate (default 300)")
    builtin.add_argument("--levels", default="1,2,3", help="difficulty levels, e.g. 1,2 (default 1,2,3)")
    builtin.add_argument("--test-size", type=int, metavar="N", help="test problems (default 10%%, at most 500)")
    return parser


def run(args) -> int:
    import store
    from engine.importing import ColumnMapping
    from engine.importing.pipeline import import_builtin, import_dataset
    from store.errors import UndoError

    if (args.path is None) == (args.builtin is None):
        raise UndoError("import: give either a PATH or --builtin arith")
    db = store.open_store(args.store)
    try:
        if args.builtin:
            summary = import_builtin(
                db, args.builtin, args.dataset, args.n, _levels(args.levels), args.seed,
                val_size=args.val_size, test_size=args.test_size, val_fraction=args.val_fraction,
            )
        else:
            mapping = ColumnMapping(
                question=_fields(args.question), answer=args.answer, rationale=args.rationale,
                choices=args.choices, id=args.id_field, category=args.category, split=args.split_field,
            )
            summary = import_dataset(
                db, args.path, args.fmt, args.dataset, mapping, _answer_type(db, args), args.split,
                args.val_size, args.seed, args.skip_bad, val_fraction=args.val_fraction,
                auto_id=not args.no_id, max_row_chars=args.max_row_chars,
            )
    finally:
        db.close()
    print(format_summary(summary))
    return 0


def format_summary(summary) -> str:
    """A few lines: what was read, what was new, what was skipped, and the dataset's splits now."""
    lines = [
        f"{summary.source} ({summary.fmt}): {summary.read} examples read, {summary.inserted} added, "
        f"{summary.already_present} already in dataset '{summary.dataset}'"
    ]
    if summary.id_field:
        lines.append(f"  example ids from field '{summary.id_field}'")
    if summary.duplicates:
        lines.append(f"  {summary.duplicates} exact repeat(s) in the source dropped")
    for split, n in summary.carved.items():
        lines.append(f"  {n} {split} examples carved from train")
    if summary.skipped:
        lines.append(f"  {len(summary.skipped)} bad row(s) skipped:")
        lines += [f"    {row}" for row in summary.skipped[:LISTED_SKIPS]]
        if len(summary.skipped) > LISTED_SKIPS:
            lines.append(f"    ... and {len(summary.skipped) - LISTED_SKIPS} more")
    counts = ", ".join(f"{split} {summary.counts.get(split, 0)}" for split in ("train", "val", "test"))
    lines.append(f"dataset '{summary.dataset}': {counts}")
    return "\n".join(lines)


def _fields(value: str) -> str | list[str]:
    from store.errors import UndoError

    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise UndoError("--question: give at least one field name")
    return names[0] if len(names) == 1 else names


def _levels(value: str) -> list[int]:
    from store.errors import UndoError

    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError as exc:
        raise UndoError(f"--levels: expected numbers like 1,2,3, got {value!r}") from exc


def _answer_type(db, args: argparse.Namespace) -> str:
    """The given type, else the existing dataset's, else choice when choices are mapped, else number."""
    import store

    if args.answer_type:
        return args.answer_type
    try:
        return store.get_dataset(db, args.dataset).answer_type
    except store.NotFound:
        return "choice" if args.choices else "number"
