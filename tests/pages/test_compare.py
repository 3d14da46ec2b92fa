"""The Compare page under streamlit.testing against the real embedded endpoint (and, for a
cloud column, a local server replaying GitHub Models' wire behaviour)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from playground.store import Store
from tests.conftest import ROOT
from tests.pages.apptest import open_page, send
from tests.support.fake_service import FakeService, Reply
from tests.support.github_models import CATALOG, DAILY_LIMIT_429

PAGE = str(ROOT / "pages" / "compare.py")
TOKEN = "ghp_playgroundtesttoken"
EMBEDDED = '["embedded", null]'  # the embedded model's option key (playground.compare.option_key)


@pytest.fixture
def page(clean_env, endpoint):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    return open_page(PAGE)


def own_parameters(at: AppTest, *temperatures: float, max_tokens: int = 16) -> None:
    at.toggle(key="compare_same_parameters").set_value(False).run()
    for index, temperature in enumerate(temperatures):
        at.slider(key=f"compare_temperature_{index}").set_value(temperature)
        at.slider(key=f"compare_max_tokens_{index}").set_value(max_tokens)
    at.run()


def replies(at: AppTest) -> list[dict]:
    return [m for m in at.session_state["compare_history"] if m.role == "assistant"]


def stored(at: AppTest, db_path: str):
    return Store(db_path).get(at.session_state["compare_conversation_id"])


def test_two_temperatures_side_by_side_with_metrics_and_saved_as_a_comparison(page, endpoint, tmp_path):
    assert page.radio(key="compare_column_count").value == 2
    own_parameters(page, 0.2, 1.3)
    before = len(endpoint.requests())
    send(page, "Name a colour.")

    answers = replies(page)
    assert [r.column for r in answers] == [0, 1]
    for reply in answers:
        assert reply.content.strip() and reply.status == "complete"
        assert reply.metrics["completion_tokens"] > 0 and reply.metrics["prompt_tokens"] > 5
        assert reply.metrics["finish_reason"] in ("stop", "length")
        assert reply.metrics["ttft_s"] > 0
    shown = [c.value for c in page.caption if "completion tokens" in c.value]
    assert len(shown) == 2 and all("finish:" in c and "first token" in c for c in shown), shown
    assert [m.name for m in page.chat_message] == ["user", "assistant", "assistant"]

    sent = endpoint.requests()[before:]
    assert sorted(r["body"]["temperature"] for r in sent) == pytest.approx([0.2, 1.3])
    assert all(r["body"]["max_tokens"] == 16 for r in sent)
    assert all(r["body"]["messages"][-1] == {"role": "user", "content": "Name a colour."} for r in sent)

    conversation = stored(page, str(tmp_path / "playground.db"))
    assert conversation.kind == "compare"
    assert [(m.role, m.column, m.status) for m in conversation.messages][0] == ("user", None, "complete")
    assert sorted((m.role, m.column) for m in conversation.messages[1:]) == [("assistant", 0), ("assistant", 1)]
    by_column = {m.column: m for m in conversation.messages[1:]}
    assert by_column[0].content == answers[0].content and by_column[1].content == answers[1].content
    assert by_column[0].metrics["completion_tokens"] == answers[0].metrics["completion_tokens"]
    columns = conversation.setup["columns"]
    assert [c["parameters"]["temperature"] for c in columns] == pytest.approx([0.2, 1.3])
    assert all(c["provider"] == "Embedded model (offline)" and "SmolLM2" in c["model"] for c in columns)
    assert conversation.setup["system_prompt"] == "You are a helpful assistant."
    assert "url" not in str(conversation.setup).lower()


def test_each_column_is_sent_the_shared_prompts_and_only_its_own_replies(page, endpoint):
    page.slider(key="compare_max_tokens").set_value(8).run()
    page.text_area(key="compare_system_prompt").set_value("Answer in one word.").run()
    send(page, "Name a fruit.")
    first = replies(page)
    before = len(endpoint.requests())
    send(page, "Another one?")
    sent = sorted(endpoint.requests()[before:], key=lambda r: r["body"]["messages"][2]["content"])
    assert len(sent) == 2
    expected = sorted([[("system", "Answer in one word."), ("user", "Name a fruit."), ("assistant", r.content),
                        ("user", "Another one?")] for r in first], key=lambda m: m[2][1])
    assert [[(m["role"], m["content"]) for m in r["body"]["messages"]] for r in sent] == expected
    assert all(r["body"]["temperature"] == pytest.approx(0.7) and r["body"]["max_tokens"] == 8 for r in sent)
    assert [m.name for m in page.chat_message] == ["user", "assistant", "assistant"] * 2


def test_three_columns_and_new_comparison(page, endpoint, tmp_path):
    page.radio(key="compare_column_count").set_value(3).run()
    page.slider(key="compare_max_tokens").set_value(6).run()
    assert len(page.main.selectbox) == 3  # a model picker per column
    send(page, "Hi")
    assert [r.column for r in replies(page)] == [0, 1, 2]
    first_id = page.session_state["compare_conversation_id"]
    next(b for b in page.sidebar.button if b.label == "New comparison").click().run()
    assert page.session_state["compare_history"] == [] and page.session_state["compare_conversation_id"] is None
    assert len(page.chat_message) == 0
    send(page, "Hello again")
    assert page.session_state["compare_conversation_id"] != first_id
    store = Store(str(tmp_path / "playground.db"))
    assert [s.kind for s in store.list()] == ["compare", "compare"]
    assert len(store.get(first_id).messages) == 4


def test_a_failing_column_shows_its_error_and_the_others_answer(clean_env, endpoint):
    """Column 0 on GitHub Models (answering its daily-limit 429), column 1 on the embedded model."""
    fake = FakeService({"/catalog/models": [Reply(body=CATALOG)],
                        "/inference/chat/completions": [DAILY_LIMIT_429]})
    with fake:
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("GITHUB_TOKEN", TOKEN)
        clean_env.setenv("GITHUB_MODELS_URL", fake.url)
        at = open_page(PAGE)
        pickers = [at.selectbox(key=f"compare_model_{i}") for i in range(2)]
        assert pickers[0].value == pickers[1].value  # both start on GitHub's preferred model
        labels = pickers[1].options
        assert "GitHub Models (retired 2026-07-30) · Phi-3-mini instruct (4k)" in labels
        embedded = next(o for o in labels if o.startswith("Embedded model (offline)"))
        pickers[1].set_value(EMBEDDED).run()
        at.slider(key="compare_max_tokens").set_value(8).run()
        send(at, "Hello?")
    answers = replies(at)
    assert [r.column for r in answers] == [0, 1]
    assert answers[0].status == "partial" and answers[0].metrics["finish_reason"] == "error"
    assert "throttling" in answers[0].metrics["error"]
    assert answers[1].status == "complete" and answers[1].content.strip()
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and "throttling" in warnings[0]
    assert any("completion tokens" in c.value for c in at.caption)
    assert embedded in [c.value for c in at.caption]
