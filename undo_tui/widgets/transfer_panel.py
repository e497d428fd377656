"""The dashboard's transfer comparison (issue 6): does the refined data help another student?

For a transfer run: the source student and the transfer student, each untrained and trained on
the same data. For a run whose data was transferred: every transfer run, grouped by student, so
one new student on "iteration-1 data" and on "refined data" reads as one comparison.
"""

from __future__ import annotations


from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from engine.grading.stats import DEFAULT_ALPHA
from store.transfers import DataComparison, StudentFigures, TransferLink
from undo_tui.widgets.render import accuracy_cell, change_cell, model_label, one_line, pct


ACCURACY_COLUMNS = (("val k=0", "right"), ("val", "right"), ("Δ val", "right"),
                    ("test", "right"))


def _table(*columns: tuple[str, str]) -> Table:
    """Compact (one space between columns) so the panel reads at 80 columns too."""
    table = Table(box=None, padding=(0, 1), collapse_padding=True, pad_edge=False,
                  show_edge=False, header_style="bold dim")
    for label, justify in columns:
        table.add_column(label, justify=justify, no_wrap=True, overflow="ellipsis")
    return table


def _accuracy_cells(figures: StudentFigures | None, alpha: float = DEFAULT_ALPHA) -> list:
    """val untrained, val trained (strict, with intervals), the gain with its McNemar verdict,
    test trained; the status while not trained yet."""
    if figures is None:
        return ["—", "—", Text("—", style="dim"), "—"]
    trained = _val_cell(figures.trained_counts, figures.trained_val)
    if figures.trained_val is None and figures.status != "finished":
        trained = Text(figures.status, style="dim")
    return [_val_cell(figures.base_counts, figures.base_val), trained,
            change_cell(figures.trained_val, figures.base_val, figures.fixed, figures.regressed,
                        alpha),
            pct(figures.trained_test)]


def _val_cell(counts, value: float | None) -> Text:
    return accuracy_cell(counts.correct, counts.total) if counts else Text(pct(value))


def data_description(link: TransferLink) -> str:
    source = link.source
    where = f"run {source.run_id} “{one_line(source.run_name, 24)}”" if source else "a run " \
        "not in this store"
    k = "?" if link.data_iteration is None else str(link.data_iteration)
    best = " (best)" if link.data_iteration is not None and \
        link.data_iteration == link.source_best_iteration else ""
    text = f"{link.data_label} from {where} iteration {k}{best}"
    if link.export is not None:
        text += f" · export {link.export.id} ({link.export.format}, {link.export.rows} rows)"
    return text


def source_vs_transfer(link: TransferLink) -> Group:
    """A transfer run's panel: both students, untrained and trained, on the same val set."""
    title = Text("Transfer: ", style="bold")
    title.append(data_description(link))
    table = _table(("", "left"), ("student", "left"), *ACCURACY_COLUMNS)
    source = link.source
    table.add_row("source student", model_label(source.student if source else None),
                  *_accuracy_cells(source))
    table.add_row(Text("transfer student", style="bold"),
                  model_label(link.transfer.student), *_accuracy_cells(link.transfer))
    return Group(title, table)


def transfers_of_run(links: list[TransferLink], comparisons: list[DataComparison]) -> Group:
    """A source run's panel: its transfer runs, then per student refined vs iteration-1 data."""
    table = _table(("run", "right"), ("student", "left"), ("data", "left"), ("rows", "right"),
                   *ACCURACY_COLUMNS)
    for link in links:
        t = link.transfer
        k = "?" if link.data_iteration is None else str(link.data_iteration)
        star = "★" if link.data_iteration == link.source_best_iteration else ""
        table.add_row(str(t.run_id), model_label(t.student, 16),
                      f"k{k}{star} {link.data_label}",
                      "—" if t.train_size is None else str(t.train_size), *_accuracy_cells(t))
    lines = [Text(f"Transfer runs on this run's data ({len(links)})", style="bold"), table]
    lines.extend(data_verdicts(comparisons))
    return Group(*lines)


def data_verdicts(comparisons: list[DataComparison], alpha: float = DEFAULT_ALPHA) -> list[Text]:
    """Per student with both kinds of data: 'refined data 25.0% [..] vs iteration-1 data 12.5%
    [..]: +3/−1 p=0.62 (within noise)', the change tested on the same validation examples."""
    from engine.grading.stats import compare, format_p

    out = []
    for c in comparisons:
        change = compare(c.fixed, c.regressed, alpha)
        text = Text(f"{model_label(c.student)}: ", style="bold")
        text.append("refined data ")
        text.append_text(_val_cell(c.refined.trained_counts, c.refined.trained_val))
        text.append(" vs iteration-1 data ")
        text.append_text(_val_cell(c.first.trained_counts, c.first.trained_val))
        text.append(f": +{c.fixed}/−{c.regressed} {format_p(change.p_value)} ({change.verdict()})",
                    style="bold" if change.significant else "dim")
        out.append(text)
    return out


class TransferPanel(Static):
    """Hidden unless the run is a transfer or has transfer runs."""

    def show_links(self, link: TransferLink | None, links: list[TransferLink],
                   comparisons: list[DataComparison] = ()) -> None:
        if link is not None:
            self.update(source_vs_transfer(link))
        elif links:
            self.update(transfers_of_run(links, list(comparisons)))
        else:
            self.update("")
        self.display = link is not None or bool(links)
