"""Code that reproduces one chat request exactly, in five languages.

`generate(language, spec)` returns a complete, runnable program: the endpoint and model are
filled in, the key is read from the environment variable the spec names (never written into
the code), and the request carries exactly the spec's messages, parameters, tools and extras.
`languages(spec)` says which languages fit the spec's endpoint, in the order to offer them:
the OpenAI SDKs speak OpenAI v1 endpoints (`{base}/chat/completions`, no api-version), the
azure-ai-inference SDKs the Azure AI Model Inference API; a Model Inference endpoint that
also serves OpenAI v1 (`also_openai_base`, the embedded endpoint's `/v1`) gets both.

Images given as `data:` URLs are never written into the code: each becomes a file
(`attachments(spec)`) that the program loads from its own folder.

Every user string (messages, stop sequences, schema, tools, model, endpoint) is embedded as a
literal built by an escaping serializer (Python `repr`, JSON for JavaScript and the cURL body),
so no quote, backslash, newline, `$`, `${...}`, here-doc delimiter or `</script>` can end a
literal or inject code. Nothing user-supplied is written into a comment.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import shlex
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .types import ChatParams

INFERENCE, OPENAI = "inference", "openai"  # as playground.types: the endpoint's wire API

# Every language, in no particular order; `languages_for` / `languages` give the order to offer.
LANGUAGES = ("python", "python-openai", "javascript", "javascript-openai", "curl")

LABELS = {
    "python": "Python (azure-ai-inference)",
    "python-openai": "Python (openai)",
    "javascript": "JavaScript (@azure-rest/ai-inference)",
    "javascript-openai": "JavaScript (openai)",
    "curl": "cURL",
}
FILE_NAMES = {
    "python": "chat.py",
    "python-openai": "chat_openai.py",
    "javascript": "chat.mjs",
    "javascript-openai": "chat_openai.mjs",
    "curl": "chat.sh",
}
# The name `st.code` and most highlighters use for each language.
HIGHLIGHT = {"python": "python", "python-openai": "python", "javascript": "javascript",
             "javascript-openai": "javascript", "curl": "bash"}
OPENAI_LANGUAGES = ("python-openai", "javascript-openai")

API_VERSION = "2024-05-01-preview"
# The body fields `ChatParams.body()` can produce; each SDK call below knows how to send them.
PARAM_KEYS = (
    "temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty",
    "stop", "seed", "response_format", "tools", "tool_choice",
)
# Extras the OpenAI SDKs take as named arguments (the playground's OpenAI transport sends them so).
OPENAI_NAMED_EXTRAS = ("n", "logprobs", "top_logprobs")
MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")
KEYLESS_PLACEHOLDER = "unused"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_JS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_DATA_URL = re.compile(r"data:image/([A-Za-z0-9.+-]{1,40});base64,([A-Za-z0-9+/]*={0,2})\Z")
_EXTENSIONS = {"jpeg": "jpg", "svg+xml": "svg"}
_JS_MAX_SAFE_INTEGER = 2**53 - 1
_WIDTH = 96


def languages_for(api: str, also_openai: bool = False) -> tuple[str, ...]:
    """The languages offered for an endpoint speaking `api`, first the one to show first.
    OpenAI v1 endpoints do not serve the Model Inference API, so its SDKs are left out; a
    Model Inference endpoint gets the OpenAI SDKs only when it `also_openai` serves OpenAI v1."""
    if api == OPENAI:
        return ("python-openai", "javascript-openai", "curl")
    if api != INFERENCE:
        raise ValueError(f"Unknown API {api!r}; choose {INFERENCE!r} or {OPENAI!r}.")
    return ("python", "javascript", "curl") + (OPENAI_LANGUAGES if also_openai else ())


@dataclass(frozen=True)
class Image:
    """An image part given as a `data:` URL: written next to the program as `file_name`."""

    message: int
    part: int
    file_name: str
    mime_type: str  # image/png
    data: bytes
    detail: str | None = None

    @property
    def image_format(self) -> str:  # png: what ImageUrl.load calls the format
        return self.mime_type.split("/", 1)[1]


@dataclass(frozen=True)
class RequestSpec:
    """One chat request, as the playground sends it.

    `api` is the endpoint's wire API: "inference" (`endpoint_url` is the Model Inference
    endpoint) or "openai" (`endpoint_url` is an OpenAI v1 base such as
    `https://<resource>.openai.azure.com/openai/v1/`; `model`, the deployment, is required).
    `also_openai_base`: for an "inference" endpoint that also serves OpenAI v1, that base.
    `key_variable` is the NAME of the environment variable holding the key (None: the endpoint
    needs no key); `params` is `ChatParams.body()` (wire JSON fields, tools included);
    `extras` are merged into the body root (Model Inference: with `extra-parameters:
    pass-through`). `messages` are wire messages: role, content (a string, None, or a list of
    text / image_url parts), and tool_calls / tool_call_id / name where present."""

    endpoint_url: str
    key_variable: str | None
    model: str | None
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    api: str = INFERENCE
    also_openai_base: str | None = None

    def __post_init__(self) -> None:
        _check_url(self.endpoint_url, "endpoint_url")
        if self.api not in (INFERENCE, OPENAI):
            raise ValueError(f"api must be {INFERENCE!r} or {OPENAI!r}, got {self.api!r}.")
        if self.also_openai_base is not None:
            if self.api == OPENAI:
                raise ValueError("also_openai_base is for Model Inference endpoints only.")
            _check_url(self.also_openai_base, "also_openai_base")
        if self.key_variable is not None and not _IDENTIFIER.match(self.key_variable):
            raise ValueError(f"key_variable must be an environment variable name, got {self.key_variable!r}.")
        if self.model is not None and not isinstance(self.model, str):
            raise ValueError("model must be a string or None.")
        if self.api == OPENAI and not self.model:
            raise ValueError("An OpenAI v1 endpoint needs the model (the deployment name).")
        unknown = set(self.params) - set(PARAM_KEYS)
        if unknown:
            raise ValueError(f"Unknown parameters {sorted(unknown)}; code generation knows {', '.join(PARAM_KEYS)}.")
        clash = set(self.extras) & {"messages", "model", "stream", *PARAM_KEYS}
        if clash:
            raise ValueError(f"extras must not repeat standard fields: {sorted(clash)}.")
        _check_messages(self.messages)
        images(self)  # refuses image data it could not reproduce exactly from a file

    @property
    def insecure(self) -> bool:
        """Plain http: the JavaScript Model Inference SDK refuses it unless told otherwise."""
        return urlsplit(self.endpoint_url).scheme.lower() == "http"

    @property
    def openai_base(self) -> str | None:
        """Where the OpenAI SDK forms send the request (None: they are not offered)."""
        return self.endpoint_url if self.api == OPENAI else self.also_openai_base

    def body(self) -> dict[str, Any]:
        """The JSON body the Model Inference forms (and cURL for such endpoints) send."""
        body: dict[str, Any] = {"messages": _messages(self.messages)}
        if self.model is not None:
            body["model"] = self.model
        body.update(self.params)
        body.update(self.extras)
        if self.stream:
            body["stream"] = True
        return body

    def openai_body(self) -> dict[str, Any]:
        """The JSON body the OpenAI forms (and cURL for OpenAI v1 endpoints) send: the extras
        in the body root, the Llama-style `logprobs: k` as `logprobs: true, top_logprobs: k`."""
        named, extra_body = _openai_extras(self.extras)
        body: dict[str, Any] = {"messages": _messages(self.messages)}
        if self.model is not None:
            body["model"] = self.model
        body.update(self.params)
        body.update(named)
        body.update(extra_body)
        if self.stream:
            body["stream"] = True
        return body


def request_spec(endpoint_url: str, key_variable: str | None, model: str | None,
                 messages: list[dict[str, Any]], params: ChatParams, stream: bool, *,
                 api: str = INFERENCE, also_openai_base: str | None = None) -> RequestSpec:
    """The spec for a request the playground sends with `params` (a `ChatParams`)."""
    return RequestSpec(
        endpoint_url=endpoint_url,
        key_variable=key_variable,
        model=model,
        messages=_messages(messages),
        params=params.body(),
        extras=dict(params.extras),
        stream=stream,
        api=api,
        also_openai_base=also_openai_base,
    )


def languages(spec: RequestSpec) -> tuple[str, ...]:
    """The languages to offer for `spec`, in order."""
    return languages_for(spec.api, spec.also_openai_base is not None)


def label(language: str) -> str:
    return LABELS[_check(language)]


def file_name(language: str) -> str:
    return FILE_NAMES[_check(language)]


def highlight(language: str) -> str:
    return HIGHLIGHT[_check(language)]


def images(spec: RequestSpec) -> list[Image]:
    """The spec's `data:` URL images, numbered in conversation order (image_1.png, ...)."""
    found: list[Image] = []
    for m, message in enumerate(spec.messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for p, part in enumerate(content):
            image_url = part.get("image_url") if isinstance(part, dict) and part.get("type") == "image_url" else None
            url = image_url.get("url") if isinstance(image_url, dict) else None
            if not isinstance(image_url, dict) or not isinstance(url, str) or not url[:5].lower() == "data:":
                continue
            match = _DATA_URL.match(url)
            if not match:
                raise ValueError(f"messages[{m}].content[{p}]: an image data: URL must be "
                                 "data:image/<format>;base64,<data>.")
            try:
                data = base64.b64decode(match.group(2), validate=True)
            except binascii.Error:
                data = b""
            if base64.b64encode(data).decode("ascii") != match.group(2):
                raise ValueError(f"messages[{m}].content[{p}]: the image's base64 data is not in its "
                                 "standard form, so it cannot be reproduced from a file.")
            if set(image_url) - {"url", "detail"} or not isinstance(image_url.get("detail", ""), str):
                raise ValueError(f"messages[{m}].content[{p}].image_url: only url and detail can be sent.")
            subtype = match.group(1)
            extension = _EXTENSIONS.get(subtype.lower(), subtype.lower() if subtype.isalnum() else "img")
            found.append(Image(m, p, f"image_{len(found) + 1}.{extension}", f"image/{subtype}", data,
                               image_url.get("detail")))
    return found


def attachments(spec: RequestSpec) -> list[tuple[str, bytes]]:
    """The files every program for `spec` reads from its own folder: (file name, bytes)."""
    return [(image.file_name, image.data) for image in images(spec)]


def download(language: str, spec: RequestSpec) -> tuple[str, bytes, str]:
    """What the page's Download button offers: (file name, data, MIME type). The program
    alone, or, when it reads image files, a zip of the program and those files."""
    code = generate(language, spec).encode("utf-8")
    files = attachments(spec)
    if not files:
        return file_name(language), code, "text/plain"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in [(file_name(language), code, 0o755 if language == "curl" else 0o644),
                                 *((name, data, 0o644) for name, data in files)]:
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # the same bytes on every rerun
            entry.external_attr = (0o100000 | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return file_name(language).replace(".", "_") + ".zip", buffer.getvalue(), "application/zip"


def generate(language: str, spec: RequestSpec) -> str:
    """A runnable program, in `language`, that sends `spec`'s request and prints the reply."""
    if _check(language) not in languages(spec):
        raise ValueError(f"{LABELS[language]} does not fit this endpoint; choose one of "
                         f"{', '.join(languages(spec))}.")
    return _GENERATORS[language](spec)


def _check(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language {language!r}; choose one of {', '.join(LANGUAGES)}.")
    return language


def _check_url(url: Any, name: str) -> None:
    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).netloc:
        raise ValueError(f"{name} must be an http:// or https:// URL, got {url!r}.")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise ValueError(f"{name} must not contain spaces or control characters.")


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list):
        raise ValueError("messages must be a list.")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ValueError(f"messages[{index}] must be an object with a role.")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise ValueError(f"messages[{index}].content must be a string, a list of parts or null.")


def _messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The wire fields of each message (the playground's own bookkeeping left out)."""
    return [{key: m[key] for key in MESSAGE_KEYS if key in m} for m in messages]


def _openai_extras(extras: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The extras the OpenAI SDKs take as named arguments, and the rest (`extra_body`)."""
    named = {key: extras[key] for key in OPENAI_NAMED_EXTRAS if key in extras}
    logprobs = named.get("logprobs")
    if isinstance(logprobs, int) and not isinstance(logprobs, bool):
        named["logprobs"], named["top_logprobs"] = True, logprobs  # Llama's count of alternatives
    rest = {key: value for key, value in extras.items() if key not in OPENAI_NAMED_EXTRAS}
    return named, rest


class _Code(str):
    """Program text placed into a literal as is (built by this module from safe literals)."""


def _with_images(spec: RequestSpec, replace: Callable[[Image], Any]) -> list[dict[str, Any]]:
    """The spec's messages with each data: URL image's `image_url` replaced by `replace(image)`."""
    messages = _messages(spec.messages)
    for image in images(spec):
        message = messages[image.message] = dict(messages[image.message])
        content = message["content"] = list(message["content"])
        content[image.part] = {**content[image.part], "image_url": replace(image)}
    return messages


def _image_files_note(spec: RequestSpec, comment: str) -> list[str]:
    names = [image.file_name for image in images(spec)]
    if not names:
        return []
    return [f"{comment}Reads the images from the files next to it: {', '.join(names)}."]


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
    if isinstance(value, _Code):
        return str.__str__(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return _py_str(value)
    raise TypeError(f"Cannot embed {type(value).__name__} in generated code.")


def _js_scalar(value: Any) -> str:
    if isinstance(value, _Code):
        return str.__str__(value)
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


# --- Python: shared ---------------------------------------------------------------------------


def _python_output(spec: RequestSpec, call: list[str], chunk: str) -> list[str]:
    """`call` (the SDK call's lines) and the printing of its reply; both Python SDKs shape
    replies alike (`choices[0].message` / `.delta`, `tool_calls[].function.name/arguments`)."""
    tools = bool(spec.params.get("tools"))
    if spec.stream:
        lines = ["with " + call[0]] + call[1:-1] + [call[-1] + " as response:"]
        lines += [f"    for {chunk} in response:"]
        if chunk == "update":
            lines += ["        if update.choices and update.choices[0].delta:"]
        else:
            lines += [f"        if {chunk}.choices:"]
        if tools:
            lines += [
                f"            delta = {chunk}.choices[0].delta",
                "            for call in delta.tool_calls or []:",
                "                if call.function and call.function.name:",
                '                    print(f"tool call {call.function.name}: ", end="")',
                '                print(call.function and call.function.arguments or "", end="", flush=True)',
                '            print(delta.content or "", end="", flush=True)',
            ]
        else:
            lines += [f'            print({chunk}.choices[0].delta.content or "", end="", flush=True)']
        return lines + ["print()"]
    lines = ["response = " + call[0]] + call[1:]
    if tools:
        return lines + [
            "message = response.choices[0].message",
            "for call in message.tool_calls or []:",
            '    print(f"tool call {call.function.name}: {call.function.arguments}")',
            "if message.content:",
            "    print(message.content)",
        ]
    return lines + ["print(response.choices[0].message.content)"]


# --- Python: azure-ai-inference --------------------------------------------------------------


def _python(spec: RequestSpec) -> str:
    schema = spec.params.get("response_format", {}).get("type") == "json_schema"
    pictures = images(spec)
    lines = [
        '"""Sends the playground\'s chat request again.',
        "",
        "Needs: pip install azure-ai-inference",
    ]
    if spec.key_variable:
        lines += [f"Reads the key from the environment variable {spec.key_variable}."]
    lines += _image_files_note(spec, "")
    lines += ['"""', ""]
    if spec.key_variable:
        lines += ["import os"]
    if pictures:
        lines += ["from pathlib import Path"]
    if spec.key_variable or pictures:
        lines += [""]
    lines += ["from azure.ai.inference import ChatCompletionsClient"]
    models = (["ImageUrl"] if pictures else []) + (["JsonSchemaFormat"] if schema else [])
    if models:
        lines += [f"from azure.ai.inference.models import {', '.join(models)}"]
    lines += ["from azure.core.credentials import AzureKeyCredential", ""]
    if pictures:
        lines += ["HERE = Path(__file__).resolve().parent", ""]
    credential: tuple[str, str | None]  # (the argument, its comment)
    if spec.key_variable:
        credential = (f"AzureKeyCredential(os.environ[{_py_str(spec.key_variable)}])", None)
    else:
        credential = (f"AzureKeyCredential({_py_str(KEYLESS_PLACEHOLDER)})", "this endpoint needs no key")
    lines += _call_lines("client = ChatCompletionsClient(", [
        (f"endpoint={_py_str(spec.endpoint_url)}", None),
        (f"credential={credential[0]}", credential[1]),
    ])
    lines += [""]

    def load(image: Image) -> _Code:
        detail = f", detail={_py_str(image.detail)}" if image.detail is not None else ""
        return _Code(f"ImageUrl.load(image_file=str(HERE / {_py_str(image.file_name)}), "
                     f"image_format={_py_str(image.image_format)}{detail})")

    args: list[tuple[str, str | None]] = [(f"messages={_py(_with_images(spec, load), 4)}", None)]
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
    lines += _python_output(spec, _call_lines("client.complete(", args), "update")
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
    base = spec.openai_base
    assert base is not None
    pictures = images(spec)
    lines = [
        '"""Sends the playground\'s chat request again, with the OpenAI SDK.',
        "",
        "Needs: pip install openai",
    ]
    if spec.key_variable:
        lines += [f"Reads the key from the environment variable {spec.key_variable}."]
    lines += _image_files_note(spec, "")
    lines += ['"""', ""]
    if pictures:
        lines += ["import base64"]
    if spec.key_variable:
        lines += ["import os"]
    if pictures:
        lines += ["from pathlib import Path"]
    if spec.key_variable or pictures:
        lines += [""]
    lines += ["from openai import OpenAI" + (", omit" if spec.model is None else ""), ""]
    if pictures:
        lines += [
            "HERE = Path(__file__).resolve().parent",
            "",
            "",
            "def data_url(file_name, mime_type):",
            '    """A file next to this program as a data: URL."""',
            '    data = base64.b64encode((HERE / file_name).read_bytes()).decode("ascii")',
            '    return f"data:{mime_type};base64,{data}"',
            "",
            "",
        ]
    api_key: tuple[str, str | None]  # (the argument, its comment)
    if spec.key_variable:
        api_key = (f"os.environ[{_py_str(spec.key_variable)}]", None)
    else:
        api_key = (_py_str(KEYLESS_PLACEHOLDER), "this endpoint needs no key")
    lines += _call_lines("client = OpenAI(", [
        (f"base_url={_py_str(base)}", None),
        (f"api_key={api_key[0]}", api_key[1]),
    ])
    lines += [""]

    def load(image: Image) -> dict[str, Any]:
        url = _Code(f"data_url({_py_str(image.file_name)}, {_py_str(image.mime_type)})")
        return {"url": url} if image.detail is None else {"url": url, "detail": image.detail}

    args: list[tuple[str, str | None]] = [(f"messages={_py(_with_images(spec, load), 4)}", None)]
    if spec.model is not None:
        args.append((f"model={_py_str(spec.model)}", None))
    else:
        # The SDK requires `model`; `omit` leaves the field out of the request, as the playground
        # does for an endpoint that serves one model.
        args.append(("model=omit", "this endpoint serves one model: no model name is sent"))
    named, extra_body = _openai_extras(spec.extras)
    for key, value in {**spec.params, **named}.items():
        args.append((f"{key}={_py(value, 4)}", None))
    if extra_body:
        args.append((f"extra_body={_py(extra_body, 4)}", "merged into the request body"))
    if spec.stream:
        args.append(("stream=True", None))
    lines += _python_output(spec, _call_lines("client.chat.completions.create(", args), "chunk")
    return "\n".join(lines) + "\n"


# --- JavaScript: shared ----------------------------------------------------------------------


def _js_key_lines(spec: RequestSpec) -> tuple[list[str], str]:
    """The lines reading the key from the environment, and the expression holding it."""
    if not spec.key_variable:
        return [], _js_str(KEYLESS_PLACEHOLDER)
    return [
        f"const key = process.env[{_js_str(spec.key_variable)}];",
        "if (!key) {",
        f"  console.error({_js_str('Set ' + spec.key_variable + ' to your key.')});",
        "  process.exit(1);",
        "}",
    ], "key"


def _js_images(spec: RequestSpec) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Imports, helper lines and the messages, with data: URL images read from files."""
    if not images(spec):
        return [], [], _messages(spec.messages)

    def load(image: Image) -> dict[str, Any]:
        url = _Code(f"dataUrl({_js_str(image.file_name)}, {_js_str(image.mime_type)})")
        return {"url": url} if image.detail is None else {"url": url, "detail": image.detail}

    return ['import { readFileSync } from "node:fs";'], [
        "// A file next to this program as a data: URL.",
        "const dataUrl = (fileName, mimeType) =>",
        '  `data:${mimeType};base64,${readFileSync(new URL(fileName, import.meta.url)).toString("base64")}`;',
    ], _with_images(spec, load)


def _js_big_ints(body: dict[str, Any]) -> list[str]:
    if any(abs(i) > _JS_MAX_SAFE_INTEGER for i in _ints(body)):
        return ["// Note: JavaScript numbers hold integers exactly only up to 2**53 - 1; larger ones are rounded."]
    return []


def _js_stream_choice(spec: RequestSpec, indent: str) -> list[str]:
    """Printing one streamed choice (`choice`), tool call pieces included."""
    lines = []
    if spec.params.get("tools"):
        lines += [
            f"{indent}for (const call of choice.delta?.tool_calls ?? []) {{",
            f"{indent}  if (call.function?.name) process.stdout.write(`tool call ${{call.function.name}}: `);",
            f'{indent}  process.stdout.write(call.function?.arguments ?? "");',
            f"{indent}}}",
        ]
    return lines + [f'{indent}process.stdout.write(choice.delta?.content ?? "");']


def _js_message(spec: RequestSpec, message: str, indent: str) -> list[str]:
    """Printing a whole reply's first message (`message` is its expression)."""
    if not spec.params.get("tools"):
        return [f"{indent}console.log({message}.content);"]
    return [
        f"{indent}const message = {message};",
        f"{indent}for (const call of message.tool_calls ?? []) {{",
        f"{indent}  console.log(`tool call ${{call.function.name}}: ${{call.function.arguments}}`);",
        f"{indent}}}",
        f"{indent}if (message.content) console.log(message.content);",
    ]


# --- JavaScript: @azure-rest/ai-inference ----------------------------------------------------


def _javascript(spec: RequestSpec) -> str:
    packages = "@azure-rest/ai-inference @azure/core-auth" + (" @azure/core-sse" if spec.stream else "")
    image_imports, image_helper, messages = _js_images(spec)
    lines = [
        "// Sends the playground's chat request again. Node.js 20 or later; save as chat.mjs.",
        f"// Needs: npm install {packages}",
    ]
    if spec.key_variable:
        lines += [f"// Reads the key from the environment variable {spec.key_variable}."]
    lines += _image_files_note(spec, "// ")
    lines += [
        'import ModelClient, { isUnexpected } from "@azure-rest/ai-inference";',
        'import { AzureKeyCredential } from "@azure/core-auth";',
    ]
    if spec.stream:
        lines += ['import { createSseStream } from "@azure/core-sse";']
    lines += image_imports
    lines += [""]
    key_lines, key = _js_key_lines(spec)
    lines += key_lines
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
    lines += _js_big_ints(spec.body())
    if image_helper:
        lines += image_helper
    lines += [""]
    body = {**spec.body(), "messages": messages}
    post = ['const response = await client.path("/chat/completions").post({']
    if spec.extras:
        post += ['  headers: { "extra-parameters": "pass-through" },']
    post += [f"  body: {_js(body, 2)},"]
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
            *_js_stream_choice(spec, "    "),
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
            *_js_message(spec, "response.body.choices[0].message", ""),
        ]
    return "\n".join(lines) + "\n"


# --- JavaScript: openai ----------------------------------------------------------------------


def _javascript_openai(spec: RequestSpec) -> str:
    base = spec.openai_base
    assert base is not None
    image_imports, image_helper, messages = _js_images(spec)
    lines = [
        "// Sends the playground's chat request again, with the OpenAI SDK. Node.js 20 or later;",
        "// save as chat_openai.mjs. Needs: npm install openai",
    ]
    if spec.key_variable:
        lines += [f"// Reads the key from the environment variable {spec.key_variable}."]
    lines += _image_files_note(spec, "// ")
    lines += ['import OpenAI from "openai";'] + image_imports + [""]
    key_lines, key = _js_key_lines(spec)
    lines += key_lines
    lines += [f"const client = new OpenAI({{ baseURL: {_js_str(base)}, apiKey: {key} }});"
              + ("" if spec.key_variable else "  // this endpoint needs no key")]
    body = {**spec.openai_body(), "messages": messages}
    lines += _js_big_ints(body)
    if image_helper:
        lines += image_helper
    if spec.extras:
        lines += ["// Extra parameters go into the body root with the standard ones."]
    lines += ["", "try {"]
    lines += [f"  const response = await client.chat.completions.create({_js(body, 2)});"]
    if spec.stream:
        lines += [
            "  for await (const chunk of response) {",
            "    for (const choice of chunk.choices) {",
            *_js_stream_choice(spec, "      "),
            "    }",
            "  }",
            '  process.stdout.write("\\n");',
        ]
    else:
        lines += _js_message(spec, "response.choices[0].message", "  ")
    lines += [
        "} catch (error) {",
        "  if (!(error instanceof OpenAI.APIError)) throw error;",
        "  console.error(`HTTP ${error.status}: ${error.message}`);",
        "  process.exit(1);",
        "}",
    ]
    return "\n".join(lines) + "\n"


# --- cURL ------------------------------------------------------------------------------------


def _curl(spec: RequestSpec) -> str:
    # The body goes through quoted here-docs: bash expands nothing in them. It is ASCII-only
    # JSON, so no line of it can equal the delimiter.
    openai = spec.api == OPENAI
    pictures = images(spec)
    lines = [
        "#!/usr/bin/env bash",
        "# Sends the playground's chat request again" + (" (OpenAI v1 API)." if openai else "."),
    ]
    if spec.key_variable:
        lines += [f"# Reads the key from the environment variable {spec.key_variable}."]
    lines += _image_files_note(spec, "# ")
    lines += ["set -euo pipefail", ""]
    if pictures:
        lines += ['HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)']
    lines += [f"ENDPOINT={shlex.quote(spec.endpoint_url.rstrip('/'))}", ""]
    route = '"$ENDPOINT/chat/completions"' if openai else f'"$ENDPOINT/chat/completions?api-version={API_VERSION}"'
    curl = [
        "curl --fail-with-body --silent --show-error" + (" --no-buffer" if spec.stream else "") + " \\",
        f"  -X POST {route} \\",
    ]
    if spec.key_variable:
        var = spec.key_variable
        curl += [f'  -H "Authorization: Bearer ${{{var}:?Set {var} to your key}}" \\']
    curl += ['  -H "Content-Type: application/json" \\']
    if spec.extras and not openai:
        curl += ['  -H "extra-parameters: pass-through" \\']
    body = spec.openai_body() if openai else spec.body()
    if not pictures:
        lines += curl + ["  --data-binary @- <<'JSON'", _json_ascii(body), "JSON"]
    else:
        lines += _curl_body_function(spec, body, pictures) + [""] + ["body | " + curl[0]] + curl[1:]
        lines += ["  --data-binary @-"]
    lines += ["echo"]
    return "\n".join(lines) + "\n"


def _curl_body_function(spec: RequestSpec, body: dict[str, Any], pictures: list[Image]) -> list[str]:
    """A bash function printing the JSON body: here-docs for the JSON, each image's data: URL
    (a JSON string token) printed between them from its file with base64."""
    serial = 0
    while True:  # a marker string no user text serializes to
        markers = [f"\x00image {serial} {n}\x00" for n in range(len(pictures))]
        tokens = [json.dumps(marker) for marker in markers]
        by_image = {(image.message, image.part): marker for image, marker in zip(pictures, markers, strict=True)}
        # The image_url object keeps its other fields (detail); only the url becomes the marker.
        marked = dict(body, messages=[
            {**m, "content": [
                {**part, "image_url": {**part["image_url"], "url": by_image[(i, j)]}} if (i, j) in by_image else part
                for j, part in enumerate(m["content"])
            ]} if isinstance(m.get("content"), list) else m
            for i, m in enumerate(body["messages"])
        ])
        text = _json_ascii(marked)
        if all(text.count(token) == 1 for token in tokens):
            break
        serial += 1
    lines = ["body() {"]
    for image, token in zip(pictures, tokens, strict=True):
        head, text = text.split(token, 1)
        lines += ["  cat <<'JSON'", head.rstrip(" "), "JSON"]  # the newline after `head` is JSON whitespace
        lines += [f"  printf '\"data:%s;base64,' {shlex.quote(image.mime_type)}",
                  f"  base64 < \"$HERE\"/{shlex.quote(image.file_name)} | tr -d '\\n'",
                  "  printf '\"'"]
    lines += ["  cat <<'JSON'", text.lstrip("\n") or " ", "JSON", "}"]
    return lines


def _json_ascii(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_GENERATORS: dict[str, Callable[[RequestSpec], str]] = {
    "python": _python,
    "python-openai": _python_openai,
    "javascript": _javascript,
    "javascript-openai": _javascript_openai,
    "curl": _curl,
}
