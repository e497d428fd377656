"""The errors browser's window of rows: page loads, applying them, moving across them.

The table is a window of at most MAX_WINDOW rows over the filter's result, fetched PAGE rows at
a time by keyset from the store (store.browse), on the screen's one shared connection (so a
search made ready while the user typed is there for the page load: undo_tui.store_access).
Moving near either end of the window fetches the next or previous page; g/G jump to the
first/last page without reading what lies between. The row count is a separate worker, started
once the first page is in so it never delays it.
"""

from __future__ import annotations

import time

from textual import work
from textual.widgets import DataTable

from store import browse
from store.browse import BrowseFilter, BrowseRow
from undo_tui.messages import BrowseCountLoaded, BrowsePageLoaded
from undo_tui.store_access import interrupted
from undo_tui.widgets.errors_table import ErrorsTable, cell, row_cells
from undo_tui.widgets.vim_table import VimDataTable

PAGE = browse.PAGE_SIZE
MAX_WINDOW = 1000
PREFETCH = 40


class ErrorsPaging:
    """Mixin for ErrorsScreen: the loaded window (rows, offsets, total) and its page workers.

    Uses the screen's flt, options, token, fetching and _status().
    """

    def _fetch(self, flt: BrowseFilter, mode: str, **where) -> None:
        """Start a page load; a replacing load also counts the rows once the page is in."""
        self.fetch_page(self.token, flt, mode, **where)

    @work(thread=True, exclusive=True, group="browse-page", exit_on_error=False,
          name="loading rows")
    def fetch_page(self, token: int, flt: BrowseFilter, mode: str, *, after: int | None = None,
                   before: int | None = None, anchor: str = "start", select: int | None = None,
                   limit: int = PAGE) -> None:
        """One page in one worker; a search's matches stay in SQLite (store.search)."""
        started = time.perf_counter()
        try:
            rows = self._read_page(flt, after=after, before=before,
                                   last=(anchor == "end" and mode == "replace"), limit=limit)
        except Exception as exc:  # reported, and the screen stays usable
            self.post_message(BrowsePageLoaded(token, [], "failed", 0.0))
            raise exc
        self.post_message(BrowsePageLoaded(token, rows, mode,
                                           (time.perf_counter() - started) * 1000, anchor,
                                           select))

    def _read_page(self, flt: BrowseFilter, **where) -> list[BrowseRow]:
        try:
            with self.shared.use() as db:
                return browse.browse_page(db, flt, **where)
        except Exception as exc:
            if not interrupted(exc):
                raise
        # an interrupt meant for a prefetch that finished just before it arrived: once more
        with self.shared.use() as db:
            return browse.browse_page(db, flt, **where)

    @work(thread=True, exclusive=True, group="browse-count", exit_on_error=False,
          name="counting rows")
    def fetch_count(self, token: int, flt: BrowseFilter) -> None:
        started = time.perf_counter()
        n, exact = browse.browse_count_bounded(self.db(), flt, max_read=browse.COUNT_READ_CAP)
        self.post_message(BrowseCountLoaded(token, n, (time.perf_counter() - started) * 1000,
                                            exact))

    # -- applying pages ---------------------------------------------------------------------------

    def on_browse_page_loaded(self, message: BrowsePageLoaded) -> None:
        if message.token != self.token:
            return
        self.fetching = False
        if message.mode == "failed":
            self._focus_table_when_loaded = False
            self.query_one(ErrorsTable).focus()
            return
        if message.mode == "replace" and self.total is None:
            # counted once the first page is painted, so the two do not compete for it
            self.call_after_refresh(self.fetch_count, self.token, self.flt)
        self.last_page_ms = message.elapsed_ms
        table = self.query_one(ErrorsTable)
        rows = message.rows
        full = len(rows) == PAGE
        if message.mode == "replace":
            self.rows = list(rows)
            if message.anchor == "end":
                self.more_after, self.more_before = False, full
                self.after, self.before = 0, None
            else:
                self.more_before, self.more_after = False, full
                self.before, self.after = 0, None
            self._rebuild(select=(len(self.rows) - 1 if message.anchor == "end" else 0)
                          if message.select is None else message.select)
        elif message.mode == "append":
            self.more_after = full
            if self.after is not None:
                self.after = max(0, self.after - len(rows))
            self.rows.extend(rows)
            cursor = table.cursor_row
            if len(self.rows) > MAX_WINDOW:
                drop = len(self.rows) - MAX_WINDOW
                self.rows = self.rows[drop:]
                self.more_before = True
                if self.before is not None:
                    self.before += drop
                self._rebuild(select=max(0, cursor - drop))
            else:
                for row in rows:
                    table.add_row(*self._cells(row), key=str(row.example_id))
        elif message.mode == "refresh":
            self._refreshed(rows, message.select)
        elif message.mode == "prepend":
            self.more_before = full
            if self.before is not None:
                self.before = max(0, self.before - len(rows))
            cursor = table.cursor_row + len(rows)
            self.rows = list(rows) + self.rows
            if len(self.rows) > MAX_WINDOW:
                drop = len(self.rows) - MAX_WINDOW
                self.rows = self.rows[:MAX_WINDOW]
                self.more_after = True
                if self.after is not None:
                    self.after += drop
            self._rebuild(select=min(cursor, len(self.rows) - 1))
        self._resolve_offsets()
        self.page_loads += 1
        self._status()
        if self._focus_table_when_loaded:
            self._focus_table_when_loaded = False
            table.focus()

    def on_browse_count_loaded(self, message: BrowseCountLoaded) -> None:
        if message.token != self.token:
            return
        self.total = message.count
        self.total_exact = message.exact
        self.last_count_ms = message.elapsed_ms
        self._resolve_offsets()
        self._status()

    def _resolve_offsets(self) -> None:
        if self.total is None or not self.total_exact:
            return
        if self.before is None and self.after is not None:
            self.before = max(0, self.total - self.after - len(self.rows))
        if self.after is None and self.before is not None:
            self.after = max(0, self.total - self.before - len(self.rows))

    def _cells(self, row: BrowseRow) -> list:
        return row_cells(row, self.flt, self.options, self.query_one(ErrorsTable).widths)

    def _cell(self, row: BrowseRow, key: str):
        return cell(row, key, self.flt, self.options, self.query_one(ErrorsTable).widths)

    def _rebuild(self, select: int = 0) -> None:
        """Add the window's rows again, into columns fitted to them and to the terminal."""
        table = self.query_one(ErrorsTable)
        if not table.fit(self.rows, self._iteration_count()):
            table.clear()
        self._add_rows(select)

    def _add_rows(self, select: int) -> None:
        table = self.query_one(ErrorsTable)
        for row in self.rows:
            table.add_row(*self._cells(row), key=str(row.example_id))
        if self.rows:
            table.move_cursor(row=max(0, min(select, len(self.rows) - 1)), animate=False)

    def _iteration_count(self) -> int:
        if self.options is None or self.flt is None:
            return 1
        return len(self.options.iterations.get(self.flt.split, [])) or 1

    def on_vim_data_table_width_changed(self, event: VimDataTable.WidthChanged) -> None:
        table = self.query_one(ErrorsTable)
        if event.table is not table:
            return
        cursor = table.cursor_row
        if table.fit(self.rows, self._iteration_count()):  # the columns changed: rows again
            self._add_rows(select=cursor)

    # -- moving ---------------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.flt is None or not self.rows:
            return
        index = event.cursor_row
        if index != event.data_table.cursor_row:
            return  # stale: the table was rebuilt (and its cursor moved) since this was posted
        if not self.fetching and self.more_after and index >= len(self.rows) - PREFETCH:
            self.fetching = True
            self._fetch(self.flt, "append", after=self.rows[-1].example_id)
        elif not self.fetching and self.more_before and index < PREFETCH:
            self.fetching = True
            self._fetch(self.flt, "prepend", before=self.rows[0].example_id)
        self._status()

    def on_vim_data_table_edge_requested(self, event: VimDataTable.EdgeRequested) -> None:
        if self.flt is None:
            return
        table = self.query_one(ErrorsTable)
        if event.edge == "top":
            if not self.more_before:
                if self.rows:
                    table.move_cursor(row=0, animate=False)
                return
            self._jump("start")
        else:
            if not self.more_after:
                if self.rows:
                    table.move_cursor(row=len(self.rows) - 1, animate=False)
                return
            self._jump("end")

    def _jump(self, anchor: str) -> None:
        """Replace the window with the first or last page; the count stays what it was."""
        total = self.total
        self.token += 1
        self.fetching = True
        self._fetch(self.flt, "replace", anchor=anchor)
        self.total = total

    def current_row(self) -> BrowseRow | None:
        table = self.query_one(ErrorsTable)
        if not self.rows or not (0 <= table.cursor_row < len(self.rows)):
            return None
        return self.rows[table.cursor_row]

    def neighbour(self, example_id: int, step: int) -> int | None:
        """The example `step` rows from `example_id` (the detail screen's n/N); moves the cursor."""
        ids = [row.example_id for row in self.rows]
        if example_id not in ids:
            return None
        index = ids.index(example_id) + step
        if not 0 <= index < len(ids):
            return None
        self.query_one(ErrorsTable).move_cursor(row=index, animate=False)
        return ids[index]
