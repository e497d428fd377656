"""Errors browser: the student's errors (or fixes, regressions...) for one iteration and split.

This screen holds the filter bar (split, iteration, status, tag, FTS5 search) and the keys; the
rows are the ErrorsBrowser widget's (widgets/errors_browser.py: its window, pages, count,
following a writing run, excluding), which tells the screen what it shows through its messages.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header, Input, Select

from store import browse
from store.browse import STATUSES, BrowseFilter
from undo_tui.messages import BrowseOptions
from undo_tui.screens.base import BaseScreen
from undo_tui.screens.dialogs import InputDialog
from undo_tui.widgets.errors_browser import ErrorsBrowser
from undo_tui.widgets.errors_table import STATUS_LABELS

STATUS_ORDER = list(STATUSES)
# A pause in typing this long starts making the search ready (store.search fills its TEMP
# tables: ~100 ms for a word in every rationale of a 100k store), so Enter finds it done.
PREFETCH_PAUSE_S = 0.15


def _ks_text(ks: list[int]) -> str:
    return ", ".join(map(str, ks))


class ErrorsScreen(BaseScreen):
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
        self.opening_status = status or "wrong"  # the bar starts where the browser opens
        self.browser = ErrorsBrowser(run_id, dict(split=split, iteration=iteration, status=status,
                                                  search=search, tag=tag), id="errors-browser")
        self._x_includes = False  # the footer shows x Incl (else Excl, also while no row shows)
        self._prefetch_timer = None

    @property
    def flt(self) -> BrowseFilter | None:
        """The filter the browser shows."""
        return self.browser.flt

    @property
    def options(self) -> BrowseOptions | None:
        """What the browser can filter by (splits, iterations, tags)."""
        return self.browser.options

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Select([], prompt="split", allow_blank=True, id="split-select")
            yield Select([], prompt="iteration", allow_blank=True, id="iteration-select")
            yield Select([(STATUS_LABELS[s], s) for s in STATUS_ORDER], allow_blank=False,
                         value=self.opening_status, id="status-select")
            yield Input(placeholder="/ search questions and rationales (FTS5)", id="search")
        yield self.browser
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Errors — run {self.run_id}"

    def apply(self, flt: BrowseFilter, *, focus_when_loaded: bool = False) -> None:
        """Show a new filter: the filter bar at once (its Changed events then match the filter
        shown), then the browser's rows."""
        self._sync_filter_bar(flt, self.browser.options)
        self.browser.show(flt, focus_when_loaded=focus_when_loaded)

    # -- what the browser tells the screen -----------------------------------------------------

    def on_errors_browser_filter_shown(self, message: ErrorsBrowser.FilterShown) -> None:
        """The filter bar follows what the browser shows (a message overtaken by a newer filter
        is dropped: syncing to it would set the selects back and their Changed events would
        apply the old filter again)."""
        if message.flt == self.browser.flt:
            self._sync_filter_bar(message.flt, message.options)

    def _sync_filter_bar(self, flt: BrowseFilter, options: BrowseOptions) -> None:
        """Set the selects to `flt` without their Changed events: only a user's choice of a
        value is a new filter."""
        with self.prevent(Select.Changed):
            self._set_select("#split-select", [(s, s) for s in options.splits], flt.split)
            self._set_select("#iteration-select",
                             [(f"iteration {k}", k) for k in options.iterations.get(flt.split, [])],
                             flt.iteration)
            self.query_one("#status-select", Select).value = flt.status
        search = self.query_one("#search", Input)
        if search.value != (flt.search or "") and not search.has_focus:
            search.value = flt.search or ""  # (never under the user's typing: a refresh may land)

    def on_errors_browser_opened(self, message: ErrorsBrowser.Opened) -> None:
        self.app.open_example(self.run_id, message.example_id, browser=self.browser)

    def on_errors_browser_excluded_shown(self, message: ErrorsBrowser.ExcludedShown) -> None:
        self._x_includes = message.excluded
        self.refresh_bindings()

    def _set_select(self, selector: str, options: list[tuple[str, object]], value) -> None:
        select = self.query_one(selector, Select)
        if getattr(select, "_undo_options", None) != options:
            select._undo_options = options
            select.set_options(options)
        if select.value != value:
            select.value = value

    # -- actions ------------------------------------------------------------------------------

    def action_search(self) -> None:
        # at once, not Widget.focus()'s call_later: keys typed right after / (queued while the
        # app was busy) must reach the search box, not the table
        self.set_focus(self.query_one("#search", Input))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "search":  # in the search box, / is a character
            return not self.query_one("#search", Input).has_focus
        if action == "set_excluded":  # one of x's two bindings: what x does to this row
            return self._x_includes != parameters[0]
        return super().check_action(action, parameters)

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
            PREFETCH_PAUSE_S, lambda: self.browser.prefetch_search(text))

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
            self.apply(self.flt.with_(search=text), focus_when_loaded=True)
        else:
            self.browser.table.focus()

    def action_next_match(self) -> None:
        self._step_match(1)

    def action_previous_match(self) -> None:
        self._step_match(-1)

    def _step_match(self, step: int) -> None:
        if self.flt is None or not self.flt.search:
            self.notify("No search yet: press / and type words to search for", severity="warning")
            return
        self.browser.step(step)

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
        self.browser.refresh_now()

    def action_set_excluded(self, excluded: bool) -> None:
        row = self.browser.current_row()
        if row is not None:
            self.browser.set_excluded(row.example_id, excluded)

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            self.browser.table.focus()
            return
        self.app.pop_screen()
