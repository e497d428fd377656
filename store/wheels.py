"""Training Wheels sweeps in the store: the planned points of a sweep, each finished point with
its outputs (written in one transaction, so a killed sweep never leaves half a point), and the
reads the TUI needs (points, one point's outputs, one example across policies)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlite_utils import Database

from store.connection import write

POINT_METRICS = ("metric", "n", "correct", "quality", "quality_low", "quality_high", "tokens",
                 "teacher_written", "teacher_tokens", "teacher_calls", "teacher_forwards",
                 "wall_s", "violations")


@dataclass(frozen=True)
class Point:
    id: int
    run_id: int
    position: int
    policy: str
    budget: float  # target share of teacher-written tokens, percent
    status: str  # pending | done
    metric: str | None = None
    n: int | None = None
    correct: int | None = None
    quality: float | None = None
    quality_low: float | None = None
    quality_high: float | None = None
    tokens: int | None = None  # generated tokens, EOS included
    teacher_written: int | None = None
    teacher_tokens: int | None = None  # tokens the teacher read (prefill + catch-up, or verify)
    teacher_calls: int | None = None  # per-sequence teacher calls, summed
    teacher_forwards: int | None = None  # speculative: teacher passes
    wall_s: float | None = None
    violations: int | None = None  # over the budget the cap holds: sequences, or the point (0/1)
    metrics: dict = field(default_factory=dict)
    finished_at: str | None = None

    @property
    def label(self) -> str:
        if self.policy in ("student", "teacher", "speculative"):
            return self.policy
        return f"{self.policy} {self.budget:g}%"

    @property
    def realised_share(self) -> float | None:
        """Share of generated tokens the teacher wrote (0-1)."""
        return self.teacher_written / self.tokens if self.tokens else None

    @property
    def asks_per_sequence(self) -> float | None:
        return self.teacher_written / self.n if self.n else None

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.wall_s if self.wall_s else None

    @classmethod
    def from_row(cls, row: dict) -> Point:
        row = dict(row)
        row["metrics"] = json.loads(row.pop("metrics_json") or "{}")
        return cls(**row)


@dataclass(frozen=True)
class NewOutput:
    example_id: int
    text: str
    pieces: list[str]  # decoded text per generated token; "".join(pieces) == text
    owners: str  # per generated token: "t" teacher, "s" student
    answer: str | None
    score: float
    new_tokens: int
    asks: int
    teacher_tokens: int
    finished: bool


@dataclass(frozen=True)
class Output(NewOutput):
    point_id: int

    @classmethod
    def from_row(cls, row: dict) -> Output:
        row = dict(row)
        row.pop("id", None)
        row["pieces"] = json.loads(row.pop("pieces_json"))
        row["finished"] = bool(row["finished"])
        return cls(**row)


def plan_points(db: Database, run_id: int, points: list[tuple[str, float]],
                student: str | None = None) -> None:
    """Record a sweep's points as pending (existing ones are kept as they are)."""
    with write(db):
        db.execute("INSERT OR IGNORE INTO wheels_sweeps (run_id, student) VALUES (?, ?)",
                   [run_id, student])
        for position, (policy, budget) in enumerate(points):
            db.execute("INSERT OR IGNORE INTO wheels_points (run_id, position, policy, budget) "
                       "VALUES (?, ?, ?, ?)", [run_id, position, policy, float(budget)])


def append_points(db: Database, run_id: int, points: list[tuple[str, float]]) -> None:
    """Add pending points after a sweep's existing ones (their positions never move)."""
    with write(db):
        last = db.execute("SELECT COALESCE(MAX(position), -1) FROM wheels_points WHERE run_id = ?",
                          [run_id]).fetchone()[0]
        for offset, (policy, budget) in enumerate(points, start=1):
            db.execute("INSERT INTO wheels_points (run_id, position, policy, budget) "
                       "VALUES (?, ?, ?, ?)", [run_id, last + offset, policy, float(budget)])


def list_points(db: Database, run_id: int) -> list[Point]:
    return [Point.from_row(row) for row in db.query(
        "SELECT * FROM wheels_points WHERE run_id = ? ORDER BY position", [run_id])]


def save_point(db: Database, point_id: int, metrics: dict, outputs: list[NewOutput]) -> None:
    """Store a finished point and all its outputs at once."""
    unknown = set(metrics) - set(POINT_METRICS) - {"metrics"}
    if unknown:
        raise ValueError(f"unknown point metric(s): {sorted(unknown)}")
    values = {k: v for k, v in metrics.items() if k != "metrics"}
    values["metrics_json"] = json.dumps(metrics.get("metrics", {}))
    values["status"] = "done"
    values["finished_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assignments = ", ".join(f"{column} = ?" for column in values)
    with write(db):
        db.execute("DELETE FROM wheels_outputs WHERE point_id = ?", [point_id])
        db.conn.executemany(
            "INSERT INTO wheels_outputs (point_id, example_id, text, pieces_json, owners, answer, "
            "score, new_tokens, asks, teacher_tokens, finished) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(point_id, o.example_id, o.text, json.dumps(o.pieces), o.owners, o.answer, o.score,
              o.new_tokens, o.asks, o.teacher_tokens, int(o.finished)) for o in outputs])
        db.execute(f"UPDATE wheels_points SET {assignments} WHERE id = ?",
                   [*values.values(), point_id])


def point_outputs(db: Database, point_id: int) -> list[Output]:
    return [Output.from_row(row) for row in db.query(
        "SELECT * FROM wheels_outputs WHERE point_id = ? ORDER BY example_id", [point_id])]


def example_outputs(db: Database, run_id: int, example_id: int) -> list[tuple[Point, Output]]:
    """One example's output under every finished point of a sweep, in sweep order."""
    points = {p.id: p for p in list_points(db, run_id)}
    rows = db.query(
        "SELECT o.* FROM wheels_outputs o JOIN wheels_points p ON p.id = o.point_id "
        "WHERE p.run_id = ? AND o.example_id = ? ORDER BY p.position", [run_id, example_id])
    return [(points[row["point_id"]], Output.from_row(row)) for row in rows]


def set_distill(db: Database, run_id: int, student: str, info: dict) -> None:
    """Which student the sweep measured, and how it was distilled (data source, sizes, loss)."""
    with write(db):
        db.execute("INSERT INTO wheels_sweeps (run_id, student, distill_json) VALUES (?, ?, ?) "
                   "ON CONFLICT(run_id) DO UPDATE SET student = excluded.student, "
                   "distill_json = excluded.distill_json", [run_id, student, json.dumps(info)])


def get_distill(db: Database, run_id: int) -> tuple[str | None, dict]:
    row = db.execute("SELECT student, distill_json FROM wheels_sweeps WHERE run_id = ?",
                     [run_id]).fetchone()
    if row is None:
        return None, {}
    return row[0], json.loads(row[1] or "{}")


def run_id_by_name(db: Database, name: str) -> int:
    """The newest run with this name."""
    from store.errors import NotFound

    row = db.execute("SELECT max(id) FROM runs WHERE name = ?", [name]).fetchone()
    if row is None or row[0] is None:
        raise NotFound(f"no run named {name!r} in this store")
    return row[0]


def newest_run_with_kept(db: Database, dataset_id: int) -> int | None:
    """The newest run on this dataset with kept teacher rationales (a generate or UNDO run)."""
    row = db.execute(
        "SELECT max(r.id) FROM runs r WHERE r.dataset_id = ? AND EXISTS (SELECT 1 FROM "
        "rationales x WHERE x.run_id = r.id AND x.kept = 1 AND x.source LIKE 'teacher_%')",
        [dataset_id]).fetchone()
    return row[0] if row else None
