"""Shared fixtures live in tests/fixtures/, one module per concern."""

import os

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
]
