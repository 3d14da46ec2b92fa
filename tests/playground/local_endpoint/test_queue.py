"""Requests that wait for the one model: served in arrival order, kept alive while they wait,
refused at once when they cannot fit (the real SDK over HTTP against the running endpoint)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from azure.core.exceptions import HttpResponseError

from playground.local_endpoint.model import FairLock
from tests.conftest import TEST_THREADS, start_endpoint
from tests.playground.local_endpoint.test_server import USER, raw, sdk


def test_the_lock_is_taken_in_arrival_order():
    lock, order = FairLock(), []
    lock.acquire()

    def take(name: str) -> None:
        with lock:
            order.append(name)

    threads = []
    for name in "BCDEF":
        threads.append(threading.Thread(target=take, args=(name,)))
        threads[-1].start()
        time.sleep(0.05)  # each is queued before the next arrives
    lock.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == list("BCDEF")


def test_a_waiter_hears_on_wait_and_one_that_gives_up_leaves_the_queue():
    lock, calls, order = FairLock(), [], []
    lock.acquire()

    def hangs_up() -> None:
        calls.append("hangs up")
        raise BrokenPipeError

    def quitter() -> None:
        with pytest.raises(BrokenPipeError):
            lock.acquire(hangs_up, interval=0.05)

    def patient() -> None:
        lock.acquire(lambda: calls.append("waiting"), interval=0.05)
        order.append("patient")
        lock.release()

    first, second = threading.Thread(target=quitter), threading.Thread(target=patient)
    first.start()
    time.sleep(0.02)
    second.start()
    time.sleep(0.3)
    lock.release()
    first.join(timeout=5), second.join(timeout=5)
    assert calls.count("hangs up") == 1 and calls.count("waiting") >= 3
    assert order == ["patient"]  # the quitter's place in the queue did not block it


@pytest.fixture(scope="module")
def keep_alive_endpoint(tmp_path_factory):
    running = start_endpoint(tmp_path_factory.mktemp("keep-alive"), *TEST_THREADS, "--keep-alive", "0.5")
    yield running
    running.stop()


def _hold_the_model(url: str, started: threading.Event, done: list) -> None:
    with sdk(url).complete(stream=True, messages=USER, max_tokens=700, model_extras={"ignore_eos": True}) as updates:
        for update in updates:
            started.set()
    done.append(time.monotonic())


def test_a_queued_stream_outlasts_the_read_timeout_and_then_gets_its_reply(keep_alive_endpoint):
    started, done = threading.Event(), []
    holder = threading.Thread(target=_hold_the_model, args=(keep_alive_endpoint.url, started, done))
    holder.start()
    assert started.wait(60)
    waited_from = time.monotonic()
    # A 2 s read timeout: without keep-alive lines this request would fail while it waits.
    with sdk(keep_alive_endpoint.url, read_timeout=2).complete(stream=True, messages=USER, max_tokens=8) as updates:
        text = "".join(c.delta.content or "" for u in updates for c in u.choices)
    finished = time.monotonic()
    holder.join(timeout=120)
    assert text.strip()
    assert done and done[0] <= finished and done[0] - waited_from > 2  # it really waited longer than 2 s


def test_a_prompt_that_cannot_fit_is_refused_at_once_while_the_model_is_busy(keep_alive_endpoint):
    started, done = threading.Event(), []
    holder = threading.Thread(target=_hold_the_model, args=(keep_alive_endpoint.url, started, done))
    holder.start()
    assert started.wait(60)
    begin = time.monotonic()
    with pytest.raises(HttpResponseError) as refused:
        sdk(keep_alive_endpoint.url).complete(stream=True, messages=[{"role": "user", "content": "word " * 20_000}])
    assert refused.value.status_code == 400 and "context" in str(refused.value)
    assert not done, "refused only after the other generation ended"
    assert time.monotonic() - begin < 5
    holder.join(timeout=120)


def test_keep_alive_lines_are_empty_sse_lines_before_the_first_event(keep_alive_endpoint):
    started, done = threading.Event(), []
    holder = threading.Thread(target=_hold_the_model, args=(keep_alive_endpoint.url, started, done))
    holder.start()
    assert started.wait(60)
    status, headers, body = raw(keep_alive_endpoint.url + "/chat/completions", json.dumps(
        {"messages": USER, "max_tokens": 4, "stream": True}).encode(), {"Content-Type": "application/json"})
    holder.join(timeout=120)
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    text = body.decode()
    head, _, rest = text.partition("data: ")
    assert head and set(head) == {"\n"}  # only empty lines while it waited
    assert rest.rstrip().endswith("[DONE]")
