"""The errors browser's paged table: one filter's rows, a window of them at a time.

A self-contained widget: it owns the filter it shows, the window of rows (at most MAX_WINDOW,
fetched PAGE at a time by keyset from store.browse), the row count, following a run that writes,
and excluding examples; its workers post to it, and it tells its screen what changed through the
typed messages below. The screen (screens/errors.py) owns the filter bar and the keys.

Page loads and search prefetches share one connection (undo_tui/store_access.SharedConnection),
so a search made ready while the user typed is there for the page load. Moving near either end of
the window fetches the next or previous page; g/G jump to the first/last page without reading
what lies between. The count is a separate worker, started once the first page is painted. While
the run may write (and now and then when it may not: another process may), a cheap marker of
what is shown is compared; when it changed, the window is re-read in place and the cursor stays
on its example.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

import store
from store import browse
from store.browse import BrowseFilter, BrowseRow
from store.runs import STOPPABLE_STATUSES
from undo_tui.messages import (BrowseChanged, BrowseCountLoaded, BrowseOptions,
                               BrowseOptionsLoaded, BrowsePageLoaded, Saved)
from undo_tui.store_access import SharedConnection, interrupted
from undo_tui.widgets.errors_options import opening_filter, read_options
from undo_tui.widgets.errors_table import COLUMNS, STATUS_LABELS, ErrorsTable, cell, row_cells
from undo_tui.widgets.vim_table import VimDataTable

PAGE = browse.PAGE_SIZE
MAX_WINDOW = 1000
PREFETCH = 40
IDLE_CHECK_S = 5.0  # a run that cannot write is still checked now and then


class ErrorsBrowser(Vertical):
    """The status line and the table of one filter's rows."""

    class FilterShown(Message):
        """The browser shows `flt` (or its choices changed): the filter bar follows."""

        def __init__(self, flt: BrowseFilter, options: BrowseOptions) -> None:
            super().__init__()
            self.flt, self.options = flt, options

    class Opened(Message):
        """Enter on a row: open that example."""

        def __init__(self, example_id: int) -> None:
            super().__init__()
            self.example_id = example_id

    class ExcludedShown(Message):
        """The highlighted row's exclusion changed (the footer's x says Excl or Incl)."""

        def __init__(self, excluded: bool) -> None:
            super().__init__()
            self.excluded = excluded

    def __init__(self, run_id: int, wanted: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.wanted = wanted  # split, iteration, status, search, tag asked for on opening
        self.options: BrowseOptions | None = None
        self.flt: BrowseFilter | None = None
        self.rows: list[BrowseRow] = []
        self.token = 0
        self.fetching = False  # a page load is under way (not Widget.loading: that covers the
        # whole screen with a spinner, hiding and so blurring the search box)
        self.more_after = False
        self.more_before = False
        self.before: int | None = 0
        self.after: int | None = None
        self.total: int | None = None
        self.total_exact = True  # False: a capped search count, `total` is a lower bound
        self.total_excluded: int | None = None  # of `total`, excluded examples
        self.last_page_ms = 0.0
        self.last_count_ms = 0.0
        self.page_loads = 0
        self.refreshes = 0
        self.note = ""
        self.marker: tuple | None = None  # what the store looked like at the last check
        self.last_check = 0.0
        self.excluded_shown = False  # the highlighted row is excluded (x includes it)
        self.prefetched: list[str] = []  # searches made ready while typing (newest last)
        self.shared: SharedConnection | None = None
        self._focus_when_loaded = False

    def compose(self) -> ComposeResult:
        yield Static("", id="browse-status", classes="screen-title")
        yield ErrorsTable(id="errors-table", paged=True)

    def on_mount(self) -> None:
        self.shared = SharedConnection(self.app.store)
        table = self.table
        table.fit([], 1)
        table.focus()
        self.load_options()
        self.set_interval(self.app.poll_interval, self._poll)

    def on_unmount(self) -> None:
        if self.shared is not None:
            self.shared.close()

    @property
    def table(self) -> ErrorsTable:
        return self.query_one(ErrorsTable)

    # -- the filter -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="browse-options", exit_on_error=False,
          name="loading filters")
    def load_options(self) -> None:
        """The filter choices and, the first time, the opening filter's first page."""
        options = read_options(self.app.store.db(), self.run_id)
        flt = rows = None
        started = time.perf_counter()
        if self.flt is None and (flt := opening_filter(options, self.wanted, self.run_id)):
            rows = self._read_page(flt)
        self.post_message(BrowseOptionsLoaded(options, flt, rows,
                                              (time.perf_counter() - started) * 1000))

    def on_browse_options_loaded(self, message: BrowseOptionsLoaded) -> None:
        message.stop()
        self.options = options = message.options
        if not options.splits:
            self.query_one("#browse-status", Static).update(
                "This run has no student predictions yet: errors appear after its first "
                "evaluation.")
            return
        if message.flt is not None and self.flt is None:
            self.show(message.flt, first_page=(message.rows, message.elapsed_ms))
        else:
            self.show(opening_filter(options, self.wanted, self.run_id))

    def show(self, flt: BrowseFilter, *, first_page: tuple[list[BrowseRow], float] | None = None,
             focus_when_loaded: bool = False) -> None:
        """Show a filter from its first row: its first page (already read, or fetched) and
        its count; `focus_when_loaded`: move the focus to the table once the rows are in."""
        assert self.options is not None
        if flt.split in self.options.iterations:
            flt = flt.with_(previous=browse.previous_iteration(
                self.options.iterations[flt.split], flt.iteration))
        self.flt = flt
        self._focus_when_loaded = focus_when_loaded
        self.post_message(self.FilterShown(flt, self.options))
        self.reload(first_page=first_page)

    def reload(self, *, anchor: str = "start",
               first_page: tuple[list[BrowseRow], float] | None = None) -> None:
        """Show the filter from its start (or end); first_page: already read, no fetch."""
        self.token += 1
        self.total = None
        self.fetching = True
        self.note = ""
        if not self.flt.comparable:
            self.note = (f"iteration {self.flt.iteration} is the first evaluated on "
                         f"{self.flt.split}: nothing to compare '{STATUS_LABELS[self.flt.status]}' "
                         "with")
        if first_page is not None:
            rows, elapsed_ms = first_page
            self.on_browse_page_loaded(BrowsePageLoaded(self.token, rows, "replace", elapsed_ms))
        else:
            self._fetch(self.flt, "replace", anchor=anchor)
        self._status()

    def _status(self) -> None:
        flt = self.flt
        if flt is None:
            return
        text = Text()
        text.append(f"{flt.split} · iteration {flt.iteration}", style="bold")
        if flt.previous is not None and flt.status in browse.NEEDS_PREVIOUS:
            text.append(f" vs {flt.previous}")
        text.append(f" · {STATUS_LABELS[flt.status]}", style="bold cyan")
        if flt.tag:
            text.append(f" · tag {flt.tag}", style="magenta")
        if flt.search:
            text.append(f" · search “{flt.search}”", style="yellow")
        text.append("  —  ")
        if self.fetching and not self.rows:
            text.append("loading…", style="dim")
        elif not self.rows:
            text.append(self.note or "no matching rows", style="dim")
        else:
            start = (self.before or 0) + 1
            position = (self.before or 0) + self.table.cursor_row + 1
            total = "…" if self.total is None else f"{self.total:,}" + (
                "" if self.total_exact else "+")
            if self.before is None:
                text.append(f"row ? of {total}")
            else:
                text.append(f"row {position:,} of {total}")
                text.append(f" (loaded {start:,}–{start + len(self.rows) - 1:,})", style="dim")
            if self.total is not None and self.total_excluded:
                text.append(f" · {self.total_excluded:,} excluded (left out of scores)",
                            style="yellow")
        self.query_one("#browse-status", Static).update(text)
        self._sync_excluded()

    # -- page workers -----------------------------------------------------------------------

    def _fetch(self, flt: BrowseFilter, mode: str, **where) -> None:
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
        except Exception as exc:  # reported, and the browser stays usable
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
        db = self.app.store.db()
        n, exact = browse.browse_count_bounded(db, flt, max_read=browse.COUNT_READ_CAP)
        excluded = browse.browse_excluded_count(db, flt)
        self.post_message(BrowseCountLoaded(token, n, (time.perf_counter() - started) * 1000,
                                            exact, excluded))

    @work(thread=True, exclusive=True, group="browse-prefetch", exit_on_error=False,
          name="preparing the search")
    def prefetch_search(self, text: str) -> None:
        """Make a search ready on the page connection while the user is still typing."""
        try:
            with self.shared.use(prefetch=True) as db:
                browse.search_hits(db, text, self.run_id)
        except Exception as exc:
            if interrupted(exc):
                return  # a page load needed the connection first: it will search itself
            raise
        self.prefetched.append(text)

    # -- applying pages ---------------------------------------------------------------------

    def on_browse_page_loaded(self, message: BrowsePageLoaded) -> None:
        message.stop()
        if message.token != self.token:
            return
        self.fetching = False
        table = self.table
        if message.mode == "failed":
            self._focus_when_loaded = False
            table.focus()
            return
        if message.mode == "replace" and self.total is None:
            # counted once the first page is painted, so the two do not compete for it
            self.call_after_refresh(self.fetch_count, self.token, self.flt)
        self.last_page_ms = message.elapsed_ms
        rows = message.rows
        full = len(rows) == PAGE
        if message.mode == "replace":
            self._replaced(rows, full, message.anchor, message.select)
        elif message.mode == "append":
            self._appended(rows, full)
        elif message.mode == "refresh":
            self._refreshed(rows, message.select)
        elif message.mode == "prepend":
            self._prepended(rows, full)
        self._resolve_offsets()
        self.page_loads += 1
        self._status()
        if self._focus_when_loaded:
            self._focus_when_loaded = False
            table.focus()

    def _replaced(self, rows: list[BrowseRow], full: bool, anchor: str,
                  select: int | None) -> None:
        self.rows = list(rows)
        if anchor == "end":
            self.more_after, self.more_before = False, full
            self.after, self.before = 0, None
        else:
            self.more_before, self.more_after = False, full
            self.before, self.after = 0, None
        self._rebuild(select=(len(self.rows) - 1 if anchor == "end" else 0)
                      if select is None else select)

    def _appended(self, rows: list[BrowseRow], full: bool) -> None:
        table = self.table
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

    def _prepended(self, rows: list[BrowseRow], full: bool) -> None:
        self.more_before = full
        if self.before is not None:
            self.before = max(0, self.before - len(rows))
        cursor = self.table.cursor_row + len(rows)
        self.rows = list(rows) + self.rows
        if len(self.rows) > MAX_WINDOW:
            drop = len(self.rows) - MAX_WINDOW
            self.rows = self.rows[:MAX_WINDOW]
            self.more_after = True
            if self.after is not None:
                self.after += drop
        self._rebuild(select=min(cursor, len(self.rows) - 1))

    def on_browse_count_loaded(self, message: BrowseCountLoaded) -> None:
        message.stop()
        if message.token != self.token:
            return
        self.total = message.count
        self.total_exact = message.exact
        self.total_excluded = message.excluded
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
        return row_cells(row, self.flt, self.options, self.table.widths)

    def _cell(self, row: BrowseRow, key: str):
        return cell(row, key, self.flt, self.options, self.table.widths)

    def _rebuild(self, select: int = 0) -> None:
        """Add the window's rows again, into columns fitted to them and to the terminal."""
        if not self.table.fit(self.rows, self._iteration_count()):
            self.table.clear()
        self._add_rows(select)

    def _add_rows(self, select: int) -> None:
        table = self.table
        for row in self.rows:
            table.add_row(*self._cells(row), key=str(row.example_id))
        if self.rows:
            table.move_cursor(row=max(0, min(select, len(self.rows) - 1)), animate=False)

    def _iteration_count(self) -> int:
        if self.options is None or self.flt is None:
            return 1
        return len(self.options.iterations.get(self.flt.split, [])) or 1

    def on_vim_data_table_width_changed(self, event: VimDataTable.WidthChanged) -> None:
        table = self.table
        if event.table is not table:
            return
        cursor = table.cursor_row
        if table.fit(self.rows, self._iteration_count()):  # the columns changed: rows again
            self._add_rows(select=cursor)

    # -- moving -----------------------------------------------------------------------------

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

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.current_row()
        if row is not None and self.flt is not None:
            self.post_message(self.Opened(row.example_id))

    def on_vim_data_table_edge_requested(self, event: VimDataTable.EdgeRequested) -> None:
        if self.flt is None:
            return
        table = self.table
        more = self.more_before if event.edge == "top" else self.more_after
        if more:
            self._jump("start" if event.edge == "top" else "end")
        elif self.rows:
            table.move_cursor(row=0 if event.edge == "top" else len(self.rows) - 1,
                              animate=False)

    def _jump(self, anchor: str) -> None:
        """Replace the window with the first or last page; the count stays what it was."""
        total = self.total
        self.token += 1
        self.fetching = True
        self._fetch(self.flt, "replace", anchor=anchor)
        self.total = total

    def step(self, step: int) -> None:
        """The next (or previous) row, with the focus on the table: n/N after a search."""
        self.table.focus()
        if step > 0:
            self.table.action_cursor_down()
        else:
            self.table.action_cursor_up()

    def current_row(self) -> BrowseRow | None:
        table = self.table
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
        self.table.move_cursor(row=index, animate=False)
        return ids[index]

    # -- following a run that writes --------------------------------------------------------

    def _poll(self) -> None:
        if self.screen.is_current and self.options is not None and not self.fetching:
            self.check_store(self.marker)

    def refresh_now(self) -> None:
        """Re-read filter choices and rows now, in place (ctrl+r)."""
        if self.options is None:
            self.load_options()
        elif not self.fetching:
            self.check_store(self.marker, force=True)

    @work(thread=True, exclusive=True, group="browse-poll", exit_on_error=False,
          name="watching the store")
    def check_store(self, known: tuple | None, force: bool = False) -> None:
        """Post BrowseChanged when what is shown may have changed (short reads)."""
        db = self.app.store.db()
        may_write = store.get_run(db, self.run_id).status in STOPPABLE_STATUSES
        now = time.monotonic()
        if not (force or may_write or now - self.last_check >= IDLE_CHECK_S):
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
        message.stop()
        self.marker = message.marker
        if not message.refresh:
            return
        options, old = message.options, self.options
        if self.flt is None or self.flt.split not in options.iterations:
            self.on_browse_options_loaded(BrowseOptionsLoaded(options))  # first predictions
            return
        self.options = options
        flt = self.flt
        self.post_message(self.FilterShown(flt, options))
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
        table = self.table
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

    # -- excluding ----------------------------------------------------------------------------

    def _sync_excluded(self) -> None:
        """Tell the screen when the highlighted row's exclusion differs from what it shows, so
        the footer recomposes only then (not on every cursor move, nor on the first page)."""
        row = self.current_row()
        excluded = row is not None and row.excluded
        if excluded != self.excluded_shown:
            self.excluded_shown = excluded
            self.post_message(self.ExcludedShown(excluded))

    @work(thread=True, exit_on_error=False, name="saving exclusion")
    def set_excluded(self, example_id: int, excluded: bool) -> None:
        store.set_excluded(self.app.store.db(), example_id, excluded, run_id=self.run_id)
        verb = "excluded from" if excluded else "included again in"
        self.post_message(Saved("exclude" if excluded else "include",
                                f"Example {example_id} {verb} training, scores and exports "
                                "(every run on its dataset).", example_id))

    def on_saved(self, message: Saved) -> None:
        message.stop()
        self.notify(message.text)
        if message.what in ("exclude", "include"):
            self._update_row(message.subject, excluded=message.what == "exclude")

    def refresh_row_annotations(self, example_id: int, excluded: bool,
                                tags: tuple[str, ...]) -> None:
        """The detail screen changed an example: show it here without a reload."""
        self._update_row(example_id, excluded=excluded, tags=tags)

    def _update_row(self, example_id: int, **changes) -> None:
        for i, row in enumerate(self.rows):
            if row.example_id == example_id:
                now = changes.get("excluded", row.excluded)
                if self.total_excluded is not None and now != row.excluded:
                    self.total_excluded += 1 if now else -1  # the count shown follows the row
                self.rows[i] = row = BrowseRow(**{**row.__dict__, **changes})
                for key in ("tags", "excluded"):
                    self.table.update_cell(str(example_id), key, self._cell(row, key))
        self._status()
