"""Both transports say the same sentence for the same wire error: a user who switches an endpoint
from the Model Inference API to OpenAI v1 (or back) reads the same advice. Each case replays a
documented cloud answer (tests/github_models.py, tests/playground/transports/foundry.py) from a
local fake, since the clouds are unreachable here."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from playground.errors import PlaygroundError
from playground.settings import Secret
from playground.transports.azure_inference import AzureInferenceTransport
from playground.transports.openai_v1 import OpenAITransport
from playground.types import INFERENCE, OPENAI, ChatParams, Endpoint
from tests.playground.transports import foundry
from tests.support.app_server import free_port
from tests.support.fake_service import DONE, UNAUTHORIZED_401, FakeService, Reply, chunk, sse
from tests.support.github_models import DAILY_LIMIT_429, RETIRED_403

ADAPTERS = {INFERENCE: AzureInferenceTransport, OPENAI: OpenAITransport}
PROMPT = [{"role": "user", "content": "x" * 40_000}]  # about 10,000 tokens: the 413 says how far over

WIRE_ERRORS = {
    "content filter 400": [foundry.CONTENT_FILTER_400],
    "refused key 401": [UNAUTHORIZED_401],
    "forbidden 403": [foundry.FORBIDDEN_403],
    "unknown model 404": [Reply(status=404, body={"error": {"code": "DeploymentNotFound", "message":
                          "The API deployment for this resource does not exist."}})],
    "tokens limit 413": [foundry.TOKENS_LIMIT_413],
    "daily 429": [DAILY_LIMIT_429],
    "server error 500": [foundry.SERVER_500],
    "non-JSON 500": [Reply(status=500, raw=[b"<html>oops</html>"])],
    "GitHub retired 403": [RETIRED_403],
    "stream cut mid-way": [Reply(events=[chunk("Partial "), chunk("reply"), chunk(finish_reason="stop")], cut_after=2)],
    "no first byte in time": [Reply(events=[chunk("late")], first_byte_delay=2)],
}


def open_adapter(api: str, url: str, read_timeout: float) -> AzureInferenceTransport | OpenAITransport:
    endpoint = Endpoint(url, "The endpoint", Secret("some-key"), "ENDPOINT_KEY", api=api)
    return ADAPTERS[api](endpoint, read_timeout=read_timeout)


def error_from(api: str, url: str, read_timeout: float = 5.0) -> tuple[PlaygroundError, str]:
    """The error one adapter raises for a reply, and the text that arrived before it. (The
    read timeout stays well above the retries' backoff: azure-core also spends it on retries.)"""
    stream = None
    with pytest.raises(PlaygroundError) as caught:
        stream = open_adapter(api, url, read_timeout).stream_chat(PROMPT, ChatParams(), model="gpt-4o-mini")
        list(stream)
    return caught.value, stream.text if stream else ""


@pytest.mark.parametrize("case", WIRE_ERRORS)
def test_both_transports_say_the_same_for_the_same_wire_error(case):
    results = {}
    for api in ADAPTERS:
        with FakeService(WIRE_ERRORS[case]) as fake:  # a fresh script for each adapter
            results[api] = error_from(api, fake.url + "/openai/v1", 0.5 if case == "no first byte in time" else 5.0)
    (inference, inference_text), (openai_v1, openai_text) = results[INFERENCE], results[OPENAI]
    assert openai_v1.message == inference.message
    assert (openai_v1.status, openai_v1.code, openai_v1.retry_after) == \
        (inference.status, inference.code, inference.retry_after)
    assert openai_text == inference_text


def test_both_say_the_same_when_nothing_listens():
    url = f"http://127.0.0.1:{free_port()}/openai/v1"
    messages = {api: error_from(api, url)[0].message for api in ADAPTERS}
    assert messages[OPENAI] == messages[INFERENCE] and "is it running" in messages[OPENAI]


def test_both_call_a_malformed_stream_malformed_and_keep_the_text():
    # Only the parser's own detail in parentheses differs between the SDKs.
    reply = Reply(raw=[sse(chunk("Hello ")), b"data: {broken\n\n", DONE])
    for api in ADAPTERS:
        with FakeService([reply]) as fake:
            error, text = error_from(api, fake.url + "/openai/v1")
        assert error.code == "malformed_stream" and text == "Hello "
        assert error.message.startswith("The endpoint sent a malformed stream (")
        assert error.message.endswith("); the part that arrived is kept.")


def throttled(**headers: str) -> Reply:
    return Reply(status=429, headers=headers, body={"error": {"code": "429", "message": "Rate limit is exceeded."}})


IN_50_MIN = "an HTTP date 50 minutes from when the test runs"


@pytest.mark.parametrize(("headers", "told"), [
    ({"retry-after-ms": "30000"}, "Try again in 30 s."),  # Azure OpenAI's own header, in milliseconds
    ({"x-ms-retry-after-ms": "45000", "retry-after": "1"}, "Try again in 45 s."),  # the precise one wins
    ({"retry-after": IN_50_MIN}, "Try again in 49 min."),
])
def test_a_wait_in_milliseconds_or_as_a_date_is_read_by_both(headers, told):
    if headers.get("retry-after") == IN_50_MIN:
        headers = {"retry-after": formatdate(time.time() + 3000, usegmt=True)}
    for api in ADAPTERS:
        with FakeService([throttled(**headers)]) as fake:
            error, _ = error_from(api, fake.url + "/openai/v1")
        assert error.status == 429 and told in error.message, (api, error.message)
        assert len(fake.requests) == 1  # longer than PLAYGROUND_MAX_RETRY_AFTER (10 s): not retried


def test_a_short_wait_in_milliseconds_is_waited_out_and_the_reply_arrives_on_both():
    for api in ADAPTERS:
        with FakeService([throttled(**{"retry-after-ms": "200"}), Reply(events=[chunk("Fine."),
                                                                              chunk(finish_reason="stop")])]) as fake:
            stream = open_adapter(api, fake.url + "/openai/v1", 5.0).stream_chat(PROMPT, ChatParams(), model="m")
            assert "".join(stream) == "Fine.", api
        assert len(fake.requests) == 2


def test_a_429_without_a_wait_is_retried_alike_then_reported_alike():
    seen = {}
    for api in ADAPTERS:
        with FakeService([throttled()]) as fake:
            error, _ = error_from(api, fake.url + "/openai/v1")
        seen[api] = (error.message, len(fake.requests))
    assert seen[OPENAI] == seen[INFERENCE] and seen[OPENAI][1] == 3, seen  # the first try and two retries
    assert "Try again later." in seen[OPENAI][0]
