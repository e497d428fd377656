"""Validation and test accuracy per iteration, with the equal-budget baseline when there is one."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from store.models import Iteration


class AccuracyPlot(PlotextPlot):
    def show(self, iterations: list[Iteration], baseline: list[Iteration] | None = None,
             baseline_name: str | None = None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("accuracy per iteration (%)")
        points = [(it.k, it.val_accuracy) for it in iterations if it.val_accuracy is not None]
        tests = [(it.k, it.test_accuracy) for it in iterations if it.test_accuracy is not None]
        ks = [it.k for it in iterations] or [0, 1]
        if points:
            plt.plot([k for k, _ in points], [v * 100 for _, v in points], label="val",
                     marker="hd", color="cyan")
        if tests:
            plt.plot([k for k, _ in tests], [v * 100 for _, v in tests], label="test",
                     marker="hd", color="magenta")
        base = [b for b in (baseline or []) if b.val_accuracy is not None]
        if base:
            best = max(b.val_accuracy for b in base) * 100
            label = f"baseline ({baseline_name})" if baseline_name else "baseline"
            plt.plot([min(ks), max(ks)], [best, best], label=label, marker="-", color="yellow")
        plt.xticks(sorted(set(ks)))
        plt.xlabel("iteration")
        if not points and not base:
            plt.title("accuracy per iteration (%) — no evaluations yet")
        self.refresh()
