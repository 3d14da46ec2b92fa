"""GitHub Models' catalog: the live list of models, and a built-in list for when it is unreachable.

The catalog is plain REST (`GET {GITHUB_MODELS_URL}/catalog/models`), not part of the inference
API, so it is read here with the standard library rather than through the SDK.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .client import PlaygroundError
from .settings import Secret


@dataclass(frozen=True)
class TierLimits:
    requests_per_minute: int
    requests_per_day: int
    input_tokens: int
    output_tokens: int
    concurrent: int


# Published free-tier limits (Copilot Free/Pro); they may change, so the UI says "published".
TIER_LIMITS = {
    "low": TierLimits(15, 150, 8000, 4000, 5),
    "high": TierLimits(10, 50, 8000, 4000, 2),
}


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
    offline: bool = False  # from the built-in list, not the live catalog

    @property
    def tier_limits(self) -> TierLimits | None:
        return TIER_LIMITS.get(self.rate_limit_tier or "")

    @property
    def is_reasoning(self) -> bool:
        """o1/o3/o4/gpt-5 families reject temperature and max_tokens."""
        return "reasoning" in self.tags or bool(re.match(r"^(openai/)?(o\d|gpt-5)", self.id))


def _builtin(model_id: str, name: str, publisher: str, summary: str, tier: str,
             max_in: int, max_out: int) -> CatalogModel:
    return CatalogModel(model_id, name, publisher, summary, tier, max_in, max_out,
                        html_url=f"https://github.com/marketplace?type=models&query={name}", offline=True)


# The mission's models, kept for offline use: the six Phi-3 models and Meta Llama instruct models.
BUILTIN_MODELS: tuple[CatalogModel, ...] = (
    _builtin("microsoft/phi-3-medium-128k-instruct", "Phi-3-medium-128k-instruct", "Microsoft",
             "Same Phi-3-medium model, but with a larger context size for RAG or few shot prompting.", "low", 131072, 4096),
    _builtin("microsoft/phi-3-medium-4k-instruct", "Phi-3-medium-4k-instruct", "Microsoft",
             "A 14B parameters model, proves better quality than Phi-3-mini, with a focus on high-quality, reasoning-dense data.", "low", 4096, 1024),
    _builtin("microsoft/phi-3-mini-128k-instruct", "Phi-3-mini-128k-instruct", "Microsoft",
             "Same Phi-3-mini model, but with a larger context size for RAG or few shot prompting.", "low", 131072, 4096),
    _builtin("microsoft/phi-3-mini-4k-instruct", "Phi-3-mini-4k-instruct", "Microsoft",
             "Tiniest member of the Phi-3 family. Optimized for both quality and low latency.", "low", 4096, 1024),
    _builtin("microsoft/phi-3-small-128k-instruct", "Phi-3-small-128k-instruct", "Microsoft",
             "Same Phi-3-small model, but with a larger context size for RAG or few shot prompting.", "low", 131072, 4096),
    _builtin("microsoft/phi-3-small-8k-instruct", "Phi-3-small-8k-instruct", "Microsoft",
             "A 7B parameters model, proves better quality than Phi-3-mini, with a focus on high-quality, reasoning-dense data.", "low", 8192, 2048),
    _builtin("meta/llama-3.2-11b-vision-instruct", "Llama-3.2-11B-Vision-Instruct", "Meta",
             "Excels in image reasoning capabilities on high-res images for visual understanding apps.", "low", 128000, 8192),
    _builtin("meta/llama-3.2-90b-vision-instruct", "Llama-3.2-90B-Vision-Instruct", "Meta",
             "Advanced image reasoning capabilities for visual understanding agentic apps.", "high", 128000, 8192),
    _builtin("meta/llama-3.3-70b-instruct", "Llama-3.3-70B-Instruct", "Meta",
             "Llama 3.3 70B Instruct offers enhanced reasoning, math, and instruction following.", "high", 128000, 4096),
    _builtin("meta/meta-llama-3.1-8b-instruct", "Meta-Llama-3.1-8B-Instruct", "Meta",
             "The Llama 3.1 instruction tuned text only models are optimized for multilingual dialogue use cases.", "low", 131072, 4096),
    _builtin("meta/meta-llama-3.1-405b-instruct", "Meta-Llama-3.1-405B-Instruct", "Meta",
             "The Llama 3.1 instruction tuned text only models are optimized for multilingual dialogue use cases.", "high", 131072, 4096),
)


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
        limits = entry.get("limits") if isinstance(entry.get("limits"), dict) else {}
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


class CatalogCache:
    """Keeps the catalog for an hour; remembers a failure for a minute so an unreachable
    catalog does not cost a timeout on every rerun."""

    def __init__(self, ok_seconds: float = 3600.0, failure_seconds: float = 60.0, clock=None):
        self._clock = clock or time.monotonic
        self._ok, self._failure = ok_seconds, failure_seconds
        self._entries: dict[str, tuple[float, list[CatalogModel], str | None]] = {}
        self._lock = threading.Lock()

    def get(self, base_url: str, token: Secret, fetch=fetch_catalog) -> tuple[list[CatalogModel], str | None]:
        """(models, None) from the live catalog, or (built-in models, why) when it failed."""
        key = base_url + "|" + hashlib.sha256(token.reveal().encode()).hexdigest()
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry and entry[0] > now:
                return entry[1], entry[2]
        try:
            result: tuple[list[CatalogModel], str | None] = (fetch(base_url, token), None)
            expires = now + self._ok
        except PlaygroundError as error:
            result = (list(BUILTIN_MODELS), error.message)
            expires = now + self._failure
        with self._lock:
            self._entries[key] = (expires, *result)
        return result
