"""Import sqlite-utils without paying for pandas and numpy (~0.4 s of every cold start).

sqlite_utils.db imports pandas and numpy at import time for one reason: to add their scalar
types (numpy.int64, pandas.Timestamp, ...) to COLUMN_TYPE_MAPPING, which turns Python types into
SQLite column types. The TUI and the CLI never hand such values to sqlite-utils, yet every start
paid for both imports. So the store imports sqlite-utils here, once, with pandas and numpy
blocked when they are not loaded already, and puts them back in sys.modules afterwards:
a later `import pandas` (exports, the engine) works normally in the same process.

The mapping is swapped for one that adds the numpy/pandas types the first time a lookup misses
and those packages have been imported by then, so sqlite-utils ends up with the same types it
would have had.
"""

from __future__ import annotations

import sys
from typing import Any

HEAVY = ("pandas", "numpy")
NUMPY_TYPES = {"int8": "INTEGER", "int16": "INTEGER", "int32": "INTEGER", "int64": "INTEGER",
               "uint8": "INTEGER", "uint16": "INTEGER", "uint32": "INTEGER",
               "uint64": "INTEGER", "float16": "REAL", "float32": "REAL", "float64": "REAL"}


class LateTypes(dict):
    """COLUMN_TYPE_MAPPING that learns numpy's and pandas' types once they are imported."""

    def __missing__(self, key: Any) -> str:
        if self.add_loaded_types() and key in self:
            return self[key]
        raise KeyError(key)

    def get(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self.add_loaded_types()
        return dict.get(self, key, default)

    def add_loaded_types(self) -> bool:
        """Add the types of numpy/pandas if they are loaded now; True when something was added."""
        added = False
        np = sys.modules.get("numpy")
        if np is not None and getattr(np, "int64", None) is not None and np.int64 not in self:
            self.update({getattr(np, name): sql for name, sql in NUMPY_TYPES.items()
                         if hasattr(np, name)})
            added = True
        pd = sys.modules.get("pandas")
        if pd is not None and getattr(pd, "Timestamp", None) is not None \
                and pd.Timestamp not in self:
            self[pd.Timestamp] = "TEXT"
            added = True
        return added


def import_sqlite_utils() -> None:
    """Import sqlite_utils with pandas/numpy blocked (unless loaded already), then unblock them."""
    if "sqlite_utils.db" in sys.modules:
        return
    blocked = [name for name in HEAVY if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail fast
    try:
        import sqlite_utils.db as db
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    if not isinstance(db.COLUMN_TYPE_MAPPING, LateTypes):
        db.COLUMN_TYPE_MAPPING = LateTypes(db.COLUMN_TYPE_MAPPING)
