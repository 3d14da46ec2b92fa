"""Function calling, without Streamlit: the Tools panel's drafts turned into the request's
`tools` / `tool_choice`, checks that name the field at fault, a tool call's arguments checked
against its function's schema, and the tools part of a preset or a saved conversation's setup.

A draft is what the user typed: `{"id", "name", "description", "parameters"}` with the
parameters as JSON text. The choice is kept as "auto" | "none" | "required" | "function:<name>"
(a function may itself be called "auto"). Parallel tool calls are on unless the user turns them
off; only then is `parallel_tool_calls: false` sent, as OpenAI documents it (an extra field:
Model Inference endpoints may ignore it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from . import state as keys
from .params import TOOL_CHOICES, Problem, function_problems, parse_json_field

FUNCTION = "function:"
DEFAULT_PARAMETERS = ('{\n  "type": "object",\n  "properties": {\n    "city": {"type": "string"}\n  },\n'
                      '  "required": ["city"]\n}')
MAX_FUNCTIONS = 32
MAX_CANNED = 20  # per function


def defaults() -> dict[str, Any]:
    return {keys.TOOLS: [], keys.TOOLS_NEXT_ID: 0, keys.TOOL_CHOICE: "auto", keys.PARALLEL_TOOLS: True,
            keys.CANNED: {}}


def add_draft(state: MutableMapping[str, Any], name: str = "", description: str = "",
              parameters: str = DEFAULT_PARAMETERS) -> dict[str, Any]:
    """A new function draft; ids are never reused, so each draft's inputs start from its own values."""
    draft = {"id": state[keys.TOOLS_NEXT_ID], "name": name, "description": description, "parameters": parameters}
    state[keys.TOOLS_NEXT_ID] += 1
    state[keys.TOOLS] = [*state[keys.TOOLS], draft]
    return draft


def remove_draft(state: MutableMapping[str, Any], draft_id: int) -> None:
    state[keys.TOOLS] = [d for d in state[keys.TOOLS] if d["id"] != draft_id]


def label(draft: Mapping[str, Any], index: int) -> str:
    """How messages name a function: by its name when it has one, else by its place."""
    name = str(draft.get("name") or "").strip()
    return f"Function '{name}'" if name else f"Function {index + 1}"


def function_of(draft: Mapping[str, Any], index: int) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The wire tool (`{"type": "function", "function": {...}}`) a draft defines, or None and
    what is wrong, each problem naming the function and the field."""
    where = label(draft, index)
    function: dict[str, Any] = {"name": str(draft.get("name") or "").strip()}
    description = str(draft.get("description") or "").strip()
    if description:
        function["description"] = description
    parameters, problem = parse_json_field(str(draft.get("parameters") or ""), f"{where}: parameters")
    problems = [Problem(f"tools[{index}].parameters", problem.message)] if problem else []
    if parameters is not None:
        function["parameters"] = parameters
    for found in function_problems(function, where):
        problems.append(Problem(found.field.replace(where, f"tools[{index}]"), found.message))
    return (None if problems else {"type": "function", "function": function}), problems


def choice_options(drafts: Sequence[Mapping[str, Any]], current: str | None = None) -> list[str]:
    """The choices the panel offers: auto, none, required, each named function, and the current
    choice even when its function is gone (validation then says so, rather than changing it)."""
    options = list(TOOL_CHOICES) + [FUNCTION + str(d.get("name") or "").strip() for d in drafts
                                    if str(d.get("name") or "").strip()]
    if current and current not in options:
        options.append(current)
    return list(dict.fromkeys(options))


def choice_label(option: str) -> str:
    return f"call {option[len(FUNCTION):]}" if option.startswith(FUNCTION) else option


def wire_choice(option: str) -> str | dict[str, Any]:
    if option.startswith(FUNCTION):
        return {"type": "function", "function": {"name": option[len(FUNCTION):]}}
    return option


def option_of(choice: Any) -> str | None:
    """The panel's option for a wire `tool_choice` (from a preset or an import), or None."""
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        return choice
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if isinstance(choice.get("function"), dict) else None
        if isinstance(name, str) and name:
            return FUNCTION + name
    return None


@dataclass
class ToolsRequest:
    """What the panel adds to the request: ChatParams fields and the problems that block sending."""

    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    draft_problems: dict[int, list[Problem]] = field(default_factory=dict)  # by draft id, for the panel


def request_of(drafts: Sequence[Mapping[str, Any]], choice: str, parallel: bool) -> ToolsRequest:
    result = ToolsRequest()
    tools = []
    names: set[str] = set()
    for index, draft in enumerate(drafts):
        tool, problems = function_of(draft, index)
        if tool is not None and tool["function"]["name"] in names:
            problems = [Problem(f"tools[{index}].name", f"{label(draft, index)}: another function has this name.")]
        if problems:
            result.draft_problems[draft["id"]] = problems
            result.problems += problems
        elif tool is not None:
            names.add(tool["function"]["name"])
            tools.append(tool)
    if not drafts:
        return result
    result.tools = tuple(tools)
    result.tool_choice = wire_choice(choice)
    if choice.startswith(FUNCTION) and choice[len(FUNCTION):] not in names and not result.problems:
        result.problems.append(Problem("tool_choice", f"tool_choice: the function '{choice[len(FUNCTION):]}' is "
                                       "not defined any more; pick another choice."))
    if not parallel:
        result.extras["parallel_tool_calls"] = False
    return result


def function_name(call: Mapping[str, Any]) -> str:
    return str((call.get("function") or {}).get("name") or "")


def check_arguments(call: Mapping[str, Any], tools: Sequence[Mapping[str, Any]]) -> tuple[bool, str]:
    """Whether a call's arguments match its function's parameter schema: (True, "arguments match
    the schema") or (False, the first problem, with where it is in the arguments)."""
    name = function_name(call)
    function = next((t.get("function") for t in tools if (t.get("function") or {}).get("name") == name), None)
    if function is None:
        return False, f"'{name}' is not one of the functions defined in the Tools panel."
    text = (call.get("function") or {}).get("arguments") or ""
    try:
        arguments = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        return False, f"the arguments are not valid JSON: {exc}"
    schema = function.get("parameters")
    if not isinstance(schema, dict):
        return True, "the function takes no parameter schema"
    error = best_match(Draft202012Validator(schema).iter_errors(arguments))
    if error is None:
        return True, "arguments match the schema"
    at = "/".join(str(part) for part in error.absolute_path)
    return False, f"arguments do not match the schema{f' at {at}' if at else ''}: {error.message}"


# -- canned results ----------------------------------------------------------------------------

def save_canned(state: MutableMapping[str, Any], name: str, text: str) -> None:
    """Keep a result to reuse for `name`'s calls (newest first, no duplicates)."""
    if not name or not text.strip():
        return
    canned = dict(state[keys.CANNED])
    canned[name] = [text, *(t for t in canned.get(name, []) if t != text)][:MAX_CANNED]
    state[keys.CANNED] = canned


def canned_for(state: Mapping[str, Any], name: str) -> list[str]:
    return list(state[keys.CANNED].get(name, []))


# -- presets and saved setups ----------------------------------------------------------------

def setup_of(state: Mapping[str, Any]) -> dict[str, Any]:
    """The tools part of a preset or a conversation's setup: wire-form tools (parameters whose
    text does not parse are kept as that text), the wire tool_choice, parallel calls, canned results."""
    tools = []
    for draft in state[keys.TOOLS]:
        function: dict[str, Any] = {"name": draft["name"], "description": draft["description"]}
        parameters, problem = parse_json_field(draft["parameters"], "parameters")
        function["parameters"] = draft["parameters"] if problem or not isinstance(parameters, dict) else parameters
        tools.append({"type": "function", "function": function})
    return {"tools": tools, "tool_choice": wire_choice(state[keys.TOOL_CHOICE]),
            "parallel_tool_calls": bool(state[keys.PARALLEL_TOOLS]), "canned_results": dict(state[keys.CANNED])}


def apply_setup(state: MutableMapping[str, Any], setup: Mapping[str, Any]) -> None:
    """Take the tools of an untrusted setup (a preset, an imported file): only values of the right
    shape; a setup without tools (an older one) leaves the panel as it is."""
    for widget in (keys.TOOL_CHOICE_INPUT, keys.PARALLEL_INPUT):  # they start again from the values taken
        state.pop(widget, None)
    tools = setup.get("tools")
    if isinstance(tools, list):
        state[keys.TOOLS] = []
        for tool in tools[:MAX_FUNCTIONS]:
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict):
                continue
            parameters = function.get("parameters")
            text = parameters if isinstance(parameters, str) else (
                json.dumps(parameters, indent=2, ensure_ascii=False) if isinstance(parameters, dict) else "")
            add_draft(state, str(function.get("name") or ""), str(function.get("description") or ""), text)
        state[keys.TOOL_CHOICE] = option_of(setup.get("tool_choice")) or "auto"
    if isinstance(setup.get("parallel_tool_calls"), bool):
        state[keys.PARALLEL_TOOLS] = setup["parallel_tool_calls"]
    canned = setup.get("canned_results")
    if isinstance(canned, dict):
        state[keys.CANNED] = {str(name): [t for t in texts if isinstance(t, str)][:MAX_CANNED]
                              for name, texts in canned.items() if isinstance(texts, list)}
