"""A non-streamed request whose client has gone frees the model at once; a json_schema reply
that finishes is always JSON (real endpoint, real SDKs; one in-process model for the grammar)."""

from __future__ import annotations

import json
import time

import openai
import pytest
from azure.core.exceptions import ServiceResponseError

from tests.conftest import TEST_THREADS, start_endpoint
from tests.playground.local_endpoint.test_openai_api import MODEL, oai
from tests.playground.local_endpoint.test_queue import model_busy
from tests.playground.local_endpoint.test_server import USER, _post, sdk

LONG = 3000  # tokens: well over 30 s of generation on one thread here


@pytest.fixture
def fresh_endpoint(tmp_path):
    running = start_endpoint(tmp_path / "fresh", *TEST_THREADS)
    yield running
    running.stop()


def first_token_after(url: str, deadline: float) -> float:
    """Seconds until a new streamed request gets its first token (pytest fails past `deadline`)."""
    begin = time.monotonic()
    with sdk(url, read_timeout=deadline).complete(stream=True, messages=USER, max_tokens=5) as updates:
        for update in updates:
            if update.choices and update.choices[0].delta.content:
                return time.monotonic() - begin
    raise AssertionError("no token")


def test_a_non_streamed_request_that_times_out_frees_the_model_at_once(fresh_endpoint):
    begin = time.monotonic()
    with pytest.raises(ServiceResponseError):  # azure-core's read timeout
        sdk(fresh_endpoint.url, read_timeout=2).complete(messages=USER, max_tokens=LONG,
                                                        model_extras={"ignore_eos": True})
    waited = first_token_after(fresh_endpoint.url, deadline=20)
    # Had it gone on, the long generation would hold the only copy for tens of seconds more.
    assert waited < 10, waited
    assert time.monotonic() - begin < 20


def test_an_openai_client_that_gives_up_frees_the_model_too(fresh_endpoint):
    with pytest.raises(openai.APITimeoutError):
        oai(fresh_endpoint.url + "/v1", timeout=2).chat.completions.create(
            model=MODEL, messages=USER, max_tokens=LONG, extra_body={"ignore_eos": True})
    assert first_token_after(fresh_endpoint.url, deadline=20) < 10


def test_a_queued_non_streamed_request_whose_client_left_never_runs(fresh_endpoint):
    """Waiting behind another generation, a request whose client hangs up leaves the queue:
    the next request starts as soon as the running one ends, not after the abandoned one."""
    with model_busy(fresh_endpoint.url, max_tokens=150) as done:
        with pytest.raises(ServiceResponseError):
            sdk(fresh_endpoint.url, read_timeout=1).complete(messages=USER, max_tokens=LONG,
                                                            model_extras={"ignore_eos": True})
    assert done  # the running generation ended, and the abandoned request did not run after it
    assert first_token_after(fresh_endpoint.url, deadline=20) < 10


# --- JSON replies never hold raw control characters ------------------------------------

POEM = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "poem": {"type": "string"}, "lines": {"type": "integer"}},
    "required": ["title", "poem", "lines"],
    "additionalProperties": False,
}
POEM_PROMPT = [{"role": "user", "content": "Write a poem of three lines about the sea, as JSON with its title, "
                                           "the poem (one line per line) and the number of lines."}]


@pytest.mark.parametrize("stream", [False, True])
def test_every_finished_json_schema_reply_parses(endpoint, stream):
    response_format = {"type": "json_schema", "json_schema": {"name": "poem", "schema": POEM}}
    finished = 0
    for seed in range(1, 5):
        status, result = _post(endpoint.url, {"messages": POEM_PROMPT, "max_tokens": 100, "temperature": 1.2,
                                              "seed": seed, "response_format": response_format, "stream": stream})
        assert status == 200
        if stream:
            text = "".join(c["delta"].get("content") or "" for e in result for c in e["choices"])
            finish = next(c["finish_reason"] for e in result for c in e["choices"] if c["finish_reason"])
        else:
            text, finish = result["choices"][0]["message"]["content"], result["choices"][0]["finish_reason"]
        if finish == "stop":
            finished += 1
            value = json.loads(text)
            assert set(value) == {"title", "poem", "lines"}
    assert finished >= 2


def test_the_schema_grammar_keeps_control_characters_out_of_strings():
    """The model pushed hard toward a newline: with llama-cpp-python's own schema grammar the raw
    newline lands inside a string and the reply is not JSON; with ours it cannot."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from playground.local_endpoint.grammar import schema_gbnf
    from playground.local_endpoint.model import LocalModel
    from playground.local_endpoint.validation import ChatRequest

    model = LocalModel(n_threads=1, n_ctx=1024)
    newline = model.llama.tokenize(b"\n", add_bos=False, special=False)
    assert len(newline) == 1
    options = {"max_tokens": 80, "temperature": 0.0, "logit_bias": {newline[0]: 8.0}}

    def reply(grammar: str) -> tuple[str, str]:
        request = ChatRequest(POEM_PROMPT, options=options, grammar=grammar)
        choice = model.complete(request, model.check_fits(request))["choices"][0]
        return choice["message"]["content"], choice["finish_reason"]

    theirs, _ = reply(json_schema_to_gbnf(json.dumps(POEM)))
    assert "\n" in theirs.strip()
    with pytest.raises(ValueError):
        json.loads(theirs)
    ours, finish = reply(schema_gbnf(POEM))
    assert finish == "stop"
    assert set(json.loads(ours)) == {"title", "poem", "lines"}
