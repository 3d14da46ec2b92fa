"""playground.evaluate.engine: the grid of test cases x models, through the real transport against
the real embedded model (as model under test and as judge) and against local servers replaying
cloud behaviour (429s)."""

from __future__ import annotations

import csv
import io
import json
import threading
import time

from playground.client import ChatClient, Endpoint, PlaygroundError
from playground.client import Reply as ClientReply
from playground.evaluate import engine
from playground.evaluate.engine import CANCELLED, DONE, ModelTarget, run_evaluation
from playground.promptfile import loads
from tests.support.fake_service import FakeService, Reply
from tests.support.github_models import DAILY_LIMIT_429


def completion(text: str, prompt_tokens: int = 5, completion_tokens: int = 3) -> Reply:
    """A whole (non-streamed) chat completion as the service sends it."""
    return Reply(body={"id": "chatcmpl-fake", "created": 0, "model": "fake-model", "object": "chat.completion",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                 "total_tokens": prompt_tokens + completion_tokens}})


def throttled(seconds: str) -> Reply:
    return Reply(status=429, headers={"retry-after": seconds},
                 body={"error": {"code": "RateLimitReached", "message": "Rate limit of 10 per 60s exceeded for "
                                 "UserByModelByMinute. Please wait 1 seconds before retrying."}})


def client(url: str, max_retry_after: float = 10.0) -> ChatClient:
    return ChatClient(Endpoint(url, "Test endpoint"), read_timeout=60, max_retry_after=max_retry_after)


ROWS = "\n".join(f"  - country: C{i}\n    expected: city{i}" for i in range(6))
FILE = f"""name: Capitals
model: fake-model
messages:
  - role: user
    content: 'Capital of {{{{country}}}}?'
testData:
{ROWS}
evaluators:
  - name: says ok
    string:
      contains: ok
"""


def test_a_429_mid_run_is_retried_after_its_retry_after_and_the_rest_finish():
    # The transport gives up at once (max_retry_after below the service's 1 s): the engine waits and retries.
    with FakeService([completion("ok 1"), throttled("1"), completion("ok 2")]) as busy, \
            FakeService([completion("ok")]) as calm:
        models = [ModelTarget("busy", client(busy.url, max_retry_after=0.5), "fake-model", concurrency=2),
                  ModelTarget("calm", client(calm.url), "fake-model", concurrency=2)]
        started = time.monotonic()
        run = run_evaluation(loads(FILE), models)
        elapsed = time.monotonic() - started
    assert all(c.state == DONE and c.error is None and c.passed for c in run.cells)
    assert sorted(c.attempts for c in run.column("busy")) == [1, 1, 1, 1, 1, 2]
    assert len(busy.requests) == 7 and len(calm.requests) == 6
    assert 1.0 <= elapsed < 10
    summary = run.summary("busy")
    assert (summary.done, summary.passed, summary.pass_rate, summary.rate_limited) == (6, 6, 1.0, 0)


def test_a_long_retry_after_marks_the_cells_and_sends_no_more_to_that_endpoint():
    with FakeService([completion("ok"), DAILY_LIMIT_429]) as limited, FakeService([completion("ok")]) as calm:
        models = [ModelTarget("limited", client(limited.url), "fake-model", concurrency=1),
                  ModelTarget("calm", client(calm.url), "fake-model", concurrency=2)]
        started = time.monotonic()
        run = run_evaluation(loads(FILE), models)
        assert time.monotonic() - started < 10  # never waits hours
    limited_cells = run.column("limited")
    assert limited_cells[0].passed
    assert all(c.state == DONE and c.rate_limited and not c.passed for c in limited_cells[1:])
    assert "6 h 46 min" in limited_cells[1].error and "not retried" in limited_cells[1].error
    assert len(limited.requests) == 2  # the rest were not sent
    assert all(c.passed for c in run.column("calm"))
    summary = run.summary("limited")
    assert (summary.passed, summary.failed, summary.errors, summary.rate_limited) == (1, 5, 5, 5)


def test_every_call_without_max_tokens_gets_the_default_cap_and_judges_get_theirs():
    text = FILE.replace("      contains: ok\n", "      contains: ok\n  - name: judged\n    llm:\n      modelId: x\n"
                        "      prompt: 'Rate {{completion}} for {{country}}'\n      choices:\n"
                        "        - {choice: 'yes', score: 1}\n        - {choice: 'no', score: 0}\n")
    with FakeService([completion("ok")]) as model, FakeService([completion("Yes, no")]) as judge:
        run = run_evaluation(loads(text), [ModelTarget("m", client(model.url), "fake-model")],
                             ModelTarget("j", client(judge.url), "judge-model"), judge_max_tokens=7)
    assert {r["body"]["max_tokens"] for r in model.requests} == {engine.DEFAULT_MAX_TOKENS}
    assert {(r["body"]["max_tokens"], r["body"]["temperature"], r["body"]["model"]) for r in judge.requests} == {
        (7, 0.0, "judge-model")}
    prompts = sorted(r["body"]["messages"][-1]["content"] for r in judge.requests)
    assert prompts[0] == "Rate ok for C0"
    cell = run.cell(0, "m")
    assert [(r.evaluator, r.score, r.passed) for r in cell.results] == [("says ok", 1.0, True), ("judged", 1.0, True)]
    assert cell.results[1].judge_answer == "Yes, no" and cell.judge_prompt_tokens == 5
    assert run.judge == {"label": "j", "model": "judge-model", "embedded": False}


class Stub:
    """A client that answers by row; `gate` holds calls back until it is set."""

    def __init__(self, answer=lambda messages: "ok", gate: threading.Event | None = None):
        self.answer, self.gate, self.calls = answer, gate, []

    def complete_chat(self, messages, params, model=None):
        self.calls.append(messages)
        if self.gate is not None:
            assert self.gate.wait(10)
        text = self.answer(messages)
        if isinstance(text, Exception):
            raise text
        return ClientReply(texts=(text,), finish_reasons=("stop",), logprobs=(None,), prompt_tokens=4,
                           completion_tokens=2, elapsed=0.01)


def test_cancel_keeps_the_cells_that_finished():
    cancel = threading.Event()
    seen = []

    def on_cell(cell, progress):
        seen.append((cell.row, progress.done, progress.total))
        if progress.done == 2:
            cancel.set()

    stub = Stub()
    run = run_evaluation(loads(FILE), [ModelTarget("m", stub, concurrency=1)], on_cell=on_cell, cancel=cancel)
    assert seen == [(0, 1, 6), (1, 2, 6)]
    assert [c.state for c in run.cells] == [DONE, DONE] + [CANCELLED] * 4
    assert len(stub.calls) == 2 and run.cancelled
    assert run.progress() == engine.Progress(done=2, total=6, passed=2, failed=0)
    assert not run.passed  # not everything ran
    data = json.loads(run.to_json())
    assert data["cancelled"] is True and len(data["testResults"]) == 2 and data["summary"]["plannedTests"] == 6


def test_cancel_while_calls_are_in_flight_keeps_them():
    gate, cancel = threading.Event(), threading.Event()
    stub = Stub(gate=gate)
    done = threading.Event()
    result = {}
    thread = threading.Thread(target=lambda: (result.setdefault("run", run_evaluation(
        loads(FILE), [ModelTarget("m", stub, concurrency=2)], cancel=cancel)), done.set()))
    thread.start()
    deadline = time.monotonic() + 10
    while len(stub.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    cancel.set()
    gate.set()
    assert done.wait(10)
    run = result["run"]
    assert [c.state for c in run.cells] == [DONE, DONE] + [CANCELLED] * 4


def test_a_429_without_retry_after_backs_off_and_a_cancel_ends_a_long_pause_at_once():
    throttles = [PlaygroundError("Throttled.", status=429)]
    run = run_evaluation(loads(FILE), [ModelTarget("m", Stub(lambda m: throttles.pop() if throttles else "ok"),
                                                   concurrency=1)])
    assert [c.attempts for c in run.cells] == [2, 1, 1, 1, 1, 1] and run.passed  # waited 1 s, then retried

    cancel = threading.Event()
    stub = Stub(lambda m: PlaygroundError("Throttled.", status=429, retry_after=25))
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    run = run_evaluation(loads(FILE), [ModelTarget("m", stub, concurrency=2)], cancel=cancel)
    assert time.monotonic() - started < 5
    assert {c.state for c in run.cells} == {CANCELLED} and run.cancelled
    assert len(stub.calls) in (1, 2)  # the pause holds the other worker back too


def test_errors_land_in_their_cell_and_the_run_goes_on():
    def answer(messages):
        content = messages[-1]["content"]
        if "C1" in content:
            return PlaygroundError("The endpoint rejected the request (HTTP 400): nope", status=400)
        if "C2" in content:
            return RuntimeError("boom")
        return "OK then"

    run = run_evaluation(loads(FILE), [ModelTarget("m", Stub(answer))])
    assert [c.passed for c in run.cells] == [True, False, False, True, True, True]
    assert run.cells[1].error == "The endpoint rejected the request (HTTP 400): nope"
    assert run.cells[1].error_status == 400
    assert run.cells[2].error == "Unexpected error: RuntimeError('boom')"
    summary = run.summary("m")
    assert (summary.passed, summary.failed, summary.errors, summary.prompt_tokens, summary.total_tokens) == (
        4, 2, 2, 16, 24)


def test_exports_as_gh_models_json_and_csv():
    run = run_evaluation(loads(FILE), [ModelTarget("a", Stub(lambda m: "ok")), ModelTarget("b", Stub(lambda m: "no"))])
    data = json.loads(run.to_json())
    assert data["name"] == "Capitals" and data["summary"] == {
        "totalTests": 12, "passedTests": 6, "failedTests": 6, "passRate": 50.0, "plannedTests": 12}
    first = data["testResults"][0]
    assert first["testCase"] == {"country": "C0", "expected": "city0"} and first["modelResponse"] == "ok"
    assert first["evaluationResults"] == [{"evaluator": "says ok", "evaluatorName": "says ok", "score": 1.0,
                                           "passed": True, "details": "Expected to contain 'ok'"}]
    assert [(c["model"], c["passRate"]) for c in data["columns"]] == [("a", 100.0), ("b", 0.0)]
    lines = list(csv.DictReader(io.StringIO(run.to_csv())))
    assert len(lines) == 12
    assert lines[1] == {"row": "0", "model": "b", "country": "C0", "expected": "city0", "output": "no",
                        "state": "done", "passed": "False", "says ok score": "0.0", "says ok passed": "False",
                        "prompt_tokens": "4", "completion_tokens": "2", "latency_s": "0.010", "error": ""}


def test_rows_run_concurrently_up_to_the_limit_shared_by_targets_on_one_endpoint():
    active, peak, lock = [0], [0], threading.Lock()

    class Counting(Stub):
        def complete_chat(self, messages, params, model=None):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1
            return super().complete_chat(messages, params, model)

    shared = Counting()
    run = run_evaluation(loads(FILE), [ModelTarget("x", shared, "m1", concurrency=3),
                                       ModelTarget("y", shared, "m2", concurrency=3)])
    assert run.progress().done == 12 and peak[0] == 3


# -- the real embedded model, through the real transport ---------------------------------------

REAL = """name: Real model
model: SmolLM2-135M-Instruct
modelParameters:
  maxTokens: 8
  temperature: 0
messages:
  - role: system
    content: Answer in one word.
  - role: user
    content: 'What colour is {{thing}}?'
testData:
  - thing: the sky
  - thing: grass
evaluators:
  - name: judge
    llm:
      modelId: openai/gpt-4o
      systemPrompt: You are a strict grader. Reply yes or no.
      prompt: 'Question: what colour is {{thing}}? Answer: {{completion}}. Is the answer a colour? Reply yes or no.'
      choices:
        - {choice: 'yes', score: 1}
        - {choice: 'no', score: 0}
  - name: fluent
    uses: github/fluency
"""


def test_real_model_under_test_and_as_judge(endpoint):
    text = REAL
    embedded = ModelTarget("embedded", client(endpoint.url), None, concurrency=2, embedded=True)
    before = len(endpoint.requests())
    seen = []
    run = run_evaluation(loads(text), [embedded], on_cell=lambda cell, progress: seen.append(progress.done),
                         judge_max_tokens=6)
    assert sorted(seen) == [1, 2]
    assert engine.SMALL_JUDGE_NOTE in run.notes and "the file names openai/gpt-4o" in run.notes[0]
    for cell in run.cells:
        assert cell.state == DONE and cell.error is None and cell.output
        assert cell.prompt_tokens > 0 and 0 < cell.completion_tokens <= 8 and cell.latency > 0
        judged, fluent = cell.results
        assert judged.kind == "llm" and judged.judge_answer is not None and judged.latency > 0
        assert judged.score in (0.0, 1.0) and judged.passed is (judged.score > 0)
        assert judged.details.startswith("The judge's answer")
        assert fluent.kind == "uses" and fluent.score in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert fluent.passed is (fluent.score > 0) and fluent.details.startswith("The judge's answer")
        assert cell.passed is (judged.passed and fluent.passed)
    bodies = [r["body"] for r in endpoint.requests()[before:]]
    model_calls = [b for b in bodies if b["messages"][0]["content"] == "Answer in one word."]
    judge_calls = [b for b in bodies if b["messages"][0]["content"].startswith("You are a strict grader")]
    fluency_calls = [b for b in bodies if b["messages"][0]["content"].startswith("You grade the answers")]
    assert len(model_calls) == 2 and len(judge_calls) == 2 and len(fluency_calls) == 2
    assert {(b["max_tokens"], b["temperature"]) for b in fluency_calls} == {(6, 0.0)}
    assert all("{{" not in b["messages"][1]["content"] for b in fluency_calls)
    assert {(b["max_tokens"], b["temperature"]) for b in model_calls} == {(8, 0.0)}
    assert {(b["max_tokens"], b["temperature"]) for b in judge_calls} == {(6, 0.0)}
    outputs = {c.test_case["thing"]: c.output for c in run.cells}
    assert any(f"Answer: {outputs['grass']}." in b["messages"][1]["content"] for b in judge_calls)


def test_target_for_a_model_choice_uses_the_endpoints_limit():
    from playground.evaluate import target_for
    from playground.providers import EMBEDDED, GITHUB, ModelChoice, Provider
    from playground.settings import Settings

    embedded = ModelChoice(Provider(EMBEDDED, EMBEDDED, "Embedded model (offline)", Endpoint("http://x", "E")), None)
    github = ModelChoice(Provider(GITHUB, GITHUB, "GitHub Models", Endpoint("http://y", "G")), "openai/gpt-4o")
    settings = Settings(local_parallel=3, eval_concurrency=6)
    stub = Stub()
    assert (target_for(embedded, stub).concurrency, target_for(embedded, stub, settings).concurrency) == (2, 3)
    target = target_for(github, stub, settings)
    assert (target.label, target.model, target.concurrency, target.embedded, target.pool) == (
        "openai/gpt-4o · GitHub Models", "openai/gpt-4o", 6, False, "github")
    assert target_for(embedded, stub).embedded


def test_a_page_can_plan_then_execute_in_a_thread_and_poll_progress():
    gate = threading.Event()
    stub = Stub(gate=gate)
    models = [ModelTarget("m", stub, concurrency=2)]
    run = engine.plan_evaluation(loads(FILE), models)
    assert [c.state for c in run.cells] == [engine.PENDING] * 6 and run.progress() == engine.Progress(0, 6, 0, 0)
    worker = threading.Thread(target=engine.execute, args=(run, models))
    worker.start()
    deadline = time.monotonic() + 10
    while sum(c.state == engine.RUNNING for c in run.cells) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [c.state for c in run.cells[:2]] == [engine.RUNNING] * 2 and run.progress().done == 0
    gate.set()
    worker.join(10)
    assert run.progress() == engine.Progress(6, 6, 6, 0) and run.passed and run.wall_time > 0


def test_a_row_that_fills_a_template_past_the_limit_fails_its_cell_without_a_call():
    # Within the file's limits (1 MB, no alias) but five placeholders of a 900,000-character value.
    text = ("messages:\n  - role: user\n    content: '{{x}} {{x}} {{x}} {{x}} {{x}}'\ntestData:\n"
            f"  - x: {'a' * 900_000}\n  - x: small\nevaluators:\n  - name: says ok\n    string:\n      contains: ok\n")
    with FakeService([completion("ok")]) as service:
        run = run_evaluation(loads(text), [ModelTarget("m", client(service.url))])
    assert run.cells[0].error == ("a template filled in with this row's values would be 4,500,004 characters long; "
                                  "at most 4,000,000 are allowed")
    assert run.cells[1].passed and len(service.requests) == 1
