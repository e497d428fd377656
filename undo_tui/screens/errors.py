"""Errors browser: the student's errors (or fixes, regressions...) for one iteration and split.

The table is a window of at most MAX_WINDOW rows over the filter's result, fetched 200 rows at a
time by keyset from the store (store.browse). Moving near either end of the window fetches the
next or previous page; g/G jump to the first/last page without reading what lies between. The row
count is a separate query, so the first page paints before it is known.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

import store
from store import browse
from store.browse import STATUSES, BrowseFilter, BrowseRow
from undo_tui.messages import (BrowseChanged, BrowseCountLoaded, BrowseOptions,
                               BrowseOptionsLoaded, BrowsePageLoaded, Saved)
from undo_tui.screens.base import BaseScreen
from undo_tui.screens.dialogs import InputDialog
from undo_tui.widgets.render import highlight, history_text, one_line, verdict
from undo_tui.widgets.vim_table import VimDataTable

PAGE = browse.PAGE_SIZE
MAX_WINDOW = 1000
PREFETCH = 40
STATUS_ORDER = list(STATUSES)
ACTIVE = ("created", "running", "stopping")
IDLE_CHECK_S = 5.0  # a finished run is still checked now and then (another process may write)
STATUS_LABELS = {"wrong": "wrong at k", "fixed": "fixed", "regressed": "regressed",
                 "still_wrong": "still wrong", "always_right": "always right", "all": "all"}


# What matters most first, so a narrow terminal still shows the verdicts.
COLUMNS = (("id", "id", 7), ("ext id", "ext", 10), ("student", "student", 9),
           ("history", "history", 11), ("question", "question", 44), ("gold", "gold", 7),
           ("tags", "tags", 10), ("", "excluded", 4))


def read_options(db, run_id: int) -> BrowseOptions:
    """The splits and iterations a run has predictions for, and the store's tags."""
    splits = browse.browse_splits(db, run_id)
    iterations = {split: browse.browse_iterations(db, run_id, split) for split in splits}
    return BrowseOptions(splits, iterations, store.all_tags(db))


class ErrorsTable(VimDataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open", id="errors_open")]


class ErrorsScreen(BaseScreen):
    HELP_SCOPE = "Errors browser"
    BINDINGS = [
        Binding("slash", "search", "Search", key_display="/", id="errors_search"),
        Binding("n", "next_match", "Next", id="errors_next"),
        Binding("N", "previous_match", "Prev match", id="errors_previous", show=False),
        Binding("f", "cycle_status(1)", "Status", id="errors_status"),
        Binding("F", "cycle_status(-1)", "Status back", id="errors_status_back", show=False),
        Binding("right_square_bracket", "cycle_iteration(1)", "Iter", key_display="]",
                id="errors_iteration_next"),
        Binding("left_square_bracket", "cycle_iteration(-1)", "Iteration back",
                key_display="[", id="errors_iteration_previous", show=False),
        Binding("s", "cycle_split", "Split", id="errors_split"),
        Binding("t", "tag_filter", "Tag", id="errors_tag"),
        Binding("x", "toggle_exclude", "Excl", id="errors_exclude"),
        Binding("c", "clear_filters", "Clear", id="errors_clear"),
        Binding("escape", "back", "Back", id="errors_back"),
        Binding("ctrl+r", "refresh", "Refresh", id="errors_refresh", show=False),
    ]

    def __init__(self, run_id: int, *, split: str | None = None, iteration: int | None = None,
                 status: str = "wrong", search: str | None = None, tag: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.wanted = dict(split=split, iteration=iteration, status=status, search=search, tag=tag)
        self.options: BrowseOptions | None = None
        self.flt: BrowseFilter | None = None
        self.rows: list[BrowseRow] = []
        self.token = 0
        self.loading = False
        self.more_after = False
        self.more_before = False
        self.before: int | None = 0
        self.after: int | None = None
        self.total: int | None = None
        self.total_exact = True  # False: a capped search count, `total` is a lower bound
        self.last_page_ms = 0.0
        self.last_count_ms = 0.0
        self.page_loads = 0
        self.note = ""
        self.hits: tuple[str, browse.SearchHits] | None = None  # the last search's FTS matches
        self._focus_table_when_loaded = False
        self.marker: tuple | None = None  # what the store looked like at the last check
        self.last_check = 0.0
        self.refreshes = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Select([], prompt="split", allow_blank=True, id="split-select")
            yield Select([], prompt="iteration", allow_blank=True, id="iteration-select")
            yield Select([(STATUS_LABELS[s], s) for s in STATUS_ORDER], allow_blank=False,
                         value="wrong", id="status-select")
            yield Input(placeholder="/ search questions and rationales (FTS5)", id="search")
        yield Static("", id="browse-status", classes="screen-title")
        yield ErrorsTable(id="errors-table", paged=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Errors — run {self.run_id}"
        table = self.query_one(ErrorsTable)
        for label, key, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        table.focus()
        self.load_options()
        self.set_interval(self.app.poll_interval, self._poll)

    # -- filter state ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="browse-options", exit_on_error=False,
          name="loading filters")
    def load_options(self) -> None:
        self.post_message(BrowseOptionsLoaded(read_options(self.db(), self.run_id)))

    def on_browse_options_loaded(self, message: BrowseOptionsLoaded) -> None:
        options = self.options = message.options
        if not options.splits:
            self.query_one("#browse-status", Static).update(
                "This run has no student predictions yet: errors appear after its first "
                "evaluation.")
            return
        wanted = self.wanted
        split = wanted["split"] if wanted["split"] in options.splits else (
            "val" if "val" in options.splits else options.splits[0])
        iterations = options.iterations[split]
        k = wanted["iteration"] if wanted["iteration"] in iterations else iterations[-1]
        self.apply(BrowseFilter(self.run_id, split, k, wanted["status"] or "wrong",
                                browse.previous_iteration(iterations, k), wanted["tag"],
                                wanted["search"]))

    def apply(self, flt: BrowseFilter) -> None:
        """Show a new filter: sync the filter bar, then fetch its first page and its count."""
        assert self.options is not None
        if flt.split in self.options.iterations:
            flt = flt.with_(previous=browse.previous_iteration(
                self.options.iterations[flt.split], flt.iteration))
        self.flt = flt
        self._set_select("#split-select", [(s, s) for s in self.options.splits], flt.split)
        self._set_select("#iteration-select",
                         [(f"iteration {k}", k) for k in self.options.iterations.get(flt.split, [])],
                         flt.iteration)
        self.query_one("#status-select", Select).value = flt.status
        search = self.query_one("#search", Input)
        if search.value != (flt.search or ""):
            search.value = flt.search or ""
        self.reload()

    def _set_select(self, selector: str, options: list[tuple[str, object]], value) -> None:
        select = self.query_one(selector, Select)
        if getattr(select, "_undo_options", None) != options:
            select._undo_options = options
            select.set_options(options)
        if select.value != value:
            select.value = value

    def reload(self, *, anchor: str = "start") -> None:
        self.token += 1
        self.total = None
        self.loading = True
        self.note = ""
        if not self.flt.comparable:
            self.note = (f"iteration {self.flt.iteration} is the first evaluated on "
                         f"{self.flt.split}: nothing to compare '{STATUS_LABELS[self.flt.status]}' "
                         "with")
        self._fetch(self.flt, "replace", anchor=anchor)
        self._status()

    def _cached_hits(self, flt: BrowseFilter) -> browse.SearchHits | None:
        if flt.search and self.hits is not None and self.hits[0] == flt.search:
            return self.hits[1]
        return None

    def _fetch(self, flt: BrowseFilter, mode: str, **where) -> None:
        """Start a page load; a replacing load also counts the rows once the page is in."""
        self.fetch_page(self.token, flt, mode, hits=self._cached_hits(flt), **where)

    @work(thread=True, exclusive=True, group="browse-page", exit_on_error=False,
          name="loading rows")
    def fetch_page(self, token: int, flt: BrowseFilter, mode: str, *, after: int | None = None,
                   before: int | None = None, anchor: str = "start", select: int | None = None,
                   hits: browse.SearchHits | None = None, limit: int = PAGE) -> None:
        started = time.perf_counter()
        found = None
        try:
            db = self.db()
            if flt.search and hits is None:
                hits = browse.search_hits(db, flt.search)
                found = (flt.search, hits)
            rows = browse.browse_page(db, flt, after=after, before=before,
                                      last=(anchor == "end" and mode == "replace"),
                                      limit=limit, hits=hits)
        except Exception as exc:  # reported, and the screen stays usable
            self.post_message(BrowsePageLoaded(token, [], "failed", 0.0))
            raise exc
        self.post_message(BrowsePageLoaded(token, rows, mode,
                                           (time.perf_counter() - started) * 1000, anchor,
                                           select, found))

    @work(thread=True, exclusive=True, group="browse-count", exit_on_error=False,
          name="counting rows")
    def fetch_count(self, token: int, flt: BrowseFilter,
                    hits: browse.SearchHits | None = None) -> None:
        started = time.perf_counter()
        n, exact = browse.browse_count_bounded(self.db(), flt, hits=hits,
                                               max_read=browse.COUNT_READ_CAP)
        self.post_message(BrowseCountLoaded(token, n, (time.perf_counter() - started) * 1000,
                                            exact))

    # -- applying pages ---------------------------------------------------------------------------

    def on_browse_page_loaded(self, message: BrowsePageLoaded) -> None:
        if message.hits is not None:
            self.hits = message.hits
        if message.token != self.token:
            return
        self.loading = False
        if message.mode == "failed":
            self._focus_table_when_loaded = False
            self.query_one(ErrorsTable).focus()
            return
        if message.mode == "replace" and self.total is None:
            # counted after the first page, so the two do not compete for the first paint
            self.fetch_count(self.token, self.flt, self._cached_hits(self.flt))
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
        """One row's cells, in COLUMNS order."""
        return [self._cell(row, key) for _, key, _ in COLUMNS]

    def _cell(self, row: BrowseRow, key: str):
        flt = self.flt
        if key == "id":
            return str(row.example_id)
        if key == "ext":
            return one_line(row.ext_id, 10)
        if key == "student":
            student = verdict(row.correct)
            student.append(f" {one_line(row.answer or '—', 6)}")
            return student
        if key == "history":
            ks = self.options.iterations.get(flt.split, []) if self.options and flt else []
            return history_text(row.history, ks, flt.iteration if flt else None)
        if key == "question":
            words = browse.search_terms(flt.search) if flt and flt.search else []
            return highlight(one_line(row.question, 44), words)
        if key == "gold":
            return one_line(row.gold, 7)
        if key == "tags":
            return one_line(" ".join(row.tags), 10)
        return Text("excl", style="bold yellow") if row.excluded else ""

    def _rebuild(self, select: int = 0) -> None:
        table = self.query_one(ErrorsTable)
        table.clear()
        for row in self.rows:
            table.add_row(*self._cells(row), key=str(row.example_id))
        if self.rows:
            table.move_cursor(row=max(0, min(select, len(self.rows) - 1)), animate=False)

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
        if self.loading and not self.rows:
            text.append("loading…", style="dim")
        elif not self.rows:
            text.append(self.note or "no matching rows", style="dim")
        else:
            table = self.query_one(ErrorsTable)
            start = (self.before or 0) + 1
            position = (self.before or 0) + table.cursor_row + 1
            total = "…" if self.total is None else f"{self.total:,}" + (
                "" if self.total_exact else "+")
            if self.before is None:
                text.append(f"row ? of {total}")
            else:
                text.append(f"row {position:,} of {total}")
                text.append(f" (loaded {start:,}–{start + len(self.rows) - 1:,})", style="dim")
        self.query_one("#browse-status", Static).update(text)

    # -- following a run that writes ----------------------------------------------------------

    def _poll(self) -> None:
        if self.is_current and self.options is not None and not self.loading:
            self.check_store(self.marker)

    @work(thread=True, exclusive=True, group="browse-poll", exit_on_error=False,
          name="watching the store")
    def check_store(self, known: tuple | None, force: bool = False) -> None:
        """Post BrowseChanged when what this screen shows may have changed (short reads)."""
        db = self.db()
        active = store.get_run(db, self.run_id).status in ACTIVE
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
        self.hits = None  # new rationales may match the search
        self._refresh_window()

    def _refresh_window(self) -> None:
        """Re-read the rows from the window's first one on, keeping the highlighted example."""
        current = self.current_row()
        self.loading = True
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
                    for _, key, _ in COLUMNS:
                        table.update_cell(str(row.example_id), key, self._cell(row, key))
            self.rows = list(rows)
        else:
            ids = [row.example_id for row in rows]
            self.rows = list(rows)
            scroll = table.scroll_y
            self._rebuild(select=ids.index(keep) if keep in ids else cursor)
            table.scroll_to(y=scroll, animate=False)
        self.refreshes += 1
        self.fetch_count(self.token, self.flt, self._cached_hits(self.flt))

    # -- moving ---------------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.flt is None or not self.rows:
            return
        index = event.cursor_row
        if index != event.data_table.cursor_row:
            return  # stale: the table was rebuilt (and its cursor moved) since this was posted
        if not self.loading and self.more_after and index >= len(self.rows) - PREFETCH:
            self.loading = True
            self._fetch(self.flt, "append", after=self.rows[-1].example_id)
        elif not self.loading and self.more_before and index < PREFETCH:
            self.loading = True
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
        self.loading = True
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

    # -- actions ------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = self.current_row()
        if row is not None and self.flt is not None:
            self.app.open_example(self.run_id, row.example_id, browser=self)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.flt is None:
            return
        text = event.value.strip() or None
        if text and browse.fts_query(text) is None:
            self.notify("Search needs at least one word", severity="warning")
            return
        if text != self.flt.search:
            # Focus moves once the rows are in: moving it recomposes the footer, which would
            # otherwise compete with the search for the one core Python gives us.
            self._focus_table_when_loaded = True
            self.apply(self.flt.with_(search=text))
        else:
            self.query_one(ErrorsTable).focus()

    def action_next_match(self) -> None:
        self._step_match(1)

    def action_previous_match(self) -> None:
        self._step_match(-1)

    def _step_match(self, step: int) -> None:
        if self.flt is None or not self.flt.search:
            self.notify("No search yet: press / and type words to search for", severity="warning")
            return
        table = self.query_one(ErrorsTable)
        table.focus()
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_cycle_status(self, step: int) -> None:
        if self.flt is None:
            return
        index = (STATUS_ORDER.index(self.flt.status) + step) % len(STATUS_ORDER)
        self.apply(self.flt.with_(status=STATUS_ORDER[index]))

    def action_cycle_iteration(self, step: int) -> None:
        if self.flt is None or self.options is None:
            return
        ks = self.options.iterations.get(self.flt.split, [])
        if not ks:
            return
        index = (ks.index(self.flt.iteration) + step) % len(ks) if self.flt.iteration in ks else 0
        self.apply(self.flt.with_(iteration=ks[index]))

    def action_cycle_split(self) -> None:
        if self.flt is None or self.options is None or len(self.options.splits) < 2:
            return
        splits = self.options.splits
        split = splits[(splits.index(self.flt.split) + 1) % len(splits)]
        self._switch_split(split)

    def _switch_split(self, split: str) -> None:
        ks = self.options.iterations.get(split, [])
        k = self.flt.iteration if self.flt.iteration in ks else ks[-1]
        self.apply(self.flt.with_(split=split, iteration=k))

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        if self.flt is None or self.options is None or event.value is Select.NULL:
            return
        if event.select.id == "split-select" and event.value != self.flt.split \
                and event.value in self.options.splits:
            self._switch_split(event.value)
        elif event.select.id == "iteration-select" and event.value != self.flt.iteration \
                and event.value in self.options.iterations.get(self.flt.split, []):
            self.apply(self.flt.with_(iteration=event.value))
        elif event.select.id == "status-select" and event.value != self.flt.status \
                and event.value in STATUSES:
            self.apply(self.flt.with_(status=event.value))

    def action_tag_filter(self) -> None:
        if self.flt is None:
            return
        tags = [tag for tag, _ in (self.options.tags if self.options else [])]
        known = ", ".join(f"{tag} ({n})" for tag, n in (self.options.tags if self.options else []))

        def chosen(value: str | None) -> None:
            if value is None:
                return
            self.apply(self.flt.with_(tag=value.strip() or None))

        self.app.push_screen(InputDialog(
            "Filter by tag", f"Tag (empty for no tag filter). Tags in this store: "
            f"{known or 'none yet'}", value=self.flt.tag or "", suggestions=tags), chosen)

    def action_clear_filters(self) -> None:
        if self.flt is not None:
            self.apply(self.flt.with_(status="wrong", tag=None, search=None))

    def action_toggle_exclude(self) -> None:
        row = self.current_row()
        if row is None:
            return
        self.set_excluded(row.example_id, not row.excluded)

    @work(thread=True, exit_on_error=False, name="saving exclusion")
    def set_excluded(self, example_id: int, excluded: bool) -> None:
        store.set_excluded(self.db(), example_id, excluded)
        verb = "excluded from" if excluded else "included again in"
        self.post_message(Saved("exclude" if excluded else "include",
                                f"Example {example_id} {verb} training and exports.", example_id))

    def on_saved(self, message: Saved) -> None:
        self.notify(message.text)
        if message.what in ("exclude", "include"):
            self.mark_excluded(message.subject, message.what == "exclude")

    def mark_excluded(self, example_id: int, excluded: bool) -> None:
        self._update_row(example_id, excluded=excluded)

    def refresh_row_annotations(self, example_id: int, excluded: bool,
                                tags: tuple[str, ...]) -> None:
        """The detail screen changed an example: show it here without a reload."""
        self._update_row(example_id, excluded=excluded, tags=tags)

    def _update_row(self, example_id: int, **changes) -> None:
        table = self.query_one(ErrorsTable)
        for i, row in enumerate(self.rows):
            if row.example_id == example_id:
                self.rows[i] = row = BrowseRow(**{**row.__dict__, **changes})
                for key in ("tags", "excluded"):
                    table.update_cell(str(example_id), key, self._cell(row, key))

    def action_refresh(self) -> None:
        """Re-read iterations, tags and rows now, in place (the poll does it while a run writes)."""
        if self.options is None:
            self.load_options()
        elif not self.loading:
            self.check_store(self.marker, force=True)

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            self.query_one(ErrorsTable).focus()
            return
        self.app.pop_screen()
