"""`import store` skips pandas and numpy (a cold start cost), and sqlite-utils still works fully.

Each check runs in a fresh interpreter: what is in sys.modules is the thing under test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_import_store_loads_neither_pandas_nor_numpy():
    out = run_python("""
        import sys
        import store, store.browse
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'numpy')))
    """)
    assert out == "[]"


def test_store_opens_and_writes_without_pandas(tmp_path):
    out = run_python(f"""
        import sys
        import store
        db = store.open_store({str(tmp_path / 's.db')!r})
        ds = store.get_or_create_dataset(db, 'd', 'number', 'test')
        store.add_examples(db, ds, [dict(ext_id='1', split='train', question='q?', answer='4')])
        print(store.count_examples(db, ds), 'pandas' in sys.modules)
    """)
    assert out == "{'train': 1} False"


def test_pandas_and_numpy_import_later_and_sqlite_utils_knows_their_types():
    # Same column types as sqlite-utils gives when pandas was importable at its import time.
    out = run_python("""
        import store
        import numpy as np, pandas as pd
        from sqlite_utils import Database
        db = Database(memory=True)
        db['t'].insert({'i': np.int64(3), 'f': np.float32(1.5), 'ts': pd.Timestamp('2025-01-02'),
                        'u': np.uint8(7)})
        print(sorted((c.name, c.type) for c in db['t'].columns))
        print(pd.DataFrame({'a': [1, 2]})['a'].sum())
    """)
    lines = out.splitlines()
    assert lines[0] == ("[('f', 'REAL'), ('i', 'INTEGER'), ('ts', 'TEXT'), ('u', 'INTEGER')]")
    assert lines[1] == "3"


def test_pandas_loaded_first_is_left_alone():
    out = run_python("""
        import sys
        import pandas
        import store
        import sqlite_utils.db as d
        print(sys.modules['pandas'] is pandas, pandas.Timestamp in d.COLUMN_TYPE_MAPPING)
    """)
    assert out == "True True"


def test_an_unknown_type_still_fails_as_in_sqlite_utils():
    out = run_python("""
        import store
        from sqlite_utils.db import COLUMN_TYPE_MAPPING
        try:
            COLUMN_TYPE_MAPPING[complex]
        except KeyError:
            print('KeyError', COLUMN_TYPE_MAPPING.get(complex, 'none'))
    """)
    assert out == "KeyError none"
