"""playground.compare: history and requests per column, model choices, and the run (one worker
thread per column) against the real embedded endpoint and local servers."""

from __future__ import annotations

import time

import pytest

from playground import compare
from playground import state as keys
from playground.catalog import CatalogModel
from playground.client import ChatClient, ChatParams, Endpoint
from playground.compare import ColumnRequest, ColumnSetup
from playground.messages import Message
from playground.params import PARAMETERS
from playground.providers import CUSTOM, EMBEDDED, GITHUB, ModelChoice, ModelListing, Provider
from playground.settings import Secret
from playground.store import Store
from tests.support.app_server import free_port
from tests.support.fake_service import FakeService, Reply, chunk
from tests.support.github_models import streamed_reply

HELLO = [{"role": "user", "content": "Say hello."}]


def client(url: str) -> ChatClient:
    return ChatClient(Endpoint(url, "Test endpoint"), read_timeout=60)


def request(url: str, messages=HELLO, **params) -> ColumnRequest:
    params = {"max_tokens": 12, "temperature": 0.0, **params}
    return ColumnRequest(client(url), messages, ChatParams(**params), None, "test")


# -- history and requests -----------------------------------------------------------------------

HISTORY = [
    Message("user", "Hi"),
    Message("assistant", "Hello from 0", column=0, metrics={"finish_reason": "stop"}),
    Message("assistant", "Hello from 1", column=1),
    Message("user", "Again"),
    Message("assistant", "", column=1, status="partial"),  # failed before any text
    Message("assistant", "Again from 0", column=0),
    Message("user", "Third"),
]


def test_each_column_gets_the_shared_prompts_and_only_its_own_replies():
    assert compare.request_messages(HISTORY, "  Be brief. ", 0) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello from 0"},
        {"role": "user", "content": "Again"}, {"role": "assistant", "content": "Again from 0"},
        {"role": "user", "content": "Third"},
    ]
    assert compare.request_messages(HISTORY, "", 1) == [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello from 1"},
        {"role": "user", "content": "Again"}, {"role": "user", "content": "Third"},
    ]
    assert compare.request_messages(HISTORY, "", 2) == [
        {"role": "user", "content": m} for m in ("Hi", "Again", "Third")]


def test_turns_group_each_prompt_with_its_replies_by_column():
    rows = compare.turns(HISTORY)
    assert [t.prompt.content for t in rows] == ["Hi", "Again", "Third"]
    assert {i: r.content for i, r in rows[0].replies.items()} == {0: "Hello from 0", 1: "Hello from 1"}
    assert sorted(rows[1].replies) == [0, 1] and rows[2].replies == {}


def test_a_saved_comparison_reopens_with_its_columns_models_parameters_and_replies(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    options = compare.model_options(providers(), lambda provider: ModelListing(cards=tuple(CARDS)))
    setups = [ColumnSetup(ModelChoice(providers()[1], None), ChatParams(temperature=0.2, max_tokens=50)),
              ColumnSetup(ModelChoice(providers()[2], "llama-3"), ChatParams(temperature=1.3, top_p=0.5)),
              ColumnSetup(ModelChoice(providers()[0], CARDS[0].id, CARDS[0]), ChatParams(frequency_penalty=0.4))]
    cid = store.create_conversation(compare.conversation_setup(setups, "Be brief."), kind="compare")
    store.add_message(cid, "user", "Hi")
    store.add_message(cid, "assistant", "B", column=1, metrics={"finish_reason": "stop"})
    store.add_message(cid, "assistant", "A", column=0, status="partial")
    state: dict = {}
    compare.init(state)

    assert compare.open_comparison(state, store, cid, options) == "compare"
    history = state[keys.COMPARE_HISTORY]
    assert [(m.role, m.content, m.column, m.status) for m in history] == [
        ("user", "Hi", None, "complete"), ("assistant", "B", 1, "complete"), ("assistant", "A", 0, "partial")]
    assert compare.request_messages(history, "", 0)[-1] == {"role": "assistant", "content": "A"}
    assert state[keys.COMPARE_CONVERSATION_ID] == cid and state[keys.COMPARE_COLUMNS] == 3
    assert state[keys.COMPARE_SYSTEM_PROMPT] == "Be brief." and state[keys.COMPARE_SAME] is False
    assert [options[state[keys.COMPARE_MODEL + str(i)]].label for i in range(3)] == [s.choice.label for s in setups]
    assert (state["compare_temperature_0"], state["compare_max_tokens_0"]) == (0.2, 50)
    assert (state["compare_temperature_1"], state["compare_top_p_1"]) == (1.3, 0.5)
    assert state["compare_frequency_penalty_2"] == 0.4
    chat_id = store.create_conversation({})
    assert compare.open_comparison(state, store, chat_id, options) == "chat"
    assert compare.open_comparison(state, store, "no-such-id", options) is None
    store.delete(cid)
    assert compare.open_comparison({}, store, cid, options) is None


def test_init_new_comparison_and_split_parameters():
    state: dict = {}
    compare.init(state)
    assert state[keys.COMPARE_HISTORY] == [] and state[keys.COMPARE_COLUMNS] == 2 and state[keys.COMPARE_SAME]
    assert all(state[compare.parameter_key(p.name, 2)] == p.default for p in PARAMETERS)
    state["compare_temperature"], state[keys.COMPARE_SAME] = 1.1, False
    compare.split_parameters(state)
    assert [state[compare.parameter_key("temperature", i)] for i in range(3)] == [1.1] * 3

    class Run:
        cancelled = False

        def cancel(self):
            self.cancelled = True

    run = state[keys.COMPARE_RUN] = Run()
    state[keys.COMPARE_HISTORY].append(Message("user", "x"))
    state[keys.COMPARE_CONVERSATION_ID] = "abc"
    compare.new_comparison(state)
    assert run.cancelled and keys.COMPARE_RUN not in state
    assert state[keys.COMPARE_HISTORY] == [] and state[keys.COMPARE_CONVERSATION_ID] is None


# -- model choices ------------------------------------------------------------------------------

def providers() -> list[Provider]:
    return [
        Provider(GITHUB, GITHUB, "GitHub Models", Endpoint("https://models.example/inference", "GitHub Models",
                                                           Secret("ghp_secret"), "GITHUB_TOKEN")),
        Provider(EMBEDDED, EMBEDDED, "Embedded model (offline)", Endpoint("http://127.0.0.1:1", "The embedded model")),
        Provider(f"{CUSTOM}:vllm", CUSTOM, "vllm", Endpoint("http://127.0.0.1:2", "vllm"), model="llama-3"),
    ]


CARDS = [CatalogModel("openai/gpt-4o", "GPT-4o", "OpenAI", max_output_tokens=16384),
         CatalogModel("microsoft/phi-3-mini-4k-instruct", "Phi-3-mini", "Microsoft", max_output_tokens=1024),
         CatalogModel("openai/o3-mini", "o3-mini", "OpenAI", tags=("reasoning",))]


def test_model_options_list_every_provider_and_the_github_catalog():
    options = compare.model_options(providers(), lambda provider: ModelListing(cards=tuple(CARDS)))
    assert [compare.option_label(c) for c in options.values()] == [
        "GitHub Models · GPT-4o", "GitHub Models · Phi-3-mini", "GitHub Models · o3-mini",
        "Embedded model (offline) · SmolLM2-135M-Instruct", "vllm · llama-3"]
    assert len(set(options)) == 5
    assert compare.default_option(options, "microsoft/phi-3-mini-4k-instruct") == \
        compare.option_key(providers()[0], "microsoft/phi-3-mini-4k-instruct")
    assert compare.default_option(options, "not/listed") == next(iter(options))


def test_parameters_are_clamped_to_the_model_and_left_out_for_reasoning_models():
    phi, o3 = (ModelChoice(providers()[0], c.id, c) for c in CARDS[1:])
    values = {"temperature": 0.3, "top_p": 0.9, "max_tokens": 4000, "presence_penalty": 0.5}
    assert compare.chat_params(phi, values) == ChatParams(temperature=0.3, top_p=0.9, max_tokens=1024,
                                                          presence_penalty=0.5)
    assert compare.chat_params(o3, values) == ChatParams(presence_penalty=0.5)


def test_the_setup_names_models_and_parameters_and_carries_no_secret_or_url():
    github = ModelChoice(providers()[0], CARDS[0].id, CARDS[0])
    setup = compare.conversation_setup(
        [ColumnSetup(github, ChatParams(temperature=0.2, max_tokens=50)),
         ColumnSetup(ModelChoice(providers()[1], None), ChatParams(temperature=1.0))], "Be brief.")
    assert setup == {"system_prompt": "Be brief.", "columns": [
        {"model": "GitHub Models · GPT-4o", "model_id": "openai/gpt-4o", "provider": "GitHub Models",
         "parameters": {"temperature": 0.2, "max_tokens": 50}},
        {"model": "Embedded model (offline) · SmolLM2-135M-Instruct", "model_id": None,
         "provider": "Embedded model (offline)", "parameters": {"temperature": 1.0}}]}
    assert "ghp_secret" not in str(setup) and "http" not in str(setup)


# -- the run ------------------------------------------------------------------------------------

def test_all_columns_stream_concurrently_each_with_its_own_metrics(endpoint):
    before = len(endpoint.requests())
    seen_at_first_reply: list[int] = []

    def on_reply(reply):
        if not seen_at_first_reply:
            seen_at_first_reply.append(len(endpoint.requests()) - before)

    run = compare.start_run([request(endpoint.url, temperature=0.1, max_tokens=10),
                             request(endpoint.url, temperature=0.9, max_tokens=14),
                             request(endpoint.url, temperature=1.5, max_tokens=6)], on_reply=on_reply)
    assert run.wait(timeout=120)
    workers = run.workers
    # Every worker started before any finished, and every request had reached the endpoint
    # before the first reply ended: the endpoint queues them (one model), the playground does not.
    assert max(w.started_at for w in workers) < min(w.finished_at for w in workers)
    assert seen_at_first_reply == [3]
    sent = endpoint.requests()[before:]
    assert sorted(r["body"]["temperature"] for r in sent) == pytest.approx([0.1, 0.9, 1.5])

    replies = run.take_replies()
    assert [r.column for r in replies] == [0, 1, 2]
    for reply, limit in zip(replies, (10, 14, 6), strict=True):
        assert reply.role == "assistant" and reply.status == "complete" and reply.content.strip()
        metrics = reply.metrics
        assert 0 < metrics["completion_tokens"] <= limit and metrics["usage_reported"]
        assert metrics["prompt_tokens"] > 5 and metrics["ttft_s"] > 0 and metrics["error"] is None
        assert metrics["finish_reason"] in ("stop", "length") and metrics["model"] == "test"
    # Each column has its own stream and timing: the queued ones waited longer for their first token.
    assert len({w.stream.first_token_at for w in workers}) == 3
    assert run.take_replies() is None  # only once


def test_columns_run_in_parallel_on_a_service_that_serves_them_in_parallel():
    replies = [Reply(events=streamed_reply("Hello", " there").events, first_byte_delay=1.0)]
    with FakeService({"/chat/completions": replies}) as a, FakeService({"/chat/completions": replies}) as b:
        started = time.monotonic()
        run = compare.start_run([request(a.url), request(b.url), request(a.url)])
        assert run.wait(timeout=30)
        elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed  # three one-second waits overlapped
    assert [r.content for r in run.take_replies()] == ["Hello there"] * 3


def test_an_unreachable_column_fails_alone_and_the_others_answer(endpoint):
    closed = f"http://127.0.0.1:{free_port()}"
    run = compare.start_run([request(endpoint.url), request(closed), request(endpoint.url)])
    assert run.wait(timeout=120)
    first, failed, third = run.take_replies()
    assert failed.column == 1 and failed.status == "partial" and failed.content == ""
    assert failed.metrics["finish_reason"] == "error"
    assert "Cannot reach Test endpoint" in failed.metrics["error"]
    for reply in (first, third):
        assert reply.status == "complete" and reply.content.strip() and reply.metrics["error"] is None


def test_a_stream_cut_mid_way_keeps_its_partial_text_and_the_other_column_is_untouched(endpoint):
    events = [chunk("Once"), chunk(" upon"), chunk(" a time")]
    with FakeService({"/chat/completions": [Reply(events=events, cut_after=2)]}) as fake:
        run = compare.start_run([request(fake.url), request(endpoint.url)])
        assert run.wait(timeout=120)
    cut, fine = run.take_replies()
    assert cut.content == "Once upon" and cut.status == "partial"
    assert "broke off" in cut.metrics["error"] and cut.metrics["completion_tokens"] == 2
    assert fine.status == "complete" and fine.content.strip()


def test_states_go_from_waiting_to_streaming_to_done(endpoint):
    run = compare.start_run([request(endpoint.url, max_tokens=60, temperature=1.0,
                                     messages=[{"role": "user", "content": "Write a long story about a dragon."}])])
    phases, texts = [], []
    while not run.wait(0.02):
        state = run.states()[0]
        phases.append(state.phase)
        texts.append(state.text)
    final = run.states()[0]
    assert final.phase == "done" and final.reply is run.workers[0].reply
    assert phases[0] == "waiting" and "streaming" in phases
    streamed = [t for p, t in zip(phases, texts, strict=True) if p == "streaming"]
    assert all(final.text.startswith(t) for t in streamed) and len(set(streamed)) > 1  # it grew while polled


def test_stop_ends_every_column_and_keeps_what_arrived(endpoint):
    long = [{"role": "user", "content": "Write a very long essay about the history of Rome."}]
    run = compare.start_run([request(endpoint.url, messages=long, max_tokens=400, temperature=1.0),
                             request(endpoint.url, messages=long, max_tokens=400, temperature=1.0)])
    deadline = time.monotonic() + 60
    while len(run.workers[0].text.split()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stopped_at = time.monotonic()
    run.cancel()
    assert run.wait(timeout=30)
    assert time.monotonic() - stopped_at < 20
    first, second = run.take_replies()
    assert len(first.content.split()) >= 3 and first.status == "partial"
    assert first.metrics["finish_reason"] == "stopped" and first.metrics["error"] is None
    assert first.metrics["completion_tokens"] < 400
    # The one-model endpoint serves the columns in turn: the other column either finished before
    # the first started, or was waiting or running when Stop came and was stopped too.
    assert (second.status, second.metrics["finish_reason"]) in (
        ("partial", "stopped"), ("complete", "stop"), ("complete", "length"))


def test_a_reply_that_cannot_be_saved_is_still_shown_with_the_reason(endpoint):
    def failing(reply):
        raise OSError("disk full")

    run = compare.start_run([request(endpoint.url, max_tokens=4)], on_reply=failing)
    assert run.wait(timeout=120)
    assert run.workers[0].save_error == "This reply could not be saved: disk full"
    assert run.take_replies()[0].content.strip()


def test_prompt_saved_before_sending_replies_saved_by_the_workers_and_folded_once(endpoint, tmp_path):
    store = Store(tmp_path / "db.sqlite")
    state: dict = {}
    compare.init(state)
    history = state[keys.COMPARE_HISTORY]
    embedded = ModelChoice(Provider(EMBEDDED, EMBEDDED, "Embedded model (offline)", Endpoint(endpoint.url, "x")), None)
    setups = [ColumnSetup(embedded, ChatParams(temperature=0.1, max_tokens=5)),
              ColumnSetup(embedded, ChatParams(temperature=1.2, max_tokens=5))]
    cid = compare.save_prompt(store, state, history, "Say hello.", setups, "Be brief.")
    assert state[keys.COMPARE_CONVERSATION_ID] == cid
    conversation = store.get(cid)
    assert conversation.kind == "compare" and conversation.setup == compare.conversation_setup(setups, "Be brief.")
    assert [(m.role, m.content, m.column) for m in conversation.messages] == [("user", "Say hello.", None)]
    assert history == [Message("user", "Say hello.", id=conversation.messages[0].id)]

    order: list[int] = []
    save = compare.reply_saver(store, cid)

    def on_reply(reply):
        order.append(reply.column)
        save(reply)

    requests = [request(endpoint.url, compare.request_messages(history, "Be brief.", i), max_tokens=5) for i in (0, 1)]
    run = state[keys.COMPARE_RUN] = compare.start_run(requests, on_reply=on_reply)
    assert run.wait(timeout=120)
    messages = store.get(cid).messages
    assert [m.column for m in messages[1:]] == order and sorted(order) == [0, 1]  # saved as each ended
    assert all(m.metrics["completion_tokens"] > 0 and m.status == "complete" for m in messages[1:])

    other_history: list = []  # an interrupted script run folding the same run gets nothing
    compare.fold(state, run, history)
    compare.fold(state, run, other_history)
    assert keys.COMPARE_RUN not in state and other_history == []
    by_column = sorted(messages[1:], key=lambda m: m.column)
    assert [(m.column, m.id) for m in history[1:]] == [(m.column, m.id) for m in by_column]

    # The next prompt goes to the same conversation, with each column's own reply as history.
    assert compare.save_prompt(store, state, history, "Again", setups[:1], "") == cid
    assert store.get(cid).setup["columns"] == [setups[0].describe()]
    assert compare.request_messages(history, "", 1)[1] == {"role": "assistant", "content": history[2].content}
