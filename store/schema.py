"""The store's schema, as versioned migrations (sqlite-utils' built-in migration sets).

Each migration is append-only: never edit one that has shipped; add `m00N_...` instead. The names
applied to a file are recorded in `_sqlite_migrations`, which is how a newer store is recognised.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "undo_tui"
migrations = Migrations(MIGRATION_SET)

INITIAL_SCHEMA = """
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    answer_type TEXT NOT NULL DEFAULT 'number'
        CHECK (answer_type IN ('number', 'choice', 'math', 'string')),
    source TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE examples (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
    ext_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answer_raw TEXT,
    rationale TEXT,
    choices_json TEXT,
    category TEXT,
    position INTEGER,
    UNIQUE (dataset_id, ext_id)
);
CREATE INDEX examples_by_split ON examples (dataset_id, split, id);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'undo'
        CHECK (kind IN ('undo', 'baseline', 'transfer', 'generate')),
    dataset_id INTEGER REFERENCES datasets(id),
    source_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    source_export_id INTEGER,
    config_json TEXT NOT NULL,
    teacher TEXT,
    student TEXT,
    status TEXT NOT NULL DEFAULT 'created'
        CHECK (status IN ('created', 'running', 'stopping', 'stopped', 'finished', 'failed')),
    stage TEXT,
    pid INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    best_iteration INTEGER,
    stop_reason TEXT,
    error TEXT,
    log_path TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at TEXT,
    finished_at TEXT
);

CREATE TABLE iterations (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    k INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'done', 'failed', 'stopped')),
    stage TEXT,
    train_size INTEGER,
    teacher_attempted INTEGER,
    teacher_kept INTEGER,
    val_accuracy REAL,
    test_accuracy REAL,
    train_loss REAL,
    epochs_total REAL,
    teacher_prompt_tokens INTEGER NOT NULL DEFAULT 0,
    teacher_completion_tokens INTEGER NOT NULL DEFAULT 0,
    teacher_cost REAL NOT NULL DEFAULT 0,
    teacher_calls INTEGER NOT NULL DEFAULT 0,
    metrics_json TEXT,
    checkpoint_path TEXT,
    is_best INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    wall_seconds REAL,
    UNIQUE (run_id, k)
);

CREATE TABLE rationales (
    id INTEGER PRIMARY KEY,
    example_id INTEGER NOT NULL REFERENCES examples(id) ON DELETE CASCADE,
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    iteration INTEGER NOT NULL DEFAULT 0,
    parent_id INTEGER REFERENCES rationales(id) ON DELETE SET NULL,
    source TEXT NOT NULL
        CHECK (source IN ('gold', 'teacher_initial', 'teacher_refined', 'teacher_hinted', 'human')),
    attempt INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'truncated', 'failed')),
    text TEXT NOT NULL,
    error TEXT,
    template TEXT,
    prompt_hash TEXT,
    cache_key TEXT,
    answer TEXT,
    answer_rule TEXT,
    correct INTEGER,
    hinted INTEGER NOT NULL DEFAULT 0,
    kept INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (status = 'failed' OR length(text) > 0)
);
CREATE UNIQUE INDEX rationales_unique
    ON rationales (run_id, iteration, example_id, source, attempt);
CREATE INDEX rationales_by_example ON rationales (example_id, run_id, iteration);
CREATE INDEX rationales_by_run ON rationales (run_id, iteration, kept);

CREATE TABLE predictions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    iteration INTEGER NOT NULL,
    split TEXT NOT NULL,
    example_id INTEGER NOT NULL REFERENCES examples(id) ON DELETE CASCADE,
    output TEXT NOT NULL,
    answer TEXT,
    answer_rule TEXT,
    correct INTEGER NOT NULL,
    has_answer_line INTEGER NOT NULL DEFAULT 0,
    new_tokens INTEGER,
    UNIQUE (run_id, iteration, split, example_id)
);
CREATE INDEX predictions_by_status ON predictions (run_id, split, iteration, correct, example_id);
CREATE INDEX predictions_by_example ON predictions (example_id, run_id, split, iteration);

CREATE TABLE teacher_cache (
    key TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    params_json TEXT NOT NULL,
    sample_index INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'truncated')),
    response TEXT NOT NULL,
    finish_reason TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_s REAL,
    cost REAL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    stage TEXT,
    iteration INTEGER,
    done INTEGER,
    total INTEGER,
    message TEXT,
    data_json TEXT
);
CREATE INDEX events_by_run ON events (run_id, id);
CREATE INDEX events_by_kind ON events (run_id, kind, stage, id);

CREATE TABLE annotations (
    example_id INTEGER PRIMARY KEY REFERENCES examples(id) ON DELETE CASCADE,
    excluded INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE example_tags (
    example_id INTEGER NOT NULL REFERENCES examples(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (example_id, tag)
) WITHOUT ROWID;
CREATE INDEX example_tags_by_tag ON example_tags (tag, example_id);

CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    iteration INTEGER,
    format TEXT NOT NULL,
    path TEXT NOT NULL,
    rows INTEGER NOT NULL,
    manifest_json TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Full-text search over questions and rationale text, kept in sync by triggers.
CREATE VIRTUAL TABLE examples_fts USING fts5 (
    question, content='examples', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER examples_fts_insert AFTER INSERT ON examples BEGIN
    INSERT INTO examples_fts (rowid, question) VALUES (new.id, new.question);
END;
CREATE TRIGGER examples_fts_delete AFTER DELETE ON examples BEGIN
    INSERT INTO examples_fts (examples_fts, rowid, question) VALUES ('delete', old.id, old.question);
END;
CREATE TRIGGER examples_fts_update AFTER UPDATE OF question ON examples BEGIN
    INSERT INTO examples_fts (examples_fts, rowid, question) VALUES ('delete', old.id, old.question);
    INSERT INTO examples_fts (rowid, question) VALUES (new.id, new.question);
END;

CREATE VIRTUAL TABLE rationales_fts USING fts5 (
    text, content='rationales', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER rationales_fts_insert AFTER INSERT ON rationales BEGIN
    INSERT INTO rationales_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER rationales_fts_delete AFTER DELETE ON rationales BEGIN
    INSERT INTO rationales_fts (rationales_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER rationales_fts_update AFTER UPDATE OF text ON rationales BEGIN
    INSERT INTO rationales_fts (rationales_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO rationales_fts (rowid, text) VALUES (new.id, new.text);
END;
"""


@migrations()
def m001_initial(db: Database) -> None:
    """Every table the brief lists, their indexes, and FTS5 kept in sync by triggers."""
    for statement in _statements(INITIAL_SCHEMA):
        db.execute(statement)


@migrations()
def m002_rationale_reject_reason(db: Database) -> None:
    """Why a teacher rationale was not kept (a short code, see store.rationales.REJECT_REASONS).

    Rows written before this column are labelled from what they already record: failed and
    truncated rows by their status, a row rejected as a bare restatement by its error text, and
    any other unkept incorrect output as not_correct (under the `all` policy every complete
    output was kept, so an unkept one was rejected for being wrong). Where a human edited the
    example in that iteration the edit un-kept the teacher's rows, so an ok row there stays NULL
    (not known to be rejected). Iterations with a teacher pass get the per-reason counts in their
    metrics, as a teacher pass now records them.
    """
    db.execute("ALTER TABLE rationales ADD COLUMN reject_reason TEXT")
    db.execute(
        "UPDATE rationales SET reject_reason = CASE "
        " WHEN status IN ('failed', 'truncated') THEN status "
        " WHEN error LIKE 'not kept:%without a derivation%' THEN 'no_derivation' "
        " WHEN coalesce(correct, 0) = 0 THEN 'not_correct' END "
        "WHERE source LIKE 'teacher_%' AND kept = 0 AND (status != 'ok' OR NOT EXISTS ("
        " SELECT 1 FROM rationales h WHERE h.source = 'human' AND h.run_id IS rationales.run_id"
        " AND h.iteration = rationales.iteration AND h.example_id = rationales.example_id))")
    # the per-reason counts the teacher pass now records with its yield (metrics teacher_rejected)
    db.execute(
        "UPDATE iterations SET metrics_json = json_set(coalesce(metrics_json, '{}'), "
        "'$.teacher_rejected', json((SELECT json_group_object(reason, n) FROM ("
        " SELECT reject_reason AS reason, count(*) AS n FROM rationales r"
        " WHERE r.run_id = iterations.run_id AND r.iteration = iterations.k"
        " AND r.source LIKE 'teacher_%' AND r.reject_reason IS NOT NULL"
        " GROUP BY reject_reason)))) WHERE teacher_attempted > 0")


@migrations()
def m003_strict_and_flexible_scores(db: Database) -> None:
    """Strict grading becomes the headline; the loose score is kept beside it as `flexible`.

    `predictions.correct` and `answer` now hold the strict verdict (an explicit answer marker);
    `flexible_correct`/`flexible_answer` the verdict with the last-number fallback. Rows graded
    before this version carry the fallback in `answer_rule`, so they are converted without
    re-grading: their old verdict becomes the flexible one, and a verdict that came only from the
    last number is no longer strictly correct. Iteration accuracies are recomputed from them.
    `runs.best_beats_base` records whether the best trained iteration beat the untrained student
    beyond noise (NULL: no iteration 0 to compare with).
    """
    for statement in _statements(STRICT_AND_FLEXIBLE):
        db.execute(statement)


STRICT_AND_FLEXIBLE = """
ALTER TABLE predictions ADD COLUMN flexible_correct INTEGER;
ALTER TABLE predictions ADD COLUMN flexible_answer TEXT;
ALTER TABLE runs ADD COLUMN best_beats_base INTEGER;
UPDATE predictions SET flexible_correct = correct, flexible_answer = answer;
UPDATE predictions SET correct = 0, answer = NULL, answer_rule = NULL
    WHERE answer_rule IS NULL OR answer_rule = 'last_number';
UPDATE iterations SET val_accuracy = (SELECT avg(p.correct) FROM predictions p
    WHERE p.run_id = iterations.run_id AND p.iteration = iterations.k AND p.split = 'val')
    WHERE EXISTS (SELECT 1 FROM predictions p WHERE p.run_id = iterations.run_id
                  AND p.iteration = iterations.k AND p.split = 'val');
UPDATE iterations SET test_accuracy = (SELECT avg(p.correct) FROM predictions p
    WHERE p.run_id = iterations.run_id AND p.iteration = iterations.k AND p.split = 'test')
    WHERE EXISTS (SELECT 1 FROM predictions p WHERE p.run_id = iterations.run_id
                  AND p.iteration = iterations.k AND p.split = 'test');
UPDATE iterations SET metrics_json = json_set(coalesce(metrics_json, '{}'),
    '$.val_correct', (SELECT sum(p.correct) FROM predictions p WHERE p.run_id = iterations.run_id
                      AND p.iteration = iterations.k AND p.split = 'val'),
    '$.val_flexible_correct', (SELECT sum(p.flexible_correct) FROM predictions p
                      WHERE p.run_id = iterations.run_id AND p.iteration = iterations.k
                      AND p.split = 'val'))
    WHERE EXISTS (SELECT 1 FROM predictions p WHERE p.run_id = iterations.run_id
                  AND p.iteration = iterations.k AND p.split = 'val');
"""


def _statements(script: str) -> list[str]:
    """Split a script into statements; executescript() would COMMIT the migration's transaction."""
    import sqlite3

    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in schema: {buffer[:80]!r}")
    return statements


def known_migrations() -> list[str]:
    """Names of every migration this version of undo-tui knows, oldest first."""
    return [m.name for m in migrations.pending(Database(memory=True))]


@migrations()
def m004_process_start_and_calls_in_flight(db: Database) -> None:
    """runs.pid_started: the start time of the process in runs.pid, so a reused pid is not taken
    for the run's engine. teacher_inflight: cache keys of teacher calls started and not yet
    stored, so a pass after a kill can count the calls it repeats."""
    db.execute("ALTER TABLE runs ADD COLUMN pid_started TEXT")
    db.execute("""
        CREATE TABLE teacher_inflight (
            key TEXT PRIMARY KEY,
            started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ) WITHOUT ROWID""")


@migrations(transactional=False)
def m005_training_wheels_sweeps(db: Database) -> None:
    """Training Wheels sweeps are runs (kind 'wheels'), and free-text datasets (answer type
    'text': a source and its reference) can be imported for them. Widening the two CHECK lists
    rebuilds `runs` and `datasets` (SQLite cannot alter a CHECK), which needs foreign keys off,
    hence outside sqlite-utils' transaction; the rebuild is one transaction of its own and is
    skipped when already done, so a kill before the migration is recorded is harmless. Then the
    sweep tables: one row per sweep, per point (policy x budget) and per output."""
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _widen_check(db, "runs", "'transfer', 'generate')", "'transfer', 'generate', 'wheels')")
            _widen_check(db, "datasets", "'math', 'string')", "'math', 'string', 'text')")
            for statement in _statements(WHEELS_SCHEMA):
                db.execute(statement)
            problems = conn.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"foreign key check failed after rebuilding: {problems[:3]}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def _widen_check(db: Database, table: str, old: str, new: str) -> None:
    """Rebuild `table` with `old` replaced by `new` in its CREATE statement (SQLite's documented
    12-step procedure), keeping every column, row and index it has by then."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                     [table]).fetchone()[0]
    if new in sql:
        return
    if old not in sql:
        raise RuntimeError(f"{table}: expected {old!r} in its schema")
    indexes = [row[0] for row in db.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL", [table]).fetchall()]
    head = next((h for h in (f"CREATE TABLE {table} ", f'CREATE TABLE "{table}" ')
                 if sql.startswith(h)), None)  # quoted once a rebuild renamed it
    if head is None:
        raise RuntimeError(f"{table}: unexpected CREATE statement {sql[:40]!r}")
    rebuilt = sql.replace(old, new, 1).replace(head, f"CREATE TABLE {table}__new ", 1)
    db.execute(rebuilt)
    db.execute(f"INSERT INTO {table}__new SELECT * FROM {table}")
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {table}__new RENAME TO {table}")
    for statement in indexes:
        db.execute(statement)


WHEELS_SCHEMA = """
CREATE TABLE IF NOT EXISTS wheels_sweeps (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    student TEXT,
    distill_json TEXT
);
CREATE TABLE IF NOT EXISTS wheels_points (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    policy TEXT NOT NULL,
    budget REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    metric TEXT,
    n INTEGER,
    correct INTEGER,
    quality REAL,
    quality_low REAL,
    quality_high REAL,
    tokens INTEGER,
    teacher_written INTEGER,
    teacher_tokens INTEGER,
    teacher_calls INTEGER,
    teacher_forwards INTEGER,
    wall_s REAL,
    violations INTEGER,
    metrics_json TEXT,
    finished_at TEXT,
    UNIQUE (run_id, policy, budget)
);
CREATE TABLE IF NOT EXISTS wheels_outputs (
    id INTEGER PRIMARY KEY,
    point_id INTEGER NOT NULL REFERENCES wheels_points(id) ON DELETE CASCADE,
    example_id INTEGER NOT NULL REFERENCES examples(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    pieces_json TEXT NOT NULL,
    owners TEXT NOT NULL,
    answer TEXT,
    score REAL NOT NULL,
    new_tokens INTEGER NOT NULL,
    asks INTEGER NOT NULL,
    teacher_tokens INTEGER NOT NULL,
    finished INTEGER NOT NULL,
    UNIQUE (point_id, example_id)
);
CREATE INDEX IF NOT EXISTS wheels_outputs_by_example ON wheels_outputs (example_id, point_id);
"""


@migrations(transactional=False)
def m006_distill_runs(db: Database) -> None:
    """A distillation is a run of its own (kind 'distill'): the runs.kind CHECK is widened as
    m005 widened it (a rebuild with foreign keys off, one transaction of its own, skipped when
    already done), and `distill_runs` holds each one's outcome. Its per-step loss and its KL
    measurements are `events` (progress of stage 'train', metric of stage 'kl')."""
    _widen_runs_kind(db, "'generate', 'wheels')", "'generate', 'wheels', 'distill')",
                     DISTILL_SCHEMA)


def _widen_runs_kind(db: Database, old: str, new: str, schema: str) -> None:
    """Rebuild `runs` with a longer kind list and create a new kind's tables: with foreign keys
    off (so outside sqlite-utils' transaction), in one transaction of its own, skipped when
    already done, so a kill before the migration is recorded is harmless."""
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _widen_check(db, "runs", old, new)
            for statement in _statements(schema):
                db.execute(statement)
            problems = conn.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"foreign key check failed after rebuilding: {problems[:3]}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


DISTILL_SCHEMA = """
CREATE TABLE IF NOT EXISTS distill_runs (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    student TEXT,
    steps INTEGER,
    final_loss REAL,
    eval_split TEXT,
    n INTEGER,
    correct INTEGER,
    accuracy_low REAL,
    accuracy_high REAL,
    kl_before REAL,
    kl_after REAL,
    result_json TEXT,
    finished_at TEXT
);
"""


@migrations(transactional=False)
def m007_ask_runs(db: Database) -> None:
    """Training a student to ask is a run of its own (kind 'ask'): runs.kind widened as m006
    widened it, and `ask_runs` holds each one's outcome (the asker's directory, the warm start's
    and the PCL stage's step counts and final losses, λ and usage per level at the end). The
    per-step figures are progress events (stage 'warm': loss; stage 'pcl': loss, residual_ms,
    λ and usage per level)."""
    _widen_runs_kind(db, "'wheels', 'distill')", "'wheels', 'distill', 'ask')", ASK_SCHEMA)


ASK_SCHEMA = """
CREATE TABLE IF NOT EXISTS ask_runs (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    asker TEXT,
    out_dir TEXT,
    warm_steps INTEGER,
    warm_loss REAL,
    pcl_steps INTEGER,
    final_loss REAL,
    result_json TEXT,
    finished_at TEXT
);
"""


@migrations()
def m008_dataset_curation(db: Database) -> None:
    """Curation belongs to the example in its dataset, with the run it was made in as provenance.

    Exclusions, notes and tags were already stored per example (`annotations`, `example_tags`)
    but without the run they were made in; they gain provenance columns (NULL for what was made
    before this migration: the run is not known). Human rationale edits were rows of one run
    (`rationales`, source 'human'); `curation_history` now records every curation change, with
    its run, and the newest 'rationale' row of an example is the edit every run on the dataset
    uses. Existing edits are copied there in the order they were made, so where two runs edited
    the same example the newest edit wins and the older ones stay as its history; existing
    exclusions, notes and tags are recorded there too (run unknown). Nothing is removed.
    """
    for statement in _statements(CURATION_SCHEMA):
        db.execute(statement)


CURATION_SCHEMA = """
ALTER TABLE annotations ADD COLUMN excluded_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL;
ALTER TABLE annotations ADD COLUMN note_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL;
ALTER TABLE example_tags ADD COLUMN run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL;
CREATE TABLE IF NOT EXISTS curation_history (
    id INTEGER PRIMARY KEY,
    example_id INTEGER NOT NULL REFERENCES examples(id) ON DELETE CASCADE,
    run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    field TEXT NOT NULL CHECK (field IN ('excluded', 'note', 'tag', 'untag', 'rationale')),
    value TEXT,
    rationale_id INTEGER REFERENCES rationales(id) ON DELETE SET NULL,
    answer TEXT,
    answer_rule TEXT,
    correct INTEGER,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS curation_history_by_example ON curation_history (example_id, field, id);
CREATE INDEX IF NOT EXISTS curation_history_by_run ON curation_history (run_id);
CREATE INDEX IF NOT EXISTS curation_history_by_rationale ON curation_history (rationale_id);
INSERT INTO curation_history (example_id, field, value, created_at)
    SELECT example_id, 'excluded', '1', updated_at FROM annotations WHERE excluded = 1
    ORDER BY updated_at, example_id;
INSERT INTO curation_history (example_id, field, value, created_at)
    SELECT example_id, 'note', note, updated_at FROM annotations WHERE note IS NOT NULL
    ORDER BY updated_at, example_id;
INSERT INTO curation_history (example_id, field, value)
    SELECT example_id, 'tag', tag FROM example_tags ORDER BY example_id, tag;
INSERT INTO curation_history (example_id, run_id, field, value, rationale_id, answer,
                              answer_rule, correct, created_at)
    SELECT example_id, run_id, 'rationale', text, id, answer, answer_rule, correct, created_at
    FROM rationales WHERE source = 'human' AND status = 'ok' ORDER BY id;
"""
