"""playground.promptfile: gh models' .prompt.yml read and written, unknown keys kept, errors with field and line."""

from __future__ import annotations

import json
import textwrap
import time
import tracemalloc

import pytest
import yaml

from playground import promptfile as pf
from playground.client import ChatParams
from tests.support import yaml_bomb

FULL = textwrap.dedent("""\
    name: Capital cities
    description: Answers with a capital
    x-team: geo           # unknown top-level key
    model: openai/gpt-4o-mini
    modelParameters:
      maxTokens: 20
      temperature: 0.2
      topP: 0.9
      seed: 7             # unknown here too
    messages:
      - role: System
        content: |
          Answer with the city only.
          No punctuation.
      - role: USER
        content: 'Capital of {{country}}?'
        name: asker
    testData:
      - country: France
        expected: Paris
        weight: 2
      - country: Japan
        expected: Tokyo
        tags: [asia, island]
    evaluators:
      - name: has city
        string:
          contains: '{{expected}}'
        owner: me
      - name: judged
        llm:
          modelId: openai/gpt-4o
          systemPrompt: You grade.
          prompt: 'Is "{{completion}}" the capital of {{country}}? yes or no'
          choices:
            - choice: 'yes'
              score: 1
              color: green
            - choice: 'no'
              score: 0
          temperature: 0
      - name: similar
        uses: github/similarity
    """)


def test_full_file_reads_every_field():
    p = pf.loads(FULL)
    assert (p.name, p.description, p.model) == ("Capital cities", "Answers with a capital", "openai/gpt-4o-mini")
    assert (p.model_parameters.max_tokens, p.model_parameters.temperature, p.model_parameters.top_p) == (20, 0.2, 0.9)
    assert [m.role for m in p.messages] == ["system", "user"]  # case-insensitive roles, kept lower case
    assert p.messages[0].content == "Answer with the city only.\nNo punctuation.\n"
    assert p.test_data[1] == {"country": "Japan", "expected": "Tokyo", "tags": ["asia", "island"]}
    kinds = [(e.name, e.kind) for e in p.evaluators]
    assert kinds == [("has city", "string"), ("judged", "llm"), ("similar", "uses")]
    assert p.evaluators[0].string.rule == "contains" and p.evaluators[0].string.value == "{{expected}}"
    llm = p.evaluators[1].llm
    assert (llm.model_id, llm.system_prompt, [(c.choice, c.score) for c in llm.choices]) == (
        "openai/gpt-4o", "You grade.", [("yes", 1.0), ("no", 0.0)])
    assert p.evaluators[2].uses == "github/similarity"
    assert p.chat_params() == ChatParams(temperature=0.2, top_p=0.9, max_tokens=20)


def test_round_trip_keeps_unknown_keys_at_every_level(tmp_path):
    original = pf.loads(FULL)
    path = pf.save(original, tmp_path / "capitals.prompt.yml")
    again = pf.load(path)
    assert again == original
    data = yaml.safe_load(path.read_text())
    assert data["x-team"] == "geo"
    assert data["modelParameters"]["seed"] == 7
    assert data["messages"][1]["name"] == "asker"
    assert data["testData"][0]["weight"] == 2
    assert data["evaluators"][0]["owner"] == "me"
    assert data["evaluators"][1]["llm"]["temperature"] == 0
    assert data["evaluators"][1]["llm"]["choices"][0]["color"] == "green"
    # gh models' key names and order; the file's own top-level order is kept.
    assert list(data) == ["name", "description", "x-team", "model", "modelParameters", "messages", "testData",
                          "evaluators"]
    assert data["messages"][0] == {"role": "system", "content": "Answer with the city only.\nNo punctuation.\n"}
    assert "content: |" in path.read_text()  # multi-line prompts stay readable blocks
    assert pf.dumps(again) == path.read_text()  # stable


def test_json_schema_as_a_json_string_and_as_an_older_yaml_mapping():
    schema = {"name": "animal", "strict": True,
              "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}
    as_string = pf.loads("responseFormat: json_schema\njsonSchema: |-\n"
                         + textwrap.indent(json.dumps(schema, indent=2), "  ")
                         + "\nmessages:\n  - role: user\n    content: Describe a {{animal}}\n")
    as_mapping = pf.loads("responseFormat: json_schema\njsonSchema:\n  name: animal\n  strict: true\n  schema:\n"
                          "    type: object\n    properties:\n      name: {type: string}\n"
                          "messages:\n  - role: user\n    content: Describe a {{animal}}\n")
    assert as_string.json_schema == as_mapping.json_schema == schema
    assert as_string.chat_params().response_format == schema
    # Written back as the JSON string gh models requires.
    written = yaml.safe_load(pf.dumps(as_mapping))
    assert isinstance(written["jsonSchema"], str) and json.loads(written["jsonSchema"]) == schema
    json_object = pf.loads("responseFormat: json_object\nmessages: [{role: user, content: hi}]")
    assert json_object.chat_params().response_format == "json_object"


MALFORMED = [
    # (file text, the exact message)
    ("messages:\n  - role: user\n    content: hi\nevaluators:\n  - name: a\n    string:\n      contains: x\n"
     "  - name: b\n    string:\n      contain: y\n",
     "evaluators[1].string: needs one of equals, contains, startsWith, endsWith (line 10)"),
    ("messages:\n  - role: user\n    content: hi\n  - role: robot\n    content: beep\n",
     "messages[1].role: must be system, user or assistant, got 'robot' (line 4)"),
    ("name: x\nmessages:\n  - role: user\n", "messages[0].content: is required (line 3)"),
    ("name: x\n", "messages: is required: a list of {role, content} (line 1)"),
    ("modelParameters:\n  maxTokens: lots\nmessages: [{role: user, content: hi}]\n",
     "modelParameters.maxTokens: must be a whole number, got 'lots' (line 2)"),
    ("modelParameters:\n  temperature: 5\nmessages: [{role: user, content: hi}]\n",
     "modelParameters.temperature: must be between 0 and 2, got 5 (line 2)"),
    ("responseFormat: xml\nmessages: [{role: user, content: hi}]\n",
     "responseFormat: must be one of text, json_object, json_schema, got 'xml' (line 1)"),
    ("responseFormat: json_schema\nmessages: [{role: user, content: hi}]\n",
     "jsonSchema: is required when responseFormat is json_schema (line 1)"),
    ("messages: [{role: user, content: hi}]\njsonSchema: |\n  {\"name\": \"a\",\n   \"schema\": {,}}\n",
     "jsonSchema: is not valid JSON: Expecting property name enclosed in double quotes (JSON line 2, column 13) "
     "(line 4)"),
    ("messages: [{role: user, content: hi}]\njsonSchema: '{\"name\": \"a\"}'\n",
     "jsonSchema: must contain 'schema' (line 2)"),
    ("messages: [{role: user, content: hi}]\nevaluators:\n  - name: e\n    uses: github/vibes\n",
     "evaluators[0].uses: unknown evaluator 'github/vibes'; known: github/similarity, github/coherence, "
     "github/fluency, github/relevance, github/groundedness (line 4)"),
    ("messages: [{role: user, content: hi}]\n"
     "evaluators:\n  - name: e\n    string: {equals: a}\n    uses: github/fluency\n",
     "evaluators[0]: has string and uses: give only one (line 3)"),
    ("messages: [{role: user, content: hi}]\nevaluators:\n  - string: {equals: a}\n",
     "evaluators[0].name: is required (line 3)"),
    ("messages: [{role: user, content: hi}]\nevaluators:\n  - name: j\n    llm:\n      modelId: m\n      prompt: p\n"
     "      choices:\n        - choice: 'yes'\n          score: high\n",
     "evaluators[0].llm.choices[0].score: must be a number, got 'high' (line 9)"),
    ("messages: [{role: user, content: hi}]\nevaluators:\n  - name: j\n    llm:\n      prompt: p\n      choices: []\n",
     "evaluators[0].llm.modelId: is required (line 5)"),
    ("messages: [{role: user, content: hi}]\ntestData:\n  - input: a\n  - just text\n",
     "testData[1]: must be a mapping of variable: value (line 4)"),
    ("name: a\nname: b\nmessages: [{role: user, content: hi}]\n", "name: is given twice (line 2)"),
    ("messages:\n  - role: user\n    content: [unclosed\n", None),  # YAML syntax: a line, whatever yaml says
    ("- just\n- a list\n", "must be a mapping of name, model, messages, ... (line 1)"),
]


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed_files_name_the_field_and_the_line(text, message):
    with pytest.raises(pf.PromptFileError) as caught:
        pf.loads(text)
    if message is None:
        assert str(caught.value).startswith("not valid YAML") and "(line " in str(caught.value)
    else:
        assert str(caught.value) == message


def test_scalars_are_text_as_written_and_dates_survive_export():
    p = pf.loads("name: 2025\nmessages:\n  - role: user\n    content: 42\ntestData:\n  - day: 2024-05-01\n"
                 "evaluators:\n  - name: t\n    string:\n      equals: true\n")
    assert (p.name, p.messages[0].content, p.evaluators[0].string.value) == ("2025", "42", "true")
    assert pf.render("{{day}}", p.test_data[0]) == "2024-05-01"
    assert pf.loads(pf.dumps(p)) == p


def test_prompt_files_are_listed_from_the_configured_folder(tmp_path):
    assert pf.prompts_dir(None) == pf.Path("prompts") and pf.prompts_dir(str(tmp_path)) == tmp_path
    assert pf.list_prompt_files(tmp_path / "missing") == []
    (tmp_path / "sub").mkdir()
    for name in ("b.prompt.yml", "sub/a.prompt.yml", "notes.yml"):
        (tmp_path / name).write_text("messages: [{role: user, content: hi}]\n")
    assert pf.list_prompt_files(tmp_path) == [tmp_path / "b.prompt.yml", tmp_path / "sub" / "a.prompt.yml"]


def test_load_prefixes_the_file_name(tmp_path):
    path = tmp_path / "bad.prompt.yml"
    path.write_text("messages: []\n")
    with pytest.raises(pf.PromptFileError, match=r"bad\.prompt\.yml: messages: needs at least one message \(line 1\)"):
        pf.load(path)


def test_templating_is_plain_replacement():
    values = {"name": "Ada", "n": 3, "ok": True, "ratio": 0.5, "none": None, "list": [1, "a"], "tricky": "{{n}}"}
    assert pf.render("Hi {{name}}, {{n}} {{ok}} {{ratio}} [{{none}}] {{list}} {{unknown}} {{ name }} {{tricky}}",
                     values) == 'Hi Ada, 3 true 0.5 [] [1, "a"] {{unknown}} {{ name }} {{n}}'
    assert pf.render("{{a}}{{ab}}", {"a": "1", "ab": "2"}) == "12"
    assert pf.render("no placeholders", {"a": 1}) == "no placeholders"


def test_from_chat_replaces_the_last_user_message_with_input():
    history = [
        {"role": "user", "content": "Hi", "column": None},
        {"role": "assistant", "content": "Hello!", "metrics": {"finish_reason": "stop"}},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "7"},
    ]
    params = ChatParams(temperature=0.3, top_p=0.8, max_tokens=64, seed=1, response_format="json_object")
    p = pf.from_chat("  Be brief. ", history, params, "SmolLM2-135M-Instruct")
    assert [(m.role, m.content) for m in p.messages] == [
        ("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "{{input}}")]
    assert p.test_data == [{"input": "Name a prime.", "expected": "7"}]
    assert (p.model, p.response_format) == ("SmolLM2-135M-Instruct", "json_object")
    assert p.chat_params() == ChatParams(temperature=0.3, top_p=0.8, max_tokens=64, response_format="json_object")
    again = pf.loads(pf.dumps(p))
    assert again == p and again.render_messages(again.test_data[0])[-1] == {"role": "user", "content": "Name a prime."}
    data = yaml.safe_load(pf.dumps(p))
    assert data["modelParameters"] == {"maxTokens": 64, "temperature": 0.3, "topP": 0.8}


def test_from_chat_with_a_schema_and_no_user_message():
    schema = {"name": "out", "schema": {"type": "object"}}
    p = pf.from_chat("", [], ChatParams(response_format=schema), None)
    assert [(m.role, m.content) for m in p.messages] == [("user", "{{input}}")]
    assert p.test_data == [] and p.response_format == "json_schema" and p.json_schema == schema
    assert pf.loads(pf.dumps(p)).json_schema == schema


def test_the_documented_examples_load_and_round_trip():
    from tests.conftest import ROOT

    examples = sorted((ROOT / "docs" / "examples").glob("*.prompt.yml"))
    assert len(examples) >= 3
    for path in examples:
        loaded = pf.load(path)
        assert loaded.test_data and loaded.evaluators
        assert pf.loads(pf.dumps(loaded)) == loaded


# -- limits: alias bombs and oversized files are refused while the file is read ------------

VALUES = ("too large: more than 100,000 values, each alias counted as the values it repeats; that is the limit "
          "for a prompt file")
TEXT = ("too large: more than 2,000,000 characters of text, each alias counted as the text it repeats; that is the "
        "limit for a prompt file")
HI = "messages: [{role: user, content: 'Say {{x}}'}]\n"
BOMBS = {"six levels in testData": yaml_bomb.in_test_data(6), "nine levels in testData": yaml_bomb.in_test_data(9),
         "nine levels in jsonSchema": yaml_bomb.in_json_schema(9)}


def refused(text: str) -> str:
    with pytest.raises(pf.PromptFileError) as caught:
        pf.loads(text, source="bomb.prompt.yml")
    return str(caught.value)


def line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith(start))


@pytest.mark.parametrize("text", BOMBS.values(), ids=BOMBS.keys())
def test_an_alias_bomb_is_refused_while_reading_in_a_few_hundred_kilobytes(text):
    # Ten aliases per level: the fourth level is the one that passes 100,000 values.
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = refused(text)
        seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == f"bomb.prompt.yml: {VALUES} (line {line_of(text, 'l4:')})"
    assert peak < 1_000_000 and seconds < 2  # read in milliseconds; the old reader's nine levels took 2 GB


def test_aliases_and_merge_keys_within_the_limits_still_load():
    text = ("x-defaults: &row {expected: Paris, weight: 2}\n" + HI +
            "testData:\n  - <<: *row\n    x: France\n  - <<: *row\n    x: Paris, Texas\n    tags: &t [a, b]\n"
            "  - {x: Lyon, tags: *t, expected: Lyon}\n")
    p = pf.loads(text)
    assert p.test_data == [{"expected": "Paris", "weight": 2, "x": "France"},
                           {"expected": "Paris", "weight": 2, "x": "Paris, Texas", "tags": ["a", "b"]},
                           {"x": "Lyon", "tags": ["a", "b"], "expected": "Lyon"}]
    assert p.extra == {"x-defaults": {"expected": "Paris", "weight": 2}}
    assert pf.loads(pf.dumps(p)) == p


@pytest.mark.parametrize("text, message", [
    # Without any alias: too many values in a small file.
    (HI + "testData:\n  - x: [" + "1, " * 100_001 + "]\n", f"{VALUES} (line 3)"),
    # Text repeated by aliases: 500,000 characters five times.
    (HI + "x-big: &big " + "a" * 500_000 + "\ntestData:\n  - x: [*big, *big, *big, *big]\n", f"{TEXT} (line 4)"),
    # An alias inside the value it names would repeat forever.
    (HI + "testData:\n  - x: &loop [1, *loop]\n",
     "the alias *loop is inside the value it names: a value cannot contain itself (line 3)"),
    # Nesting: yaml and json would run out of stack long before the file runs out of bytes.
    (HI + "testData:\n  - x: " + "[" * 2_000 + "]" * 2_000 + "\n",
     "nested more than 64 levels deep; that is the limit for a prompt file (line 3)"),
    (HI + "jsonSchema: '{\"name\": \"n\", \"schema\": {\"x\": " + "[" * 100_000 + "]" * 100_000 + "}}'\n",
     "jsonSchema: nested more than 64 levels deep; that is the limit for a prompt file (line 2)"),
    # Values yaml reads but Python cannot hold.
    (HI + "testData:\n  - x: 2025-13-45\n", "testData[0].x: cannot be read: month must be in 1..12 (line 3)"),
    (HI + "testData:\n  - x: " + "7" * 5_000 + "\n",
     "testData[0].x: cannot be read: a number of more than 4,300 digits (line 3)"),
], ids=["values", "text", "recursive alias", "yaml nesting", "json nesting", "bad date", "huge number"])
def test_files_past_the_limits_are_refused_with_the_limit_and_the_line(text, message):
    assert refused(text) == f"bomb.prompt.yml: {message}"


def test_a_file_over_1_mb_is_refused_before_it_is_parsed(tmp_path):
    text = HI + "# " + "a" * pf.MAX_FILE_BYTES + "\n"
    message = "the file is larger than 1 MB (1,048,576 bytes), the limit for a prompt file"
    assert refused(text) == f"bomb.prompt.yml: {message}"
    path = tmp_path / "big.prompt.yml"
    path.write_text(text)
    with pytest.raises(pf.PromptFileError) as caught:
        pf.load(path)
    assert str(caught.value) == f"{path}: {message}"
    # Just under the limit (multi-byte characters counted as bytes) still loads.
    path.write_text(HI + "# " + "é" * ((pf.MAX_FILE_BYTES - len(HI) - 3) // 2) + "\n")
    assert pf.load(path).messages[0].content == "Say {{x}}"


def test_a_template_that_would_fill_in_past_4_million_characters_is_refused():
    # No alias: one value of a million characters, five placeholders (the same works with 100,000).
    with pytest.raises(pf.PromptFileError) as caught:
        pf.render("{{x}} " * 5, {"x": "a" * 1_000_000})
    assert str(caught.value) == ("a template filled in with this row's values would be 5,000,005 characters long; "
                                 "at most 4,000,000 are allowed")
    assert len(pf.render("{{x}} " * 3, {"x": "a" * 1_000_000})) == 3_000_003
