"""`.prompt.yml` files as GitHub's `gh models` defines them (reference.md section 7).

`load`/`loads` read a file into plain dataclasses and check every field the format defines; a
mistake raises `PromptFileError` naming the field and the line, e.g.
`evaluators[1].string: needs one of equals, contains, startsWith, endsWith (line 23)`.
Keys the format does not define are kept (`extra` on each object) and written back by
`dumps`/`save`, so a file round-trips without losing them. What `dumps` writes uses gh models'
key names and shapes (jsonSchema as a JSON string), so `gh models eval` loads it.

`render` is the format's templating: plain replacement of `{{key}}` by each value.

Reading is bounded (see `_Loader`): a file of at most 1 MB, holding at most 100,000 values and
2,000,000 characters of text with every alias expanded, nested at most 64 levels deep. Past a
limit the file is refused while yaml composes it, before any value is built. `render` refuses
to fill a template in past 4,000,000 characters.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import yaml

from .client import ChatParams

ROLES = ("system", "user", "assistant")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
STRING_RULES = ("equals", "contains", "startsWith", "endsWith")
BUILTIN_EVALUATORS = ("github/similarity", "github/coherence", "github/fluency", "github/relevance",
                      "github/groundedness")
SCHEMA_KEYS = ("name", "schema", "description", "strict")
TOP_KEYS = ("name", "description", "model", "modelParameters", "responseFormat", "jsonSchema", "messages",
            "testData", "evaluators")

# A prompt file is a few KB; these leave room for thousands of test rows and stop a file whose
# aliases (a "billion laughs": 500 bytes, ten aliases per level) would expand to gigabytes when
# json.dumps or the transport walks its values.
MAX_FILE_BYTES = 1024 * 1024
MAX_VALUES = 100_000  # every scalar, list and mapping, each alias counted as the values it repeats
MAX_TEXT = 2_000_000  # characters of scalars, counted the same way
MAX_DEPTH = 64  # yaml's composer and json recurse: deeper nesting would end in RecursionError
MAX_RENDERED = 4_000_000  # characters of one filled-in template: `{{x}}` 100,000 times is another bomb
LIMIT = "that is the limit for a prompt file"
TOO_LARGE = f"the file is larger than 1 MB ({MAX_FILE_BYTES:,} bytes), the limit for a prompt file"


class PromptFileError(ValueError):
    """A malformed prompt file. `field` is the path of the broken field (`evaluators[1].string`),
    `line` its 1-based line; the message holds both."""

    def __init__(self, field: str, problem: str, line: int | None, source: str | None = None):
        where = f" (line {line})" if line else ""
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{field}: {problem}{where}" if field else f"{prefix}{problem}{where}")
        self.field = field
        self.problem = problem
        self.line = line
        self.source = source


@dataclass
class ModelParameters:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    role: str  # lower case: system, user or assistant
    content: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class StringEvaluator:
    rule: str  # equals | contains | startsWith | endsWith
    value: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Choice:
    choice: str
    score: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LLMEvaluator:
    model_id: str
    prompt: str
    choices: list[Choice]
    system_prompt: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluator:
    """Exactly one of `string`, `llm` and `uses` is set."""

    name: str
    string: StringEvaluator | None = None
    llm: LLMEvaluator | None = None
    uses: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "string" if self.string else "llm" if self.llm else "uses"


@dataclass
class PromptFile:
    messages: list[Message]
    name: str | None = None
    description: str | None = None
    model: str | None = None
    model_parameters: ModelParameters = field(default_factory=ModelParameters)
    response_format: str | None = None  # text | json_object | json_schema
    json_schema: dict[str, Any] | None = None  # {"name", "schema", "strict"?, "description"?}
    test_data: list[dict[str, Any]] = field(default_factory=list)
    evaluators: list[Evaluator] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # The top-level keys in the order the file had them: a loaded file is written back in that order.
    key_order: list[str] = field(default_factory=list, repr=False, compare=False)

    def chat_params(self, default_max_tokens: int | None = None) -> ChatParams:
        """The request parameters the file sets; `default_max_tokens` caps a file without maxTokens."""
        p = self.model_parameters
        if self.response_format == "json_object":
            response_format: Any = "json_object"
        elif self.response_format == "json_schema" and self.json_schema:
            # Only the keys the API's json_schema takes; anything else in the file stays in the file.
            response_format = {k: v for k, v in self.json_schema.items() if k in SCHEMA_KEYS}
        else:
            response_format = None
        return ChatParams(
            temperature=p.temperature, top_p=p.top_p,
            max_tokens=p.max_tokens if p.max_tokens is not None else default_max_tokens,
            response_format=response_format,
        )

    def render_messages(self, values: Mapping[str, Any]) -> list[dict[str, str]]:
        return [{"role": m.role, "content": render(m.content, values)} for m in self.messages]

    def placeholders(self) -> set[str]:
        """Every `{{name}}` the messages use."""
        return {name for m in self.messages for name in PLACEHOLDER.findall(m.content)}


# -- templating -------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{([^{}]+)\}\}")


def as_text(value: Any) -> str:
    """A test-data value as it is put into a template: strings as they are, others as text
    (true/false, numbers as written, lists and maps as JSON, null as empty)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def render(template: str, values: Mapping[str, Any]) -> str:
    """Replace each `{{key}}` by `values[key]` in one pass (a value that itself holds `{{x}}`
    is not expanded again); placeholders with no value stay as they are."""
    if not values or "{{" not in template:
        return template
    keys = sorted((str(k) for k in values), key=len, reverse=True)
    pattern = re.compile("|".join(re.escape("{{" + k + "}}") for k in keys))
    texts = {str(k): as_text(v) for k, v in values.items()}
    # Counted before it is built: a value repeated by many placeholders multiplies like an alias.
    size = len(template) + sum(len(texts[m.group(0)[2:-2]]) - len(m.group(0)) for m in pattern.finditer(template))
    if size > MAX_RENDERED:
        raise PromptFileError("", f"a template filled in with this row's values would be {size:,} characters long; "
                              f"at most {MAX_RENDERED:,} are allowed", None)
    return pattern.sub(lambda m: texts[m.group(0)[2:-2]], template)


# -- reading ----------------------------------------------------------------------------------

def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


class _OverLimit(Exception):
    def __init__(self, problem: str, mark: Any):
        super().__init__(problem)
        self.problem, self.line = problem, mark.line + 1 if mark is not None else None


class _Loader(yaml.SafeLoader):
    """yaml's safe loader that counts, while it composes, what the file holds with every alias
    expanded, and stops at the limits. Composed nodes share an alias's target, so a bomb stays
    small until something walks its values; counting here refuses it before that (and before
    merge keys copy entries), in time and memory proportional to the file."""

    def __init__(self, text: str):
        super().__init__(text)
        self.values = self.characters = self.depth = 0
        self.sizes: dict[str, tuple[int, int]] = {}  # per anchor: the values and characters it stands for

    def _count(self, values: int, characters: int, mark: Any) -> None:
        self.values += values
        self.characters += characters
        if self.values > MAX_VALUES:
            raise _OverLimit(f"too large: more than {MAX_VALUES:,} values, each alias counted as the values it "
                             f"repeats; {LIMIT}", mark)
        if self.characters > MAX_TEXT:
            raise _OverLimit(f"too large: more than {MAX_TEXT:,} characters of text, each alias counted as the "
                             f"text it repeats; {LIMIT}", mark)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            size = self.sizes.get(str(event.anchor))
            if size is None and event.anchor in self.anchors:  # its anchor is still being composed
                raise _OverLimit(f"the alias *{event.anchor} is inside the value it names: a value cannot contain "
                                 "itself", event.start_mark)
            if size is not None:
                self._count(*size, event.start_mark)
            return super().compose_node(parent, index)  # an undefined alias: yaml's own error
        if self.depth >= MAX_DEPTH:
            raise _OverLimit(f"nested more than {MAX_DEPTH} levels deep; {LIMIT}", event.start_mark)
        before = self.values, self.characters
        self.depth += 1
        node = super().compose_node(parent, index)
        self.depth -= 1
        self._count(1, len(node.value) if isinstance(node, yaml.ScalarNode) else 0, event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.sizes[anchor] = self.values - before[0], self.characters - before[1]
        return node


class _Reader:
    """Walks yaml's composed nodes so every problem can name its line."""

    def __init__(self, text: str, source: str | None):
        self.source = source
        self.loader = _Loader(text)
        try:
            self.root = self.loader.get_single_node()
        except _OverLimit as exc:
            raise PromptFileError("", exc.problem, exc.line, source) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise PromptFileError("", f"not valid YAML: {exc.problem or exc.context}",
                                  mark.line + 1 if mark else None, source) from None
        except yaml.YAMLError as exc:
            raise PromptFileError("", f"not valid YAML: {exc}", None, source) from None

    def error(self, path: str, problem: str, node: yaml.Node | None) -> PromptFileError:
        return PromptFileError(path, problem, _line(node), self.source)

    def value(self, node: yaml.Node, path: str) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self.error(path, f"cannot be read: {exc}", node) from None
        except ValueError as exc:  # yaml reads it, Python cannot hold it: 2025-13-45, a 5,000-digit number
            problem = (f"a number of more than {sys.get_int_max_str_digits():,} digits"
                       if node.tag == "tag:yaml.org,2002:int" else str(exc))
            raise self.error(path, f"cannot be read: {problem}", node) from None

    def mapping(self, node: yaml.Node, path: str,
                what: str = "a mapping (key: value lines)") -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(path, f"must be {what}", node)
        self.loader.flatten_mapping(node)  # merge keys (<<)
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, path)
            if not isinstance(key, str):
                raise self.error(path, f"keys must be text, got {key!r}", key_node)
            if key in entries:
                raise self.error(f"{path}.{key}" if path else key, "is given twice", key_node)
            entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(path, "must be a list (lines starting with '- ')", node)
        return list(node.value)

    def is_null(self, node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    def text(self, node: yaml.Node, path: str, *, allow_empty: bool = True) -> str:
        if not isinstance(node, yaml.ScalarNode) or self.is_null(node):
            raise self.error(path, "must be text", node)
        value = self.value(node, path)
        # `name: 2025` or `equals: true` is meant as text, as gh models reads it: the scalar as written.
        result = value if isinstance(value, str) else node.value
        if not allow_empty and not result.strip():
            raise self.error(path, "must not be empty", node)
        return result

    def optional_text(self, entries: dict, key: str, path: str) -> str | None:
        if key not in entries or self.is_null(entries[key][1]):
            return None
        return self.text(entries[key][1], path)

    @overload
    def number(self, node: yaml.Node, path: str, *, integer: Literal[True]) -> int | None: ...

    @overload
    def number(self, node: yaml.Node, path: str, *, integer: bool = False) -> float | int | None: ...

    def number(self, node: yaml.Node, path: str, *, integer: bool = False) -> float | int | None:
        if self.is_null(node):
            return None
        value = self.value(node, path) if isinstance(node, yaml.ScalarNode) else None
        if integer:
            if not isinstance(value, int) or isinstance(value, bool):
                raise self.error(path, f"must be a whole number, got {_shown(node)}", node)
            return value
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise self.error(path, f"must be a number, got {_shown(node)}", node)
        return value

    def extras(self, entries: dict, known: Iterable[str], path: str) -> dict[str, Any]:
        known = set(known)
        return {k: self.value(v, f"{path}.{k}" if path else k) for k, (_, v) in entries.items() if k not in known}


def _shown(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return repr(node.value)
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


def _check_size(text: str, source: str | None) -> None:
    # Characters first: more characters than the limit's bytes is too large without encoding it.
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise PromptFileError("", TOO_LARGE, None, source)


def _too_deep(value: Any) -> bool:
    """Whether JSON data nests lists and objects more than MAX_DEPTH deep (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def loads(text: str, source: str | None = None) -> PromptFile:
    """Parse a prompt file's text; `source` (a file name) prefixes error messages."""
    _check_size(text, source)
    r = _Reader(text, source)
    if r.root is None:
        raise PromptFileError("", "the file is empty; a prompt file needs at least `messages`", 1, source)
    top = r.mapping(r.root, "", "a mapping of name, model, messages, ...")

    def node(key: str) -> yaml.Node | None:
        entry = top.get(key)
        return entry[1] if entry and not r.is_null(entry[1]) else None

    result = PromptFile(messages=[])
    result.name = r.optional_text(top, "name", "name")
    result.description = r.optional_text(top, "description", "description")
    result.model = r.optional_text(top, "model", "model")

    if (params_node := node("modelParameters")) is not None:
        entries = r.mapping(params_node, "modelParameters")
        params = ModelParameters(extra=r.extras(entries, ("maxTokens", "temperature", "topP"), "modelParameters"))
        if "maxTokens" in entries:
            params.max_tokens = r.number(entries["maxTokens"][1], "modelParameters.maxTokens", integer=True)
            if params.max_tokens is not None and params.max_tokens < 1:
                raise r.error("modelParameters.maxTokens", f"must be at least 1, got {params.max_tokens}",
                              entries["maxTokens"][1])
        if "temperature" in entries:
            params.temperature = r.number(entries["temperature"][1], "modelParameters.temperature")
            if params.temperature is not None and not 0 <= params.temperature <= 2:
                raise r.error("modelParameters.temperature", f"must be between 0 and 2, got {params.temperature}",
                              entries["temperature"][1])
        if "topP" in entries:
            params.top_p = r.number(entries["topP"][1], "modelParameters.topP")
            if params.top_p is not None and not 0 <= params.top_p <= 1:
                raise r.error("modelParameters.topP", f"must be between 0 and 1, got {params.top_p}",
                              entries["topP"][1])
        result.model_parameters = params

    if (format_node := node("responseFormat")) is not None:
        value = r.text(format_node, "responseFormat")
        if value not in RESPONSE_FORMATS:
            raise r.error("responseFormat", f"must be one of {', '.join(RESPONSE_FORMATS)}, got {value!r}", format_node)
        result.response_format = value

    if (schema_node := node("jsonSchema")) is not None:
        result.json_schema = _json_schema(r, schema_node)
    if result.response_format == "json_schema" and result.json_schema is None:
        raise r.error("jsonSchema", "is required when responseFormat is json_schema", format_node)

    messages_node = node("messages")
    if messages_node is None:
        raise r.error("messages", "is required: a list of {role, content}", r.root)
    message_nodes = r.sequence(messages_node, "messages")
    if not message_nodes:
        raise r.error("messages", "needs at least one message", messages_node)
    for index, message_node in enumerate(message_nodes):
        path = f"messages[{index}]"
        entries = r.mapping(message_node, path, "a mapping with role and content")
        if "role" not in entries:
            raise r.error(f"{path}.role", "is required (system, user or assistant)", message_node)
        role_node = entries["role"][1]
        role = r.text(role_node, f"{path}.role").strip().lower()
        if role not in ROLES:
            raise r.error(f"{path}.role", f"must be system, user or assistant, got {role_node.value!r}", role_node)
        if "content" not in entries or r.is_null(entries["content"][1]):
            raise r.error(f"{path}.content", "is required", message_node)
        content = r.text(entries["content"][1], f"{path}.content")
        result.messages.append(Message(role, content, r.extras(entries, ("role", "content"), path)))

    if (data_node := node("testData")) is not None:
        for index, row_node in enumerate(r.sequence(data_node, "testData")):
            path = f"testData[{index}]"
            entries = r.mapping(row_node, path, "a mapping of variable: value")
            result.test_data.append({key: r.value(value, f"{path}.{key}") for key, (_, value) in entries.items()})

    if (evaluators_node := node("evaluators")) is not None:
        for index, evaluator_node in enumerate(r.sequence(evaluators_node, "evaluators")):
            result.evaluators.append(_evaluator(r, evaluator_node, f"evaluators[{index}]"))

    result.extra = r.extras(top, TOP_KEYS, "")
    result.key_order = list(top)
    return result


def _json_schema(r: _Reader, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        text = r.text(node, "jsonSchema")
        try:
            schema = json.loads(text)
        except RecursionError:
            raise r.error("jsonSchema", f"nested more than {MAX_DEPTH} levels deep; {LIMIT}", node) from None
        except json.JSONDecodeError as exc:
            # The JSON's own line inside a block scalar: the block starts on the line after `jsonSchema: |`.
            offset = (node.start_mark.line + 1) if node.style in ("|", ">") else node.start_mark.line
            raise PromptFileError("jsonSchema", f"is not valid JSON: {exc.msg} (JSON line {exc.lineno}, "
                                  f"column {exc.colno})", offset + exc.lineno, r.source) from None
    elif isinstance(node, yaml.MappingNode):  # older files: the same keys as a YAML mapping
        r.mapping(node, "jsonSchema")
        schema = r.value(node, "jsonSchema")
    else:
        raise r.error("jsonSchema", "must be a JSON string (or a mapping) holding name and schema", node)
    if not isinstance(schema, dict):
        raise r.error("jsonSchema", "must hold a JSON object with name and schema", node)
    if _too_deep(schema):
        raise r.error("jsonSchema", f"nested more than {MAX_DEPTH} levels deep; {LIMIT}", node)
    for key in ("name", "schema"):
        if key not in schema:
            raise r.error("jsonSchema", f"must contain '{key}'", node)
    if not isinstance(schema["schema"], dict):
        raise r.error("jsonSchema.schema", "must be a JSON object", node)
    return schema


def _evaluator(r: _Reader, node: yaml.Node, path: str) -> Evaluator:
    entries = r.mapping(node, path, "a mapping with name and one of string, llm, uses")
    if "name" not in entries:
        raise r.error(f"{path}.name", "is required", node)
    name = r.text(entries["name"][1], f"{path}.name", allow_empty=False)
    kinds = [k for k in ("string", "llm", "uses") if k in entries and not r.is_null(entries[k][1])]
    if len(kinds) != 1:
        problem = "needs one of string, llm, uses" if not kinds else f"has {' and '.join(kinds)}: give only one"
        raise r.error(path, problem, node)
    evaluator = Evaluator(name, extra=r.extras(entries, ("name", "string", "llm", "uses"), path))
    kind = kinds[0]
    kind_node = entries[kind][1]
    kind_path = f"{path}.{kind}"
    if kind == "uses":
        uses = r.text(kind_node, kind_path).strip()
        if uses not in BUILTIN_EVALUATORS:
            raise r.error(kind_path, f"unknown evaluator {uses!r}; known: {', '.join(BUILTIN_EVALUATORS)}", kind_node)
        evaluator.uses = uses
    elif kind == "string":
        rules = r.mapping(kind_node, kind_path, f"a mapping with one of {', '.join(STRING_RULES)}")
        given = [k for k in STRING_RULES if k in rules]
        if len(given) != 1:
            problem = (f"needs one of {', '.join(STRING_RULES)}" if not given
                       else f"has {' and '.join(given)}: give only one")
            raise r.error(kind_path, problem, kind_node)
        rule = given[0]
        value = r.text(rules[rule][1], f"{kind_path}.{rule}")
        if value == "":
            raise r.error(f"{kind_path}.{rule}", "must not be empty", rules[rule][1])
        evaluator.string = StringEvaluator(rule, value, r.extras(rules, STRING_RULES, kind_path))
    else:
        llm = r.mapping(kind_node, kind_path, "a mapping with modelId, prompt and choices")
        for key in ("modelId", "prompt", "choices"):
            if key not in llm or r.is_null(llm[key][1]):
                raise r.error(f"{kind_path}.{key}", "is required", kind_node)
        model_id = r.text(llm["modelId"][1], f"{kind_path}.modelId", allow_empty=False)
        prompt = r.text(llm["prompt"][1], f"{kind_path}.prompt", allow_empty=False)
        system_prompt = r.optional_text(llm, "systemPrompt", f"{kind_path}.systemPrompt")
        choice_nodes = r.sequence(llm["choices"][1], f"{kind_path}.choices")
        if not choice_nodes:
            raise r.error(f"{kind_path}.choices", "needs at least one {choice, score}", llm["choices"][1])
        choices = []
        for index, choice_node in enumerate(choice_nodes):
            choice_path = f"{kind_path}.choices[{index}]"
            entries_c = r.mapping(choice_node, choice_path, "a mapping with choice and score")
            for key in ("choice", "score"):
                if key not in entries_c:
                    raise r.error(f"{choice_path}.{key}", "is required", choice_node)
            text = r.text(entries_c["choice"][1], f"{choice_path}.choice", allow_empty=False)
            score = r.number(entries_c["score"][1], f"{choice_path}.score")
            if score is None:
                raise r.error(f"{choice_path}.score", "is required", choice_node)
            choices.append(Choice(text, float(score), r.extras(entries_c, ("choice", "score"), choice_path)))
        evaluator.llm = LLMEvaluator(model_id, prompt, choices, system_prompt,
                                     r.extras(llm, ("modelId", "prompt", "choices", "systemPrompt"), kind_path))
    return evaluator


def read_text(path: str | Path) -> str:
    """A prompt file's text, read no further than the size limit: a huge file (or /dev/zero) is
    refused, not read whole."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as file:
            text = file.read(MAX_FILE_BYTES + 1)
    except UnicodeDecodeError:
        raise PromptFileError("", "is not UTF-8 text", None, str(path)) from None
    _check_size(text, str(path))
    return text


def load(path: str | Path) -> PromptFile:
    return loads(read_text(path), source=str(Path(path)))


# -- writing ----------------------------------------------------------------------------------

def _number(value: float) -> int | float:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def to_data(prompt: PromptFile) -> dict[str, Any]:
    """The file as plain YAML data, in gh models' key names and order, unknown keys after."""
    data: dict[str, Any] = {}
    for key, value in (("name", prompt.name), ("description", prompt.description), ("model", prompt.model)):
        if value is not None:
            data[key] = value
    p = prompt.model_parameters
    params = {k: v for k, v in (("maxTokens", p.max_tokens), ("temperature", p.temperature), ("topP", p.top_p))
              if v is not None}
    params.update(p.extra)
    if params:
        data["modelParameters"] = params
    if prompt.response_format is not None:
        data["responseFormat"] = prompt.response_format
    if prompt.json_schema is not None:
        # gh models reads jsonSchema only as a JSON string.
        data["jsonSchema"] = json.dumps(prompt.json_schema, indent=2, ensure_ascii=False)
    data["messages"] = [{"role": m.role, "content": m.content, **m.extra} for m in prompt.messages]
    if prompt.test_data:
        data["testData"] = [dict(row) for row in prompt.test_data]
    if prompt.evaluators:
        data["evaluators"] = [_evaluator_data(e) for e in prompt.evaluators]
    for key, value in prompt.extra.items():
        data.setdefault(key, value)
    if prompt.key_order:
        order = {key: index for index, key in enumerate(prompt.key_order)}
        data = dict(sorted(data.items(), key=lambda item: order.get(item[0], len(order))))
    return data


def _evaluator_data(evaluator: Evaluator) -> dict[str, Any]:
    data: dict[str, Any] = {"name": evaluator.name}
    if evaluator.string:
        data["string"] = {evaluator.string.rule: evaluator.string.value, **evaluator.string.extra}
    elif evaluator.llm:
        llm = evaluator.llm
        body: dict[str, Any] = {"modelId": llm.model_id}
        if llm.system_prompt is not None:
            body["systemPrompt"] = llm.system_prompt
        body["prompt"] = llm.prompt
        body["choices"] = [{"choice": c.choice, "score": _number(c.score), **c.extra} for c in llm.choices]
        body.update(llm.extra)
        data["llm"] = body
    elif evaluator.uses:
        data["uses"] = evaluator.uses
    data.update(evaluator.extra)
    return data


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:  # multi-line text as a literal block, as people write prompts
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def dumps(prompt: PromptFile) -> str:
    return yaml.dump(to_data(prompt), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


def save(prompt: PromptFile, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(dumps(prompt), encoding="utf-8")
    return path


def prompts_dir(configured: str | None) -> Path:
    """Where prompt files are listed and saved: PLAYGROUND_PROMPTS_DIR (`Settings.prompts_dir`), else ./prompts."""
    return Path(configured) if configured else Path("prompts")


def list_prompt_files(folder: str | Path) -> list[Path]:
    """Every `*.prompt.yml` under `folder`, sorted; none if the folder does not exist."""
    folder = Path(folder)
    return sorted(folder.rglob("*.prompt.yml")) if folder.is_dir() else []


# -- from a chat ------------------------------------------------------------------------------

INPUT = "input"


def from_chat(system_prompt: str | None, messages: Sequence[Mapping[str, Any]], params: ChatParams,
              model: str | None, name: str | None = None) -> PromptFile:
    """"Save as prompt file": the system prompt, the conversation up to its last user message,
    with that message replaced by `{{input}}` and a testData row holding the original (and the
    reply that followed it, as `expected`, when there was one). Parameters the format has
    (maxTokens, temperature, topP, response format) are kept; the others have no place in it."""
    chat = [{"role": str(m.get("role", "")).lower(), "content": str(m.get("content") or "")} for m in messages]
    chat = [m for m in chat if m["role"] in ("user", "assistant")]
    last_user = max((i for i, m in enumerate(chat) if m["role"] == "user"), default=None)
    result_messages: list[Message] = []
    if system_prompt and system_prompt.strip():
        result_messages.append(Message("system", system_prompt.strip()))
    row: dict[str, Any] = {}
    if last_user is None:
        result_messages += [Message(m["role"], m["content"]) for m in chat]
        result_messages.append(Message("user", "{{input}}"))
    else:
        result_messages += [Message(m["role"], m["content"]) for m in chat[:last_user]]
        result_messages.append(Message("user", "{{" + INPUT + "}}"))
        row[INPUT] = chat[last_user]["content"]
        reply = next((m["content"] for m in chat[last_user + 1:] if m["role"] == "assistant"), None)
        if reply:
            row["expected"] = reply

    response_format = json_schema = None
    if params.response_format == "json_object":
        response_format = "json_object"
    elif isinstance(params.response_format, dict):
        response_format, json_schema = "json_schema", dict(params.response_format)
    return PromptFile(
        name=name or _title(row.get(INPUT)),
        description="Saved from the Model Playground",
        model=model,
        model_parameters=ModelParameters(params.max_tokens, params.temperature, params.top_p),
        response_format=response_format,
        json_schema=json_schema,
        messages=result_messages,
        test_data=[row] if row else [],
    )


def _title(text: str | None) -> str:
    words = " ".join((text or "").split())
    return (words[:57] + "...") if len(words) > 60 else (words or "Untitled prompt")


__all__ = [
    "PromptFile", "PromptFileError", "ModelParameters", "Message", "Evaluator", "StringEvaluator",
    "LLMEvaluator", "Choice", "load", "loads", "read_text", "MAX_FILE_BYTES", "TOO_LARGE", "dumps", "save", "to_data",
    "render", "as_text", "from_chat",
    "prompts_dir", "list_prompt_files",
    "BUILTIN_EVALUATORS", "STRING_RULES",
]
