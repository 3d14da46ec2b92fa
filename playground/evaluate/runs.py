"""Saved evaluation runs: a small SQLite file next to the playground's database.

Each run keeps the exact prompt file text, the models, the parameters, every cell's results
and when it was made, under an `owner` ("local" until the app knows its users). `diff` lists,
per model, the test cases that went from pass to fail and from fail to pass between two runs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Cell, EvalRun

LOCAL_OWNER = "local"
RUNS_FILE = "evaluations.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS eval_runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL DEFAULT 'local',
    created TEXT NOT NULL,
    name TEXT NOT NULL,
    prompt_text TEXT NOT NULL,
    models_json TEXT NOT NULL,
    judge_json TEXT,
    params_json TEXT NOT NULL,
    run_json TEXT NOT NULL,
    total INTEGER NOT NULL,
    passed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS eval_runs_owner_created ON eval_runs (owner, created);
"""


def default_runs_path(db_path: str | os.PathLike[str] | None = None) -> Path:
    """`evaluations.db` in the folder of the playground's database (PLAYGROUND_DB_PATH or the store's default)."""
    if db_path is None:
        try:
            from ..store import DEFAULT_DB_PATH
        except ImportError:  # the store may move; its default folder stays the same
            DEFAULT_DB_PATH = Path.home() / ".local" / "share" / "model-playground" / "playground.db"
        db_path = DEFAULT_DB_PATH
    return Path(db_path).with_name(RUNS_FILE)


@dataclass(frozen=True)
class RunSummary:
    id: str
    owner: str
    created: str
    name: str
    models: list[str]
    total: int
    passed: int


@dataclass(frozen=True)
class SavedRun:
    id: str
    owner: str
    created: str
    run: EvalRun


@dataclass(frozen=True)
class RowChange:
    model: str
    row: int  # the row in the newer run
    test_case: dict[str, Any]
    before: list[str]  # the evaluators that failed in the older run (or its error)
    after: list[str]  # the same in the newer run


@dataclass
class RunDiff:
    """`regressions[model]`: rows that passed in run a and fail in run b; `fixes[model]` the reverse.
    Rows are matched by their test case (values), models by label; `unmatched` counts rows of b
    with no counterpart in a."""

    regressions: dict[str, list[RowChange]] = field(default_factory=dict)
    fixes: dict[str, list[RowChange]] = field(default_factory=dict)
    unmatched: int = 0

    @property
    def changed(self) -> bool:
        return any(self.regressions.values()) or any(self.fixes.values())


class RunStore:
    """`RunStore(path)`; `save(run, owner)` returns the id; `list(owner)` newest first; `get(id, owner)`."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def save(self, run: EvalRun, owner: str = LOCAL_OWNER) -> str:
        run_id = uuid.uuid4().hex
        progress = run.progress()
        with self._lock, closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO eval_runs (id, owner, created, name, prompt_text, models_json, judge_json, params_json,"
                " run_json, total, passed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, owner, run.created, run.prompt.name or "", run.prompt_text, json.dumps(run.models),
                 json.dumps(run.judge) if run.judge else None, json.dumps(run.params),
                 json.dumps(run.to_dict(), default=str),
                 progress.total, progress.passed),
            )
        return run_id

    def list(self, owner: str = LOCAL_OWNER, limit: int = 100) -> list[RunSummary]:
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT id, owner, created, name, models_json, total, passed FROM eval_runs WHERE owner = ?"
                " ORDER BY created DESC, rowid DESC LIMIT ?", (owner, limit)).fetchall()
        return [RunSummary(r["id"], r["owner"], r["created"], r["name"],
                           [m["label"] for m in json.loads(r["models_json"])], r["total"], r["passed"]) for r in rows]

    def get(self, run_id: str, owner: str = LOCAL_OWNER) -> SavedRun | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT id, owner, created, run_json FROM eval_runs WHERE id = ? AND owner = ?",
                               (run_id, owner)).fetchone()
        if row is None:
            return None
        return SavedRun(row["id"], row["owner"], row["created"], EvalRun.from_dict(json.loads(row["run_json"])))

    def delete(self, run_id: str, owner: str = LOCAL_OWNER) -> bool:
        with self._lock, closing(self._connect()) as conn, conn:
            return conn.execute("DELETE FROM eval_runs WHERE id = ? AND owner = ?", (run_id, owner)).rowcount > 0


def _why(cell: Cell) -> list[str]:
    if cell.error:
        return [f"error: {cell.error}"]
    return [r.evaluator for r in cell.failures]


def _case_key(test_case: dict[str, Any]) -> str:
    return json.dumps(test_case, sort_keys=True, ensure_ascii=False, default=str)


def diff(run_a: EvalRun | SavedRun, run_b: EvalRun | SavedRun) -> RunDiff:
    """What changed from run a (older) to run b (newer), per model present in both."""
    a = run_a.run if isinstance(run_a, SavedRun) else run_a
    b = run_b.run if isinstance(run_b, SavedRun) else run_b
    result = RunDiff()
    for model in b.labels:
        if model not in a.labels:
            continue
        result.regressions[model], result.fixes[model] = [], []
        # Same test case values, in order: duplicates pair up one by one.
        before: dict[str, list[Cell]] = {}
        for cell in a.column(model):
            if cell.done:
                before.setdefault(_case_key(cell.test_case), []).append(cell)
        for cell in b.column(model):
            if not cell.done:
                continue
            matches = before.get(_case_key(cell.test_case))
            if not matches:
                result.unmatched += 1
                continue
            old = matches.pop(0)
            if old.passed and not cell.passed:
                result.regressions[model].append(RowChange(model, cell.row, cell.test_case, _why(old), _why(cell)))
            elif not old.passed and cell.passed:
                result.fixes[model].append(RowChange(model, cell.row, cell.test_case, _why(old), _why(cell)))
    return result
