"""The embedded endpoint the app starts is supervised: killed with SIGKILL (as the OOM killer or a
crash in llama.cpp ends it), it comes back on the same address; a crash loop is left down with a
message; the app's own stop is final. Real endpoint processes, real SDK requests."""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from playground.client import ChatClient, ChatParams, Endpoint, PlaygroundError
from playground.embedded import ensure_embedded_endpoint
from playground.settings import Settings
from tests.support.app_server import free_port

PROMPT = [{"role": "user", "content": "Say hello."}]
LONG = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def settings(port: int) -> Settings:
    # One thread, one copy: the machine is shared with the rest of the suite (see tests/conftest.py).
    return Settings(local_port=port, local_threads=1, local_parallel=1)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/info", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def wait_for(condition: Callable[[], object], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def kill(process) -> None:
    """SIGKILL from outside, as the OOM killer does: no clean shutdown, the socket just dies."""
    os.kill(process.pid, signal.SIGKILL)


def monitors(url: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"embedded-endpoint-monitor {url}" and t.is_alive()]


def reply_text(client, messages=PROMPT, max_tokens: int = 8) -> str:
    return "".join(client.stream_chat(messages, ChatParams(max_tokens=max_tokens)))


@pytest.fixture(scope="module")
def supervised():
    embedded = ensure_embedded_endpoint(settings(free_port()))
    yield embedded
    embedded.stop()


def test_killed_it_comes_back_on_the_same_address_and_a_transport_made_before_still_works(supervised):
    client = ChatClient(Endpoint(supervised.url, "The embedded model"), read_timeout=60)
    assert reply_text(client).strip()
    first = supervised.process
    kill(first)
    wait_for(lambda: supervised.process is not first and answers(supervised.url),
             "the killed embedded endpoint answers again at its address")
    assert first.poll() is not None
    # The transport cached before the crash (its pooled connection died with the process) works.
    assert reply_text(client).strip()


def test_a_prompt_sent_right_after_the_crash_waits_for_the_restart_and_gets_a_reply(supervised):
    from playground.embedded import SupervisedTransport

    client = SupervisedTransport(ChatClient(Endpoint(supervised.url, "The embedded model"), read_timeout=60),
                                 supervised)
    before = supervised.restarts
    kill(supervised.process)
    wait_for(lambda: supervised.restarting, "the crash is noticed")
    # Sent while the restart is under way: it waits for it instead of "Cannot reach".
    assert reply_text(client).strip()
    assert supervised.restarts == before + 1
    assert not supervised.restarting and supervised.failure is None


def test_killed_mid_reply_the_part_that_arrived_is_kept_and_the_next_request_works(supervised):
    from playground.embedded import SupervisedTransport

    client = SupervisedTransport(ChatClient(Endpoint(supervised.url, "The embedded model"), read_timeout=60),
                                 supervised)
    before = supervised.restarts
    stream = client.stream_chat(LONG, ChatParams(max_tokens=400, extras={"ignore_eos": True}))
    received: list[str] = []
    with pytest.raises(PlaygroundError) as broke:
        for piece in stream:
            received.append(piece)
            if len(received) == 3:
                kill(supervised.process)
    # The honest error, not a silent resend: the reply may have been half generated.
    assert broke.value.code == "stream_interrupted" and "kept" in broke.value.message
    assert stream.text == "".join(received) and len(received) >= 3
    # What a refused request waits for before it goes again (also when the death is not noticed yet).
    assert supervised.came_back(before) and supervised.restarts == before + 1
    assert reply_text(client).strip()  # what Retry does


def test_a_crash_loop_is_left_down_with_a_message_and_requests_say_so(tmp_path):
    from playground.embedded import RestartPolicy, SupervisedTransport

    embedded = ensure_embedded_endpoint(settings(free_port()),
                                        RestartPolicy(first_backoff=0.05, window=300.0, max_crashes=2))
    try:
        kill(embedded.process)
        wait_for(lambda: embedded.restarts == 1, "the first crash is restarted")
        last = embedded.process
        kill(last)
        wait_for(lambda: embedded.failure is not None, "the second crash in the window is given up on")
        assert "crashed 2 times within 300 s" in embedded.failure
        assert "killed by SIGKILL" in embedded.failure and "terminal" in embedded.failure
        assert embedded.process is last and not embedded.restarting
        assert not answers(embedded.url) and not monitors(embedded.url)
        client = SupervisedTransport(ChatClient(Endpoint(embedded.url, "The embedded model")), embedded)
        with pytest.raises(PlaygroundError) as refused:
            client.stream_chat(PROMPT, ChatParams(max_tokens=4))
        assert refused.value.message == embedded.failure
    finally:
        embedded.stop()


def test_stopped_by_the_app_it_is_not_restarted_and_its_monitor_ends():
    embedded = ensure_embedded_endpoint(settings(free_port()))
    process = embedded.process
    assert monitors(embedded.url)
    embedded.stop()
    assert process.poll() is not None and not monitors(embedded.url)
    assert not answers(embedded.url) and embedded.restarts == 0


def test_stopped_while_a_restart_is_under_way_no_process_is_left():
    embedded = ensure_embedded_endpoint(settings(free_port()))
    kill(embedded.process)
    wait_for(lambda: embedded.restarting, "the crash is noticed")
    embedded.stop()  # during the backoff or the new process's start: either way, the end
    assert not monitors(embedded.url)
    assert embedded.process.poll() is not None
    assert not answers(embedded.url) and embedded.restarts == 0


def test_an_endpoint_found_running_is_not_ours_to_restart(endpoint):
    reused = ensure_embedded_endpoint(settings(endpoint.port))
    assert reused.process is None and not reused.supervised
    assert not monitors(reused.url)
    assert reused.came_back(reused.restarts) is False  # a refusal keeps the usual "Cannot reach"
    reused.stop()  # the atexit hook: someone else's process is left running
    assert answers(endpoint.url)
