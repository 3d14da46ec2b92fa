"""Sampling as the API defines it, against freshly started endpoints: a seed repeats a reply
from the very first request on (streamed or not, on either copy of the model), and a
parameter left out takes the API's default."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import TEST_THREADS, start_endpoint
from tests.playground.local_endpoint.test_server import USER, sdk

SEEDED = {"messages": USER, "max_tokens": 24, "temperature": 1.3, "seed": 7}


def text(client, stream: bool = False, **params) -> str:
    if not stream:
        return client.complete(**params).choices[0].message.content
    with client.complete(stream=True, **params) as updates:
        return "".join(c.delta.content or "" for u in updates for c in u.choices)


def test_the_first_seeded_reply_after_start_equals_the_later_ones(tmp_path):
    running = start_endpoint(tmp_path / "fresh", *TEST_THREADS)
    try:
        client = sdk(running.url)
        first = text(client, **SEEDED)  # the first request this process ever serves
        assert text(client, **SEEDED) == first
        assert text(client, stream=True, **SEEDED) == first
        # A different request in between (its prompt shares a prefix) changes nothing.
        text(client, messages=USER + [{"role": "assistant", "content": "Waves."}, *USER], max_tokens=5)
        assert text(client, stream=True, **SEEDED) == first
        assert text(client, **{**SEEDED, "seed": 8}) != first
    finally:
        running.stop()


def test_both_copies_give_the_same_seeded_reply(tmp_path):
    """With --parallel 2, two requests at once run on different copies; both give the reply."""
    running = start_endpoint(tmp_path / "two", "--threads", "2", "--parallel", "2")
    try:
        results: list[str] = []
        errors: list[Exception] = []

        def ask(stream: bool) -> None:
            try:
                results.append(text(sdk(running.url), stream=stream, **SEEDED))
            except Exception as exc:  # collected: a thread's exception would otherwise vanish
                errors.append(exc)

        threads = [threading.Thread(target=ask, args=(stream,)) for stream in (False, True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors and len(results) == 2
        assert results[0] == results[1] == text(sdk(running.url), **SEEDED)
    finally:
        running.stop()


@pytest.mark.parametrize("stream", [False, True])
def test_left_out_temperature_and_top_p_are_the_apis_defaults(endpoint, stream):
    client = sdk(endpoint.url)
    base = {"messages": USER, "max_tokens": 24, "seed": 11}
    implicit = text(client, stream=stream, **base)
    assert implicit == text(client, stream=stream, temperature=1.0, top_p=1.0, **base)
    # llama-cpp-python's own defaults (temperature 0.2, top_p 0.95, top_k 40, min_p 0.05) give another reply.
    assert implicit != text(client, stream=stream, temperature=0.2, top_p=0.95, **base,
                            model_extras={"top_k": 40})
