"""Strict validation and test accuracy per iteration with their 95% intervals, and the
equal-budget baseline when there is one.

The y-axis starts at 0 and every point carries its Wilson interval as a vertical bar: on 100
examples a 1-point change is far inside the bars, and the plot should look like it.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from engine.grading.stats import wilson_interval
from store.models import Iteration

SERIES = (("val", "cyan"), ("test", "magenta"))


def interval_points(iterations: list[Iteration], split: str) -> list[tuple[int, float, float, float]]:
    """(k, accuracy, low, high) in percent for every iteration evaluated on `split`."""
    out = []
    for it in iterations:
        counts = it.scored(split)
        if counts is None:
            continue
        low, high = wilson_interval(counts.correct, counts.total)
        out.append((it.k, 100 * counts.correct / counts.total, 100 * low, 100 * high))
    return out


class AccuracyPlot(PlotextPlot):
    def show(self, iterations: list[Iteration], baseline: list[Iteration] | None = None,
             baseline_name: str | None = None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("strict accuracy per iteration (%), bars: 95% interval")
        ks = [it.k for it in iterations] or [0, 1]
        top = 10.0
        drawn = False
        for offset, (split, color) in enumerate(SERIES):
            points = interval_points(iterations, split)
            if not points:
                continue
            drawn = True
            shift = 0.06 * offset  # test's bars beside val's, not on top of them
            for k, _, low, high in points:
                plt.plot([k + shift, k + shift], [low, high], color=color, marker="braille")
            plt.scatter([k + shift for k, *_ in points], [acc for _, acc, *_ in points],
                        label=split, marker="●", color=color)
            if len(points) > 1:
                plt.plot([k + shift for k, *_ in points], [acc for _, acc, *_ in points],
                         color=color, marker="braille")
            top = max(top, *(high for *_, high in points))
        base = [b for b in (baseline or []) if b.val_accuracy is not None]
        if base:
            best = max(b.val_accuracy for b in base) * 100
            label = f"baseline ({baseline_name})" if baseline_name else "baseline"
            plt.plot([min(ks), max(ks)], [best, best], label=label, marker="-", color="yellow")
            top = max(top, best)
        plt.ylim(0, min(100.0, top * 1.1))
        plt.xlim(min(ks) - 0.3, max(ks) + 0.3)
        plt.xticks(sorted(set(ks)))
        plt.xlabel("iteration")
        if not drawn and not base:
            plt.title("accuracy per iteration (%) — no evaluations yet")
        self.refresh()
