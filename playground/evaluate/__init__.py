"""Evaluations of `.prompt.yml` files: the engine (no Streamlit), saved runs, and the CLI
(`python -m playground.evaluate`). See docs/evaluate.md."""

from .engine import (
    CANCELLED,
    DEFAULT_JUDGE_MAX_TOKENS,
    DEFAULT_MAX_TOKENS,
    DONE,
    PENDING,
    RUNNING,
    Cell,
    ColumnSummary,
    EvalRun,
    ModelTarget,
    Progress,
    execute,
    plan_evaluation,
    run_evaluation,
)
from .evaluators import BUILTINS, EvaluatorResult
from .runs import RowChange, RunDiff, RunStore, RunSummary, SavedRun, diff
from .targets import concurrency_for, target_for

__all__ = [
    "CANCELLED", "DEFAULT_JUDGE_MAX_TOKENS", "DEFAULT_MAX_TOKENS", "DONE", "PENDING", "RUNNING", "Cell",
    "ColumnSummary",
    "EvalRun", "ModelTarget", "Progress", "execute", "plan_evaluation", "run_evaluation", "BUILTINS",
    "EvaluatorResult", "RunDiff", "RunStore", "RowChange", "RunSummary", "SavedRun", "diff",
    "concurrency_for", "target_for",
]
