"""`python -m playground.evaluate`, run as a user runs it: exit 0 all passed, 1 a test failed,
2 an invalid file or arguments; --json content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from playground.evaluate import RunStore
from playground.settings import VARIABLES
from playground.store import Store
from tests.conftest import ROOT, TEST_KEY
from tests.playground.evaluate.test_engine import completion
from tests.support import yaml_bomb
from tests.support.fake_service import FakeService, Reply

FILE = """name: Greeting
model: {model}
modelParameters:
  maxTokens: 6
  temperature: 0
messages:
  - role: user
    content: 'Say hello to {{{{who}}}}.'
testData:
  - who: Ada
    expected: hello
  - who: Alan
    expected: hello
evaluators:
  - name: greets
    string:
      contains: '{{{{expected}}}}'
"""


def cli(tmp_path: Path, *args: str, env: dict | None = None, memory: int | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI as a user runs it; `memory` caps its address space (bytes) so a runaway fails fast."""
    environment = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    environment.update({"PLAYGROUND_DB_PATH": str(tmp_path / "playground.db"), "PYTHONPATH": str(ROOT)})
    environment.update(env or {})
    command = [sys.executable, "-m", "playground.evaluate"]
    if memory is not None:  # the limit set by the child itself: no preexec_fn in a threaded test process
        command = [sys.executable, "-c", "import resource, runpy, sys; "
                   f"resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory})); "
                   "runpy.run_module('playground.evaluate', run_name='__main__')"]
    return subprocess.run([*command, *args], cwd=tmp_path, env=environment, capture_output=True, text=True,
                          timeout=timeout)


def write(tmp_path: Path, text: str, name: str = "greet.prompt.yml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_all_passed_exits_0_and_writes_json(tmp_path):
    path = write(tmp_path, FILE.format(model="gpt-4o-mini"))
    with FakeService([completion("Hello, friend!")]) as azure:
        result = cli(tmp_path, path, "--model", "azure:gpt-4o-mini", "--json", "out.json", "--save",
                     env={"AZURE_INFERENCE_ENDPOINT": azure.url, "AZURE_INFERENCE_CREDENTIAL": TEST_KEY})
    assert result.returncode == 0, result.stderr
    assert "azure:gpt-4o-mini: 2/2 passed (100%)" in result.stdout and "All 2 test(s) passed." in result.stdout
    assert "[2/2] azure:gpt-4o-mini row" in result.stderr
    assert {r["body"]["model"] for r in azure.requests} == {"gpt-4o-mini"}
    assert {r["headers"]["api-key"] for r in azure.requests} == {TEST_KEY}
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["summary"] == {"totalTests": 2, "passedTests": 2, "failedTests": 0, "passRate": 100.0,
                               "plannedTests": 2}
    assert data["testResults"][0]["testCase"] == {"who": "Ada", "expected": "hello"}
    assert data["testResults"][0]["evaluationResults"][0]["evaluator"] == "greets"
    saved = RunStore(Store(tmp_path / "playground.db")).list()  # the database the Evaluate page lists
    assert f"Saved as run {saved[0].id} in {tmp_path / 'playground.db'}" in result.stdout
    assert [(r.name, r.total, r.passed) for r in saved] == [("Greeting", 2, 2)]


def test_a_failed_test_exits_1_and_names_the_evaluator_on_the_embedded_model(tmp_path, endpoint):
    # No --model: the file's model is the embedded one (publisher prefix aside), reused on its port.
    text = FILE.format(model="HuggingFaceTB/SmolLM2-135M-Instruct").replace("contains: '{{expected}}'",
                                                                            "equals: 'zzz never said'")
    path = write(tmp_path, text)
    result = cli(tmp_path, path, "--json", "-", env={"PLAYGROUND_LOCAL_PORT": str(endpoint.port)})
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)  # --json -: JSON on stdout, the summary on stderr
    assert data["models"] == [{"label": "embedded", "model": None, "embedded": True}]
    assert data["summary"]["failedTests"] == 2 and data["summary"]["passRate"] == 0.0
    for test in data["testResults"]:
        assert test["modelResponse"] and test["completionTokens"] <= 6 and test["latency"] > 0
        (evaluation,) = test["evaluationResults"]
        assert evaluation == {"evaluator": "greets", "evaluatorName": "greets", "score": 0.0, "passed": False,
                              "details": evaluation["details"]}
        assert evaluation["details"].startswith("Expected exactly 'zzz never said'; the output was")
    assert "embedded: 0/2 passed (0%)" in result.stderr
    assert "FAIL row 1 (who='Ada', expected='hello')" in result.stderr
    assert "greets (score 0.00): Expected exactly 'zzz never said'" in result.stderr
    assert "2 of 2 test(s) failed or did not run." in result.stderr


def test_an_invalid_file_exits_2_naming_field_and_line(tmp_path):
    path = write(tmp_path, FILE.format(model="m").replace("contains: '{{expected}}'", "has: x"))
    result = cli(tmp_path, path, "--model", "embedded")
    assert result.returncode == 2
    assert result.stderr.strip() == f"{path}: evaluators[0].string: needs one of equals, contains, startsWith, " \
                                    "endsWith (line 17)"
    missing = cli(tmp_path, str(tmp_path / "nope.prompt.yml"))
    assert missing.returncode == 2 and "nope.prompt.yml: no such file" in missing.stderr


BOMBS = {"six levels in testData": yaml_bomb.in_test_data(6), "nine levels in testData": yaml_bomb.in_test_data(9),
         "nine levels in jsonSchema": yaml_bomb.in_json_schema(9)}


@pytest.mark.parametrize("text", BOMBS.values(), ids=BOMBS.keys())
def test_an_alias_bomb_exits_2_with_one_line_at_once(tmp_path, endpoint, text):
    # 512 MB of address space: the CLI needs about 30 MB of it; the old reader let nine levels
    # reach 2 GB (a MemoryError and a traceback after 40 s).
    path = write(tmp_path, text)
    started = time.monotonic()
    result = cli(tmp_path, path, "--model", "embedded", env={"PLAYGROUND_LOCAL_PORT": str(endpoint.port)},
                 memory=512 * 1024 * 1024, timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    line = next(n for n, text_line in enumerate(text.splitlines(), 1) if text_line.lstrip().startswith("l4:"))
    assert result.stderr == (f"{path}: too large: more than 100,000 values, each alias counted as the values it "
                             f"repeats; that is the limit for a prompt file (line {line})\n")
    assert result.stdout == "" and time.monotonic() - started < 20  # Python's start-up; the read takes ms


def test_a_file_over_1_mb_exits_2_without_reading_all_of_it(tmp_path, endpoint):
    path = write(tmp_path, FILE.format(model="m") + "# " + "x" * 3 * 1024 * 1024 + "\n")
    result = cli(tmp_path, path, "--model", "embedded", env={"PLAYGROUND_LOCAL_PORT": str(endpoint.port)},
                 memory=512 * 1024 * 1024, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (f"{path}: the file is larger than 1 MB (1,048,576 bytes), the limit for a prompt "
                             "file\n")


def test_invalid_arguments_exit_2_with_what_is_wrong(tmp_path):
    path = write(tmp_path, FILE.format(model="openai/gpt-4o"))
    unknown = cli(tmp_path, path, "--model", "azure:gpt-4o")
    assert unknown.returncode == 2
    assert "--model 'azure:gpt-4o': no provider 'azure' is configured (configured: embedded)." in unknown.stderr
    unserved = cli(tmp_path, path)
    assert unserved.returncode == 2
    assert ("No configured provider serves the file's model 'openai/gpt-4o' (embedded: serves only "
            "SmolLM2-135M-Instruct). Pick one with --model embedded or --model PROVIDER:MODEL.") in unserved.stderr
    bad_option = cli(tmp_path, path, "--concurrency", "0")
    assert bad_option.returncode == 2 and "--concurrency must be at least 1" in bad_option.stderr
    bad_setting = cli(tmp_path, path, env={"PLAYGROUND_EVAL_CONCURRENCY": "many"})
    assert bad_setting.returncode == 2 and "PLAYGROUND_EVAL_CONCURRENCY must be a whole number" in bad_setting.stderr


def test_without_model_the_first_provider_serving_the_files_model_runs_it(tmp_path):
    path = write(tmp_path, FILE.format(model="openai/gpt-4o-mini"))
    info = Reply(body={"model_name": "gpt-4o-mini", "model_type": "chat-completions", "model_provider_name": "OpenAI"})
    with FakeService({"/info": [info], "/chat/completions": [completion("hello")]}) as single, \
            FakeService({"/chat/completions": [completion("hello")]}) as multi:  # no /info: routes by model
        for service, sent in ((single, None), (multi, "openai/gpt-4o-mini")):
            result = cli(tmp_path, path, env={"AZURE_INFERENCE_ENDPOINT": service.url,
                                              "AZURE_INFERENCE_CREDENTIAL": TEST_KEY})
            assert result.returncode == 0, result.stderr
            assert "azure:openai/gpt-4o-mini: 2/2 passed" in result.stdout
            chats = [r["body"] for r in service.requests if r["path"].endswith("/chat/completions")]
            assert len(chats) == 2 and {b.get("model") for b in chats} == {sent}
