"""What the errors browser can show a run by (its splits, iterations and the store's tags), and
the filter it opens on."""

from __future__ import annotations

import store
from store import browse
from store.browse import BrowseFilter
from undo_tui.messages import BrowseOptions


def read_options(db, run_id: int) -> BrowseOptions:
    """The splits and iterations a run has predictions for, and the store's tags."""
    splits = browse.browse_splits(db, run_id)
    iterations = {split: browse.browse_iterations(db, run_id, split) for split in splits}
    return BrowseOptions(splits, iterations, store.all_tags(db))


def opening_filter(options: BrowseOptions, wanted: dict, run_id: int) -> BrowseFilter | None:
    """What was asked for where it exists, else the val split (or the first) at its newest
    iteration. None when the run has no predictions yet."""
    if not options.splits:
        return None
    split = wanted["split"] if wanted["split"] in options.splits else (
        "val" if "val" in options.splits else options.splits[0])
    iterations = options.iterations[split]
    k = wanted["iteration"] if wanted["iteration"] in iterations else iterations[-1]
    return BrowseFilter(run_id, split, k, wanted["status"] or "wrong",
                        browse.previous_iteration(iterations, k), wanted["tag"],
                        wanted["search"])
