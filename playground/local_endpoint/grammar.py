"""GBNF grammars that constrain the embedded model's output: JSON replies and tool calls.

llama-cpp-python's JSON-schema converter lets a string hold any character but `"` and `\\`,
so a raw newline or other control character can land inside a string and the reply is not
JSON (`json.loads` refuses U+0000..U+001F unescaped). Its plain JSON grammar excludes them;
`schema_gbnf` makes schema strings do the same, in the grammar, so the model cannot emit them.
"""

from __future__ import annotations

import json
import re
from typing import Any

# The converter's string-character rule, exactly as llama-cpp-python 0.3.x writes it, and
# the same rule without control characters (as in its own JSON_GBNF). If a new version writes
# the rule differently, `schema_gbnf` fails loudly instead of silently allowing them again.
_CHAR_RULE = re.compile(r'^(char ::= )\[\^"\\\\\](.*)$', re.MULTILINE)
_SAFE_CHAR = r'[^"\\\x7F\x00-\x1F]'
# Its `dot` (used by `pattern` strings) allows every character but CR and LF.
_DOT_RULE = re.compile(r"^(dot ::= )\[\^\\x0A\\x0D\]$", re.MULTILINE)


def schema_gbnf(schema: dict[str, Any]) -> str:
    """The grammar of JSON values valid against `schema`, with no raw control character in strings."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    gbnf = json_schema_to_gbnf(json.dumps(schema))
    gbnf = _DOT_RULE.sub(lambda m: m.group(1) + r"[^\x00-\x1F\x7F]", gbnf)
    if re.search(r"^char ::= ", gbnf, re.MULTILINE):
        gbnf, count = _CHAR_RULE.subn(lambda m: m.group(1) + _SAFE_CHAR + m.group(2), gbnf)
        if count != 1:
            raise RuntimeError("llama-cpp-python's JSON-schema grammar changed: cannot exclude control characters")
    return gbnf


def json_object_gbnf() -> str:
    """Any JSON object (llama-cpp-python's JSON grammar already excludes control characters)."""
    from llama_cpp.llama_grammar import JSON_GBNF

    return JSON_GBNF


# --- limits ------------------------------------------------------------------------------
#
# llama.cpp's grammar parser refuses some grammars (and llama-cpp-python then samples with a
# NULL grammar: the process dies), and a grammar with many live alternatives makes every token
# cost more. So a schema is measured before it is converted, and the grammar before it is used;
# bench/bench_grammar.py has the numbers behind each limit.

# The converter writes `maxLength: n` (and maxItems, `{0,n}` in a pattern) as n nested optional
# groups, two parser rules each; llama.cpp refuses more than 2000 rules inside one group, so
# 1000 builds and 1001 does not. Fixed counts (minLength...) are limited alike: their grammar
# grows with them.
MAX_REPETITION = 1000
# Enum values, anyOf/oneOf branches, type lists and optional properties, in the whole schema:
# each one still possible is checked against the whole vocabulary for every token (about 0.3 ms
# each on one core here: 256 of them add about 80 ms per token).
MAX_ALTERNATIVES = 256
# Schemas (every property, item and branch; a $ref counts as what it refers to) and how deep
# they nest: keeps the conversion itself quick and its recursion shallow.
MAX_SCHEMA_NODES = 1000
MAX_SCHEMA_DEPTH = 32
MAX_PATTERN_LENGTH = 1000
# llama.cpp parses about 6 KB of grammar per millisecond: 256 KiB take about 45 ms.
MAX_GRAMMAR_BYTES = 256 * 1024

_REPETITION_KEYS = ("minLength", "maxLength", "minItems", "maxItems")
_QUANTIFIER = re.compile(r"\{([^}]*)\}")
# After a backslash llama.cpp's grammar parser takes only these characters...
_GBNF_ESCAPES = frozenset('xuUtrn\\"[]')
# ...and outside [...] the converter unescapes these before the parser sees them.
_UNESCAPED_BY_CONVERTER = frozenset("[]()|{}*+?")


class SchemaRefused(ValueError):
    """A schema over one of the limits: `field` is the path of what to change."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class SchemaBudget:
    """Nodes and alternatives counted so far: one budget for everything that ends up in one
    grammar (the response format, or all the tools' parameters)."""

    def __init__(self, scope: str):
        self.scope = scope
        self.nodes = 0
        self.alternatives = 0

    def add_node(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_SCHEMA_NODES:
            raise SchemaRefused(self.scope, f"'{self.scope}' has more than {MAX_SCHEMA_NODES} schemas (properties, "
                                "items and branches, a $ref counting as what it refers to); the embedded model "
                                f"takes at most {MAX_SCHEMA_NODES}.")

    def add_alternatives(self, count: int, at: str) -> None:
        self.alternatives += count
        if self.alternatives > MAX_ALTERNATIVES:
            raise SchemaRefused(at, f"'{at}' brings the alternatives of '{self.scope}' (enum values, anyOf and oneOf "
                                f"branches, type lists, optional properties) to {self.alternatives}; the embedded "
                                f"model takes at most {MAX_ALTERNATIVES}: each one slows down every token.")


def check_schema(schema: dict[str, Any], where: str, budget: SchemaBudget | None = None,
                 refs: bool = True) -> None:
    """Raise SchemaRefused if the grammar of `schema` (found at `where`) is over a limit.
    `refs=False` refuses every $ref (a tool's parameters are converted inside the call
    schema, where `#/...` means something else)."""
    _Walk(schema, where, budget or SchemaBudget(where), refs).visit(schema, where, 1)


class _Walk:
    def __init__(self, root: dict[str, Any], where: str, budget: SchemaBudget, refs: bool):
        self.root, self.where, self.budget, self.refs = root, where, budget, refs
        self.resolving: list[str] = []

    def visit(self, node: Any, at: str, depth: int) -> None:
        if not isinstance(node, dict):
            return  # not a schema: the converter says so
        if depth > MAX_SCHEMA_DEPTH:
            raise SchemaRefused(at, f"'{at}' is nested {depth} schemas deep; the embedded model takes schemas "
                                f"nested at most {MAX_SCHEMA_DEPTH} deep.")
        self.budget.add_node()
        for key in _REPETITION_KEYS:
            _check_count(node.get(key), f"{at}.{key}")
        if isinstance(node.get("pattern"), str):
            check_pattern(node["pattern"], f"{at}.pattern")
        self._count_alternatives(node, at)
        for key in ("anyOf", "oneOf", "allOf", "prefixItems", "items"):
            if isinstance(node.get(key), list):
                for index, item in enumerate(node[key]):
                    self.visit(item, f"{at}.{key}[{index}]", depth + 1)
        for key in ("items", "additionalProperties"):
            self.visit(node.get(key), f"{at}.{key}", depth + 1)
        if isinstance(node.get("properties"), dict):
            for name, item in node["properties"].items():
                self.visit(item, f"{at}.properties.{name}", depth + 1)
        if isinstance(node.get("$ref"), str):
            self._follow(node["$ref"], f"{at}.$ref", depth + 1)

    def _count_alternatives(self, node: dict[str, Any], at: str) -> None:
        for key in ("enum", "anyOf", "oneOf", "type"):
            if isinstance(node.get(key), list):
                self.budget.add_alternatives(len(node[key]), f"{at}.{key}")
        properties = node.get("properties")
        if isinstance(properties, dict):
            required = node.get("required")
            optional = [name for name in properties if not (isinstance(required, list) and name in required)]
            self.budget.add_alternatives(len(optional) + (node.get("additionalProperties") not in (None, False)),
                                         f"{at}.properties")

    def _follow(self, ref: str, at: str, depth: int) -> None:
        """A $ref counts as the schema it refers to; one that leads back to itself is refused:
        llama.cpp refuses a left-recursive grammar, and an ambiguous recursive one doubles the
        work of each token with every level the model opens."""
        if not self.refs:
            raise SchemaRefused(at, f"'{at}': the embedded model does not take $ref in a tool's parameters; "
                                "write the schema out in place.")
        if ref in self.resolving:
            raise SchemaRefused(at, f"'{at}' refers to {ref!r}, which contains it: the embedded model does not take "
                                "recursive schemas.")
        target: Any = self.root
        path = self.where
        # Resolved as llama-cpp-python's converter does: `#/a/b` names keys of the schema itself.
        for key in ref[2:].split("/") if ref.startswith("#/") else [None]:
            if not isinstance(target, dict) or key not in target:
                raise SchemaRefused(at, f"'{at}' must refer to a part of this schema, as in '#/$defs/name'; "
                                    f"got {ref[:80]!r}.")
            target, path = target[key], f"{path}.{key}"
        self.resolving.append(ref)
        self.visit(target, path, depth)
        self.resolving.pop()


def _check_count(value: Any, at: str) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > MAX_REPETITION:
        shown = value if isinstance(value, int) else f"{value:g}"
        raise SchemaRefused(at, f"'{at}' is {shown}; the embedded model takes at most {MAX_REPETITION} here "
                            "(llama.cpp cannot build the grammar of a longer repetition).")


def check_pattern(pattern: str, at: str) -> None:
    """What of a `pattern` llama.cpp's parser would refuse (after the converter) or that
    grows the grammar: its length, escapes the parser does not know, and its repetitions
    (llama.cpp counts those of one group together, so all of them are added up)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise SchemaRefused(at, f"'{at}' is {len(pattern)} characters long; the embedded model takes patterns of at "
                            f"most {MAX_PATTERN_LENGTH}.")
    in_class, index = False, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index + 1:index + 2]
            allowed = _GBNF_ESCAPES if in_class else _GBNF_ESCAPES | _UNESCAPED_BY_CONVERTER
            if escaped not in allowed or not escaped:
                shown = "\\" + escaped if escaped else "a lone \\ at the end"
                raise SchemaRefused(at, f"'{at}' uses {shown}, which the embedded model cannot turn into a grammar; "
                                    "write the characters out instead, for example [0-9] for \\d.")
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]":
            in_class = False
        index += 1
    repetitions = sum(1 for char in pattern if char in "*+?")
    for quantifier in _QUANTIFIER.findall(pattern):
        bounds = [part.strip() for part in quantifier.split(",")]
        repetitions += max((int(part) for part in bounds if part.isdigit()), default=1)
    if repetitions > MAX_REPETITION:
        raise SchemaRefused(at, f"'{at}' repeats up to {repetitions} times in all ({{n,m}}, *, + and ? add up); "
                            f"the embedded model takes at most {MAX_REPETITION}.")


def check_gbnf(gbnf: str, where: str) -> None:
    """The last check, on the grammar itself: its size, then llama.cpp's own parser (with no
    vocabulary: a parse is all it does), so that what it would refuse is a 400 here and not
    a NULL grammar that crashes the process when sampling."""
    size = len(gbnf.encode("utf-8"))
    if size > MAX_GRAMMAR_BYTES:
        raise SchemaRefused(where, f"The grammar built from '{where}' is {size} bytes; the embedded model takes "
                            f"grammars of at most {MAX_GRAMMAR_BYTES} bytes (about 30 strings of maxLength 1000).")
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(None, gbnf.encode("utf-8"), b"root")
    if not sampler:
        raise SchemaRefused(where, f"llama.cpp cannot build the grammar of '{where}' (its grammar parser refuses "
                            "it: too many repetitions nested in one group, or left recursion).")
    llama_cpp.llama_sampler_free(sampler)


# --- tool calls --------------------------------------------------------------------------
#
# The model calls a tool by writing `{"name": "<tool>", "arguments": {...}}`, constrained by a
# grammar built from the tools' parameter schemas, so the name is one of the allowed tools and
# the arguments are valid against that tool's schema. `name` comes first (the converter keeps
# the order of `properties`), so a stream can announce the call before its arguments.
#
# tool_choice "auto" lets the model choose in one generation: the grammar is either a call
# (which must begin with "{") or plain text (which must not begin with "{" or whitespace).

NO_PARAMETERS = {"type": "object", "properties": {}, "additionalProperties": False}


def _call_schema(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool["function"]
    return {
        "type": "object",
        "properties": {"name": {"const": function["name"]},
                       "arguments": function.get("parameters") or NO_PARAMETERS},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def tool_call_gbnf(tools: list[dict[str, Any]], allow_text: bool) -> str:
    """A call of one of `tools`; with `allow_text`, plain text instead is allowed too."""
    schemas = [_call_schema(tool) for tool in tools]
    gbnf = schema_gbnf(schemas[0] if len(schemas) == 1 else {"anyOf": schemas})
    if not allow_text:
        return gbnf
    gbnf = re.sub(r"^root ::= ", "tool-call ::= ", gbnf, count=1, flags=re.MULTILINE)
    return gbnf + '\nroot ::= tool-call | plain-text\nplain-text ::= [^{ \\t\\n\\r] [^\\x00]*\n'


def describe_tools(tools: list[dict[str, Any]], choice: str | dict[str, Any]) -> str:
    """The system-prompt text that tells the model about its tools and how to call one."""
    lines = ["You can call these tools:"]
    for tool in tools:
        function = tool["function"]
        line = f"- {function['name']}"
        if function.get("description"):
            line += f": {function['description']}"
        line += f"\n  arguments (JSON schema): {json.dumps(function.get('parameters') or NO_PARAMETERS)}"
        lines.append(line)
    call = 'To call a tool, reply with only a JSON object: {"name": "<tool name>", "arguments": {<arguments>}}.'
    if isinstance(choice, dict):
        lines.append(call + f" Call the tool {choice['function']['name']} now.")
    elif choice == "required":
        lines.append(call + " Call one of them now.")
    else:
        lines.append(call + " If no tool is needed, answer in plain text.")
    return "\n".join(lines)


def render_call(name: str, arguments: str) -> str:
    """An earlier assistant tool call, in the form the model writes one."""
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError):
        return f'{{"name": {json.dumps(name)}, "arguments": {arguments}}}'
    return json.dumps({"name": name, "arguments": value})


_CALL_HEAD = re.compile(r'\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*')


class CallText:
    """Follows the text of a constrained call as it grows and tells the tool name (once known)
    and the argument text that can be sent so far. The call ends with the `}` that closes
    the outer object, so a trailing run of `}` and spaces is held back until more text shows
    it belongs to the arguments."""

    def __init__(self) -> None:
        self.text = ""
        self.name: str | None = None
        self._arguments_start = 0
        self.sent = 0  # characters of the arguments already handed out

    def feed(self, piece: str) -> None:
        self.text += piece
        if self.name is None:
            head = _CALL_HEAD.match(self.text)
            if head:
                self.name = json.loads(head.group(1))
                self._arguments_start = head.end()

    def _pending(self) -> str:
        # The space the grammar allows after the colon may come in a later piece: never part of it.
        return self.text[self._arguments_start:].lstrip() if self.name is not None else ""

    def take(self) -> str:
        """Argument text not handed out yet that surely belongs to the arguments."""
        pending = self._pending()
        safe = len(pending.rstrip("} \t\n\r"))
        piece = pending[self.sent:safe] if safe > self.sent else ""
        self.sent += len(piece)
        return piece

    def arguments(self) -> str:
        """The whole argument text of a finished call (without the closing of the outer object)."""
        pending = self._pending().rstrip()
        if pending.endswith("}"):
            pending = pending[:-1].rstrip()
        return pending

    def take_rest(self) -> str:
        rest = self.arguments()[self.sent:]
        self.sent += len(rest)
        return rest
