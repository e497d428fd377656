"""Shared fixtures live in tests/fixtures/, one module per concern."""

import os

import pytest

# Tests never reach a model hub; datasets and transformers must work offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = [
    "tests.fixtures.store_fixtures",
    "tests.fixtures.model_fixtures",
    "tests.fixtures.teacher_fixtures",
    "tests.fixtures.tui_fixtures",
    "tests.fixtures.wheels_fixtures",
    "tests.fixtures.exported_run",
    "tests.fixtures.loop_fixtures",
]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (with --dist loadgroup)
def pytest_collection_modifyitems(config, items):
    """A module whose tests share a module-scoped fixture (a whole run, a quick benchmark pass)
    runs on one xdist worker: spread over two, that fixture would be built twice."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        shared = any(defs and defs[-1].scope == "module"
                     for defs in info.name2fixturedefs.values())
        if shared:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
