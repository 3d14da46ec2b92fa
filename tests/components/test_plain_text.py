"""Text a model, a file or a user-added endpoint wrote is shown literally wherever Streamlit draws
markdown (components.plain_text.plain): no image fetched, no link, no formatting. The pages run
under streamlit.testing; every markdown field of every delta they send is checked
(tests/support/exfiltration.py), so a place that forgets the escape is found whatever it is.
The prompt-file picker opens only the files it listed, whatever value the browser sends.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from components.plain_text import plain
from tests.conftest import ROOT
from tests.support.browser_tree import recorded_runs
from tests.support.exfiltration import PROMPT_FILE, hostile, markdown_fields
from tests.support.fake_service import FakeService, Reply, tool_call_reply
from tests.support.github_models import streamed_reply

URL = "http://127.0.0.1:9/leak"  # never fetched here: no browser runs; the browser test has a real catcher
HOSTILE = hostile(URL)
CHAT, EVALUATE, MODEL_INFO = (str(ROOT / "pages" / name) for name in ("chat.py", "evaluate.py", "model_info.py"))


def shown(text: str) -> str:
    """What the browser shows for an escaped markdown text: the characters, without the escapes."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def raw(runs: list) -> list[tuple[str, str]]:
    """Markdown fields in which the hostile text arrived unescaped (it would be drawn as an image,
    a link, HTML or an autolink)."""
    found = []
    for run in runs:
        for where, text in markdown_fields(run):
            if any(part in text for part in ("![x]", "[c]", URL)) or re.search(r"(?<!\\)<img", text):
                found.append((where, text))
    return found


def literal(runs: list) -> set[str]:
    """Every markdown field's text as the browser shows it."""
    return {shown(text) for run in runs for _, text in markdown_fields(run)}


# -- the helper --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    HOSTILE,
    "![a][r]\n\n[r]: http://h.test/r.png",
    "# Title\n> quote\n- item\n+ item\n1. one\n2) two\n===\n---",
    "**bold** _it_ ~~gone~~ `code` $x^2$ :red[red] | a | b |\n|---|---|",
    "<script>alert(1)</script> &lt;img&gt; &amp; <http://h.test>",
    "www.h.test and mail@h.test and https://h.test/x",
    "back\\slash \\[ not a link \\]",
])
def test_plain_escapes_every_markdown_construct_and_shows_the_same_characters(text):
    escaped = plain(text)
    assert shown(escaped) == text
    # Nothing that starts markdown is left unescaped.
    assert not re.search(r"(?<!\\)[\[\]<`*_~$|&@]", escaped.replace("\\\\", "")), escaped
    assert not re.search(r"(?<!\\)://", escaped)
    assert not re.search(r"(?im)^\s*(?:[#>+=-]|\d+[.)])", escaped), escaped
    assert "www." not in escaped.lower()


def test_plain_leaves_ordinary_sentences_as_they_are():
    for text in ("Offline list: Cannot reach Microsoft Foundry (HTTP 503). Type the model id.",
                 "photo.png is not a PNG, JPEG, WebP or GIF image", "finish: stop", "9 prompt + 3 tokens"):
        assert plain(text) == text


# -- pages -------------------------------------------------------------------------------------

@pytest.fixture
def azure(clean_env, endpoint):
    """The pages on an Azure AI Model Inference endpoint served by a fake with these replies."""
    def start(replies: list[Reply], info: dict | None = None) -> FakeService:
        fake = FakeService({"/chat/completions": replies, "/info": [Reply(body=info or {
            "model_name": "fake", "model_type": "chat-completions", "model_provider_name": "Test"})]})
        clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
        clean_env.setenv("AZURE_INFERENCE_ENDPOINT", fake.url)
        clean_env.setenv("AZURE_INFERENCE_CREDENTIAL", "azure-key-123")
        return fake
    return start


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_model_written_tool_call_and_finish_reason_are_shown_literally(azure):
    arguments = json.dumps({"city": HOSTILE})
    replies = [tool_call_reply("call_`" + HOSTILE, HOSTILE, arguments),
               streamed_reply("Done.", finish_reason=HOSTILE)]
    with azure(replies), recorded_runs() as runs:
        at = run(AppTest.from_file(CHAT, default_timeout=120))
        at.chat_input[0].set_value("Weather?")
        run(at)
        assert at.session_state["chat_messages"][-1].tool_calls[0]["function"]["name"] == HOSTILE
        at.chat_input[0].set_value("And tomorrow?")  # refused: the call waits for its result
        run(at)
        at.text_area(key="chat_result_call_`" + HOSTILE).set_value('{"temperature": 3}')
        run(at)
        next(b for b in at.button if b.label == "Send result").click()
        run(at)
        assert at.session_state["chat_messages"][-1].content == "Done."
    assert raw(runs) == []
    seen = literal(runs)
    assert f"Calls **{HOSTILE}** · call_`{HOSTILE}" in seen  # the name and id, as the model wrote them
    assert f"Result of {HOSTILE}" in seen
    assert any(f"waiting for the result of {HOSTILE}" in text for text in seen)
    assert f"Tool result for call call_`{HOSTILE}" in seen
    assert any(f"finish: {HOSTILE}" in text for text in seen)


def test_a_function_name_typed_or_from_a_preset_is_shown_literally_in_its_errors(azure):
    with azure([streamed_reply("never")]), recorded_runs() as runs:
        at = run(AppTest.from_file(CHAT, default_timeout=120))
        at.session_state["chat_tools_open"] = True
        run(at)
        next(b for b in at.sidebar.button if b.label == "Add a function").click()
        run(at)
        at.text_input(key="chat_tool_name_0").set_value(HOSTILE)
        run(at)
        assert len(at.sidebar.error) == 2  # under the field, and among what blocks sending
    assert raw(runs) == []
    assert any(f"Function '{HOSTILE}': the name may hold only" in text for text in literal(runs))


def test_what_an_endpoint_says_about_its_model_is_shown_literally(azure):
    with azure([], info={"model_name": HOSTILE, "model_type": HOSTILE, "model_provider_name": HOSTILE}), \
            recorded_runs() as runs:
        run(AppTest.from_file(MODEL_INFO, default_timeout=120))
    assert raw(runs) == []
    assert HOSTILE in literal(runs)


@pytest.fixture
def prompts(clean_env, endpoint, tmp_path):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    folder = tmp_path / "prompts"
    folder.mkdir()
    clean_env.setenv("PLAYGROUND_PROMPTS_DIR", str(folder))
    return folder


def test_a_prompt_files_name_description_and_evaluator_names_are_shown_literally(prompts):
    (prompts / "hostile.prompt.yml").write_text(PROMPT_FILE.format(text=json.dumps(HOSTILE)))
    with recorded_runs() as runs:
        at = run(AppTest.from_file(EVALUATE, default_timeout=180))
        at.selectbox(key="eval_pick").set_value("hostile.prompt.yml")
        run(at)
        assert at.session_state["eval_prompt"].evaluators[0].name == HOSTILE
        at.button(key="eval_start").click()
        run(at)
    assert raw(runs) == []
    seen = literal(runs)
    assert HOSTILE in seen  # the heading and the description
    assert any(text.startswith(f"{HOSTILE}: ") for text in seen)  # the evaluator's line in its cell


# -- the prompt-file picker --------------------------------------------------------------------

SAFE = PROMPT_FILE.format(text="Listed")
SECRET = PROMPT_FILE.format(text="Secret outside the folder")


@pytest.fixture
def folder_and_secret(prompts, tmp_path):
    """The prompts folder (one file listed), and a valid prompt file outside it that no value the
    browser sends may open."""
    (prompts / "listed.prompt.yml").write_text(SAFE)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.prompt.yml"
    secret.write_text(SECRET)
    (prompts / "link.prompt.yml").symlink_to(secret)
    (prompts / "sub").mkdir()
    (prompts / "unlisted.yml").write_text(SAFE)  # inside, but not a .prompt.yml: never offered
    return prompts, secret


def forge(at: AppTest, value: str) -> AppTest:
    """What a tampered browser does: send the picker a value the server never offered."""
    picker = at.selectbox(key="eval_pick")
    picker.options.append(value)
    picker.set_value(value)
    return run(at)


def test_the_picker_lists_no_symlink_out_of_the_folder(folder_and_secret):
    at = run(AppTest.from_file(EVALUATE, default_timeout=120))
    assert at.selectbox(key="eval_pick").options == ["listed.prompt.yml"]


@pytest.mark.parametrize("value", ["../outside/secret.prompt.yml", "sub/../../outside/secret.prompt.yml",
                                   "ABSOLUTE", "link.prompt.yml", "unlisted.yml", "../../../../../../etc/passwd"])
def test_a_forged_picker_value_is_refused_with_a_message_and_nothing_is_read(folder_and_secret, value, monkeypatch):
    folder, secret = folder_and_secret
    value = str(secret) if value == "ABSOLUTE" else value
    at = run(AppTest.from_file(EVALUATE, default_timeout=120))
    read: list[str] = []
    real = type(folder).read_bytes
    monkeypatch.setattr(type(folder), "read_bytes", lambda self: read.append(str(self)) or real(self))
    forge(at, value)
    assert "eval_prompt" not in at.session_state and not at.main.subheader  # nothing opened
    assert read == []  # not even read
    [error] = [shown(e.value) for e in at.error]
    assert f"{value}: not one of the prompt files listed from {folder}" in error
    assert "The file was not opened" in error
    # The listed file still opens.
    at.selectbox(key="eval_pick").set_value("listed.prompt.yml")
    run(at)
    assert [h.value for h in at.main.subheader] == ["Listed"]
    assert not at.error
