"""SharedConnection: one connection taken in turns; a running prefetch yields to a page load."""

from __future__ import annotations

import threading
import time

import pytest

from undo_tui.store_access import SharedConnection, StoreHandle, interrupted

# Seconds of pure SQLite work: long enough that only an interrupt ends it within the test.
SLOW = ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300000000) "
        "SELECT count(*) FROM c")


def hold(shared: SharedConnection, prefetch: bool, started: threading.Event, out: dict) -> None:
    try:
        with shared.use(prefetch=prefetch) as db:
            started.set()
            out["result"] = db.execute(SLOW).fetchone()[0]
    except Exception as exc:
        out["error"] = exc


@pytest.fixture
def shared(tui_store):
    path, _ = tui_store
    return SharedConnection(StoreHandle(path))


def test_a_page_load_interrupts_a_running_prefetch_and_gets_the_connection(shared):
    started, out = threading.Event(), {}
    worker = threading.Thread(target=hold, args=(shared, True, started, out))
    worker.start()
    assert started.wait(10)
    t0 = time.monotonic()
    with shared.use() as db:
        waited = time.monotonic() - t0
        assert db.execute("SELECT count(*) FROM examples").fetchone()[0] > 0
    worker.join(10)
    assert interrupted(out["error"]) and "result" not in out
    assert waited < 2  # the 300M-row count would take far longer


def test_a_prefetch_that_has_not_started_its_statement_still_yields(shared):
    """An interrupt finds nothing running here (SQLite ignores it then); the flag the progress
    handler reads stops the statement the prefetch starts after the page load asked."""
    holding, go, out, page = threading.Event(), threading.Event(), {}, {}

    def prefetch():
        try:
            with shared.use(prefetch=True) as db:
                holding.set()
                go.wait(10)
                out["result"] = db.execute(SLOW).fetchone()[0]
        except Exception as exc:
            out["error"] = exc

    def load():
        t0 = time.monotonic()
        with shared.use() as db:
            page["waited"] = time.monotonic() - t0
            page["count"] = db.execute("SELECT count(*) FROM examples").fetchone()[0]

    first = threading.Thread(target=prefetch)
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=load)
    second.start()
    deadline = time.monotonic() + 10
    while not shared._wanted and time.monotonic() < deadline:  # the page load is waiting
        time.sleep(0.001)
    go.set()
    first.join(30)
    second.join(30)
    assert interrupted(out["error"]) and "result" not in out
    assert page["count"] > 0 and page["waited"] < 5


def test_a_page_load_is_never_interrupted_it_is_waited_for(shared):
    started, out = threading.Event(), {}
    fast = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) " \
           "SELECT count(*) FROM c"

    def page():
        with shared.use() as db:
            started.set()
            out["result"] = db.execute(fast).fetchone()[0]

    worker = threading.Thread(target=page)
    worker.start()
    assert started.wait(10)
    with shared.use(prefetch=True) as db:  # waits its turn, interrupts nothing
        assert db.execute("SELECT 1").fetchone()[0] == 1
    worker.join(10)
    assert out["result"] == 3000000


def test_the_connection_is_one_across_threads_and_refused_once_the_store_closed(shared):
    seen = []

    def grab():
        with shared.use() as db:
            seen.append(db)

    threads = [threading.Thread(target=grab) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(seen) == 3 and seen[0] is seen[1] is seen[2]
    shared.close()
    shared.handle.close()
    with pytest.raises(Exception, match="closed"):
        with shared.use():
            pass
