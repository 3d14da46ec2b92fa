"""Code that reproduces one chat request exactly, in four languages.

`generate(language, spec)` returns a complete, runnable program: the endpoint and model are
filled in, the key is read from the environment variable the spec names (never written into
the code), and the request carries exactly the spec's messages, parameters and extras.

Every user string (messages, stop sequences, schema, model, endpoint) is embedded as a literal
built by an escaping serializer (Python `repr`, JSON for JavaScript and the cURL body), so no
quote, backslash, newline, `$`, `${...}`, here-doc delimiter or `</script>` can end a literal or
inject code. Nothing user-supplied is written into a comment.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .client import ChatParams

LANGUAGES = ("python", "javascript", "curl", "python-openai")

LABELS = {
    "python": "Python (azure-ai-inference)",
    "javascript": "JavaScript (@azure-rest/ai-inference)",
    "curl": "cURL",
    "python-openai": "Python (openai)",
}
FILE_NAMES = {
    "python": "chat.py",
    "javascript": "chat.mjs",
    "curl": "chat.sh",
    "python-openai": "chat_openai.py",
}
# The name `st.code` and most highlighters use for each language.
HIGHLIGHT = {"python": "python", "javascript": "javascript", "curl": "bash", "python-openai": "python"}

API_VERSION = "2024-05-01-preview"
# The body fields `ChatParams.body()` can produce; each SDK call below knows how to send them.
PARAM_KEYS = (
    "temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty",
    "stop", "seed", "response_format",
)
KEYLESS_PLACEHOLDER = "unused"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_JS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_JS_MAX_SAFE_INTEGER = 2**53 - 1
_WIDTH = 96


@dataclass(frozen=True)
class RequestSpec:
    """One chat request, as the playground sends it.

    `key_variable` is the NAME of the environment variable holding the key (None: the endpoint
    needs no key); `params` is `ChatParams.body()` (wire JSON fields); `extras` are merged into
    the body root and sent with `extra-parameters: pass-through`."""

    endpoint_url: str
    key_variable: str | None
    model: str | None
    messages: list[dict[str, str]]
    params: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    stream: bool = False

    def __post_init__(self) -> None:
        url = self.endpoint_url
        if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError(f"endpoint_url must be an http:// or https:// URL, got {url!r}.")
        if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
            raise ValueError("endpoint_url must not contain spaces or control characters.")
        if self.key_variable is not None and not _IDENTIFIER.match(self.key_variable):
            raise ValueError(f"key_variable must be an environment variable name, got {self.key_variable!r}.")
        if self.model is not None and not isinstance(self.model, str):
            raise ValueError("model must be a string or None.")
        unknown = set(self.params) - set(PARAM_KEYS)
        if unknown:
            raise ValueError(f"Unknown parameters {sorted(unknown)}; code generation knows {', '.join(PARAM_KEYS)}.")
        clash = set(self.extras) & {"messages", "model", "stream", *PARAM_KEYS}
        if clash:
            raise ValueError(f"extras must not repeat standard fields: {sorted(clash)}.")

    @property
    def insecure(self) -> bool:
        """Plain http: the JavaScript SDK refuses it unless told otherwise."""
        return urlsplit(self.endpoint_url).scheme.lower() == "http"

    def body(self) -> dict[str, Any]:
        """The JSON body every generated program sends."""
        body: dict[str, Any] = {"messages": _messages(self.messages)}
        if self.model is not None:
            body["model"] = self.model
        body.update(self.params)
        body.update(self.extras)
        if self.stream:
            body["stream"] = True
        return body


def request_spec(endpoint_url: str, key_variable: str | None, model: str | None,
                 messages: list[dict[str, str]], params: "ChatParams", stream: bool) -> RequestSpec:
    """The spec for a request the playground sends with `params` (a `ChatParams`)."""
    return RequestSpec(
        endpoint_url=endpoint_url,
        key_variable=key_variable,
        model=model,
        messages=_messages(messages),
        params=params.body(),
        extras=dict(params.extras),
        stream=stream,
    )


def label(language: str) -> str:
    return LABELS[_check(language)]


def file_name(language: str) -> str:
    return FILE_NAMES[_check(language)]


def highlight(language: str) -> str:
    return HIGHLIGHT[_check(language)]


def generate(language: str, spec: RequestSpec) -> str:
    """A runnable program, in `language`, that sends `spec`'s request and prints the reply."""
    return _GENERATORS[_check(language)](spec)


def _check(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language {language!r}; choose one of {', '.join(LANGUAGES)}.")
    return language


def _messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]


# --- literals ------------------------------------------------------------------------------


def _py_str(text: str) -> str:
    literal = repr(text)
    # Prefer double quotes when that needs no escaping (repr already escapes everything else).
    if literal.startswith("'") and '"' not in text and "'" not in text:
        literal = '"' + literal[1:-1] + '"'
    return literal


def _js_str(text: str) -> str:
    # JSON string literals are JavaScript string literals; ASCII-only (\uXXXX, surrogate pairs
    # included) and with `<`, `>`, `&` escaped they are also inert inside HTML and `</script>`.
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _number(value: int | float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} cannot be sent in JSON.")
    return repr(value)


def _py_scalar(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return _py_str(value)
    raise TypeError(f"Cannot embed {type(value).__name__} in generated code.")


def _js_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return _js_str(value)
    raise TypeError(f"Cannot embed {type(value).__name__} in generated code.")


def _js_key(key: str) -> str:
    if key == "__proto__":
        return '["__proto__"]'  # a literal `__proto__:` key would set the prototype instead
    return key if _JS_IDENTIFIER.match(key) else _js_str(key)


def _literal(value: Any, scalar: Callable[[Any], str], key: Callable[[str], str], step: int,
             indent: int = 0, width: int = _WIDTH) -> str:
    """`value` (JSON-like) as a Python or JavaScript literal: on one line when it fits,
    else one item per line, with trailing commas (valid in both languages)."""
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str):
                raise TypeError("Object keys must be strings.")
        items = [(key(k) + ": ", v) for k, v in value.items()]
        opening, closing = "{", "}"
    elif isinstance(value, (list, tuple)):
        items = [("", v) for v in value]
        opening, closing = "[", "]"
    else:
        return scalar(value)
    flat = opening + ", ".join(prefix + _literal(v, scalar, key, step, width=10**9) for prefix, v in items) + closing
    if not items or indent + len(flat) <= width:
        return flat
    pad = " " * (indent + step)
    lines = [f"{pad}{prefix}{_literal(v, scalar, key, step, indent + step, width)}," for prefix, v in items]
    return opening + "\n" + "\n".join(lines) + "\n" + " " * indent + closing


def _py(value: Any, indent: int = 0) -> str:
    return _literal(value, _py_scalar, _py_str, 4, indent)


def _js(value: Any, indent: int = 0) -> str:
    return _literal(value, _js_scalar, _js_key, 2, indent)


def _ints(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [i for v in value.values() for i in _ints(v)]
    if isinstance(value, (list, tuple)):
        return [i for v in value for i in _ints(v)]
    return []


def _call_lines(opening: str, args: list[tuple[str, str | None]]) -> list[str]:
    """`opening` then one `arg,` per line (with an optional trailing comment), then `)`."""
    lines = [opening]
    for text, comment in args:
        lines.append(f"    {text}," + (f"  # {comment}" if comment else ""))
    return lines + [")"]


# --- Python: azure-ai-inference --------------------------------------------------------------


def _python(spec: RequestSpec) -> str:
    schema = spec.params.get("response_format", {}).get("type") == "json_schema"
    lines = [
        '"""Sends the playground\'s chat request again.',
        "",
        "Needs: pip install azure-ai-inference",
    ]
    if spec.key_variable:
        lines += [f"Reads the key from the environment variable {spec.key_variable}."]
    lines += ['"""', ""]
    if spec.key_variable:
        lines += ["import os", ""]
    lines += ["from azure.ai.inference import ChatCompletionsClient"]
    if schema:
        lines += ["from azure.ai.inference.models import JsonSchemaFormat"]
    lines += ["from azure.core.credentials import AzureKeyCredential", ""]
    if spec.key_variable:
        credential = (f"AzureKeyCredential(os.environ[{_py_str(spec.key_variable)}])", None)
    else:
        credential = (f"AzureKeyCredential({_py_str(KEYLESS_PLACEHOLDER)})", "this endpoint needs no key")
    lines += _call_lines("client = ChatCompletionsClient(", [
        (f"endpoint={_py_str(spec.endpoint_url)}", None),
        (f"credential={credential[0]}", credential[1]),
    ])
    lines += [""]
    args: list[tuple[str, str | None]] = [(f"messages={_py(_messages(spec.messages), 4)}", None)]
    if spec.model is not None:
        args.append((f"model={_py_str(spec.model)}", None))
    for key, value in spec.params.items():
        if key == "response_format":
            args.append((f"response_format={_python_response_format(value, 4)}", None))
        else:
            args.append((f"{key}={_py(value, 4)}", None))
    if spec.extras:
        args.append((f"model_extras={_py(spec.extras, 4)}",
                     "sent with the header extra-parameters: pass-through"))
    if spec.stream:
        args.append(("stream=True", None))
    call = _call_lines("client.complete(", args)
    if spec.stream:
        lines += ["with " + call[0]] + call[1:-1] + [call[-1] + " as response:"]
        lines += [
            "    for update in response:",
            "        if update.choices and update.choices[0].delta:",
            '            print(update.choices[0].delta.content or "", end="", flush=True)',
            "print()",
        ]
    else:
        lines += ["response = " + call[0]] + call[1:]
        lines += ["print(response.choices[0].message.content)"]
    return "\n".join(lines) + "\n"


def _python_response_format(value: dict[str, Any], indent: int) -> str:
    kind = value.get("type")
    if kind == "json_schema":
        schema = value["json_schema"]
        fields = [f"{key}={_py(schema[key], 4)}" for key in ("name", "schema", "description", "strict")
                  if key in schema]
        unknown = set(schema) - {"name", "schema", "description", "strict"}
        if unknown:
            raise ValueError(f"Unknown json_schema fields {sorted(unknown)}.")
        pad = " " * (4)
        return "JsonSchemaFormat(\n" + "".join(f"{pad}{f},\n" for f in fields) + " " * indent + ")"
    if value == {"type": kind} and isinstance(kind, str):
        return _py_str(kind)  # the SDK sends "json_object" as {"type": "json_object"}
    raise ValueError(f"Unsupported response_format {value!r}.")


# --- Python: openai --------------------------------------------------------------------------


def _python_openai(spec: RequestSpec) -> str:
    lines = [
        '"""Sends the playground\'s chat request again, with the OpenAI SDK.',
        "",
        "Needs: pip install openai",
    ]
    if spec.key_variable:
        lines += [f"Reads the key from the environment variable {spec.key_variable}."]
    lines += ['"""', ""]
    if spec.key_variable:
        lines += ["import os", ""]
    lines += ["from openai import OpenAI" + (", omit" if spec.model is None else ""), ""]
    if spec.key_variable:
        api_key = (f"os.environ[{_py_str(spec.key_variable)}]", None)
    else:
        api_key = (_py_str(KEYLESS_PLACEHOLDER), "this endpoint needs no key")
    lines += _call_lines("client = OpenAI(", [
        (f"base_url={_py_str(spec.endpoint_url)}", None),
        (f"api_key={api_key[0]}", api_key[1]),
        (f"default_query={{\"api-version\": {_py_str(API_VERSION)}}}",
         "the Azure AI Model Inference API's version"),
    ])
    lines += [""]
    args: list[tuple[str, str | None]] = [(f"messages={_py(_messages(spec.messages), 4)}", None)]
    if spec.model is not None:
        args.append((f"model={_py_str(spec.model)}", None))
    else:
        # The SDK requires `model`; `omit` leaves the field out of the request, as the playground
        # does for an endpoint that serves one model.
        args.append(("model=omit", "this endpoint serves one model: no model name is sent"))
    for key, value in spec.params.items():
        args.append((f"{key}={_py(value, 4)}", None))
    if spec.extras:
        args.append((f"extra_body={_py(spec.extras, 4)}", "merged into the request body"))
        args.append(('extra_headers={"extra-parameters": "pass-through"}', None))
    if spec.stream:
        args.append(("stream=True", None))
    call = _call_lines("client.chat.completions.create(", args)
    if spec.stream:
        lines += ["with " + call[0]] + call[1:-1] + [call[-1] + " as response:"]
        lines += [
            "    for chunk in response:",
            "        if chunk.choices:",
            '            print(chunk.choices[0].delta.content or "", end="", flush=True)',
            "print()",
        ]
    else:
        lines += ["response = " + call[0]] + call[1:]
        lines += ["print(response.choices[0].message.content)"]
    return "\n".join(lines) + "\n"


# --- JavaScript: @azure-rest/ai-inference ----------------------------------------------------


def _javascript(spec: RequestSpec) -> str:
    packages = "@azure-rest/ai-inference @azure/core-auth" + (" @azure/core-sse" if spec.stream else "")
    lines = [
        "// Sends the playground's chat request again. Node.js 20 or later; save as chat.mjs.",
        f"// Needs: npm install {packages}",
    ]
    if spec.key_variable:
        lines += [f"// Reads the key from the environment variable {spec.key_variable}."]
    lines += [
        'import ModelClient, { isUnexpected } from "@azure-rest/ai-inference";',
        'import { AzureKeyCredential } from "@azure/core-auth";',
    ]
    if spec.stream:
        lines += ['import { createSseStream } from "@azure/core-sse";']
    lines += [""]
    if spec.key_variable:
        lines += [
            f"const key = process.env[{_js_str(spec.key_variable)}];",
            "if (!key) {",
            f"  console.error({_js_str('Set ' + spec.key_variable + ' to your key.')});",
            "  process.exit(1);",
            "}",
        ]
        key = "key"
    else:
        key = _js_str(KEYLESS_PLACEHOLDER)
    client_args = f"{_js_str(spec.endpoint_url)}, new AzureKeyCredential({key})"
    if spec.insecure:
        lines += [
            "// A plain-http endpoint: the SDK refuses http unless allowed explicitly.",
            f"const client = ModelClient({client_args}, {{ allowInsecureConnection: true }});",
        ]
    else:
        lines += [f"const client = ModelClient({client_args});"]
    if not spec.key_variable:
        lines[-1] += "  // this endpoint needs no key"
    big = [i for i in _ints(spec.body()) if abs(i) > _JS_MAX_SAFE_INTEGER]
    if big:
        lines += ["// Note: JavaScript numbers hold integers exactly only up to 2**53 - 1; larger ones are rounded."]
    lines += [""]
    post = ['const response = await client.path("/chat/completions").post({']
    if spec.extras:
        post += ['  headers: { "extra-parameters": "pass-through" },']
    post += [f"  body: {_js(spec.body(), 2)},"]
    if spec.stream:
        post += ["}).asNodeStream();"]
    else:
        post += ["});"]
    lines += post + [""]
    if spec.stream:
        lines += [
            'if (response.status !== "200") {',
            "  const parts = [];",
            "  for await (const part of response.body) parts.push(part);",
            "  console.error(`HTTP ${response.status}: ${Buffer.concat(parts).toString()}`);",
            "  process.exit(1);",
            "}",
            "for await (const event of createSseStream(response.body)) {",
            '  if (event.data === "[DONE]") break;',
            "  for (const choice of JSON.parse(event.data).choices) {",
            '    process.stdout.write(choice.delta?.content ?? "");',
            "  }",
            "}",
            'process.stdout.write("\\n");',
        ]
    else:
        lines += [
            "if (isUnexpected(response)) {",
            "  console.error(`HTTP ${response.status}: ${JSON.stringify(response.body)}`);",
            "  process.exit(1);",
            "}",
            "console.log(response.body.choices[0].message.content);",
        ]
    return "\n".join(lines) + "\n"


# --- cURL ------------------------------------------------------------------------------------


def _curl(spec: RequestSpec) -> str:
    # The body goes through a quoted here-doc: bash expands nothing in it. It is ASCII-only
    # JSON, so no line of it can equal the delimiter.
    body = _json_ascii(spec.body())
    lines = [
        "#!/usr/bin/env bash",
        "# Sends the playground's chat request again.",
    ]
    if spec.key_variable:
        lines += [f"# Reads the key from the environment variable {spec.key_variable}."]
    lines += [
        "set -euo pipefail",
        "",
        f"ENDPOINT={shlex.quote(spec.endpoint_url.rstrip('/'))}",
        "",
        "curl --fail-with-body --silent --show-error" + (" --no-buffer" if spec.stream else "") + " \\",
        f'  -X POST "$ENDPOINT/chat/completions?api-version={API_VERSION}" \\',
    ]
    if spec.key_variable:
        var = spec.key_variable
        lines += [f'  -H "Authorization: Bearer ${{{var}:?Set {var} to your key}}" \\']
    lines += ['  -H "Content-Type: application/json" \\']
    if spec.extras:
        lines += ['  -H "extra-parameters: pass-through" \\']
    lines += ["  --data-binary @- <<'JSON'", body, "JSON"]
    lines += ["echo"]
    return "\n".join(lines) + "\n"


def _json_ascii(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_GENERATORS: dict[str, Callable[[RequestSpec], str]] = {
    "python": _python,
    "javascript": _javascript,
    "curl": _curl,
    "python-openai": _python_openai,
}
