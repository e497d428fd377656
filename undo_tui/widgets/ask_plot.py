"""An ask training's curves against the step: the loss (the warm start's, then the PCL
stage's, numbered on from the warm start's last step), and per budget level λ (left axis)
and the share of tokens it asked for (right axis) in each PCL step."""

from __future__ import annotations

from textual_plotext import PlotextPlot


COLORS = ("cyan", "magenta", "green", "yellow", "red", "blue")


class AskLossPlot(PlotextPlot):
    def show(self, warm: list[dict], pcl: list[dict]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("loss per step: warm start, then constrained PCL")
        offset = warm[-1]["total_steps"] if warm else 0
        if warm:
            plt.plot([s["step"] for s in warm], [s["loss"] for s in warm],
                     label="warm start", color="cyan", marker="braille")
        if pcl:
            plt.plot([offset + s["step"] for s in pcl], [s["loss"] for s in pcl],
                     label="PCL", color="magenta", marker="braille")
        if not warm and not pcl:
            plt.title("no training step yet")
        plt.xlabel("step")
        self.refresh()


class AskLevelsPlot(PlotextPlot):
    def show(self, pcl: list[dict]) -> None:
        from engine.wheels.ask_report import level_keys  # only once an ask run is shown

        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("per budget level: λ (left, solid) and realised usage (right, dots)")
        steps = [s["step"] for s in pcl]
        for key, color in zip(level_keys(pcl[-1]) if pcl else [], COLORS * 4):
            plt.plot(steps, [s[f"lambda_{key}"] for s in pcl], label=f"λ {key}%",
                     color=color, marker="braille")
            plt.plot(steps, [s[f"usage_{key}"] for s in pcl], label=f"used {key}%",
                     color=color, marker="•", yside="right")
        if not pcl:
            plt.title("no PCL step yet")
        plt.xlabel("PCL step")
        self.refresh()
