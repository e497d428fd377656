"""Errors browser: the student's errors (or fixes, regressions...) for one iteration and split.

This module holds the screen: its filter bar (split, iteration, status, tag, FTS5 search), its
keys and actions. The window of rows and its page workers are in errors_paging, following a run
that writes is in errors_live, excluding examples in errors_exclusion, the table and its cells in
widgets/errors_table.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from store import browse
from store.browse import STATUSES, BrowseFilter, BrowseRow
from undo_tui.messages import BrowseOptions, BrowseOptionsLoaded, BrowsePageLoaded
from undo_tui.screens.base import BaseScreen
from undo_tui.screens.dialogs import InputDialog
from undo_tui.screens.errors_exclusion import ErrorsExclusion
from undo_tui.screens.errors_live import ErrorsLive, opening_filter, read_options
from undo_tui.screens.errors_paging import ErrorsPaging
from undo_tui.store_access import SharedConnection, interrupted
from undo_tui.widgets.errors_table import STATUS_LABELS, ErrorsTable

__all__ = ["ErrorsScreen", "ErrorsTable"]

STATUS_ORDER = list(STATUSES)
# A pause in typing this long starts making the search ready (store.search fills its TEMP
# tables: ~100 ms for a word in every rationale of a 100k store), so Enter finds it done.
PREFETCH_PAUSE_S = 0.15


def _ks_text(ks: list[int]) -> str:
    return ", ".join(map(str, ks))


class ErrorsScreen(ErrorsExclusion, ErrorsPaging, ErrorsLive, BaseScreen):
    HELP_SCOPE = "Errors browser"
    BINDINGS = [
        # priority: handled before the keys typed after it are passed on (to the table)
        Binding("slash", "search", "Search", key_display="/", id="errors_search", priority=True),
        Binding("n", "next_match", "Next", tooltip="Next search match", id="errors_next"),
        Binding("N", "previous_match", "Prev match", id="errors_previous", show=False),
        Binding("f", "cycle_status(1)", "Status", tooltip="Next status filter",
                id="errors_status"),
        Binding("F", "cycle_status(-1)", "Status back", id="errors_status_back", show=False),
        Binding("right_square_bracket", "cycle_iteration(1)", "Iter", key_display="]",
                tooltip="Next iteration", id="errors_iteration_next"),
        Binding("left_square_bracket", "cycle_iteration(-1)", "Iteration back",
                key_display="[", id="errors_iteration_previous", show=False),
        Binding("s", "cycle_split", "Split", id="errors_split"),
        Binding("t", "tag_filter", "Tag", id="errors_tag"),
        # one key, two bindings: the footer says what x will do to the highlighted example
        Binding("x", "set_excluded(True)", "Excl", tooltip="Exclude the example from training "
                "and exports", id="errors_exclude"),
        Binding("x", "set_excluded(False)", "Incl", tooltip="Include the example again",
                id="errors_include"),
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
        self.fetching = False  # a page load is under way (not Widget.loading: that covers the
        # whole screen with a spinner, hiding and so blurring the search box)
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
        self._focus_table_when_loaded = False
        self.marker: tuple | None = None  # what the store looked like at the last check
        self.last_check = 0.0
        self.refreshes = 0
        self.shared: SharedConnection | None = None  # page loads and prefetches (on_mount)
        self._prefetch_timer = None
        self.prefetched: list[str] = []  # searches made ready while typing (newest last)

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
        self.shared = SharedConnection(self.app.store)
        self.sub_title = f"Errors — run {self.run_id}"
        table = self.query_one(ErrorsTable)
        table.fit([], 1)
        table.focus()
        self.load_options()
        self.set_interval(self.app.poll_interval, self._poll)

    # -- filter state ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="browse-options", exit_on_error=False,
          name="loading filters")
    def load_options(self) -> None:
        """The filter bar's choices and, the first time, the opening filter's first page."""
        options = read_options(self.db(), self.run_id)
        flt = rows = None
        started = time.perf_counter()
        if self.flt is None and (flt := opening_filter(options, self.wanted, self.run_id)):
            rows = self._read_page(flt)
        self.post_message(BrowseOptionsLoaded(options, flt, rows,
                                              (time.perf_counter() - started) * 1000))

    def on_browse_options_loaded(self, message: BrowseOptionsLoaded) -> None:
        options = self.options = message.options
        if not options.splits:
            self.query_one("#browse-status", Static).update(
                "This run has no student predictions yet: errors appear after its first "
                "evaluation.")
            return
        if message.flt is not None and self.flt is None:
            self.apply(message.flt, first_page=(message.rows, message.elapsed_ms))
        else:
            self.apply(opening_filter(options, self.wanted, self.run_id))

    def apply(self, flt: BrowseFilter, *,
              first_page: tuple[list[BrowseRow], float] | None = None) -> None:
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
        if search.value != (flt.search or "") and not search.has_focus:
            search.value = flt.search or ""  # (never under the user's typing: a refresh may land)
        self.reload(first_page=first_page)

    def _set_select(self, selector: str, options: list[tuple[str, object]], value) -> None:
        select = self.query_one(selector, Select)
        if getattr(select, "_undo_options", None) != options:
            select._undo_options = options
            select.set_options(options)
        if select.value != value:
            select.value = value

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
        self._sync_exclude_key()


    # -- actions ------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = self.current_row()
        if row is not None and self.flt is not None:
            self.app.open_example(self.run_id, row.example_id, browser=self)

    def action_search(self) -> None:
        # at once, not Widget.focus()'s call_later: keys typed right after / (queued while the
        # app was busy) must reach the search box, not the table
        self.set_focus(self.query_one("#search", Input))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "search":  # in the search box, / is a character
            return not self.query_one("#search", Input).has_focus
        return super().check_action(action, parameters)

    def on_unmount(self) -> None:
        if self.shared is not None:
            self.shared.close()

    @on(Input.Changed, "#search")
    def search_typed(self, event: Input.Changed) -> None:
        """After a short pause in typing, make the search ready on the page connection."""
        if self._prefetch_timer is not None:
            self._prefetch_timer.stop()
            self._prefetch_timer = None
        text = event.value.strip()
        if self.flt is None or not text or browse.fts_query(text) is None \
                or text == (self.flt.search or ""):
            return
        self._prefetch_timer = self.set_timer(
            PREFETCH_PAUSE_S, lambda: self.prefetch_search(text, self.run_id))

    @work(thread=True, exclusive=True, group="browse-prefetch", exit_on_error=False,
          name="preparing the search")
    def prefetch_search(self, text: str, run_id: int) -> None:
        try:
            with self.shared.use(prefetch=True) as db:
                browse.search_hits(db, text, run_id)
        except Exception as exc:
            if interrupted(exc):
                return  # a page load needed the connection first: it will search itself
            raise
        self.prefetched.append(text)

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._prefetch_timer is not None:
            self._prefetch_timer.stop()  # the page load makes it ready itself, now
            self._prefetch_timer = None
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
        index = ks.index(self.flt.iteration) + step if self.flt.iteration in ks else 0
        if not 0 <= index < len(ks):  # stop at the ends and say so, rather than wrap around
            edge = "last" if step > 0 else "first"
            self.notify(f"iteration {self.flt.iteration} is the {edge} evaluated on "
                        f"{self.flt.split} (iterations {_ks_text(ks)})", severity="warning")
            return
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
        if k != self.flt.iteration:
            self.notify(f"{split} has no predictions at iteration {self.flt.iteration}: showing "
                        f"iteration {k} (evaluated on {split}: {_ks_text(ks)})")
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

    def action_refresh(self) -> None:
        """Re-read iterations, tags and rows now, in place (the poll does it while a run writes)."""
        if self.options is None:
            self.load_options()
        elif not self.fetching:
            self.check_store(self.marker, force=True)

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            self.query_one(ErrorsTable).focus()
            return
        self.app.pop_screen()
