"""The Evaluate page under streamlit.testing against the real embedded endpoint: files opened by
upload and from PLAYGROUND_PROMPTS_DIR, runs whose grid matches the CLI's scores, Stop, saved
runs reopened after a restart, and the exports."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from playground.evaluate import RunStore, session
from playground.store import Store
from tests.conftest import ROOT
from tests.pages.apptest import open_page, shown
from tests.support import yaml_bomb

PAGE = str(ROOT / "pages" / "evaluate.py")
EMBEDDED = '["embedded", null]'  # the embedded model's option key (playground.compare.option_key)
AZURE = '["azure", null]'

CAPITALS = """\
# A comment and an unknown key: both kept in the run's file text
name: Capitals
description: Answers with a capital.
model: SmolLM2-135M-Instruct
owner-team: evals   # not in the format
modelParameters:
  maxTokens: 8
  temperature: 0
messages:
  - role: system
    content: You answer with the name of a city and nothing else.
  - role: user
    content: What is the capital of {{country}}?
testData:
  - country: France
    expected: Paris
  - country: Japan
    expected: Tokyo
  - country: Italy
    expected: Rome
evaluators:
  - name: names the capital
    string:
      contains: '{{expected}}'
  - name: starts with it
    string:
      startsWith: '{{expected}}'
"""

BROKEN = """\
name: Broken
messages:
  - role: user
    content: Hello {{who}}
evaluators:
  - name: nothing
    string:
      includes: x
"""


@pytest.fixture
def env(clean_env, endpoint, tmp_path):
    clean_env.setenv("PLAYGROUND_LOCAL_PORT", str(endpoint.port))
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    clean_env.setenv("PLAYGROUND_PROMPTS_DIR", str(prompts))
    return clean_env


def choose(at: AppTest, name: str) -> AppTest:
    at.selectbox(key="eval_pick").set_value(name).run()
    assert not at.exception, at.exception
    return at


def run_it(at: AppTest) -> AppTest:
    at.button(key="eval_start").click().run()
    assert not at.exception, at.exception
    return at


def cli_json(path, endpoint) -> dict:
    env = {k: v for k, v in os.environ.items()}
    env.update({"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "PYTHONPATH": str(ROOT)})
    result = subprocess.run([sys.executable, "-m", "playground.evaluate", str(path), "--model", "embedded",
                             "--json", "-", "--quiet"], check=False, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def evaluator_lines(at: AppTest, names: list[str]) -> list[str]:
    """Every cell's evaluator captions ("name: score pass|fail"), row by row."""
    return [c.value for c in at.caption if c.value.split(":")[0] in names]


def summaries(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Pass rate")]


def expected_lines(data: dict) -> list[str]:
    return [f"{r['evaluator']}: {r['score']:.2f} {'pass' if r['passed'] else 'fail'}"
            for t in sorted(data["testResults"], key=lambda t: t["row"]) for r in t["evaluationResults"]]


def expected_summary(column: dict) -> str:
    return (f"**Pass rate {column['passedTests'] / column['totalTests']:.0%}** ({column['passedTests']}/"
            f"{column['totalTests']}) · mean score {column['meanScore']:.2f}")


@pytest.fixture
def downloads(monkeypatch):
    """What each download button of the last run holds: AppTest keeps them in a MemoryMediaFileStorage."""
    made: list[MemoryMediaFileStorage] = []

    class Kept(MemoryMediaFileStorage):
        def __init__(self, endpoint: str):
            super().__init__(endpoint)
            made.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", Kept)

    def read(at: AppTest, key: str) -> bytes:
        button = at.get("download_button")
        url = next(b.proto.url for b in button if b.key == key)
        return made[-1].get_file(url.rsplit("/", 1)[-1]).content

    return read


NAMES = ["names the capital", "starts with it"]


def test_a_file_from_the_prompts_folder_runs_and_the_grid_matches_the_cli(env, endpoint, tmp_path):
    path = tmp_path / "prompts" / "capitals.prompt.yml"
    path.write_text(CAPITALS)
    at = open_page(PAGE)
    assert "capitals.prompt.yml" in at.selectbox(key="eval_pick").options
    choose(at, "capitals.prompt.yml")
    assert at.multiselect(key="eval_models").value == [EMBEDDED]
    before = len(endpoint.requests())
    run_it(at)

    sent = endpoint.requests()[before:]
    assert len(sent) == 3 and all(r["body"]["max_tokens"] == 8 and r["body"]["temperature"] == 0 for r in sent)
    assert sorted(r["body"]["messages"][1]["content"] for r in sent) == [
        f"What is the capital of {c}?" for c in ("France", "Italy", "Japan")]
    cli = cli_json(path, endpoint)
    assert evaluator_lines(at, NAMES) == expected_lines(cli)
    assert summaries(at) == [expected_summary(cli["columns"][0])]
    progress = at.get("progress")
    assert progress and "3 of 3 cells" in progress[0].proto.text
    assert any(c.value.startswith("Saved run") for c in at.caption)
    # The run keeps the file exactly as it was (comment and unknown key included).
    saved = RunStore(Store(tmp_path / "playground.db")).list()
    assert len(saved) == 1 and saved[0].name == "Capitals" and saved[0].total == 3
    stored = RunStore(Store(tmp_path / "playground.db")).get(saved[0].id)
    assert stored.run.prompt_text == CAPITALS


def test_an_upload_opens_and_a_malformed_one_says_where_and_runs_nothing(env, endpoint):
    at = open_page(PAGE)
    assert not at.get("button") or all(b.key != "eval_start" for b in at.button)
    before = len(endpoint.requests())
    at.file_uploader(key="eval_upload").upload("broken.prompt.yml", BROKEN.encode(), "application/x-yaml").run()
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1
    assert "broken.prompt.yml: evaluators[0].string: needs one of equals, contains, startsWith, endsWith (line 8)" \
        in errors[0] and "nothing was run" in errors[0]
    assert all(b.key != "eval_start" for b in at.button)  # nothing to run
    at.file_uploader(key="eval_upload").clear().upload("capitals.prompt.yml", CAPITALS.encode(),
                                                      "application/x-yaml").run()
    assert not at.error
    assert at.subheader[0].value == "Capitals"
    assert [t.value for t in at.text_area][:2] == ["You answer with the name of a city and nothing else.",
                                                   "What is the capital of {{country}}?"]
    table = at.data_editor[0].value
    assert list(table.columns) == ["country", "expected"] and list(table["country"]) == ["France", "Japan", "Italy"]
    assert len(endpoint.requests()) == before


def test_an_alias_bomb_or_a_huge_file_is_refused_with_why_and_the_open_file_still_runs(env, endpoint, tmp_path):
    (tmp_path / "prompts" / "capitals.prompt.yml").write_text(CAPITALS)
    at = choose(open_page(PAGE), "capitals.prompt.yml")
    too_many = ("too large: more than 100,000 values, each alias counted as the values it repeats; that is the "
                "limit for a prompt file (line ")
    uploads = [("bomb.prompt.yml", yaml_bomb.in_test_data(6).encode(), too_many),
               ("schema.prompt.yml", yaml_bomb.in_json_schema(6).encode(), too_many),
               ("huge.prompt.yml", CAPITALS.encode() + b"#" * 1024 * 1024,
                "the file is larger than 1 MB (1,048,576 bytes), the limit for a prompt file")]
    for index, (name, data, message) in enumerate(uploads):
        uploader = at.file_uploader(key="eval_upload")
        (uploader.clear() if index else uploader).upload(name, data, "application/x-yaml").run()
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and errors[0].startswith(f"{name}: {message}") and "nothing was run" in errors[0]
        assert at.subheader[0].value == "Capitals"  # the file that was open stays open
    before = len(endpoint.requests())
    run_it(at)
    assert len(endpoint.requests()) - before == 3
    assert len(summaries(at)) == 1


def test_stop_keeps_the_cells_that_finished_and_saves_the_run(env, endpoint, tmp_path, monkeypatch):
    more = "".join(f"  - country: {c}\n    expected: {e}\n" for c, e in (("Spain", "Madrid"), ("Peru", "Lima"),
                                                                    ("Kenya", "Nairobi")))
    text = CAPITALS.replace("maxTokens: 8", "maxTokens: 24").replace("evaluators:", more + "evaluators:")
    (tmp_path / "prompts" / "capitals.prompt.yml").write_text(text)
    started: list[session.LiveEvaluation] = []
    real_start = session.LiveEvaluation.start

    def start(self):
        started.append(self)
        return real_start(self)

    monkeypatch.setattr(session.LiveEvaluation, "start", start)
    at = open_page(PAGE)
    choose(at, "capitals.prompt.yml")

    def stop_after_the_first_cell() -> None:  # what the Stop button's click does (on_click=live.cancel)
        deadline = threading.Event()
        while not deadline.wait(0.01):
            if started and any(c.state == "done" for c in started[0].run.cells):
                started[0].cancel()
                return

    watcher = threading.Thread(target=stop_after_the_first_cell, daemon=True)
    watcher.start()
    run_it(at)
    watcher.join(timeout=5)
    run = started[0].run
    done = [c for c in run.cells if c.state == "done"]
    assert run.cancelled and 1 <= len(done) < 6
    assert [c.state for c in run.cells].count("cancelled") == 6 - len(done)
    assert "Results (stopped: the cells that finished are kept)" in [h.value for h in at.subheader]
    assert len(evaluator_lines(at, NAMES)) == 2 * len(done)
    assert sum(c.value == "Not run (stopped)" for c in at.caption) == 6 - len(done)
    saved = RunStore(Store(tmp_path / "playground.db")).list()
    assert len(saved) == 1 and saved[0].total == 6


def test_a_saved_run_reopens_after_a_restart_and_exports_json_and_csv(env, endpoint, tmp_path, downloads):
    (tmp_path / "prompts" / "capitals.prompt.yml").write_text(CAPITALS)
    first = open_page(PAGE)
    choose(first, "capitals.prompt.yml")
    run_it(first)
    shown = evaluator_lines(first, NAMES)
    summary = summaries(first)

    at = open_page(PAGE)  # a new session: nothing in memory
    assert not evaluator_lines(at, NAMES)
    listed = at.sidebar.selectbox(key="eval_saved_pick")
    assert len(listed.options) == 1 and "Capitals" in listed.options[0] and "passed" in listed.options[0]
    at.sidebar.button(key="eval_saved_open").click().run()
    assert evaluator_lines(at, NAMES) == shown and summaries(at) == summary

    data = json.loads(downloads(at, "eval_export_json"))
    assert data["name"] == "Capitals" and data["summary"]["totalTests"] == 3
    assert [f"{r['evaluator']}: {r['score']:.2f} {'pass' if r['passed'] else 'fail'}"
            for t in data["testResults"] for r in t["evaluationResults"]] == shown
    lines = list(csv.DictReader(io.StringIO(downloads(at, "eval_export_csv").decode())))
    assert [line["country"] for line in lines] == ["France", "Japan", "Italy"]
    assert all(line["output"] and line["names the capital score"] in ("1.0", "0.0") for line in lines)


def test_edits_run_and_download_and_two_runs_compare(env, endpoint, tmp_path, downloads):
    (tmp_path / "prompts" / "capitals.prompt.yml").write_text(CAPITALS)
    at = open_page(PAGE)
    choose(at, "capitals.prompt.yml")
    run_it(at)
    first = evaluator_lines(at, NAMES)
    # Edit: one more test row, a looser second rule, a larger cap.
    round_ = at.session_state["eval_round"]
    at.session_state[f"eval_{round_}_rows_country\x1fexpected"] = {
        "edited_rows": {}, "added_rows": [{"country": "Spain", "expected": "Madrid"}], "deleted_rows": []}
    at.selectbox(key=f"eval_{round_}_ev_rule_1").set_value("contains").run()
    at.number_input(key=f"eval_{round_}_max_tokens").set_value(12).run()
    assert not at.error
    text = downloads(at, "eval_download_file").decode()
    assert "owner-team: evals" in text and "Spain" in text and "maxTokens: 12" in text
    before = len(endpoint.requests())
    run_it(at)
    sent = endpoint.requests()[before:]
    assert len(sent) == 4 and all(r["body"]["max_tokens"] == 12 for r in sent)
    assert len(evaluator_lines(at, NAMES)) == 8 and evaluator_lines(at, NAMES) != first

    store = RunStore(Store(tmp_path / "playground.db"))
    newer, older = store.list()
    assert at.selectbox(key="eval_saved_pick").value == newer.id  # the run just saved is the one picked
    assert "Spain" in store.get(newer.id).run.prompt_text and "owner-team" in store.get(newer.id).run.prompt_text
    at.session_state["eval_compare_open"] = True
    at.run()
    assert at.selectbox(key="eval_compare_a").value == older.id
    assert at.selectbox(key="eval_compare_b").value == newer.id
    label = next(m.value for m in at.markdown if m.value.startswith("Fail → pass"))
    fixed = sum(1 for row in range(3) if not store.get(older.id).run.cells[row].passed
                and store.get(newer.id).run.cells[row].passed)
    assert label == f"Fail → pass: {fixed}"


def test_test_data_edits_survive_leaving_the_page_and_coming_back(env, endpoint, tmp_path, downloads):
    (tmp_path / "prompts" / "capitals.prompt.yml").write_text(CAPITALS)
    at = open_page(PAGE)
    choose(at, "capitals.prompt.yml")
    editor = f"eval_{at.session_state['eval_round']}_rows_country\x1fexpected"
    at.session_state[editor] = {"edited_rows": {"0": {"expected": "Paris!"}},
                                "added_rows": [{"country": "Spain", "expected": "Madrid"}], "deleted_rows": []}
    at.run()
    assert "Spain" in downloads(at, "eval_download_file").decode()
    # Another page's run does not draw the editor, and Streamlit drops its state: as it does here.
    del at.session_state[editor]
    at.run()
    table = at.data_editor[0].value  # what the editor is given to show
    assert list(table["country"])[-1] == "Spain" and list(table["expected"])[-1] == "Madrid"
    assert list(table["expected"])[0] == "Paris!"
    text = downloads(at, "eval_download_file").decode()
    assert "Spain" in text and "Paris!" in text


def test_save_as_prompt_file_from_chat_opens_here(env, endpoint):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["eval_from_chat"] = (
        "name: Say hi\nmessages:\n  - role: system\n    content: Be brief.\n  - role: user\n    content: '{{input}}'\n"
        "testData:\n  - input: Hello there\n")
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "Say hi"
    assert list(at.data_editor[0].value["input"]) == ["Hello there"]


def test_the_chat_page_saves_its_conversation_as_a_prompt_file(env, endpoint, downloads):
    from playground.promptfile import loads
    from tests.pages.apptest import CHAT, open_lazy, send

    at = open_page(CHAT)
    at.slider(key="chat_max_tokens").set_value(8)
    at.text_area(key="chat_system_prompt").set_value("Answer in one word.")
    send(at, "Name a colour.")
    reply = at.session_state["chat_messages"][-1].content
    open_lazy(at, "eval_chat_save_open")
    saved = loads(downloads(at, "eval_chat_download").decode())
    assert [(m.role, m.content) for m in saved.messages] == [("system", "Answer in one word."), ("user", "{{input}}")]
    assert saved.test_data == [{"input": "Name a colour.", "expected": reply}]
    assert saved.model_parameters.max_tokens == 8 and saved.model == "SmolLM2-135M-Instruct"
    # "Evaluate it" switches to the Evaluate page, which AppTest cannot run from here (a page of st.navigation):
    # the browser test follows it.


def test_a_failing_model_shows_its_error_in_its_cells_and_the_other_model_runs(env, endpoint, tmp_path):
    """Column 1: an Azure AI endpoint nothing listens on (connection refused); column 2: the embedded model."""
    env.setenv("AZURE_INFERENCE_ENDPOINT", "http://127.0.0.1:9")
    env.setenv("AZURE_INFERENCE_CREDENTIAL", "unused")
    (tmp_path / "prompts" / "capitals.prompt.yml").write_text(CAPITALS)
    at = open_page(PAGE)
    choose(at, "capitals.prompt.yml")
    assert at.multiselect(key="eval_models").value == [AZURE]  # the first provider's model
    at.multiselect(key="eval_models").set_value([AZURE, EMBEDDED]).run()
    run_it(at)
    run = at.session_state["eval_shown"][1]
    assert [c.state for c in run.cells] == ["done"] * 6
    azure, embedded = run.labels
    assert all(c.error for c in run.column(azure)) and not any(c.error for c in run.column(embedded))
    assert sum(m.value == ":red[**Error**]" for m in at.markdown) == 3
    assert all(len(c.results) == 2 for c in run.column(embedded))
    assert summaries(at)[0].startswith("**Pass rate 0%** (0/3)")
    assert any("3 error(s)" in c.value for c in at.caption)


def test_a_judged_file_defaults_to_the_first_model_as_judge_and_says_it_is_small(env, endpoint, tmp_path):
    text = (ROOT / "docs" / "examples" / "judged.prompt.yml").read_text().replace("maxTokens: 48", "maxTokens: 12")
    (tmp_path / "prompts" / "judged.prompt.yml").write_text(text)
    at = open_page(PAGE)
    choose(at, "judged.prompt.yml")
    judge = at.selectbox(key="eval_judge")
    assert judge.value == "first" and "SmolLM2" in judge.format_func(judge.value)
    note = "The judge is the embedded SmolLM2-135M model"
    assert any(c.value.startswith(note) for c in at.caption)
    before = len(endpoint.requests())
    run_it(at)
    assert len(endpoint.requests()) - before == 2 * 3  # each row: the reply, then two judge calls
    judged = [r for r in endpoint.requests()[before:] if r["body"]["max_tokens"] == 32]
    assert len(judged) == 4 and all(r["body"]["temperature"] == 0 for r in judged)
    run = at.session_state["eval_shown"][1]
    assert [[r.kind for r in c.results] for c in run.cells] == [["llm", "uses"]] * 2
    assert any(note in n for n in run.notes)
    assert len(evaluator_lines(at, ["on topic", "relevance"])) == 4
