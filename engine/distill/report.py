"""How a distillation run's figures are said, for the CLI and the TUI alike (pure: no torch)."""

from __future__ import annotations

from store.distill import DistillOutcome, KLPoint


def format_accuracy(outcome: DistillOutcome) -> str:
    """"33.3% [9.7-70.0] n=6 (test)", or "-" before the evaluation."""
    if not outcome.n or outcome.correct is None:
        return "-"
    return (f"{outcome.accuracy:.1%} [{100 * outcome.accuracy_low:.1f}-"
            f"{100 * outcome.accuracy_high:.1f}] n={outcome.n} ({outcome.eval_split})")


def format_kl_change(outcome: DistillOutcome) -> str:
    """"KL(teacher||student) 2.134 -> 0.871 nats/token" (either side '?' when unmeasured)."""
    if outcome.kl_before is None and outcome.kl_after is None:
        return ""
    sides = ["?" if value is None else f"{value:.3f}" for value in
             (outcome.kl_before, outcome.kl_after)]
    return f"KL(teacher||student) {sides[0]} -> {sides[1]} nats/token"


def format_kl(point: KLPoint) -> str:
    return (f"step {point.step} ({point.when}): {point.mean:.3f} [{point.low:.3f}-"
            f"{point.high:.3f}] n={point.n}")


def finish_reason(outcome: DistillOutcome) -> str:
    """The run's stop reason once finished: steps, accuracy with its interval, KL change."""
    parts = [f"distilled in {outcome.steps} steps"]
    if outcome.n:
        parts.append(f"strict accuracy {format_accuracy(outcome)}")
    kl = format_kl_change(outcome)
    if kl:
        parts.append(kl)
    return "; ".join(parts)


def outcome_lines(outcome: DistillOutcome, kl: list[KLPoint], latest: dict | None) -> list[str]:
    """`undo-tui status RUN` for a distillation: the student, its figures, the KL history."""
    lines = []
    if latest:
        lines.append("latest step: " + latest_metrics(latest))
    if outcome.steps is not None:
        lines.append(f"steps: {outcome.steps}, final loss {outcome.final_loss:.4f}")
    if outcome.n:
        lines.append(f"strict accuracy: {format_accuracy(outcome)}")
        lines += secondary_scores(outcome)
    lines += [f"KL(teacher||student) {format_kl(point)}" for point in kl]
    if outcome.student:
        lines.append(f"distilled student: {outcome.student}")
    return lines


def latest_metrics(step: dict) -> str:
    """A training step's figures: step/total, loss and the objective's parts."""
    names = ("loss", "kl", "jsd", "residual_ms", "ce")
    values = [f"{name} {step[name]:.4f}" for name in names if step.get(name) is not None]
    return f"{step.get('step')}/{step.get('total_steps')} · " + " · ".join(values)


def secondary_scores(outcome: DistillOutcome) -> list[str]:
    """Flexible accuracy and answer-line compliance beside the strict headline (when measured):
    a student that answers right without the answer line shows here, not in the headline."""
    lines = []
    for key, label in (("flexible", "flexible accuracy (last-number fallback)"),
                       ("answer_lines", "outputs with an answer line")):
        figure = outcome.result.get(key)
        if figure and figure.get("n"):
            lines.append(f"{label}: {figure['correct'] / figure['n']:.1%} "
                         f"[{100 * figure['low']:.1f}-{100 * figure['high']:.1f}] "
                         f"n={figure['n']}")
    return lines
