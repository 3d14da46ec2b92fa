"""Model lists: what an endpoint lists (cached), GitHub Models' catalog (retired 2026-07-30, read
only when GITHUB_MODELS_URL is set), and a built-in list of Microsoft Foundry's Phi and Meta Llama
models for when a Foundry endpoint's list cannot be read.

GitHub's catalog is plain REST (`GET {GITHUB_MODELS_URL}/catalog/models`), not part of an
inference API, so it is read here with the standard library rather than through an SDK.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import PlaygroundError
from .settings import Secret
from .transports.base import retirement

T = TypeVar("T")


@dataclass(frozen=True)
class CatalogModel:
    id: str
    name: str
    publisher: str
    summary: str = ""
    rate_limit_tier: str | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input_modalities: tuple[str, ...] = ("text",)
    output_modalities: tuple[str, ...] = ("text",)
    capabilities: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    html_url: str | None = None
    version: str | None = None
    offline: bool = False  # from the built-in list, not what an endpoint or catalog said

    @property
    def is_reasoning(self) -> bool:
        """o1/o3/o4/gpt-5 families reject temperature and max_tokens."""
        return "reasoning" in self.tags or bool(re.match(r"^(openai/)?(o\d|gpt-5)", self.id))


def _builtin(name: str, publisher: str, summary: str, max_in: int, max_out: int | None,
             vision: bool = False) -> CatalogModel:
    return CatalogModel(name, name, publisher, summary, None, max_in, max_out,
                        input_modalities=("text", "image") if vision else ("text",), offline=True)


# Microsoft Foundry's Phi and Meta Llama chat models, by the model names Foundry deployments carry
# (a deployment is often named after its model). Limits as their model cards publish them; None
# where a card gives no output limit (the playground then uses its default).
BUILTIN_MODELS: tuple[CatalogModel, ...] = (
    _builtin("Phi-4", "Microsoft", "A 14B model trained on synthetic and filtered public data for reasoning.",
             16384, None),
    _builtin("Phi-4-mini-instruct", "Microsoft", "A 3.8B model with a 128K context, strong at reasoning and math.",
             131072, 4096),
    _builtin("Phi-3.5-mini-instruct", "Microsoft", "Refresh of Phi-3-mini: multilingual, 128K context.",
             131072, 4096),
    _builtin("Phi-3-mini-4k-instruct", "Microsoft",
             "Tiniest member of the Phi-3 family. Optimized for both quality and low latency.", 4096, 1024),
    _builtin("Phi-3-mini-128k-instruct", "Microsoft",
             "Same Phi-3-mini model, but with a larger context size for RAG or few shot prompting.", 131072, 4096),
    _builtin("Phi-3-small-8k-instruct", "Microsoft",
             "A 7B parameters model, better quality than Phi-3-mini, focused on reasoning-dense data.", 8192, 2048),
    _builtin("Phi-3-small-128k-instruct", "Microsoft",
             "Same Phi-3-small model, but with a larger context size for RAG or few shot prompting.", 131072, 4096),
    _builtin("Phi-3-medium-4k-instruct", "Microsoft",
             "A 14B parameters model, better quality than Phi-3-mini, focused on reasoning-dense data.", 4096, 1024),
    _builtin("Phi-3-medium-128k-instruct", "Microsoft",
             "Same Phi-3-medium model, but with a larger context size for RAG or few shot prompting.", 131072, 4096),
    _builtin("Llama-3.3-70B-Instruct", "Meta",
             "Llama 3.3 70B Instruct offers enhanced reasoning, math, and instruction following.", 128000, 4096),
    _builtin("Meta-Llama-3.1-8B-Instruct", "Meta",
             "Llama 3.1 instruction tuned text model, optimized for multilingual dialogue.", 131072, 4096),
    _builtin("Meta-Llama-3.1-70B-Instruct", "Meta",
             "Llama 3.1 instruction tuned text model, optimized for multilingual dialogue.", 131072, 4096),
    _builtin("Meta-Llama-3.1-405B-Instruct", "Meta",
             "Llama 3.1 instruction tuned text model, optimized for multilingual dialogue.", 131072, 4096),
    _builtin("Llama-3.2-11B-Vision-Instruct", "Meta",
             "Image reasoning on high-resolution images for visual understanding apps.", 128000, 8192, vision=True),
    _builtin("Llama-3.2-90B-Vision-Instruct", "Meta",
             "Advanced image reasoning for visual understanding agentic apps.", 128000, 8192, vision=True),
    _builtin("Llama-3.2-1B-Instruct", "Meta", "A small multilingual text model for on-device style tasks.",
             128000, None),
    _builtin("Llama-3.2-3B-Instruct", "Meta", "A small multilingual text model for summarising and rewriting.",
             128000, None),
)
_BUILTIN_BY_NAME = {m.name.lower(): m for m in BUILTIN_MODELS}


def builtin_card(model_id: str) -> CatalogModel | None:
    """The built-in card for a listed model id (`Phi-4`, `microsoft/phi-4`), for its limits."""
    return _BUILTIN_BY_NAME.get(model_id.rsplit("/", 1)[-1].lower())


def github_builtin_models() -> list[CatalogModel]:
    """The built-in list under GitHub Models' historical ids (`microsoft/phi-4`), for its offline list."""
    from dataclasses import replace

    return [replace(m, id=f"{m.publisher.lower()}/{m.name.lower()}") for m in BUILTIN_MODELS]


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def parse_catalog(data: Any) -> list[CatalogModel]:
    """Models from the catalog's JSON array; entries without an id are skipped, unknown
    fields ignored, so a catalog that grows new fields keeps working."""
    if not isinstance(data, list):
        raise PlaygroundError("GitHub Models' catalog answered with something other than a list of models.")
    models = []
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        limits = entry.get("limits")
        if not isinstance(limits, dict):
            limits = {}
        models.append(CatalogModel(
            id=entry["id"],
            name=str(entry.get("name") or entry["id"]),
            publisher=str(entry.get("publisher") or entry["id"].split("/")[0]),
            summary=str(entry.get("summary") or ""),
            rate_limit_tier=entry.get("rate_limit_tier") if isinstance(entry.get("rate_limit_tier"), str) else None,
            max_input_tokens=_int_or_none(limits.get("max_input_tokens")),
            max_output_tokens=_int_or_none(limits.get("max_output_tokens")),
            input_modalities=_strings(entry.get("supported_input_modalities")) or ("text",),
            output_modalities=_strings(entry.get("supported_output_modalities")) or ("text",),
            capabilities=_strings(entry.get("capabilities")),
            tags=_strings(entry.get("tags")),
            html_url=entry.get("html_url") if isinstance(entry.get("html_url"), str) else None,
            version=str(entry["version"]) if entry.get("version") is not None else None,
        ))
    return sorted(models, key=lambda m: (m.publisher.lower(), m.name.lower()))


def fetch_catalog(base_url: str, token: Secret, timeout: float = 10.0) -> list[CatalogModel]:
    request = urllib.request.Request(f"{base_url}/catalog/models", headers={
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "Authorization": f"Bearer {token.reveal()}",
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return parse_catalog(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        retired = retirement(dict(error.headers.items()), base_url) if error.code in (403, 404, 410) else None
        if retired:
            raise PlaygroundError(retired, status=error.code, code="retired") from None
        hint = " Check GITHUB_TOKEN (it needs the models:read permission)." if error.code in (401, 403) else ""
        raise PlaygroundError(f"GitHub Models' catalog answered HTTP {error.code}.{hint}", status=error.code) from None
    except (urllib.error.URLError, OSError) as error:
        raise PlaygroundError(f"GitHub Models' catalog cannot be reached ({getattr(error, 'reason', error)}).",
                              code="unreachable") from None
    except ValueError:
        raise PlaygroundError("GitHub Models' catalog sent something that is not JSON.") from None


def filter_models(models: list[CatalogModel], search: str = "", publishers: list[str] | None = None,
                  capability: str | None = None) -> list[CatalogModel]:
    needle = search.strip().lower()
    return [
        m for m in models
        if (not needle or needle in f"{m.id} {m.name} {m.summary} {' '.join(m.tags)}".lower())
        and (not publishers or m.publisher in publishers)
        and (not capability or capability in m.capabilities)
    ]


class ListingCache(Generic[T]):
    """Keeps what a fetch returned for `ok_seconds`; remembers a failure for `failure_seconds`,
    so an unreachable endpoint costs no timeout on every rerun. Keys hold no secret: callers
    put a digest of the key in them."""

    def __init__(self, ok_seconds: float = 300.0, failure_seconds: float = 60.0, clock=None):
        self._clock = clock or time.monotonic
        self._ok, self._failure = ok_seconds, failure_seconds
        self._entries: dict[str, tuple[float, T | None, PlaygroundError | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, fetch: Callable[[], T]) -> tuple[T | None, PlaygroundError | None]:
        """(value, None) from the fetch, or (None, the error) when it failed."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry and entry[0] > now:
                return entry[1], entry[2]
        try:
            result: tuple[T | None, PlaygroundError | None] = (fetch(), None)
            expires = now + self._ok
        except PlaygroundError as error:
            result = (None, error)
            expires = now + self._failure
        with self._lock:
            self._entries[key] = (expires, *result)
        return result
