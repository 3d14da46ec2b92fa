"""The per-user request limit: a sliding minute per owner, counted in the database (SQLite and
PostgreSQL), shared by threads and by replicas, never sending a refused request."""

from __future__ import annotations

import threading

import pytest

from playground.errors import PlaygroundError
from playground.ratelimit import LimitedTransport, RequestLimiter
from playground.store import Store


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_limit_counts_per_owner_over_a_sliding_minute(new_store):
    clock = Clock()
    limiter = RequestLimiter(new_store(durable=False), 3, clock)
    for _ in range(3):
        limiter.acquire("alice")
        clock.now += 10
    limiter.acquire("bob")  # Bob has his own minute
    with pytest.raises(PlaygroundError) as refused:
        limiter.acquire("alice")
    assert refused.value.message == ("You have sent 3 requests in the last minute, the limit on this deployment; "
                                     "try again in 30 s.")
    assert refused.value.status == 429 and refused.value.retry_after == 30
    assert limiter.used("alice") == 3  # a refused request is not counted
    clock.now += 30  # the first request leaves the window
    limiter.acquire("alice")
    assert limiter.used("alice") == 3


def test_threads_of_many_sessions_on_two_replicas_never_get_more_than_the_limit(new_store):
    replicas = [RequestLimiter(new_store(durable=False), 50) for _ in range(2)]  # two processes, one database
    granted, start = [], threading.Barrier(8)

    def session(number: int):
        start.wait()
        for _ in range(20):
            try:
                replicas[number % 2].acquire("alice")
                granted.append(1)
            except PlaygroundError:
                pass

    threads = [threading.Thread(target=session, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 50
    assert replicas[0].used("alice") == replicas[1].used("alice") == 50


class Recorder:
    endpoint = "the endpoint"

    def __init__(self):
        self.sent = []

    def stream_chat(self, messages, params, model=None, on_headers=None):
        self.sent.append(messages)
        return "stream"

    def complete_chat(self, messages, params, model=None, on_headers=None):
        self.sent.append(messages)
        return "reply"

    def model_info(self):
        return "info"


def test_a_limited_transport_sends_nothing_once_the_limit_is_reached(tmp_path):
    inner = Recorder()
    client = LimitedTransport(inner, RequestLimiter(Store(tmp_path / "playground.db"), 2, Clock()), "alice")
    assert client.stream_chat(["hi"], None) == "stream"
    assert client.complete_chat(["again"], None) == "reply"
    with pytest.raises(PlaygroundError, match="2 requests in the last minute"):
        client.stream_chat(["third"], None)
    assert inner.sent == [["hi"], ["again"]]
    assert client.model_info() == "info"  # reading model info is no chat request
    assert client.endpoint == "the endpoint"
