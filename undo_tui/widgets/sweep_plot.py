"""Quality against teacher use for a Training Wheels sweep: one line per asking policy, the
student alone, the teacher alone and speculative decoding as single points, each point with its
95% interval as a vertical bar.

x is the share of output tokens the teacher wrote; for speculative decoding, which writes only
teacher tokens, it is teacher passes per output token, which is what it costs in latency.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from store.wheels import Point

COLORS = {"student": "cyan", "teacher": "magenta", "speculative": "white", "random": "yellow",
          "threshold": "green", "disagree": "red", "learned": "blue"}
MARKERS = {"student": "■", "teacher": "◆", "speculative": "▲"}


def series(points: list[Point]) -> dict[str, list[tuple[float, float, float, float]]]:
    """Per policy, (x, quality, low, high) of its finished points, by x."""
    from engine.wheels.report import quality_percent, teacher_use  # only once a sweep is shown

    out: dict[str, list] = {}
    for point in points:
        if point.status != "done" or point.quality is None:
            continue
        out.setdefault(point.policy, []).append((teacher_use(point), *quality_percent(point)))
    return {policy: sorted(values) for policy, values in out.items()}


class SweepPlot(PlotextPlot):
    def show(self, points: list[Point]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        metric = next((p.metric for p in points if p.metric), "accuracy")
        unit = "%" if metric == "accuracy" else ""
        plt.title(f"{metric} ({unit or 'score'}) vs teacher use (%) · bars: 95% interval")
        top = 10.0
        drawn = series(points)
        for policy, values in drawn.items():
            color = COLORS.get(policy, "white")
            for x, _, low, high in values:
                plt.plot([x, x], [low, high], color=color, marker="braille")
            xs, ys = [v[0] for v in values], [v[1] for v in values]
            plt.scatter(xs, ys, label=policy, marker=MARKERS.get(policy, "●"), color=color)
            if len(values) > 1:
                plt.plot(xs, ys, color=color, marker="braille")
            top = max(top, *(v[3] for v in values))
        plt.xlim(-2, 102)
        plt.ylim(0, min(100.0, top * 1.1) if unit else top * 1.1)
        plt.xticks([0, 10, 20, 30, 50, 75, 100])
        plt.xlabel("teacher-written tokens (%); speculative: teacher passes per token")
        if not drawn:
            plt.title("no points measured yet")
        self.refresh()
