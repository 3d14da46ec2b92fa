"""Generated code, run for real: each program is written to disk (with the image files it
reads), run as its own process (Python, Node.js, bash + curl) against the embedded endpoint,
and the request the endpoint received is compared with the expected one field by field.

Every language runs for each API it is offered for: a Model Inference endpoint (the embedded
one at its root, whose `/v1` also serves OpenAI v1, so the OpenAI SDK forms are offered too)
and an OpenAI v1 endpoint (the embedded one's `/v1` base).

The expected body is built here, independently of `RequestSpec.body()`:
messages + model (when set) + the parameters (tools included) + the extras, plus
`"stream": true` when streaming; the OpenAI forms send the Llama-style `logprobs: k` as
`logprobs: true, top_logprobs: k`, as the playground's OpenAI transport does. There are no
other exceptions: no SDK adds a field, none sends `"stream": false`, and the openai code sends
no `model` when the spec has none (it passes the SDK's `omit`).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import tokenize
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from playground.client import ChatParams
from playground.codegen import (
    LANGUAGES,
    RequestSpec,
    attachments,
    download,
    file_name,
    generate,
    label,
    languages,
    languages_for,
    request_spec,
)
from tests.conftest import ROOT, TEST_KEY

NODE_DIR = ROOT / "tests" / "node"
KEY_VARIABLE = "PLAYGROUND_CODEGEN_KEY"
RUN_TIMEOUT = 180
OPENAI_FORMS = ("python-openai", "javascript-openai")
JAVASCRIPT = ("javascript", "javascript-openai")

# Every character class that could end a literal or run code in one of the languages.
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
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city. " + SYSTEM_PROMPT,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "A city's name, e.g. \"Paris\""}},
            "required": ["city"],
        },
    },
}
TOOL_PARAMS = ChatParams(max_tokens=24, temperature=0.0, tools=(WEATHER_TOOL,),
                         tool_choice={"type": "function", "function": {"name": "get_weather"}})
# A history where the assistant called the tool (no content) and the tool answered.
TOOL_MESSAGES = [
    {"role": "system", "content": SYSTEM_PROMPT},
    {"role": "user", "content": "Weather in Paris and in Rome?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris $(exit 3)"})}},
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": 'Sunny, 21 \u00b0C. "JSON"\nJSON\n</script>'},
    {"role": "user", "content": "And Rome?"},
]
# Bytes whose base64 uses `+` and `/`, behind a PNG signature; and a JPEG one.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\xfb\xff\xfe"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(255, -1, -1))
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
JPEG_URL = "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
IMAGE_MESSAGES = [
    {"role": "system", "content": SYSTEM_PROMPT},
    {"role": "user", "content": [
        {"type": "text", "text": "What is in this picture? \"JSON\"\nJSON\n$(exit 3)"},
        {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "high"}},
    ]},
    {"role": "assistant", "content": "A square."},
    {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": JPEG_URL}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png?x=1&y=$(exit 3)"}},
        {"type": "text", "text": "And these?"},
    ]},
]


@dataclass(frozen=True)
class Case:
    """One language for one API: `api` is the endpoint's, `language` one offered for it."""

    api: str
    language: str

    @property
    def openai_wire(self) -> bool:
        """The request goes to the OpenAI v1 route (the OpenAI SDKs, or cURL for an OpenAI endpoint)."""
        return self.api == "openai" or self.language in OPENAI_FORMS

    def __str__(self) -> str:
        return f"{self.api}-{self.language}"


CASES = [Case("inference", language) for language in languages_for("inference", also_openai=True)] + \
        [Case("openai", language) for language in languages_for("openai")]


def spec_at(case: Case, url: str, key_variable: str | None, model: str | None, messages: list[dict],
            params: ChatParams, stream: bool) -> RequestSpec:
    """The spec for `case` against a server at `url` that serves Model Inference at its root
    and OpenAI v1 under /v1 (the embedded endpoint, the recorder below)."""
    if case.api == "openai":
        return request_spec(url + "/v1", key_variable, model, messages, params, stream, api="openai")
    return request_spec(url, key_variable, model, messages, params, stream, also_openai_base=url + "/v1")


def expected_body(case: Case, messages: list[dict], model: str | None, params: ChatParams, stream: bool) -> dict:
    body: dict = {"messages": messages}
    if model is not None:
        body["model"] = model
    body.update(params.body())
    extras = dict(params.extras)
    logprobs = extras.get("logprobs")
    if case.openai_wire and isinstance(logprobs, int) and not isinstance(logprobs, bool):
        extras.update(logprobs=True, top_logprobs=logprobs)
    body.update(extras)
    if stream:
        body["stream"] = True
    return body


def check_request(case: Case, received: dict, body: dict, extras: bool) -> None:
    assert received["path"] == ("/v1/chat/completions" if case.openai_wire else "/chat/completions")
    # Extras need the Model Inference header there; OpenAI v1 has no such header.
    assert received["extra-parameters"] == ("pass-through" if extras and not case.openai_wire else None)
    assert received["body"] == body


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
    """Write the program for `language` and its attachments into tmp_path and run it there;
    `key` goes into the environment variable KEY_VARIABLE (absent when None)."""

    def run(language: str, spec: RequestSpec, key: str | None = None) -> subprocess.CompletedProcess:
        code = generate(language, spec)
        path = tmp_path / file_name(language)
        path.write_text(code, encoding="utf-8")
        for name, data in attachments(spec):
            (tmp_path / name).write_bytes(data)
        if language in JAVASCRIPT:
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
        # Run from elsewhere: the program must find its files next to itself, not in the cwd.
        return subprocess.run(command, cwd=tmp_path.parent, env=env, capture_output=True, text=True,
                              encoding="utf-8", timeout=RUN_TIMEOUT)

    return run


def check_output(language: str, spec: RequestSpec, result: subprocess.CompletedProcess) -> str:
    """The reply the program printed (for curl: the reply's text and tool calls); fails
    unless the run succeeded."""
    assert result.returncode == 0, f"{language} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    if language != "curl":
        assert result.stdout.strip(), f"{language} printed nothing; stderr:\n{result.stderr}"
        return result.stdout
    if spec.stream:  # curl prints the raw SSE stream
        events = [line[len("data: "):] for line in result.stdout.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        deltas = [c["delta"] for e in events[:-1] for c in json.loads(e)["choices"]]
        text = "".join(d.get("content") or "" for d in deltas)
        text += "".join(f"tool call {call['function'].get('name') or ''}: " * bool(call["function"].get("name"))
                        + (call["function"].get("arguments") or "")
                        for d in deltas for call in d.get("tool_calls") or ())
    else:  # and the raw JSON response
        message = json.loads(result.stdout)["choices"][0]["message"]
        text = (message.get("content") or "") + "".join(
            f"tool call {call['function']['name']}: {call['function']['arguments']}"
            for call in message.get("tool_calls") or ())
    assert text.strip(), f"curl got an empty reply:\n{result.stdout}"
    return text


# --- a recording server, for what the embedded model cannot take ------------------------------


@dataclass
class Recorder:
    url: str
    requests: list[dict]

    def last_request(self) -> dict:
        return self.requests[-1]


RECORDED_REPLY = "A red square."
RECORDED_CALL = {"id": "call_9", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        path = self.path.split("?", 1)[0]
        self.server.recorded.append({"path": path, "extra-parameters": self.headers.get("extra-parameters"),
                                     "authorization": self.headers.get("Authorization"), "body": body})
        if not path.endswith("/chat/completions"):
            return self._send(404, "application/json", b'{"error": {"code": "not_found", "message": "no route"}}')
        head = {"id": "chatcmpl-rec", "created": 1700000000, "model": "recorder"}
        tools = bool(body.get("tools"))
        if not body.get("stream"):
            message = {"role": "assistant", "content": None, "tool_calls": [RECORDED_CALL]} if tools \
                else {"role": "assistant", "content": RECORDED_REPLY}
            reply = {**head, "object": "chat.completion",
                     "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tools else "stop"}],
                     "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}}
            return self._send(200, "application/json", json.dumps(reply).encode())
        if tools:
            deltas = [{"role": "assistant", "content": None, "tool_calls": [
                          {"index": 0, "id": RECORDED_CALL["id"], "type": "function",
                           "function": {"name": "get_weather", "arguments": ""}}]},
                      {"tool_calls": [{"index": 0, "function": {"arguments": RECORDED_CALL["function"]["arguments"]}}]}]
        else:
            deltas = [{"role": "assistant", "content": "A red "}, {"content": "square."}]
        chunks = [{**head, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
        chunks.append({**head, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if tools else "stop"}]})
        events = b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks) + b"data: [DONE]\n\n"
        self._send(200, "text/event-stream", events)

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def recorder():
    """A local HTTP server that records each request and answers one fixed, valid completion
    (a tool call when the request offers tools), streamed when asked, on any
    `.../chat/completions` route (Model Inference at the root, OpenAI v1 under /v1)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    server.daemon_threads = True
    server.recorded = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Recorder(f"http://127.0.0.1:{server.server_address[1]}", server.recorded)
    server.shutdown()
    server.server_close()


# --- the request, exactly ----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_code_sends_exactly_the_sessions_request_with_the_key_from_the_environment(
        case, stream, keyed_endpoint, run_code):
    spec = spec_at(case, keyed_endpoint.url, KEY_VARIABLE, MODEL, MESSAGES, PARAMS, stream)
    code = generate(case.language, spec)
    assert TEST_KEY not in code and KEY_VARIABLE in code

    check_output(case.language, spec, run_code(case.language, spec, key=TEST_KEY))

    received = keyed_endpoint.last_request()
    check_request(case, received, expected_body(case, MESSAGES, MODEL, PARAMS, stream), extras=True)
    assert received["body"]["messages"][0]["content"] == SYSTEM_PROMPT  # every character survived


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_keyless_endpoint_gets_only_the_parameters_set(case, stream, endpoint, run_code):
    """Without a model where the API allows it (Model Inference); OpenAI v1 needs one."""
    params = ChatParams(max_tokens=8)
    messages = [{"role": "user", "content": "Say hello."}]
    model = MODEL if case.api == "openai" else None
    spec = spec_at(case, endpoint.url, None, model, messages, params, stream)

    check_output(case.language, spec, run_code(case.language, spec))

    received = endpoint.last_request()
    check_request(case, received, expected_body(case, messages, model, params, stream), extras=False)
    assert received["body"] == {"messages": messages, "max_tokens": 8, **({"model": model} if model else {}),
                                **({"stream": True} if stream else {})}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_n_and_logprobs_extras(case, endpoint, run_code):
    """`n` and the Llama-style `logprobs: k`: as they are for Model Inference, and as
    `n`, `logprobs: true, top_logprobs: k` for OpenAI v1."""
    params = ChatParams(max_tokens=3, seed=1, extras={"n": 2, "logprobs": 2, "top_k": 40})
    messages = [{"role": "user", "content": "Say hello."}]
    spec = spec_at(case, endpoint.url, None, MODEL, messages, params, stream=False)

    check_output(case.language, spec, run_code(case.language, spec))

    received = endpoint.last_request()
    check_request(case, received, expected_body(case, messages, MODEL, params, False), extras=True)
    if case.openai_wire:
        assert {k: received["body"][k] for k in ("n", "logprobs", "top_logprobs")} == \
            {"n": 2, "logprobs": True, "top_logprobs": 2}
    else:
        assert "top_logprobs" not in received["body"] and received["body"]["logprobs"] == 2


@pytest.mark.parametrize("case", CASES, ids=str)
def test_json_object_response_format(case, endpoint, run_code):
    params = ChatParams(max_tokens=80, temperature=0.0, seed=7, response_format="json_object")
    messages = [{"role": "system", "content": "Reply with a JSON object."},
                {"role": "user", "content": 'Give {"colour": <a colour>}.'}]
    spec = spec_at(case, endpoint.url, None, MODEL, messages, params, stream=False)

    text = check_output(case.language, spec, run_code(case.language, spec))

    check_request(case, endpoint.last_request(), expected_body(case, messages, MODEL, params, False), extras=False)
    assert endpoint.last_request()["body"]["response_format"] == {"type": "json_object"}
    if case.language in ("python", "python-openai"):
        assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_json_schema_response_format(case, endpoint, run_code):
    params = ChatParams(max_tokens=40, temperature=0.0, response_format=JSON_SCHEMA)
    spec = spec_at(case, endpoint.url, None, MODEL, MESSAGES, params, stream=False)

    text = check_output(case.language, spec, run_code(case.language, spec))

    body = endpoint.last_request()["body"]
    check_request(case, endpoint.last_request(), expected_body(case, MESSAGES, MODEL, params, False), extras=False)
    assert body["response_format"] == {"type": "json_schema", "json_schema": JSON_SCHEMA}
    if case.language in ("python", "python-openai"):
        assert set(json.loads(text)) == {"colour"}


# --- tools -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_tools_forced_choice_and_a_tool_call_history(case, stream, recorder, run_code):
    """Tools, a forced tool_choice, an assistant message with tool_calls and null content, and
    the tool's answer: sent exactly; the tool call in the reply is printed."""
    spec = spec_at(case, recorder.url, KEY_VARIABLE, MODEL, TOOL_MESSAGES, TOOL_PARAMS, stream)

    text = check_output(case.language, spec, run_code(case.language, spec, key=TEST_KEY))

    received = recorder.last_request()
    check_request(case, received, expected_body(case, TOOL_MESSAGES, MODEL, TOOL_PARAMS, stream), extras=False)
    assert received["authorization"] == f"Bearer {TEST_KEY}"
    assert received["body"]["messages"][2] == TOOL_MESSAGES[2]  # content: null survives
    assert received["body"]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert 'tool call get_weather: {"city": "Rome"}' in text


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_tools_against_the_embedded_endpoint(case, stream, endpoint, run_code):
    spec = spec_at(case, endpoint.url, None, MODEL, TOOL_MESSAGES, TOOL_PARAMS, stream)

    result = run_code(case.language, spec)

    # The endpoint logs a request before it checks it: the body can be compared either way.
    check_request(case, endpoint.last_request(), expected_body(case, TOOL_MESSAGES, MODEL, TOOL_PARAMS, stream),
                  extras=False)
    text = check_output(case.language, spec, result)
    assert "tool call get_weather: " in text  # the forced call


# --- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_images_are_read_from_files_next_to_the_program(case, stream, recorder, run_code):
    """Against the recording server: the embedded model is text-only and answers 400 to image
    parts. The data: URLs the program builds from image_1.png and image_2.jpg must equal the
    originals exactly; an https image URL is sent as it is."""
    params = ChatParams(max_tokens=8, extras={"top_k": 5})
    spec = spec_at(case, recorder.url, None, MODEL, IMAGE_MESSAGES, params, stream)
    code = generate(case.language, spec)
    assert base64.b64encode(PNG).decode()[:40] not in code and base64.b64encode(JPEG).decode()[:40] not in code
    assert "image_1.png" in code and "image_2.jpg" in code

    text = check_output(case.language, spec, run_code(case.language, spec))

    received = recorder.last_request()
    check_request(case, received, expected_body(case, IMAGE_MESSAGES, MODEL, params, stream), extras=True)
    assert received["body"]["messages"][1]["content"][1]["image_url"] == {"url": PNG_URL, "detail": "high"}
    assert received["body"]["messages"][3]["content"][0]["image_url"] == {"url": JPEG_URL}
    assert RECORDED_REPLY in text


def test_attachments_are_the_image_bytes_named_in_order():
    spec = spec_for(messages=IMAGE_MESSAGES)
    assert attachments(spec) == [("image_1.png", PNG), ("image_2.jpg", JPEG)]
    assert attachments(spec_for()) == []


def test_download_is_the_program_alone_or_a_zip_with_its_images():
    spec = spec_for(messages=IMAGE_MESSAGES, also_openai_base="http://127.0.0.1:8080/v1")
    for language in languages(spec):
        name, data, mime = download(language, spec)
        assert (name, mime) == (file_name(language).replace(".", "_") + ".zip", "application/zip")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {info.filename: archive.read(info) for info in archive.infolist()} == {
                file_name(language): generate(language, spec).encode(), "image_1.png": PNG, "image_2.jpg": JPEG}
            executable = (archive.getinfo(file_name(language)).external_attr >> 16) & 0o111
            assert executable == (0o111 if language == "curl" else 0)
        assert download(language, spec) == (name, data, mime)  # stable across reruns
    assert download("python", spec_for()) == ("chat.py", generate("python", spec_for()).encode(), "text/plain")


@pytest.mark.parametrize("url", [
    "data:image/png;base64,iVBORw0KGgo",  # unpadded: not what b64encode gives back
    "data:image/png;base64,iVBO Rw0KGgo=",
    "data:image/png,rawbytes",
    "data:text/plain;base64,aGk=",
])
def test_image_data_that_a_file_could_not_reproduce_exactly_is_refused(url):
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    with pytest.raises(ValueError):
        spec_for(messages=messages)


# --- failures exit non-zero and say why --------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_refused_key_exits_non_zero_with_the_error(case, stream, keyed_endpoint, run_code):
    spec = spec_at(case, keyed_endpoint.url, KEY_VARIABLE, MODEL, MESSAGES, ChatParams(max_tokens=4), stream)

    result = run_code(case.language, spec, key="wrong-key")

    assert result.returncode != 0
    assert "missing or wrong api key" in (result.stdout + result.stderr).lower()  # the service's own message


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_missing_key_variable_exits_non_zero_naming_it(case, keyed_endpoint, run_code):
    spec = spec_at(case, keyed_endpoint.url, KEY_VARIABLE, MODEL, MESSAGES, ChatParams(max_tokens=4), False)

    result = run_code(case.language, spec, key=None)

    assert result.returncode != 0
    assert KEY_VARIABLE in result.stderr


# --- what the code says, without running it ----------------------------------------------------

AZURE_OPENAI_BASE = "https://example.openai.azure.com/openai/v1/"


def spec_for(url: str = "https://models.github.ai/inference", **changes) -> RequestSpec:
    values = dict(endpoint_url=url, key_variable="GITHUB_TOKEN", model="openai/gpt-4.1",
                  messages=MESSAGES, params=PARAMS.body(), extras=dict(PARAMS.extras), stream=False)
    values.update(changes)
    return RequestSpec(**values)


def every_spec(**changes) -> list[RequestSpec]:
    """One spec per API: Model Inference (also speaking OpenAI v1) and OpenAI v1."""
    return [spec_for(also_openai_base="http://127.0.0.1:8080/v1", **changes),
            spec_for(AZURE_OPENAI_BASE, api="openai", **changes)]


def every_program(**changes) -> list[tuple[str, RequestSpec, str]]:
    return [(language, spec, generate(language, spec)) for spec in every_spec(**changes)
            for language in languages(spec)]


def test_languages_in_order_for_each_api():
    assert languages_for("openai") == ("python-openai", "javascript-openai", "curl")
    assert languages_for("inference") == ("python", "javascript", "curl")
    assert languages_for("inference", also_openai=True) == (
        "python", "javascript", "curl", "python-openai", "javascript-openai")
    assert languages(spec_for()) == languages_for("inference")
    assert languages(spec_for(also_openai_base="http://127.0.0.1:8080/v1")) == languages_for("inference", True)
    assert languages(spec_for(AZURE_OPENAI_BASE, api="openai")) == languages_for("openai")
    with pytest.raises(ValueError):
        languages_for("grpc")


@pytest.mark.parametrize("language, spec", [
    ("python", spec_for(AZURE_OPENAI_BASE, api="openai")),  # OpenAI v1 serves no Model Inference API
    ("javascript", spec_for(AZURE_OPENAI_BASE, api="openai")),
    ("python-openai", spec_for()),  # a Model Inference endpoint that does not say it speaks OpenAI
    ("javascript-openai", spec_for()),
])
def test_forms_an_endpoint_does_not_serve_are_not_generated(language, spec):
    with pytest.raises(ValueError):
        generate(language, spec)


def test_openai_v1_code_targets_the_base_with_the_deployment_and_no_api_version():
    spec = spec_for(AZURE_OPENAI_BASE, api="openai", model="my-gpt-deployment")
    for language in languages(spec):
        code = generate(language, spec)
        assert "api-version" not in code and "extra-parameters" not in code and "omit" not in code
        assert "my-gpt-deployment" in code
    assert f"base_url={AZURE_OPENAI_BASE!r}".replace("'", '"') in generate("python-openai", spec)
    assert f'baseURL: "{AZURE_OPENAI_BASE}"' in generate("javascript-openai", spec)
    curl = generate("curl", spec)
    assert f"ENDPOINT={AZURE_OPENAI_BASE.rstrip('/')}" in curl and '"$ENDPOINT/chat/completions"' in curl
    assert 'Authorization: Bearer ${GITHUB_TOKEN:?' in curl


def test_an_openai_v1_spec_needs_a_model():
    with pytest.raises(ValueError):
        spec_for(AZURE_OPENAI_BASE, api="openai", model=None)


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


def test_no_code_contains_a_key_and_keyless_code_uses_a_placeholder(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TEST_KEY)  # even with the key in this process's environment
    for language, _, keyed in every_program():
        assert TEST_KEY not in keyed and "GITHUB_TOKEN" in keyed, language
    for language, _, keyless in every_program(key_variable=None):
        assert TEST_KEY not in keyless and "GITHUB_TOKEN" not in keyless, language
        if language != "curl":  # curl simply sends no Authorization header
            assert '"unused"' in keyless
        else:
            assert "Authorization" not in keyless


def test_parameters_not_set_do_not_appear():
    for language, _, code in every_program(params={"temperature": 0.5}, extras={}):
        for absent in ("top_p", "max_tokens", "presence_penalty", "frequency_penalty", "stop", "seed",
                       "response_format", "extra-parameters", "ignore_eos", "stream=True", "stream: true",
                       '"stream": true', "tools", "tool_choice", "extra_body", "image", "base64"):
            assert absent not in code, (language, absent)
        assert "0.5" in code


def test_script_tags_never_appear_raw_in_javascript_and_curl():
    for language, _, code in every_program(messages=TOOL_MESSAGES, params=TOOL_PARAMS.body()) + \
            every_program(messages=IMAGE_MESSAGES):
        if language in ("javascript", "javascript-openai", "curl"):
            assert "</script>" not in code and "${process.exit(3)}" in code, language  # inert in a JSON string
        assert "\u2028" not in code  # repr and JSON both escape it


USER_MARK = "USERMARK"


def _comments(language: str, code: str) -> list[str]:
    if language.startswith("python"):
        return [token.string for token in tokenize.generate_tokens(io.StringIO(code).readline)
                if token.type == tokenize.COMMENT]
    marker = "#" if language == "curl" else "//"
    comments = [line for line in code.splitlines() if line.lstrip().startswith(marker)]
    if language != "curl":
        comments += [line.rsplit("  // ", 1)[1] for line in code.splitlines() if "  // " in line]
    return comments


def test_nothing_user_supplied_is_written_into_a_comment():
    tool = {"type": "function", "function": {"name": "get_" + USER_MARK, "description": USER_MARK + "\n# x"}}
    messages = [{**m, "content": USER_MARK + "\n# //" + m["content"]} if isinstance(m.get("content"), str) else m
                for m in TOOL_MESSAGES + IMAGE_MESSAGES]
    changes = dict(model=USER_MARK, messages=messages, extras={USER_MARK: USER_MARK + "\n//"},
                   params={"stop": [USER_MARK], "tools": [tool], "tool_choice": "required"})
    programs = every_program(**changes)
    for language, _, code in programs:
        assert USER_MARK in code
        for comment in _comments(language, code):
            assert USER_MARK not in comment, (language, comment)
    for language, _, code in programs:
        if language.startswith("python"):
            compile(code, "generated.py", "exec")  # and the code still parses


def test_labels_and_file_names():
    assert {lang: label(lang) for lang in LANGUAGES} == {
        "python": "Python (azure-ai-inference)", "python-openai": "Python (openai)",
        "javascript": "JavaScript (@azure-rest/ai-inference)", "javascript-openai": "JavaScript (openai)",
        "curl": "cURL"}
    assert {lang: file_name(lang) for lang in LANGUAGES} == {
        "python": "chat.py", "python-openai": "chat_openai.py", "javascript": "chat.mjs",
        "javascript-openai": "chat_openai.mjs", "curl": "chat.sh"}
    with pytest.raises(ValueError):
        generate("ruby", spec_for())


@pytest.mark.parametrize("changes", [
    {"key_variable": "GITHUB_TOKEN; rm -rf ~"},
    {"key_variable": "1ABC"},
    {"url": "ftp://example.com"},
    {"url": "https://example.com/\nimport os"},
    {"also_openai_base": "https://example.com/v1 $(id)"},
    {"api": "grpc"},
    {"params": {"temperature": 0.3, "logit_bias": {}}},
    {"extras": {"messages": []}},
    {"extras": {"tools": []}},
    {"messages": [{"content": "no role"}]},
])
def test_specs_that_cannot_be_embedded_safely_are_refused(changes):
    with pytest.raises(ValueError):
        spec_for(**changes)


def test_javascript_keeps_a_proto_key_as_data():
    for language in ("javascript", "javascript-openai"):
        code = generate(language, spec_for(extras={"__proto__": 1, "top-k": 2},
                                           also_openai_base="http://127.0.0.1:8080/v1"))
        assert '["__proto__"]: 1' in code and '"top-k": 2' in code
