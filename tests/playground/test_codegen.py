"""Generated code, run for real: each program is written to disk, run as its own process
(Python, Node.js, bash + curl) against the embedded endpoint, and the request the endpoint
received is compared with the expected one field by field.

The expected body is built here, independently of `RequestSpec.body()`:
messages + model (when set) + the parameters + the extras, plus `"stream": true` when streaming.
There are no exceptions: no SDK adds a field, none sends `"stream": false`, and the openai code
sends no `model` when the spec has none (it passes the SDK's `omit`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from playground.client import ChatParams
from playground.codegen import (
    LANGUAGES,
    RequestSpec,
    file_name,
    generate,
    label,
    request_spec,
)
from tests.conftest import ROOT, TEST_KEY

NODE_DIR = ROOT / "tests" / "node"
KEY_VARIABLE = "PLAYGROUND_CODEGEN_KEY"
RUN_TIMEOUT = 180

# Every character class that could end a literal or run code in one of the four languages.
SYSTEM_PROMPT = (
    'Answer in one short sentence. "Double" and \'single\' quotes, $HOME, `date`, $(exit 3), '
    "${process.exit(3)}, {braces}, %s %d, back\\slash \\n (literal), a tab\there,\n"
    "a new line,\n</script><script>alert(1)</script>\nJSON\nEOF\n"
    "\"\"\" ''' caf\u00e9 \u65e5\u672c \U0001F600 \u2028 end"
)
MESSAGES = [
    {"role": "system", "content": SYSTEM_PROMPT},
    {"role": "user", "content": "Name a colour."},
]
PARAMS = ChatParams(
    temperature=0.3,
    top_p=0.9,
    max_tokens=12,
    presence_penalty=0.5,
    frequency_penalty=0.25,
    stop=("\n\n",),
    seed=42,
    extras={"ignore_eos": True},
)
MODEL = "SmolLM2-135M-Instruct"
JSON_SCHEMA = {
    "name": "colour",
    "description": "A colour, with a \"quoted\" description and a $dollar.",
    "schema": {
        "type": "object",
        "properties": {"colour": {"type": "string", "maxLength": 12}},
        "required": ["colour"],
        "additionalProperties": False,
    },
    "strict": True,
}


# --- running generated programs ----------------------------------------------------------------


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/node/node_modules, installed with `npm ci` from the committed lock file when missing
    or older than the lock file."""
    if not shutil.which("node"):
        pytest.fail("`node` (Node.js 20+) is not on PATH; the JavaScript code cannot be run. "
                    "Install it (apt-get install nodejs npm).")
    modules = NODE_DIR / "node_modules"
    installed = modules / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (NODE_DIR / "package-lock.json").stat().st_mtime:
        if not shutil.which("npm"):
            pytest.fail("`npm` is not on PATH; it installs the packages in tests/node (apt-get install npm).")
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            pytest.fail(f"`npm ci` in {NODE_DIR} failed:\n{result.stdout}\n{result.stderr}")
    return modules


@pytest.fixture
def run_code(tmp_path, request):
    """Write the program for `language` into tmp_path and run it; `key` goes into the
    environment variable KEY_VARIABLE (absent when None)."""

    def run(language: str, spec: RequestSpec, key: str | None = None) -> subprocess.CompletedProcess:
        code = generate(language, spec)
        path = tmp_path / file_name(language)
        path.write_text(code, encoding="utf-8")
        if language == "javascript":
            modules = request.getfixturevalue("node_modules")
            link = tmp_path / "node_modules"
            if not link.exists():
                link.symlink_to(modules, target_is_directory=True)  # ESM resolves packages from the script's folder
            command = ["node", str(path)]
        elif language == "curl":
            if not shutil.which("curl"):
                pytest.fail("`curl` is not on PATH; the cURL code cannot be run (apt-get install curl).")
            command = ["bash", str(path)]
        else:
            command = [sys.executable, str(path)]
        env = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE}
        env.update({"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "PYTHONIOENCODING": "utf-8"})
        if key is not None:
            env[KEY_VARIABLE] = key
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              encoding="utf-8", timeout=RUN_TIMEOUT)

    return run


def expected_body(messages: list[dict], model: str | None, params: ChatParams, stream: bool) -> dict:
    body: dict = {"messages": messages}
    if model is not None:
        body["model"] = model
    body.update(params.body())
    body.update(params.extras)
    if stream:
        body["stream"] = True
    return body


def check_output(language: str, spec: RequestSpec, result: subprocess.CompletedProcess) -> str:
    """The reply text the program printed; fails unless the run succeeded."""
    assert result.returncode == 0, f"{language} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    if language != "curl":
        assert result.stdout.strip(), f"{language} printed nothing; stderr:\n{result.stderr}"
        return result.stdout
    if spec.stream:  # curl prints the raw SSE stream
        events = [line[len("data: "):] for line in result.stdout.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        text = "".join(c["delta"].get("content", "") for e in events[:-1] for c in json.loads(e)["choices"])
    else:  # and the raw JSON response
        text = json.loads(result.stdout)["choices"][0]["message"]["content"]
    assert text.strip(), f"curl got an empty reply:\n{result.stdout}"
    return text


# --- the request, exactly ----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_code_sends_exactly_the_sessions_request_with_the_key_from_the_environment(
        language, stream, keyed_endpoint, run_code):
    spec = request_spec(keyed_endpoint.url, KEY_VARIABLE, MODEL, MESSAGES, PARAMS, stream)
    code = generate(language, spec)
    assert TEST_KEY not in code and KEY_VARIABLE in code

    check_output(language, spec, run_code(language, spec, key=TEST_KEY))

    received = keyed_endpoint.last_request()
    assert received["path"] == "/chat/completions"
    assert received["extra-parameters"] == "pass-through"
    assert received["body"] == expected_body(MESSAGES, MODEL, PARAMS, stream)
    assert received["body"]["messages"][0]["content"] == SYSTEM_PROMPT  # every character survived


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_keyless_endpoint_without_model_gets_only_the_parameters_set(language, stream, endpoint, run_code):
    params = ChatParams(max_tokens=8)
    messages = [{"role": "user", "content": "Say hello."}]
    spec = request_spec(endpoint.url, None, None, messages, params, stream)

    check_output(language, spec, run_code(language, spec))

    received = endpoint.last_request()
    assert received["body"] == expected_body(messages, None, params, stream)
    assert received["body"] == ({"messages": messages, "max_tokens": 8, "stream": True} if stream
                                else {"messages": messages, "max_tokens": 8})
    assert received["extra-parameters"] is None  # no extras, no header


@pytest.mark.parametrize("language", LANGUAGES)
def test_json_object_response_format(language, endpoint, run_code):
    params = ChatParams(max_tokens=80, temperature=0.0, seed=7, response_format="json_object")
    messages = [{"role": "system", "content": "Reply with a JSON object."},
                {"role": "user", "content": 'Give {"colour": <a colour>}.'}]
    spec = request_spec(endpoint.url, None, MODEL, messages, params, stream=False)

    text = check_output(language, spec, run_code(language, spec))

    assert endpoint.last_request()["body"] == expected_body(messages, MODEL, params, False)
    assert endpoint.last_request()["body"]["response_format"] == {"type": "json_object"}
    if language in ("python", "python-openai"):
        assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize("language", LANGUAGES)
def test_json_schema_response_format(language, endpoint, run_code):
    params = ChatParams(max_tokens=40, temperature=0.0, response_format=JSON_SCHEMA)
    spec = request_spec(endpoint.url, None, MODEL, MESSAGES, params, stream=False)

    text = check_output(language, spec, run_code(language, spec))

    body = endpoint.last_request()["body"]
    assert body == expected_body(MESSAGES, MODEL, params, False)
    assert body["response_format"] == {"type": "json_schema", "json_schema": JSON_SCHEMA}
    if language in ("python", "python-openai"):
        assert set(json.loads(text)) == {"colour"}


# --- failures exit non-zero and say why --------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refused_key_exits_non_zero_with_the_error(language, stream, keyed_endpoint, run_code):
    spec = request_spec(keyed_endpoint.url, KEY_VARIABLE, MODEL, MESSAGES, ChatParams(max_tokens=4), stream)

    result = run_code(language, spec, key="wrong-key")

    assert result.returncode != 0
    assert "missing or wrong api key" in (result.stdout + result.stderr).lower()  # the service's own message


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_missing_key_variable_exits_non_zero_naming_it(language, keyed_endpoint, run_code):
    spec = request_spec(keyed_endpoint.url, KEY_VARIABLE, MODEL, MESSAGES, ChatParams(max_tokens=4), False)

    result = run_code(language, spec, key=None)

    assert result.returncode != 0
    assert KEY_VARIABLE in result.stderr


# --- what the code says, without running it ----------------------------------------------------


def spec_for(url: str = "https://models.github.ai/inference", **changes) -> RequestSpec:
    values = dict(endpoint_url=url, key_variable="GITHUB_TOKEN", model="openai/gpt-4.1",
                  messages=MESSAGES, params=PARAMS.body(), extras=dict(PARAMS.extras), stream=False)
    values.update(changes)
    return RequestSpec(**values)


@pytest.mark.parametrize("url, insecure", [
    ("http://127.0.0.1:8765", True),
    ("HTTP://localhost:8080/v1", True),
    ("https://models.github.ai/inference", False),
    ("https://example.services.ai.azure.com/models", False),
])
def test_javascript_allows_plain_http_only_for_http_endpoints(url, insecure):
    code = generate("javascript", spec_for(url))
    assert ("allowInsecureConnection" in code) == insecure
    assert code.count("allowInsecureConnection") == (1 if insecure else 0)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_code_contains_a_key_and_keyless_code_uses_a_placeholder(language, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TEST_KEY)  # even with the key in this process's environment
    keyed = generate(language, spec_for())
    assert TEST_KEY not in keyed and "GITHUB_TOKEN" in keyed

    keyless = generate(language, spec_for(key_variable=None))
    assert TEST_KEY not in keyless and "GITHUB_TOKEN" not in keyless
    if language != "curl":  # curl simply sends no Authorization header
        assert '"unused"' in keyless
    else:
        assert "Authorization" not in keyless


@pytest.mark.parametrize("language", LANGUAGES)
def test_parameters_not_set_do_not_appear(language):
    code = generate(language, spec_for(params={"temperature": 0.5}, extras={}))
    for absent in ("top_p", "max_tokens", "presence_penalty", "frequency_penalty", "stop", "seed",
                   "response_format", "extra-parameters", "ignore_eos", "stream=True", "stream: true",
                   '"stream": true'):
        assert absent not in code, absent
    assert "0.5" in code


@pytest.mark.parametrize("language", LANGUAGES)
def test_script_tags_never_appear_raw_in_javascript_and_curl(language):
    code = generate(language, spec_for())
    if language in ("javascript", "curl"):
        assert "</script>" not in code and "${process.exit(3)}" in code  # inert inside a JSON string
    assert "\u2028" not in code  # repr and JSON both escape it


def test_labels_and_file_names():
    assert [label(lang) for lang in LANGUAGES] == [
        "Python (azure-ai-inference)", "JavaScript (@azure-rest/ai-inference)", "cURL", "Python (openai)"]
    assert [file_name(lang) for lang in LANGUAGES] == ["chat.py", "chat.mjs", "chat.sh", "chat_openai.py"]
    with pytest.raises(ValueError):
        generate("ruby", spec_for())


@pytest.mark.parametrize("changes", [
    {"key_variable": "GITHUB_TOKEN; rm -rf ~"},
    {"key_variable": "1ABC"},
    {"url": "ftp://example.com"},
    {"url": "https://example.com/\nimport os"},
    {"params": {"temperature": 0.3, "logit_bias": {}}},
    {"extras": {"messages": []}},
])
def test_specs_that_cannot_be_embedded_safely_are_refused(changes):
    with pytest.raises(ValueError):
        spec_for(**changes)


def test_javascript_keeps_a_proto_key_as_data():
    code = generate("javascript", spec_for(extras={"__proto__": 1, "top-k": 2}))
    assert '["__proto__"]: 1' in code and '"top-k": 2' in code
