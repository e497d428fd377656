"""How an ask-training run's figures are said, for the CLI and the TUI alike (pure: no torch).
A PCL step's metrics name each budget level by its percent: lambda_10, usage_10 for 10%."""

from __future__ import annotations

from collections.abc import Sequence

from store.ask import AskOutcome


def level_key(level: float) -> str:
    """'10' for 0.1: the suffix of the per-level metrics (lambda_10, usage_10)."""
    return f"{100 * level:g}"


def level_keys(step: dict) -> list[str]:
    """The levels a step's metrics cover, by percent: ['0', '10', '40']."""
    return sorted((name.removeprefix("lambda_") for name in step if name.startswith("lambda_")),
                  key=float)


def level_figures(metrics: dict, levels: Sequence[float] | None = None) -> str:
    """'10% λ 0.25 used 12.5% · 40% λ 0.00 used 31.0%'."""
    keys = [level_key(level) for level in levels] if levels is not None else level_keys(metrics)
    return " · ".join(f"{key}% λ {metrics[f'lambda_{key}']:.2f} used "
                      f"{100 * metrics[f'usage_{key}']:.1f}%" for key in keys)


def warm_line(step: dict) -> str:
    """A warm-start step: '12/30 · loss 1.2345'."""
    return f"{step.get('step')}/{step.get('total_steps')} · loss {step['loss']:.4f}"


def pcl_figures(step: dict) -> str:
    """A PCL step: '3/10 · loss 1.2345 · residual 2.1000 · 10% λ 0.25 used 12.5% · ...'."""
    return (f"{step.get('step')}/{step.get('total_steps')} · loss {step['loss']:.4f} · residual "
            f"{step['residual_ms']:.4f} · {level_figures(step)}")


def finish_reason(outcome: AskOutcome) -> str:
    """The run's stop reason once finished: the steps of each stage and where the asker is."""
    parts = [f"warm start {outcome.warm_steps} steps"]
    if outcome.pcl_steps:
        parts.append(f"PCL {outcome.pcl_steps} steps")
    final = outcome.result.get("final") or {}
    if final:
        parts.append(level_figures(final))
    parts.append(f"asker {outcome.asker}")
    return "; ".join(parts)


def outcome_lines(outcome: AskOutcome, warm: list[dict], pcl: list[dict]) -> list[str]:
    """`undo-tui status RUN` for an ask run: the latest step of each stage, the labelled asks,
    and where the asker is (and its --out copy)."""
    lines = []
    if warm:
        lines.append("warm start: " + warm_line(warm[-1]))
    labelled = outcome.result.get("asks")
    if labelled:
        tokens = outcome.result.get("tokens")
        lines.append("labelled <ask>: " + ", ".join(f"{key}% {count}/{tokens}"
                                                    for key, count in labelled.items()))
    if pcl:
        lines.append("PCL: " + pcl_figures(pcl[-1]))
    if outcome.asker:
        lines.append(f"asker: {outcome.asker}")
    if outcome.result.get("warm"):
        lines.append(f"warm-start asker (before PCL): {outcome.result['warm']}")
    if outcome.out_dir:
        lines.append(f"asker copied to: {outcome.out_dir}")
    return lines
