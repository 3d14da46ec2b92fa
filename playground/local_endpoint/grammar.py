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
