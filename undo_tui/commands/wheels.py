"""`undo-tui wheels sweep CONFIG`: Training Wheels at several teacher budgets per policy, stored
as a run (kind 'wheels'); stop with `undo-tui stop RUN` or Ctrl-C, continue with `undo-tui resume
RUN` (finished points are kept). `undo-tui wheels teach-ask CONFIG [--out DIR]`: a student that
asks (its `<ask>` token, warm-started on deferral labels, then with `--pcl-steps N` trained by
constrained PCL on its own rollouts), for the sweep's `learned` policy; a run of kind 'ask'
(stop, resume from the last checkpoint, status), its asker in runs/run-N/asker and copied to
--out."""

from __future__ import annotations

from pathlib import Path

from undo_tui.commands.run_arg import add_run_argument


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "wheels", help="Training Wheels: the student asks a same-tokenizer teacher for tokens",
        description="Assisted decoding under a budget on teacher use (Training Wheels).")
    actions = parser.add_subparsers(dest="wheels_action", metavar="ACTION", required=True,
                                    help="sweep: evaluate policies at budgets (a run); "
                                         "teach-ask: train a student to ask")
    sweep = actions.add_parser(
        "sweep", help="evaluate a split at several budgets for each policy (a run)",
        description="Create a sweep from CONFIG (TOML: [sweep] [models] ...; see "
                    "sample_runs/wheels/wheels-arith.toml, `undo-tui config check CONFIG`, "
                    "`undo-tui config schema --sweep`) and compute its points in this terminal. "
                    "Each finished point is stored; resume skips them.")
    sweep.add_argument("config", type=Path, help="sweep configuration (TOML)")
    sweep.add_argument("--create-only", action="store_true",
                       help="record the sweep and print its id without computing it")
    add = actions.add_parser(
        "add", help="add points to a sweep (e.g. a student that asks) and compute them",
        description="Append points to sweep RUN without measuring its other points again: "
                    "POLICIES at BUDGETS (anchors take their fixed budget), with --asker as the "
                    "learned policy's student. Then compute the pending points here, as resume "
                    "does.")
    add_run_argument(add, "run")
    add.add_argument("--policies", required=True, metavar="NAMES",
                     help="comma-separated: learned, random, threshold, disagree, student, "
                          "teacher, speculative")
    add.add_argument("--budgets", default="", metavar="PERCENTS",
                     help="comma-separated percents of teacher-written tokens, e.g. 10,20,30")
    add.add_argument("--asker", default="", metavar="DIR|RUN",
                     help="the learned policy's student: a model directory, or an ask run's "
                          "id or name (`wheels teach-ask`; its runs/run-N/asker); default: the "
                          "sweep's student")
    add.add_argument("--plan-only", action="store_true",
                     help="record the points without computing them (resume computes them)")
    teach = actions.add_parser(
        "teach-ask", help="train a student to ask the teacher (its <ask> token)",
        description="Add an <ask> token to the student of CONFIG (a sweep configuration) and "
                    "fine-tune it on the training continuations of [distill] (kept rationales "
                    "or worked solutions): at each stated budget, the positions where the "
                    "teacher's token matters most are labelled <ask>. With --pcl-steps N it then "
                    "trains N steps by constrained PCL on its own rollouts (reward: the "
                    "teacher's log-probability of each token, minus λ per ask; λ per level "
                    "follows the measured usage). A run of kind 'ask': per-step figures stored, "
                    "`stop`, `resume` (from the last checkpoint), `status`; the asker is "
                    "runs/run-N/asker beside the store (and a copy in --out). Run it as the "
                    "`learned` policy of a sweep (`wheels add SWEEP --asker RUN`).")
    teach.add_argument("config", type=Path, help="sweep configuration (TOML)")
    teach.add_argument("--out", type=Path, metavar="DIR",
                       help="also copy the finished asker here (a new or empty directory)")
    teach.add_argument("--name", default="",
                       help="the run's name (default: the sweep's name + '-ask')")
    teach.add_argument("--create-only", action="store_true",
                       help="record the run and print its id without training")
    teach.add_argument("--save-steps", type=int, default=10, metavar="N",
                       help="a resumable checkpoint every N steps of either stage (0: only on "
                            "a stop request; also every 600 s)")
    teach.add_argument("--student", type=Path, metavar="DIR",
                       help="the student to start from (default: [models] student; give a "
                            "sweep's distilled runs/run-N/student)")
    teach.add_argument("--levels", default="0,10,20,40", metavar="PERCENTS",
                       help="budgets stated in the prompt, comma-separated percents")
    teach.add_argument("--labelling", choices=("margin", "disagree"), default="margin",
                       help="margin: where the teacher's token matters most; disagree: the "
                            "first positions where the two greedy tokens differ")
    teach.add_argument("--epochs", type=int, default=3, help="passes over the labelled data")
    teach.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    teach.add_argument("--batch-size", type=int, default=4, help="examples per step")
    teach.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    add_pcl_arguments(teach)
    return parser


def add_pcl_arguments(teach) -> None:
    """teach-ask's constrained PCL stage (engine.wheels.ask_settings.AskPCL; its defaults)."""
    from engine.wheels.ask_settings import AskPCL

    default = AskPCL()
    pcl = teach.add_argument_group("constrained PCL after the warm start (--lr applies too)")
    pcl.add_argument("--pcl-steps", type=int, default=0, metavar="N",
                     help="PCL steps on the student's own rollouts (0: the warm start only)")
    pcl.add_argument("--rollouts", type=int, default=default.rollouts,
                     help="prompts per budget level per step")
    pcl.add_argument("--max-new-tokens", type=int, default=default.max_new_tokens,
                     help="longest rollout")
    pcl.add_argument("--eta", type=float, default=default.eta,
                     help="dual step: λ_B += eta x (usage_B - B), never below 0")
    pcl.add_argument("--lambda-init", type=float, default=default.lambda_init,
                     help="every level's starting λ (the price of one ask)")
    pcl.add_argument("--tau", type=float, default=default.tau, help="entropy weight")
    pcl.add_argument("--window", type=int, default=default.window,
                     help="PCL window in steps (0: to the end)")
    pcl.add_argument("--value", choices=("head", "logsumexp"), default=default.value,
                     help="V from a value head, or tau x logsumexp of the logits")
    pcl.add_argument("--ce-weight", type=float, default=default.ce_weight,
                     help="cross-entropy anchor on the references")


def run(args) -> int:
    if args.wheels_action == "teach-ask":
        return teach_ask(args)
    if args.wheels_action == "add":
        return add_points(args)
    from engine.wheels.config import load_sweep_config
    from engine.wheels.sweep import create_sweep, drive_sweep
    from undo_tui.commands.run import record_and_drive

    config = load_sweep_config(args.config)
    return record_and_drive(
        args.store, lambda db: create_sweep(db, args.store, config),
        lambda run_id: (f"run {run_id} created: {config.sweep.name} (kind wheels, "
                        f"{len(config.points())} points)"),
        drive_sweep, args.create_only)


def add_points(args) -> int:
    from engine.wheels.extend import extend_sweep
    from engine.wheels.sweep import drive_sweep
    from store.errors import UndoError
    from undo_tui.commands.run import record_and_drive

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    budgets = [100 * level for level in parse_levels(args.budgets)] if args.budgets else []
    if any(p not in ("student", "teacher", "speculative") for p in policies) and not budgets:
        raise UndoError("--budgets: the asking policies need at least one budget, e.g. 10,20,30")
    added: list = []

    def extend(db) -> int:  # args.run was resolved to the id before the command runs
        added.extend(extend_sweep(db, args.run, policies, budgets, asker=args.asker))
        return args.run

    return record_and_drive(args.store, extend,
                            lambda run_id: f"run {run_id}: {len(added)} points added",
                            drive_sweep, args.plan_only)


def teach_ask(args) -> int:
    from engine.wheels.ask_run import create_ask, drive_ask
    from engine.wheels.config import load_sweep_config
    from undo_tui.commands.run import record_and_drive

    config = ask_config(args, load_sweep_config(args.config))
    levels = ", ".join(f"{100 * level:g}%" for level in config.ask.levels)
    return record_and_drive(
        args.store, lambda db: create_ask(db, args.store, config),
        lambda run_id: (f"run {run_id} created: {config.ask.name} (kind ask, levels {levels}, "
                        f"{config.pcl.steps} PCL steps)"),
        drive_ask, args.create_only)


def ask_config(args, sweep):
    """An ask run's typed settings from teach-ask's flags and the sweep configuration."""
    from engine.wheels.ask_run_config import ask_config_from_dict
    from engine.wheels.ask_settings import AskPCL, AskTraining

    warm = AskTraining(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                       seed=sweep.sweep.seed, device=args.device)
    pcl = AskPCL(steps=args.pcl_steps, rollouts=args.rollouts, max_new_tokens=args.max_new_tokens,
                 tau=args.tau, window=args.window, value=args.value, ce_weight=args.ce_weight,
                 eta=args.eta, lambda_init=args.lambda_init, lr=args.lr, seed=sweep.sweep.seed)
    ask = {"name": args.name or f"{sweep.sweep.name}-ask", "levels": parse_levels(args.levels),
           "labelling": args.labelling, "student": str(args.student or ""),
           "out": str(args.out.resolve()) if args.out else "", "save_steps": args.save_steps}
    return ask_config_from_dict({"ask": ask, "sweep": sweep.model_dump(mode="json"),
                                 "warm": warm, "pcl": pcl}, "teach-ask")


def parse_levels(text: str) -> list[float]:
    """'0,10,20,40' -> [0.0, 0.1, 0.2, 0.4]; a clear error for anything else."""
    from store.errors import UndoError

    try:
        percents = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UndoError(f"--levels {text!r}: comma-separated percents, e.g. 0,10,20,40") from None
    if not percents or any(not 0 <= p <= 100 for p in percents):
        raise UndoError(f"--levels {text!r}: each must be between 0 and 100")
    return sorted({p / 100 for p in percents})
