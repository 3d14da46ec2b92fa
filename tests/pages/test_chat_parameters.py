"""Every parameter the API has, from the sidebar to the request, against the real embedded endpoint."""

from __future__ import annotations

import json

import pytest

from tests.pages.apptest import open_page, send, shown


@pytest.fixture
def page(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    at = open_page()
    at.slider(key="chat_max_tokens").set_value(40)
    return at


def test_stop_seed_and_extras_reach_the_request_and_defaults_stay_out(page, endpoint):
    page.text_area(key="chat_stop_sequences").set_value("\n\nEND\n")
    page.text_input(key="chat_seed").set_value("42")
    page.checkbox(key="chat_extra_ignore_eos").check()
    page.text_area(key="chat_raw_extras").set_value('{"top_k": 5}')
    send(page, "Count to three.")
    request = endpoint.last_request()
    body = request["body"]
    assert body["stop"] == ["END"] and body["seed"] == 42
    assert body["ignore_eos"] is True and body["top_k"] == 5
    assert request["extra-parameters"] == "pass-through"
    assert not {"presence_penalty", "frequency_penalty", "n", "best_of", "logprobs", "response_format"} & set(body)


def test_a_bad_value_is_named_blocks_sending_and_keeps_the_prompt(page, endpoint):
    before = len(endpoint.requests())
    page.text_input(key="chat_seed").set_value("forty-two")
    page.text_area(key="chat_raw_extras").set_value('{"top_k": 5,,}')
    send(page, "Keep me")
    assert len(endpoint.requests()) == before
    sidebar_errors = " ".join(e.value for e in page.sidebar.error)
    assert "Seed must be a whole number" in sidebar_errors and "Other extras" in sidebar_errors
    assert "Not sent." in page.error[0].value
    assert [(m.role, m.content) for m in page.session_state["chat_messages"]] == [("user", "Keep me")]
    page.text_input(key="chat_seed").set_value("")
    page.text_area(key="chat_raw_extras").set_value("")
    next(b for b in page.button if b.label == "Retry").click().run()
    assert [m.role for m in page.session_state["chat_messages"]] == ["user", "assistant"]


def test_json_mode_constrains_the_reply_and_says_it_parses(page, endpoint):
    page.selectbox(key="chat_response_format").set_value("json_object").run()
    page.slider(key="chat_max_tokens").set_value(120)
    send(page, "Give me a JSON object describing a cat.")
    assert endpoint.last_request()["body"]["response_format"] == {"type": "json_object"}
    reply = page.session_state["chat_messages"][-1]
    metrics = reply.metrics
    if reply.metrics["finish_reason"] == "stop":
        json.loads(reply.content)
        assert metrics["json_valid"] is True
    assert any("JSON" in c.value for c in page.caption)


def test_best_of_goes_non_streaming_and_says_so(page, endpoint):
    page.number_input(key="chat_extra_best_of").set_value(2).run()
    assert any("best_of cannot stream" in shown(w.value) for w in page.sidebar.warning)
    send(page, "Hi")
    body = endpoint.last_request()["body"]
    assert body["best_of"] == 2 and not body.get("stream")
    # The embedded model cannot do best_of: its 400 names the parameter, the prompt stays.
    assert "best_of" in shown(page.error[0].value)
    assert page.session_state["chat_messages"][-1].role == "user"


def test_several_choices_are_shown_together(page, endpoint):
    page.number_input(key="chat_extra_n").set_value(3).run()
    send(page, "Name an animal.")
    assert endpoint.last_request()["body"]["n"] == 3
    reply = page.session_state["chat_messages"][-1]
    assert reply.content and len(reply.metrics["other_choices"]) == 2
    assert any(e.label == "2 more choices (n)" for e in page.expander)


def test_logprobs_are_shown_per_token(page, endpoint):
    page.number_input(key="chat_extra_logprobs").set_value(3).run()
    send(page, "Say hello.")
    assert endpoint.last_request()["body"]["logprobs"] == 3
    logprobs = page.session_state["chat_messages"][-1].metrics["logprobs"]
    assert logprobs and all(len(entry["top_logprobs"]) <= 3 for entry in logprobs)
    assert any(e.label == "Token probabilities" for e in page.expander)
