"""A distillation's curves against the optimizer step: the training loss (the objective's, left
axis) and KL(teacher||student) on the held-out solutions (right axis), each KL measurement
with its 95% interval as a vertical bar."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from store.distill import KLPoint


class DistillPlot(PlotextPlot):
    def show(self, steps: list[dict], kl: list[KLPoint]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("training loss (left) and held-out KL(teacher||student) (right) per step")
        if steps:
            plt.plot([s["step"] for s in steps], [s["loss"] for s in steps], label="loss",
                     color="cyan", marker="braille")
        if kl:
            for point in kl:
                plt.plot([point.step, point.step], [point.low, point.high], color="magenta",
                         marker="braille", yside="right")
            plt.plot([p.step for p in kl], [p.mean for p in kl], label="KL", color="magenta",
                     marker="●", yside="right")
        last = max([s["step"] for s in steps] + [p.step for p in kl] + [1])
        plt.xlim(0, last)
        plt.xlabel("optimizer step")
        if not steps and not kl:
            plt.title("no training step yet")
        self.refresh()
