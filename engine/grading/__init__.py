"""Grading: reading a model's final answer and comparing it with the gold one, and the statistics
every accuracy is shown with. Pure string and number work: the TUI process imports it too.

`answers` grades (strict: the last explicit answer marker; flexible: else the last number;
format: a marker is present), `answer_markers` finds the markers, `answer_reading` reads what a
marker's line asserts, `numbers` compares numbers as exact fractions, `math_equal` compares math
answers through math-verify (imported on first use), `stats` holds Wilson intervals and McNemar.
"""
