"""Column fitting: content widths, free width to the growing column, shrink widest first, then
leave out the least important columns; ids cut in the middle."""

from __future__ import annotations

from undo_tui.widgets.fit import PADDING, Col, cut_middle, fit_columns


def used(widths):
    return sum(widths.values()) + PADDING * len(widths)


def test_a_wide_table_shows_content_whole_and_gives_the_rest_to_the_growing_column():
    cols = [Col("id", "id", 3), Col("name", "name", 12), Col("q", "question", 40, grow=True)]
    widths = fit_columns(cols, 100)
    assert widths["id"] == 3 and widths["name"] == 12 and used(widths) == 100


def test_a_narrow_table_shrinks_the_widest_first_then_drops_by_importance():
    cols = [Col("id", "#", 2), Col("name", "name", 30, minimum=10),
            Col("model", "model", 20, minimum=10, drop=2), Col("data", "data", 12, drop=1),
            Col("best", "best val", 8)]
    widths = fit_columns(cols, 60)
    assert list(widths) == ["id", "name", "model", "data", "best"] and used(widths) <= 60
    assert widths["name"] == widths["model"] or widths["name"] < 30
    narrow = fit_columns(cols, 40)
    assert "data" not in narrow and "best" in narrow and used(narrow) <= 40
    narrower = fit_columns(cols, 30)
    assert "model" not in narrower and "data" not in narrower


def test_free_text_is_cut_before_names():
    cols = [Col("model", "model", 20, minimum=10), Col("why", "progress", 38, minimum=12,
                                                       give=1)]
    widths = fit_columns(cols, 40)
    assert widths == {"model": 20, "why": 16}
    assert fit_columns(cols, 30) == {"model": 14, "why": 12}


def test_cut_middle_keeps_the_end_where_ids_differ():
    assert cut_middle("arith-L1-0-11", 20) == "arith-L1-0-11"
    assert cut_middle("arith-L1-0-11", 10) == "ari…1-0-11"
    cut = cut_middle("gsm8k-main-test-00013", 12)
    assert len(cut) == 12 and cut.endswith("00013") and "…" in cut
