"""How a sweep point is described in words, for the CLI and the TUI alike (pure, no torch)."""

from __future__ import annotations

from store.wheels import Point

ANCHORS = ("student", "teacher", "speculative")


def format_quality(point: Point) -> str:
    """"27.0% [21.3-33.6] n=200" for accuracy, "41.2 [39.0-43.4] n=200" for chrF/ROUGE-L."""
    if point.quality is None or not point.n:
        return "-"
    if point.metric == "accuracy":
        return (f"{point.quality:.1%} [{point.quality_low * 100:.1f}-"
                f"{point.quality_high * 100:.1f}] n={point.n}")
    return f"{point.quality:.1f} [{point.quality_low:.1f}-{point.quality_high:.1f}] n={point.n}"


def quality_percent(point: Point) -> tuple[float, float, float]:
    """Quality, low, high on one 0-100 scale (accuracy in points, text metrics as they are)."""
    scale = 100.0 if point.metric == "accuracy" else 1.0
    return point.quality * scale, point.quality_low * scale, point.quality_high * scale


def teacher_use(point: Point) -> float:
    """The plot's x: teacher-written share (%), or for speculative decoding teacher passes per
    output token (%), since the teacher writes everything there."""
    if point.policy == "speculative":
        return 100.0 * (point.teacher_forwards or 0) / point.tokens if point.tokens else 0.0
    return 100.0 * (point.realised_share or 0.0)


def point_summary(point: Point) -> str:
    """One line per point: quality, teacher share vs target, asks, teacher tokens, speed."""
    if point.status != "done":
        return f"{point.label}: pending"
    parts = [f"{point.label}: {point.metric} {format_quality(point)}"]
    if point.policy == "speculative":
        parts.append(f"teacher passes {point.teacher_forwards} ({teacher_use(point):.1f}% of "
                     f"tokens)")
    else:
        share = f"teacher wrote {100 * (point.realised_share or 0):.1f}%"
        if point.policy not in ANCHORS:
            share += f" (target {point.budget:g}%)"
        parts.append(share)
        if point.asks_per_sequence is not None:
            parts.append(f"{point.asks_per_sequence:.1f} asks/seq")
    parts.append(f"teacher read {point.teacher_tokens} tokens")
    parts.append(f"{point.tokens_per_s or 0:.0f} tok/s")
    if point.violations:
        parts.append(f"{point.violations} over budget")
    return "; ".join(parts)


def sweep_lines(db, run_id: int) -> list[str]:
    """The student the sweep measured (and how it was distilled), then one line per point."""
    from store import wheels as store_wheels

    student, distill = store_wheels.get_distill(db, run_id)
    lines = []
    if student:
        lines.append(f"student {student} ({distill_summary(distill) or 'as given'})")
    lines += [point_summary(point) for point in store_wheels.list_points(db, run_id)]
    return lines


def distill_summary(distill: dict) -> str:
    """How the sweep's student was distilled, in words ('' when it was used as given): the data,
    the objective and steps, and KL(teacher||student) on held-out solutions before and after."""
    data = distill.get("data", "none")
    if data == "none":
        return ""
    text = (f"distilled on {data}: {distill.get('kept', 0)} kept rationales, "
            f"{distill.get('gold', 0)} gold solutions")
    if "steps" in distill:
        text += f"; {distill.get('objective', 'sft')}, {distill['steps']} steps"
    before, after = distill.get("kl_before"), distill.get("kl_after")
    if before and after:
        text += (f"; KL(teacher||student) on {after['n']} {distill.get('held_out', 'held-out')} "
                 f"solutions {before['mean']:.3f} -> {after['mean']:.3f} nats/token "
                 f"[{after['low']:.3f}-{after['high']:.3f}]")
    return text
