"""The errors browser following a run that writes: poll the store, re-read the window in place.

While the run is active (and now and then when it is not: another process may write) a worker
compares a cheap marker of what the screen shows (store.browse.browse_marker); when it changed,
the window is re-read from its first row on, cells change in place and the cursor stays on its
example. New iterations are announced, never switched to.
"""

from __future__ import annotations

import time

from textual import work

import store
from store import browse
from store.browse import BrowseFilter, BrowseRow
from store.runs import STOPPABLE_STATUSES
from undo_tui.messages import BrowseChanged, BrowseOptions, BrowseOptionsLoaded
from undo_tui.screens.errors_paging import PAGE
from undo_tui.widgets.errors_table import COLUMNS, ErrorsTable

IDLE_CHECK_S = 5.0  # a finished run is still checked now and then (another process may write)


def read_options(db, run_id: int) -> BrowseOptions:
    """The splits and iterations a run has predictions for, and the store's tags."""
    splits = browse.browse_splits(db, run_id)
    iterations = {split: browse.browse_iterations(db, run_id, split) for split in splits}
    return BrowseOptions(splits, iterations, store.all_tags(db))


def opening_filter(options: BrowseOptions, wanted: dict, run_id: int) -> BrowseFilter | None:
    """The filter the browser opens on: what was asked for where it exists, else the val split
    (or the first) at its newest iteration. None when the run has no predictions yet."""
    if not options.splits:
        return None
    split = wanted["split"] if wanted["split"] in options.splits else (
        "val" if "val" in options.splits else options.splits[0])
    iterations = options.iterations[split]
    k = wanted["iteration"] if wanted["iteration"] in iterations else iterations[-1]
    return BrowseFilter(run_id, split, k, wanted["status"] or "wrong",
                        browse.previous_iteration(iterations, k), wanted["tag"],
                        wanted["search"])


class ErrorsLive:
    """Mixin for ErrorsScreen: watch the store and refresh the window in place.

    Uses the screen's run_id, flt, options, marker, rows and the paging mixin's window state.
    """

    def _poll(self) -> None:
        if self.is_current and self.options is not None and not self.fetching:
            self.check_store(self.marker)

    @work(thread=True, exclusive=True, group="browse-poll", exit_on_error=False,
          name="watching the store")
    def check_store(self, known: tuple | None, force: bool = False) -> None:
        """Post BrowseChanged when what this screen shows may have changed (short reads)."""
        db = self.db()
        active = store.get_run(db, self.run_id).status in STOPPABLE_STATUSES  # it may write
        now = time.monotonic()
        if not (force or active or now - self.last_check >= IDLE_CHECK_S):
            return
        self.last_check = now
        flt = self.flt
        marker = browse.browse_marker(db, self.run_id, flt.split if flt else None,
                                      flt.iteration if flt else None)
        if marker == known and not force:
            return
        self.post_message(BrowseChanged(marker, read_options(db, self.run_id),
                                        refresh=force or known is not None))

    def on_browse_changed(self, message: BrowseChanged) -> None:
        self.marker = message.marker
        if not message.refresh:
            return
        options, old = message.options, self.options
        if self.flt is None or self.flt.split not in options.iterations:
            self.on_browse_options_loaded(BrowseOptionsLoaded(options))  # first predictions
            return
        self.options = options
        flt = self.flt
        self._set_select("#split-select", [(s, s) for s in options.splits], flt.split)
        self._set_select("#iteration-select",
                         [(f"iteration {k}", k) for k in options.iterations[flt.split]],
                         flt.iteration)
        new = [k for k in options.iterations[flt.split]
               if old is None or k not in old.iterations.get(flt.split, [])]
        if new:
            self.notify(f"Iteration {new[-1]} has {flt.split} predictions now: ] shows it.",
                        title="Errors browser")
        # (a search is re-run by the store when newer rationales exist: store.search)
        self._refresh_window()

    def _refresh_window(self) -> None:
        """Re-read the rows from the window's first one on, keeping the highlighted example."""
        current = self.current_row()
        self.fetching = True
        # from the filter's start when the window begins there (new rows may come before it)
        after = self.rows[0].example_id - 1 if self.rows and self.more_before else None
        self._fetch(self.flt, "refresh", after=after, limit=max(len(self.rows), PAGE),
                    select=current.example_id if current else None)

    def _refreshed(self, rows: list[BrowseRow], keep: int | None) -> None:
        """Apply a re-read window: cells change in place; the cursor stays on its example."""
        table = self.query_one(ErrorsTable)
        old_ids = [row.example_id for row in self.rows]
        cursor = table.cursor_row
        self.more_after = len(rows) >= max(len(self.rows), PAGE) or (
            self.more_after and len(rows) >= len(self.rows))
        if self.before is not None:
            self.after = None  # known again once the new count is in (_resolve_offsets)
        if [row.example_id for row in rows] == old_ids:
            for old, row in zip(self.rows, rows):
                if old != row:
                    for _, key in COLUMNS:
                        table.update_cell(str(row.example_id), key, self._cell(row, key))
            self.rows = list(rows)
        else:
            ids = [row.example_id for row in rows]
            self.rows = list(rows)
            scroll = table.scroll_y
            self._rebuild(select=ids.index(keep) if keep in ids else cursor)
            table.scroll_to(y=scroll, animate=False)
        self.refreshes += 1
        self.fetch_count(self.token, self.flt)
