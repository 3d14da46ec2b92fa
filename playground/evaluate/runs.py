"""Saved evaluation runs, in the playground's database (playground.store: the SQLite file or
PostgreSQL, so every replica of a team deployment sees them).

Each run keeps the exact prompt file text, the models, the parameters, every cell's results
and when it was made, under an `owner` (LOCAL_OWNER until the app knows its users). `diff` lists,
per model, the test cases that went from pass to fail and from fail to pass between two runs.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..store import LOCAL_OWNER, Store, usage
from .engine import Cell, EvalRun


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
    """`RunStore(store)`; `save(run, owner)` returns the id; `list(owner)` newest first;
    `get(id, owner)` and `delete(id, owner)` see only that owner's runs. A run counts toward its
    owner's storage budget (playground.store.usage) but is never refused by it: the run is done and
    paid for; the owner's next prompt is refused instead."""

    def __init__(self, store: Store):
        self._db = store.database

    def save(self, run: EvalRun, owner: str = LOCAL_OWNER) -> str:
        run_id = uuid.uuid4().hex
        progress = run.progress()
        texts = (run.prompt_text, json.dumps(run.models), json.dumps(run.judge) if run.judge else None,
                 json.dumps(run.params), json.dumps(run.to_dict(), default=str))
        with self._db.write() as tx:
            usage.charge(tx, owner, usage.ROW_BYTES + usage.size(*texts), None)
            tx.run("INSERT INTO eval_runs (id, owner, created, saved, name, prompt_text, models_json, judge_json,"
                   " params_json, run_json, total, passed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, owner, run.created, time.time(), run.prompt.name or "", *texts, progress.total,
                    progress.passed))
        return run_id

    def list(self, owner: str = LOCAL_OWNER, limit: int = 100) -> list[RunSummary]:
        with self._db.read() as tx:
            rows = tx.all("SELECT id, owner, created, name, models_json, total, passed FROM eval_runs"
                          " WHERE owner = ? ORDER BY created DESC, saved DESC LIMIT ?", (owner, limit))
        return [RunSummary(run_id, owner_, created, name, [m["label"] for m in json.loads(models)], total, passed)
                for run_id, owner_, created, name, models, total, passed in rows]

    def get(self, run_id: str, owner: str = LOCAL_OWNER) -> SavedRun | None:
        with self._db.read() as tx:
            row = tx.one("SELECT id, owner, created, run_json FROM eval_runs WHERE id = ? AND owner = ?",
                         (run_id, owner))
        if row is None:
            return None
        return SavedRun(row[0], row[1], row[2], EvalRun.from_dict(json.loads(row[3])))

    def delete(self, run_id: str, owner: str = LOCAL_OWNER) -> bool:
        with self._db.write() as tx:
            row = tx.one(f"SELECT {usage.runs_size_sql(tx)} FROM eval_runs WHERE id = ? AND owner = ?", (run_id, owner))
            if row is None:
                return False
            usage.charge(tx, owner, -int(row[0]), None)
            return tx.run("DELETE FROM eval_runs WHERE id = ? AND owner = ?", (run_id, owner)).rowcount > 0


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
