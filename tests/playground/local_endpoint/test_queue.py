"""Requests that wait for a copy of the model: served in arrival order, kept alive while they
wait, refused at once when they cannot fit; with two copies, two replies generate at once
(the real SDK over HTTP against the running endpoint)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from azure.core.exceptions import HttpResponseError

from playground.local_endpoint.model import FairPool
from tests.conftest import TEST_THREADS, start_endpoint
from tests.playground.local_endpoint.test_server import USER, raw, sdk


def test_items_are_lent_in_arrival_order():
    pool, order = FairPool(["copy"]), []
    held = pool.acquire()

    def take(name: str) -> None:
        item = pool.acquire()
        order.append(name)
        pool.release(item)

    threads = []
    for name in "BCDEF":
        threads.append(threading.Thread(target=take, args=(name,)))
        threads[-1].start()
        time.sleep(0.05)  # each is queued before the next arrives
    pool.release(held)
    for thread in threads:
        thread.join(timeout=5)
    assert order == list("BCDEF")


def test_two_items_serve_two_callers_at_once():
    pool = FairPool(["a", "b"])
    first, second = pool.acquire(), pool.acquire()
    assert {first, second} == {"a", "b"}
    pool.release(first)
    assert pool.acquire() == first


def test_a_waiter_hears_on_wait_and_one_that_gives_up_leaves_the_queue():
    pool, calls, order = FairPool(["copy"]), [], []
    held = pool.acquire()

    def hangs_up() -> None:
        calls.append("hangs up")
        raise BrokenPipeError

    def quitter() -> None:
        with pytest.raises(BrokenPipeError):
            pool.acquire(hangs_up, interval=0.05)

    def patient() -> None:
        item = pool.acquire(lambda: calls.append("waiting"), interval=0.05)
        order.append("patient")
        pool.release(item)

    first, second = threading.Thread(target=quitter), threading.Thread(target=patient)
    first.start()
    time.sleep(0.02)
    second.start()
    time.sleep(0.3)
    pool.release(held)
    first.join(timeout=5), second.join(timeout=5)
    assert calls.count("hangs up") == 1 and calls.count("waiting") >= 3
    assert order == ["patient"]  # the quitter's place in the queue did not block it


@pytest.fixture(scope="module")
def keep_alive_endpoint(tmp_path_factory):
    running = start_endpoint(tmp_path_factory.mktemp("keep-alive"), *TEST_THREADS, "--keep-alive", "0.5")
    yield running
    running.stop()


@contextmanager
def model_busy(url: str, max_tokens: int = 700) -> Iterator[list[float]]:
    """A long generation running on `url` (its first token already out) while the block runs;
    yields a list that gets the time it ended, and waits for it to end after the block."""
    started, done = threading.Event(), []

    def hold() -> None:
        with sdk(url).complete(stream=True, messages=USER, max_tokens=max_tokens,
                               model_extras={"ignore_eos": True}) as updates:
            for _ in updates:
                started.set()
        done.append(time.monotonic())

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert started.wait(60)
        yield done
    finally:
        holder.join(timeout=120)


def short_reply(url: str, **kwargs) -> str:
    with sdk(url, **kwargs).complete(stream=True, messages=USER, max_tokens=8) as updates:
        return "".join(c.delta.content or "" for u in updates for c in u.choices)


def test_a_queued_stream_outlasts_the_read_timeout_and_then_gets_its_reply(keep_alive_endpoint):
    with model_busy(keep_alive_endpoint.url) as done:
        waited_from = time.monotonic()
        # A 2 s read timeout: without keep-alive lines this request would fail while it waits.
        text = short_reply(keep_alive_endpoint.url, read_timeout=2)
        finished = time.monotonic()
    assert text.strip()
    assert done and done[0] <= finished and done[0] - waited_from > 2  # it really waited longer than 2 s


def test_a_prompt_that_cannot_fit_is_refused_at_once_while_the_model_is_busy(keep_alive_endpoint):
    with model_busy(keep_alive_endpoint.url) as done:
        begin = time.monotonic()
        with pytest.raises(HttpResponseError) as refused:
            sdk(keep_alive_endpoint.url).complete(stream=True, messages=[{"role": "user", "content": "word " * 20_000}])
        assert refused.value.status_code == 400 and "context" in str(refused.value)
        assert not done, "refused only after the other generation ended"
        assert time.monotonic() - begin < 5


def test_keep_alive_lines_are_empty_sse_lines_before_the_first_event(keep_alive_endpoint):
    with model_busy(keep_alive_endpoint.url):
        status, headers, body = raw(keep_alive_endpoint.url + "/chat/completions", json.dumps(
            {"messages": USER, "max_tokens": 4, "stream": True}).encode(), {"Content-Type": "application/json"})
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    head, _, rest = body.decode().partition("data: ")
    assert head and set(head) == {"\n"}  # only empty lines while it waited
    assert rest.rstrip().endswith("[DONE]")


def test_two_copies_generate_two_replies_at_once(tmp_path):
    """`--parallel 2`: the second reply starts while the first is still being generated."""
    running = start_endpoint(tmp_path / "parallel", "--threads", "2", "--parallel", "2")
    try:
        with model_busy(running.url) as done:
            text = short_reply(running.url)
            answered_while_busy = not done
        assert text.strip() and answered_while_busy
    finally:
        running.stop()
