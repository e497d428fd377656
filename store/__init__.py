"""The SQLite store: schema and migrations, and the typed query API the engine and the TUI use.

Imports neither `engine` nor `textual` (checked by tests/test_layering.py).
"""

# First: sqlite-utils without pandas/numpy at import time (see store/fast_import.py).
from store.fast_import import import_sqlite_utils

import_sqlite_utils()

from store.annotations import (add_tag, all_tags, examples_with_tag, excluded_ids,
                               get_annotation, remove_tag, set_excluded, set_note)
from store.cache import (cache_get, cache_get_many, cache_key, cache_put, cache_size,
                         canonical_params, clear_in_flight, in_flight_keys, mark_in_flight,
                         prompt_hash)
from store.curation import (CurationChange, CurationSummary, HumanEdit, human_edit, human_edits)
from store.curation import history as curation_history
from store.curation import summary as curation_summary
from store.connection import backup_store, connect, open_store, write
from store.datasets import (add_examples, count_examples, get_dataset, get_example,
                            get_or_create_dataset, list_datasets, load_examples)
from store.errors import NotAStore, NotFound, SchemaTooNew, UndoError
from store.events import add_event, events_since, latest_progress, recent_events
from store.exports import list_exports, record_export
from store.models import (Annotation, CachedCall, Dataset, Event, Example, ExportRecord,
                          Iteration, Prediction, Rationale, Run, RunSummary)
from store.predictions import (NewPrediction, add_predictions, predicted_example_ids,
                               predictions_for, predictions_for_example, score, transitions,
                               excluded_counts,
                               changes_by_iteration, transitions_across,
                               wrong_example_ids)
from store.rationales import (REJECT_REASONS, NewRationale, add_human_edit, add_rationales,
                              describe_rejections, get_rationale, latest_kept_rationales,
                              rationales_for_example, rationales_for_iteration,
                              rejection_counts, teacher_yield)
from store.runs import (add_teacher_usage, clear_stop_request, create_run, delete_run,
                        find_run, get_iteration, get_run, list_iterations, list_runs,
                        mark_best_iteration, request_stop, stop_requested, update_run,
                        upsert_iteration, why_not_stoppable)

__all__ = [name for name in dir() if not name.startswith("_")]
