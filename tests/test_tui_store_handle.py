"""StoreHandle: closing while worker threads are mid-query must never crash the process.

CI once died with a segfault when the app unmounted while a dashboard load was querying: closing a
sqlite3 connection from another thread under a running statement is undefined in CPython. The
race runs in a child process so a crash fails this test instead of killing the whole suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import store
from undo_tui.store_access import StoreHandle

RACE = textwrap.dedent("""
    import sys, threading, time
    import store
    from undo_tui.store_access import StoreHandle

    path = sys.argv[1]
    for round_ in range(40):
        handle = StoreHandle(path)
        started = threading.Barrier(5)

        def reader():
            started.wait()
            try:
                while True:
                    db = handle.db()
                    # A deliberately slow statement: a cross join over the examples.
                    db.execute("select count(*) from examples a, examples b, examples c "
                               "where a.question < b.question").fetchone()
            except store.UndoError:
                return  # closed: the next db() call refuses, as designed

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        started.wait()
        time.sleep(0.002 * (round_ % 5))
        handle.close()
        for t in threads:
            t.join(60)
    print("ok")
""")


def test_close_during_queries_in_other_threads_does_not_crash(db, store_path):
    dataset = store.get_or_create_dataset(db, "race", "number", "test")
    store.add_examples(db, dataset, [dict(ext_id=f"e{i}", split="train", question=f"q {i} " * 5,
                                          answer=str(i)) for i in range(60)])
    db.close()
    done = subprocess.run([sys.executable, "-c", RACE, str(store_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_closed_handle_refuses_new_queries(store_path):
    store.open_store(store_path).close()
    handle = StoreHandle(store_path)
    assert handle.db().execute("select 1").fetchone() == (1,)
    handle.close()
    try:
        handle.db()
    except store.UndoError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("a closed handle handed out a connection")
