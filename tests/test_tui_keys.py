"""Keyboard: remappable bindings from keys.toml, the help screen, the command palette."""

from __future__ import annotations

import inspect

import pytest
from textual.binding import Binding

from tests.fixtures.tui_fixtures import screen_named, settle, wait_for, wait_notified
from undo_tui.app import UndoApp
from undo_tui.keymap import config_path, load_keymap

pytestmark = pytest.mark.usefixtures("tui_env")


def sections():
    return UndoApp(":memory:").help_sections()


def test_every_binding_has_a_unique_id_and_a_description():
    ids, seen = [], set()
    for _, classes in sections():
        for cls in classes:
            if not cls.__module__.startswith("undo_tui"):
                continue  # Textual's own (arrows, PgUp/PgDn...): listed, not remappable by id
            for binding in cls.__dict__.get("BINDINGS", []):
                assert isinstance(binding, Binding), cls
                if id(binding) in seen:
                    continue  # one binding shared by several widgets (the text panes' keys)
                seen.add(id(binding))
                assert binding.id, f"{cls.__name__} {binding.key} has no id"
                assert binding.description, f"{binding.id} has no description"
                ids.append(binding.id)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_action_a_screen_defines_is_bound():
    for _, classes in sections():
        bound = {b.action.split("(")[0] for cls in classes
                 for b in cls.__dict__.get("BINDINGS", [])}
        for cls in classes:
            if not cls.__module__.startswith("undo_tui"):
                continue
            actions = {name[len("action_"):] for name, _ in inspect.getmembers(cls)
                       if name.startswith("action_") and name in cls.__dict__}
            unbound = actions - bound
            assert not unbound, f"{cls.__name__} has unbound actions {sorted(unbound)}"


def test_keys_file_location_and_parsing(tmp_path, monkeypatch):
    monkeypatch.setenv("UNDO_TUI_CONFIG", str(tmp_path / "k.toml"))
    assert config_path() == tmp_path / "k.toml"
    monkeypatch.delenv("UNDO_TUI_CONFIG")
    assert config_path().parts[-2:] == ("undo-tui", "keys.toml")

    missing = load_keymap(tmp_path / "none.toml", known_ids=["runs_stop"])
    assert missing.keymap == {} and missing.problems == [] and not missing.exists

    good = tmp_path / "good.toml"
    good.write_text('[keys]\nruns_stop = "ctrl+s"\nnav_down = "j, ctrl+n"\n')
    loaded = load_keymap(good, known_ids=["runs_stop", "nav_down"])
    assert loaded.keymap == {"runs_stop": "ctrl+s", "nav_down": "j,ctrl+n"}
    assert loaded.problems == []

    bad = tmp_path / "bad.toml"
    bad.write_text('[keys]\nruns_stop = "ctrl+s"\nnope = "x"\nruns_new = 3\n[other]\n')
    loaded = load_keymap(bad, known_ids=["runs_stop", "runs_new"])
    assert loaded.keymap == {"runs_stop": "ctrl+s"}
    text = "\n".join(loaded.problems)
    assert "nope: no binding has this id" in text and "runs_new: expected a key string" in text
    assert "unknown table(s) other" in text

    broken = tmp_path / "broken.toml"
    broken.write_text('[keys]\nruns_stop = "ctrl+s\n')
    loaded = load_keymap(broken)
    assert loaded.keymap == {} and str(broken) in loaded.problems[0]
    assert "line 2" in loaded.problems[0]


@pytest.mark.anyio
async def test_a_remapped_key_replaces_the_default(tui_store, tmp_path, monkeypatch):
    path, ids = tui_store
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\nruns_errors = "ctrl+e"\nnav_down = "ctrl+n"\nbogus_id = "z"\n')
    monkeypatch.setenv("UNDO_TUI_CONFIG", str(keys))
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data
                                and app.screen)
        await wait_notified(pilot, "bogus_id")
        table = screen.query_one("#runs-table")
        await pilot.press("ctrl+n")
        assert table.cursor_row == 1
        await pilot.press("e")  # no longer bound
        await pilot.pause(0.1)
        assert app.screen is screen
        await pilot.press("ctrl+e")
        errors = await wait_for(pilot, lambda: screen_named(app, "ErrorsScreen"))
        assert errors.run_id == ids["baseline"]


@pytest.mark.anyio
async def test_help_lists_every_binding_with_its_current_key(tui_store, tmp_path, monkeypatch):
    path, _ = tui_store
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\nruns_stop = "ctrl+s"\n')
    monkeypatch.setenv("UNDO_TUI_CONFIG", str(keys))
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
        await pilot.press("question_mark")
        help_screen = await wait_for(pilot, lambda: screen_named(app, "HelpScreen"))
        table = help_screen.query_one("#help-table")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        listed = {row[3] for row in rows}
        assert set(app.all_binding_ids()) <= listed
        stop = next(row for row in rows if row[3] == "runs_stop")
        assert stop[1] == "ctrl+s" and stop[2] == "Stop"
        assert next(row for row in rows if row[3] == "nav_down")[1] == "j"
        assert str(keys) in str(help_screen.query_one("#help-intro").render())
        await pilot.press("slash", *"diff")
        filtered = [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
        assert filtered and all(i.startswith("detail_") for i in filtered)
        await pilot.press("escape", "escape")
        assert screen_named(app, "RunsScreen")


@pytest.mark.anyio
async def test_the_command_palette_offers_the_current_screens_commands(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Runs: Stop" in titles and "Runs: New run" in titles and "Runs: Open" in titles
        app.open_errors(ids["run"])
        errors = await wait_for(pilot, lambda: (s := screen_named(app, "ErrorsScreen")) and
                                s.flt and s)
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(errors)]
        for wanted in ("Errors browser: Search", "Errors browser: Next status filter",
                       "Errors browser: Tag",
                       "Errors browser: Exclude the example from training and exports",
                       "Help: all key bindings"):
            assert wanted in titles
        assert not any(t.startswith("Runs:") for t in titles)
        # run one from the palette, as a user would
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"Errors browser: Next status filter")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is errors and errors.flt.status == "fixed",
                       what="status changed from the palette")
