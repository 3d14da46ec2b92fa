"""Runs a prompt file's test data against one or more models and scores every reply. No Streamlit.

A run is a grid: one row per testData entry, one column per model (`ModelTarget`). Every cell
is one model call, then each evaluator (string rules here, LLM judges through the judge
target). Cells run concurrently up to a limit per endpoint (targets sharing one client share
its limit). A 429 pauses that endpoint and retries the cell after the service's Retry-After
when it is short (bounded); a long one marks the cell and the endpoint's remaining cells as
rate-limited without sending them. An error lands in its cell and never stops the run; a
cancel keeps the cells that finished.

For a page: `plan_evaluation` gives the run with every cell pending, `execute` fills it in
(in a worker thread if you like) calling `on_cell(cell, progress)` per finished cell; a
`threading.Event` cancels. `run_evaluation` does both. Results are plain dataclasses.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from ..client import ChatParams, PlaygroundError, Reply
from ..promptfile import PromptFile, PromptFileError, dumps, loads
from .evaluators import (
    EvaluatorResult,
    judge_messages,
    judge_result,
    judge_spec,
    string_result,
)

DEFAULT_MAX_TOKENS = 512  # every model call without maxTokens gets this cap
DEFAULT_JUDGE_MAX_TOKENS = 32
EMBEDDED_CONCURRENCY = 2  # the embedded endpoint's copies of the model, by default
CLOUD_CONCURRENCY = 4
MAX_ATTEMPTS = 4  # one call and up to three retries after a 429
MAX_RETRY_WAIT = 30.0  # a 429 asking to wait longer than this is not waited for
SMALL_JUDGE_NOTE = ("The judge is the embedded SmolLM2-135M model: a judge this small is a weak signal; "
                    "read its scores as hints, not verdicts.")

PENDING, RUNNING, DONE, CANCELLED = "pending", "running", "done", "cancelled"


class ChatCompleter(Protocol):
    def complete_chat(self, messages: Sequence[dict[str, str]], params: ChatParams,
                      model: str | None = None) -> Reply: ...


@dataclass(frozen=True, eq=False)
class ModelTarget:
    """A model to run: `label` names its column (unique in a run), `client` is anything with
    `complete_chat(messages, params, model)` (a ChatClient), `model` the id sent (None for a
    single-model deployment). Targets with the same `pool` (default: the same client object)
    share one limit of concurrent calls, the first target's `concurrency`."""

    label: str
    client: ChatCompleter
    model: str | None = None
    concurrency: int = CLOUD_CONCURRENCY
    embedded: bool = False
    pool: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "model": self.model, "embedded": self.embedded}


@dataclass
class Cell:
    """One test case (`row`, the testData entry `test_case`) on one model (`model`, its label)."""

    row: int
    model: str
    test_case: dict[str, Any]
    state: str = PENDING  # pending | running | done | cancelled
    output: str | None = None  # the reply, trimmed as gh models does
    results: list[EvaluatorResult] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency: float | None = None  # seconds of the model call that answered
    finish_reason: str | None = None
    error: str | None = None  # the model call failed: why (the cell fails)
    error_status: int | None = None
    attempts: int = 0  # model calls made (more than 1 after 429s)
    judge_prompt_tokens: int = 0
    judge_completion_tokens: int = 0

    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def passed(self) -> bool:
        """All evaluators passed (and the model answered). A cell with no evaluators passes."""
        return self.done and self.error is None and all(r.passed for r in self.results)

    @property
    def rate_limited(self) -> bool:
        return self.error_status == 429

    @property
    def score(self) -> float | None:
        return sum(r.score for r in self.results) / len(self.results) if self.results else None

    @property
    def failures(self) -> list[EvaluatorResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "results"}
        data["results"] = [r.to_dict() for r in self.results]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cell:
        values = dict(data)
        results = [EvaluatorResult(**r) for r in values.pop("results", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known}, results=results)


@dataclass
class ColumnSummary:
    model: str
    total: int  # cells planned
    done: int
    passed: int
    failed: int  # includes errors
    errors: int
    rate_limited: int
    pass_rate: float | None  # passed / done, 0..1; None before any cell is done
    mean_score: float | None  # over the evaluator scores of the cells that were evaluated
    prompt_tokens: int
    completion_tokens: int
    judge_tokens: int
    total_time: float  # the sum of the model calls' latencies, seconds

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    passed: int
    failed: int


@dataclass
class EvalRun:
    prompt: PromptFile
    prompt_text: str  # the exact file text the run used
    models: list[dict[str, Any]]  # ModelTarget.describe() per column, in order
    judge: dict[str, Any] | None
    params: dict[str, Any]  # the request body fields sent to the models (ChatParams.body())
    judge_params: dict[str, Any]
    cells: list[Cell]  # row-major: every model for row 0, then row 1, ...
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    started: float | None = None  # time.time()
    finished: float | None = None
    cancelled: bool = False
    # The exact parameters to send (extras included); a run read back from JSON rebuilds them from `params`.
    chat_params: ChatParams | None = field(default=None, repr=False, compare=False)
    judge_chat_params: ChatParams | None = field(default=None, repr=False, compare=False)

    @property
    def labels(self) -> list[str]:
        return [m["label"] for m in self.models]

    @property
    def rows(self) -> int:
        return len(self.cells) // max(len(self.models), 1)

    def cell(self, row: int, model: str) -> Cell:
        return self.cells[row * len(self.models) + self.labels.index(model)]

    def column(self, model: str) -> list[Cell]:
        return [c for c in self.cells if c.model == model]

    def progress(self) -> Progress:
        done = [c for c in self.cells if c.done]
        passed = sum(c.passed for c in done)
        return Progress(len(done), len(self.cells), passed, len(done) - passed)

    @property
    def passed(self) -> bool:
        """Every cell ran and passed."""
        return all(c.passed for c in self.cells)

    @property
    def wall_time(self) -> float | None:
        return self.finished - self.started if self.started and self.finished else None

    def summary(self, model: str) -> ColumnSummary:
        cells = self.column(model)
        done = [c for c in cells if c.done]
        passed = sum(c.passed for c in done)
        scores = [r.score for c in done for r in c.results]
        return ColumnSummary(
            model=model, total=len(cells), done=len(done), passed=passed, failed=len(done) - passed,
            errors=sum(c.error is not None for c in done), rate_limited=sum(c.rate_limited for c in done),
            pass_rate=passed / len(done) if done else None,
            mean_score=sum(scores) / len(scores) if scores else None,
            prompt_tokens=sum(c.prompt_tokens or 0 for c in done),
            completion_tokens=sum(c.completion_tokens or 0 for c in done),
            judge_tokens=sum(c.judge_prompt_tokens + c.judge_completion_tokens for c in done),
            total_time=sum(c.latency or 0.0 for c in done),
        )

    def summaries(self) -> list[ColumnSummary]:
        return [self.summary(label) for label in self.labels]

    # -- export ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_text": self.prompt_text, "models": self.models, "judge": self.judge, "params": self.params,
            "judge_params": self.judge_params, "cells": [c.to_dict() for c in self.cells], "notes": self.notes,
            "created": self.created, "started": self.started, "finished": self.finished,
            "cancelled": self.cancelled,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalRun:
        return cls(prompt=loads(data["prompt_text"]), prompt_text=data["prompt_text"], models=data["models"],
                   judge=data.get("judge"), params=data.get("params") or {},
                   judge_params=data.get("judge_params") or {},
                   cells=[Cell.from_dict(c) for c in data["cells"]], notes=list(data.get("notes") or []),
                   created=data.get("created") or "", started=data.get("started"), finished=data.get("finished"),
                   cancelled=bool(data.get("cancelled")))

    def to_json(self, indent: int | None = 2) -> str:
        """Like `gh models eval --json`: name, description, model, testResults (each with
        testCase, modelResponse and evaluationResults[] of evaluator/evaluatorName, score, passed,
        details) and summary (totalTests, passedTests, failedTests, passRate in percent), plus
        the model of each test result, errors, tokens, latency, and a summary per model."""
        done = [c for c in self.cells if c.done]
        passed = sum(c.passed for c in done)
        columns = []
        for s in self.summaries():
            columns.append({
                "model": s.model, "totalTests": s.done, "passedTests": s.passed, "failedTests": s.failed,
                "errors": s.errors, "rateLimited": s.rate_limited,
                "passRate": _percent(s.passed, s.done), "meanScore": s.mean_score,
                "promptTokens": s.prompt_tokens, "completionTokens": s.completion_tokens,
                "totalTokens": s.total_tokens, "judgeTokens": s.judge_tokens, "totalTime": round(s.total_time, 3),
            })
        data = {
            "name": self.prompt.name or "", "description": self.prompt.description or "",
            "model": (self.models[0].get("model") or self.models[0]["label"]) if self.models else "",
            "models": self.models, "judge": self.judge, "notes": self.notes, "created": self.created,
            "cancelled": self.cancelled, "wallTime": round(self.wall_time, 3) if self.wall_time else None,
            "testResults": [{
                "testCase": c.test_case, "row": c.row, "model": c.model, "modelResponse": c.output or "",
                "passed": c.passed, "error": c.error, "errorStatus": c.error_status, "attempts": c.attempts,
                "promptTokens": c.prompt_tokens, "completionTokens": c.completion_tokens,
                "latency": round(c.latency, 4) if c.latency is not None else None, "finishReason": c.finish_reason,
                "evaluationResults": [{
                    "evaluator": r.evaluator, "evaluatorName": r.evaluator, "score": r.score, "passed": r.passed,
                    "details": r.details,
                } for r in c.results],
            } for c in done],
            "summary": {"totalTests": len(done), "passedTests": passed, "failedTests": len(done) - passed,
                        "passRate": _percent(passed, len(done)), "plannedTests": len(self.cells)},
            "columns": columns,
        }
        return json.dumps(data, indent=indent, ensure_ascii=False, default=str)  # YAML dates as text

    def to_csv(self) -> str:
        """One line per cell: row, model, the test case's variables, output, passed, then a score
        and a passed column per evaluator, tokens, latency and error."""
        variables: list[str] = []
        for c in self.cells:
            variables += [k for k in c.test_case if k not in variables]
        evaluators = [e.name for e in self.prompt.evaluators]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "model", *variables, "output", "state", "passed",
                         *[f"{name} {what}" for name in evaluators for what in ("score", "passed")],
                         "prompt_tokens", "completion_tokens", "latency_s", "error"])
        for c in self.cells:
            by_name = {r.evaluator: r for r in c.results}
            writer.writerow([c.row, c.model, *[_csv_value(c.test_case.get(v)) for v in variables], c.output or "",
                             c.state, c.passed if c.done else "",
                             *[x for name in evaluators for x in (
                                 (by_name[name].score, by_name[name].passed) if name in by_name else ("", ""))],
                             c.prompt_tokens if c.prompt_tokens is not None else "",
                             c.completion_tokens if c.completion_tokens is not None else "",
                             f"{c.latency:.3f}" if c.latency is not None else "", c.error or ""])
        return out.getvalue()


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 100.0


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- planning ---------------------------------------------------------------------------------

def plan_evaluation(prompt_file: PromptFile, models: Sequence[ModelTarget], judge: ModelTarget | None = None, *,
                    prompt_text: str | None = None, params: ChatParams | None = None,
                    default_max_tokens: int = DEFAULT_MAX_TOKENS,
                    judge_max_tokens: int = DEFAULT_JUDGE_MAX_TOKENS) -> EvalRun:
    """The run with every cell pending. `params` overrides the file's parameters; a request
    without max_tokens gets `default_max_tokens`."""
    if not models:
        raise ValueError("an evaluation needs at least one model")
    labels = [m.label for m in models]
    if len(set(labels)) != len(labels):
        raise ValueError(f"model labels must be unique, got {labels}")
    chat = params or prompt_file.chat_params()
    if chat.max_tokens is None:
        chat = _with(chat, max_tokens=default_max_tokens)
    rows = prompt_file.test_data or [{}]
    notes = []
    if not prompt_file.test_data:
        notes.append("The file has no testData: its messages ran once, as they are.")
    needs_judge = any(judge_spec(e) for e in prompt_file.evaluators)
    judge_target = (judge or models[0]) if needs_judge else None
    if judge_target is not None:
        named = {e.llm.model_id for e in prompt_file.evaluators if e.llm}
        if named:
            notes.append(f"Judge: {judge_target.label} (the file names {', '.join(sorted(named))}).")
        if judge_target.embedded:
            notes.append(SMALL_JUDGE_NOTE)
    cells = [Cell(row=index, model=m.label, test_case=dict(values)) for index, values in enumerate(rows)
             for m in models]
    return EvalRun(
        prompt=prompt_file, prompt_text=prompt_text if prompt_text is not None else dumps(prompt_file),
        models=[m.describe() for m in models], judge=judge_target.describe() if judge_target else None,
        params=chat.body(), judge_params=_judge_params(judge_max_tokens).body(), cells=cells, notes=notes,
        chat_params=chat, judge_chat_params=_judge_params(judge_max_tokens),
    )


def _with(params: ChatParams, **changes: Any) -> ChatParams:
    return replace(params, **changes)


def _judge_params(max_tokens: int) -> ChatParams:
    return ChatParams(max_tokens=max_tokens, temperature=0.0)


def _params_from_body(body: dict[str, Any]) -> ChatParams:
    fmt = body.get("response_format")
    response_format: Any = None
    if isinstance(fmt, dict):
        response_format = "json_object" if fmt.get("type") == "json_object" else fmt.get("json_schema")
    return ChatParams(temperature=body.get("temperature"), top_p=body.get("top_p"), max_tokens=body.get("max_tokens"),
                      presence_penalty=body.get("presence_penalty"), frequency_penalty=body.get("frequency_penalty"),
                      stop=tuple(body.get("stop") or ()), seed=body.get("seed"), response_format=response_format)


# -- running ----------------------------------------------------------------------------------

class _Cancelled(Exception):
    pass


class _Pool:
    """One endpoint's limit of concurrent calls, and its pause after a 429."""

    def __init__(self, limit: int):
        self.limit = max(1, int(limit))
        self.slots = threading.Semaphore(self.limit)
        self.lock = threading.Lock()
        self.resume_at = 0.0  # time.monotonic() before which no call starts
        self.blocked: PlaygroundError | None = None  # a long rate limit: send nothing more

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.resume_at = max(self.resume_at, time.monotonic() + seconds)

    def check_blocked(self) -> None:
        """Raise the long rate limit, as a fresh error per cell (threads must not share one)."""
        blocked = self.blocked
        if blocked is not None:
            raise PlaygroundError(blocked.message, status=blocked.status, code=blocked.code,
                                  retry_after=blocked.retry_after)


def _backoff(attempt: int) -> float:
    return min(2.0 ** (attempt - 1), 8.0)


def _call(pool: _Pool, target: ModelTarget, messages: list[dict[str, str]], params: ChatParams,
          cancel: threading.Event, max_retry_wait: float, attempts: list[int]) -> Reply:
    """One request through the pool: waits out a pause, retries after short 429s."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        while True:
            pool.check_blocked()
            delay = pool.resume_at - time.monotonic()
            if delay <= 0:
                break
            if cancel.wait(delay):
                raise _Cancelled
        if cancel.is_set():
            raise _Cancelled
        with pool.slots:
            pool.check_blocked()  # set while this call waited for its slot
            if cancel.is_set():
                raise _Cancelled
            attempts[0] += 1
            try:
                return target.client.complete_chat(messages, params, target.model)
            except PlaygroundError as error:
                if error.status != 429:
                    raise
                wait = error.retry_after if error.retry_after is not None else _backoff(attempt)
                if wait > max_retry_wait:
                    pool.blocked = PlaygroundError(
                        f"{error.message} (not retried: the wait is longer than {max_retry_wait:g} s; "
                        "the endpoint's remaining cells were not sent)",
                        status=429, code=error.code, retry_after=error.retry_after)
                    pool.check_blocked()
                if attempt == MAX_ATTEMPTS:
                    raise PlaygroundError(f"{error.message} (still throttled after {attempt} attempts)",
                                          status=429, code=error.code, retry_after=error.retry_after) from None
                pool.pause(wait)
    raise AssertionError("unreachable")


def execute(run: EvalRun, models: Sequence[ModelTarget], judge: ModelTarget | None = None, *,
            on_cell: Callable[[Cell, Progress], None] | None = None, cancel: threading.Event | None = None,
            max_retry_wait: float = MAX_RETRY_WAIT) -> EvalRun:
    """Fill in a planned run's pending cells (`models` in the run's column order). Returns when
    every cell is done or, after `cancel` is set, when the calls in flight have ended (cells not
    started are then `cancelled`). `on_cell(cell, progress)` runs in a worker thread after each
    cell is done: hand results to the page through a queue or the run itself, never draw from it."""
    cancel = cancel or threading.Event()
    targets = {m.label: m for m in models}
    if list(targets) != run.labels:
        raise ValueError(f"the models {list(targets)} are not the run's columns {run.labels}")
    judge_target = None
    if run.judge is not None:
        judge_target = judge or models[0]
    pools: dict[Any, _Pool] = {}

    def pool_of(target: ModelTarget) -> _Pool:
        key = target.pool if target.pool is not None else id(target.client)
        if key not in pools:
            pools[key] = _Pool(target.concurrency)
        return pools[key]

    for target in models:
        pool_of(target)
    judge_pool = pool_of(judge_target) if judge_target else None
    params = run.chat_params or _params_from_body(run.params)
    judge_params = run.judge_chat_params or _params_from_body(run.judge_params)
    lock = threading.Lock()
    callback_failed: list[str] = []

    def finish(index: int, cell: Cell) -> None:
        with lock:
            run.cells[index] = cell
            progress = run.progress()
        if on_cell is not None and cell.state == DONE:
            try:
                on_cell(cell, progress)
            except Exception as exc:  # a page's callback must not break the run
                if not callback_failed:
                    callback_failed.append(f"on_cell raised {exc!r}")

    def run_cell(index: int) -> None:
        planned = run.cells[index]
        if cancel.is_set():
            planned.state = CANCELLED
            return
        planned.state = RUNNING
        cell = Cell(row=planned.row, model=planned.model, test_case=planned.test_case)
        target = targets[cell.model]
        try:
            cell = _run_cell(cell, run.prompt, target, pool_of(target), params, judge_target, judge_pool,
                             judge_params, cancel, max_retry_wait)
        except _Cancelled:
            cell.state = CANCELLED
        except Exception as exc:  # a bug or an unexpected client: the cell says so, the run goes on
            cell.state, cell.error = DONE, f"Unexpected error: {exc!r}"
        finish(index, cell)

    run.started = run.started or time.time()
    executors = {key: ThreadPoolExecutor(max_workers=pool.limit, thread_name_prefix="eval")
                 for key, pool in pools.items()}
    try:
        futures = []
        for index, cell in enumerate(run.cells):
            if cell.state == DONE:
                continue
            target = targets[cell.model]
            key = target.pool if target.pool is not None else id(target.client)
            futures.append(executors[key].submit(run_cell, index))
        wait_futures(futures)
    finally:
        for executor in executors.values():
            executor.shutdown(wait=True)
    run.finished = time.time()
    run.cancelled = cancel.is_set() and any(c.state != DONE for c in run.cells)
    if callback_failed:
        run.notes.append(callback_failed[0])
    return run


def _run_cell(cell: Cell, prompt: PromptFile, target: ModelTarget, pool: _Pool, params: ChatParams,
              judge: ModelTarget | None, judge_pool: _Pool | None, judge_params: ChatParams,
              cancel: threading.Event, max_retry_wait: float) -> Cell:
    try:
        messages = prompt.render_messages(cell.test_case)
    except PromptFileError as error:  # a row that fills a template in past the limit: this cell only
        cell.state, cell.error = DONE, str(error)
        return cell
    attempts = [0]
    try:
        reply = _call(pool, target, messages, params, cancel, max_retry_wait, attempts)
    except PlaygroundError as error:
        cell.attempts = attempts[0]
        cell.state, cell.error, cell.error_status = DONE, error.message, error.status
        return cell
    finally:
        cell.attempts = attempts[0]
    cell.output = reply.text.strip()
    cell.prompt_tokens, cell.completion_tokens = reply.prompt_tokens, reply.completion_tokens
    cell.latency, cell.finish_reason = reply.elapsed, reply.finish_reason
    for evaluator in prompt.evaluators:
        if evaluator.string:
            cell.results.append(string_result(evaluator.name, evaluator.string, cell.test_case, cell.output))
            continue
        spec = judge_spec(evaluator)
        assert spec is not None and judge is not None and judge_pool is not None
        judge_attempts = [0]
        try:
            answer = _call(judge_pool, judge, judge_messages(spec, cell.test_case, cell.output), judge_params,
                           cancel, max_retry_wait, judge_attempts)
        except PlaygroundError as error:
            cell.results.append(EvaluatorResult(evaluator.name, 0.0, False, f"The judge call failed: {error.message}",
                                                evaluator.kind))
            continue
        result = judge_result(evaluator.name, evaluator.kind, spec.choices, answer.text)
        result.prompt_tokens, result.completion_tokens, result.latency = (
            answer.prompt_tokens, answer.completion_tokens, answer.elapsed)
        cell.judge_prompt_tokens += answer.prompt_tokens or 0
        cell.judge_completion_tokens += answer.completion_tokens or 0
        cell.results.append(result)
    cell.state = DONE
    return cell


def run_evaluation(prompt_file: PromptFile, models: Sequence[ModelTarget], judge: ModelTarget | None = None, *,
                   on_cell: Callable[[Cell, Progress], None] | None = None, cancel: threading.Event | None = None,
                   prompt_text: str | None = None, params: ChatParams | None = None,
                   default_max_tokens: int = DEFAULT_MAX_TOKENS, judge_max_tokens: int = DEFAULT_JUDGE_MAX_TOKENS,
                   max_retry_wait: float = MAX_RETRY_WAIT) -> EvalRun:
    """Plan and execute a run; see `plan_evaluation` and `execute`."""
    run = plan_evaluation(prompt_file, models, judge, prompt_text=prompt_text, params=params,
                          default_max_tokens=default_max_tokens, judge_max_tokens=judge_max_tokens)
    return execute(run, models, judge, on_cell=on_cell, cancel=cancel, max_retry_wait=max_retry_wait)
