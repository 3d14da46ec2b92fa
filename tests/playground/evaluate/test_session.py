"""The Evaluate page's use case (playground.evaluate.session) without Streamlit, on the real embedded endpoint."""

from __future__ import annotations

from dataclasses import replace

from playground import state as keys
from playground.client import ChatClient, Endpoint
from playground.evaluate import ModelTarget, RunStore, session
from playground.promptfile import Message, StringEvaluator, dumps
from playground.store import Store

TEXT = """\
name: Greet   # a comment
team: evals
modelParameters:
  maxTokens: 6
  temperature: 0
messages:
  - role: user
    content: Say hello to {{who}}.
testData:
  - who: Ada
  - who: Alan
evaluators:
  - name: greets
    string:
      contains: '{{who}}'
"""


def test_open_keeps_the_file_and_a_malformed_one_changes_nothing():
    state: dict = {}
    assert session.open_text(state, TEXT, "greet.prompt.yml") is None
    assert state[keys.EVAL_PROMPT].name == "Greet" and state[keys.EVAL_ROUND] == 1
    assert state[keys.EVAL_MESSAGE_IDS] == [0] and state[keys.EVAL_EVALUATOR_IDS] == [0]
    error = session.open_text(state, "messages: 3\n", "bad.prompt.yml")
    assert error == "bad.prompt.yml: messages: must be a list (lines starting with '- ') (line 1)"
    assert state[keys.EVAL_ERROR] == error and state[keys.EVAL_TEXT] == TEXT and state[keys.EVAL_ROUND] == 1
    assert session.decode(b"\xff\xfe", "x.prompt.yml")[1] == (
        "x.prompt.yml: is not UTF-8 text; a prompt file is YAML text. The file was not opened.")


def test_edits_keep_unknown_keys_and_are_checked_like_a_file():
    state: dict = {}
    session.open_text(state, TEXT, "greet.prompt.yml")
    base = state[keys.EVAL_PROMPT]
    same, error = session.edited(base, base.messages, base.test_data, base.evaluators, base.model_parameters)
    assert error is None and session.file_text(state, same) == TEXT  # unedited: the exact text, comment and all
    edited, error = session.edited(base, [Message("user", "Hi {{who}}!")], [*base.test_data, {"who": "Grace"}],
                                   base.evaluators, replace(base.model_parameters, max_tokens=9))
    assert error is None
    text = session.file_text(state, edited)
    assert text == dumps(edited) and "team: evals" in text and "Grace" in text and "maxTokens: 9" in text
    broken = replace(base.evaluators[0], string=StringEvaluator("contains", ""))
    _, error = session.edited(base, base.messages, base.test_data, [broken], base.model_parameters)
    assert error.startswith("the edited file: evaluators[0].string.contains: must not be empty (line ")


def test_a_live_evaluation_fills_in_and_saves_itself_when_it_ends(endpoint, tmp_path):
    state: dict = {}
    session.open_text(state, TEXT, "greet.prompt.yml")
    client = ChatClient(Endpoint(endpoint.url, "The embedded model"))
    store = RunStore(Store(tmp_path / "playground.db"))
    try:
        target = ModelTarget("embedded", client, None, concurrency=1, embedded=True)
        live = session.start(state[keys.EVAL_PROMPT], TEXT, [target], None, judge_max_tokens=32,
                             save=lambda run: store.save(run, "alice"))
        state[keys.EVAL_RUN] = live
        assert live.wait(120)
    finally:
        client.close()
    assert session.settle(state) is None and keys.EVAL_RUN not in state
    saved_id, run, problem = state[keys.EVAL_SHOWN]
    assert problem is None and [c.state for c in run.cells] == ["done", "done"]
    assert [s.id for s in store.list("alice")] == [saved_id] and store.list("local") == []
    assert store.get(saved_id, "alice").run.prompt_text == TEXT
    assert session.unique_labels(["a", "b", "a"]) == ["a", "b", "a (2)"]
