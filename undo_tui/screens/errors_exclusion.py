"""The errors browser's exclude key: x excludes or includes the highlighted example, and the
footer says which (two bindings on one key, one hidden by check_action); rows changed here or on
the detail screen are updated in place."""

from __future__ import annotations

from textual import work

import store
from store.browse import BrowseRow
from undo_tui.messages import Saved
from undo_tui.widgets.errors_table import ErrorsTable


class ErrorsExclusion:
    """Mixin for ErrorsScreen: uses its rows, current_row(), _cell() and db()."""

    _x_includes = False  # the footer shows x Incl (else Excl, also while no row is loaded)

    def _sync_exclude_key(self) -> None:
        """Show x as Excl or Incl for the highlighted row; the footer recomposes only when that
        changes (not on every cursor move, nor on the first page)."""
        row = self.current_row()
        includes = row is not None and row.excluded
        if includes != self._x_includes:
            self._x_includes = includes
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "set_excluded":
            return self._x_includes != parameters[0]
        return super().check_action(action, parameters)

    def action_set_excluded(self, excluded: bool) -> None:
        row = self.current_row()
        if row is not None:
            self.set_excluded(row.example_id, excluded)

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
        self._sync_exclude_key()
