"""One validated settings object, read from the environment, Streamlit secrets and `.env`.

Precedence, highest first: the process environment, Streamlit secrets, the `.env` file.
A bad value fails at once with a message that names the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


class Secret:
    """A credential that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    azure_openai_endpoint: str | None = None  # Microsoft Foundry's OpenAI v1 base URL, ending in /openai/v1
    azure_openai_api_key: Secret | None = None  # None: Microsoft Entra ID
    azure_inference_endpoint: str | None = None
    azure_inference_credential: Secret | None = None
    openai_base_url: str | None = None  # any OpenAI-compatible server
    openai_api_key: Secret | None = None
    github_token: Secret | None = None
    # GitHub Models was retired on 2026-07-30: offered only when this is set explicitly (no default).
    github_models_url: str | None = None
    github_models_org: str | None = None
    local_host: str = "127.0.0.1"
    local_port: int = 8765
    local_api_key: Secret | None = None
    local_threads: int | None = None
    local_parallel: int | None = None
    local_model: str | None = None  # a GGUF file; None: the embedded SmolLM2
    request_timeout: float = 120.0
    max_retry_after: float = 10.0
    db_path: str | None = None  # None: playground.store.DEFAULT_DB_PATH
    database_url: str | None = None  # postgresql://...: the store lives in PostgreSQL instead of SQLite
    prompts_dir: str | None = None  # where .prompt.yml files are listed and saved; None: ./prompts
    eval_concurrency: int = 4  # concurrent evaluation calls per cloud endpoint
    judge_max_tokens: int = 32  # the cap on every LLM-judge call of an evaluation
    allowed_users: tuple[str, ...] = ()  # with sign-in: e-mails and @domains (playground.auth); (): anyone
    custom_endpoints: str | None = None  # playground.netguard's policy text; None: by sign-in mode
    user_requests_per_minute: int | None = None  # per signed-in user, over all replicas; None: no limit
    max_image_mb: int = 4  # the largest image a prompt may carry, in megabytes
    # What each user may keep in the database, in megabytes; 0: no budget ("off"); None: the
    # default, DEFAULT_USER_STORAGE_MB with sign-in and no budget without (see user_storage_bytes).
    user_storage_mb: int | None = None


# Variable name -> (field, parser). Every variable here is documented in .env.sample.
def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL such as https://host/path, got {value!r}.")
    return value.rstrip("/")


def _foundry_url(name: str, value: str) -> str:
    """The OpenAI v1 base URL. Azure OpenAI code has long used AZURE_OPENAI_ENDPOINT for the bare
    resource URL (`https://<resource>.openai.azure.com/`); that resource serves the v1 API under
    `/openai/v1`, so a bare (or `/openai`) URL is completed rather than sent to a route that 404s."""
    url = _url(name, value)
    path = urlsplit(url).path
    if path in ("", "/"):
        return url + "/openai/v1"
    if path.rstrip("/").endswith("/openai"):
        return url + "/v1"
    return url


def _int(low: int, high: int):
    def parse(name: str, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {value!r}.") from None
        if not low <= number <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {number}.")
        return number
    return parse


def _seconds(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {value!r}.") from None
    if not 0 < number <= 3600:
        raise SettingsError(f"{name} must be between 0 and 3600 seconds, got {value!r}.")
    return number


def _megabytes_or_off(name: str, value: str) -> int:
    if value.lower() == "off":
        return 0
    try:
        return _int(1, 1_000_000)(name, value)
    except SettingsError:
        raise SettingsError(f"{name} must be a whole number of megabytes from 1 to 1000000, or off; "
                            f"got {value!r}.") from None


def _postgres_url(name: str, value: str) -> str:
    if urlsplit(value).scheme not in ("postgresql", "postgres"):
        raise SettingsError(f"{name} must be a postgresql:// URL such as postgresql://user@host/playground.")
    return value


def _text(name: str, value: str) -> str:
    return value


def _secret(name: str, value: str) -> Secret:
    return Secret(value)


def _allowed_users(name: str, value: str) -> tuple[str, ...]:
    from .auth import parse_allowed_users

    try:
        return parse_allowed_users(value)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}.") from None


def _custom_endpoints(name: str, value: str) -> str:
    from .netguard import EndpointPolicy

    try:
        EndpointPolicy.parse(value, signed_in=True)
    except ValueError as error:
        raise SettingsError(f"{name} must be off, any, or hosts such as api.example.com, host:8000, "
                            f"*.example.com: {error}.") from None
    return value


VARIABLES: dict[str, tuple[str, Any]] = {
    "AZURE_OPENAI_ENDPOINT": ("azure_openai_endpoint", _foundry_url),
    "AZURE_OPENAI_API_KEY": ("azure_openai_api_key", _secret),
    "AZURE_INFERENCE_ENDPOINT": ("azure_inference_endpoint", _url),
    "AZURE_INFERENCE_CREDENTIAL": ("azure_inference_credential", _secret),
    "OPENAI_BASE_URL": ("openai_base_url", _url),
    "OPENAI_API_KEY": ("openai_api_key", _secret),
    "GITHUB_TOKEN": ("github_token", _secret),
    "GITHUB_MODELS_URL": ("github_models_url", _url),
    "GITHUB_MODELS_ORG": ("github_models_org", _text),
    "PLAYGROUND_LOCAL_HOST": ("local_host", _text),
    "PLAYGROUND_LOCAL_PORT": ("local_port", _int(1, 65535)),
    "PLAYGROUND_LOCAL_API_KEY": ("local_api_key", _secret),
    "PLAYGROUND_LOCAL_THREADS": ("local_threads", _int(1, 256)),
    "PLAYGROUND_LOCAL_PARALLEL": ("local_parallel", _int(1, 16)),
    "PLAYGROUND_LOCAL_MODEL": ("local_model", _text),
    "PLAYGROUND_REQUEST_TIMEOUT": ("request_timeout", _seconds),
    "PLAYGROUND_MAX_RETRY_AFTER": ("max_retry_after", _seconds),
    "PLAYGROUND_DB_PATH": ("db_path", _text),
    "PLAYGROUND_DATABASE_URL": ("database_url", _postgres_url),
    "PLAYGROUND_PROMPTS_DIR": ("prompts_dir", _text),
    "PLAYGROUND_EVAL_CONCURRENCY": ("eval_concurrency", _int(1, 64)),
    "PLAYGROUND_JUDGE_MAX_TOKENS": ("judge_max_tokens", _int(1, 4096)),
    "PLAYGROUND_ALLOWED_USERS": ("allowed_users", _allowed_users),
    "PLAYGROUND_CUSTOM_ENDPOINTS": ("custom_endpoints", _custom_endpoints),
    "PLAYGROUND_USER_REQUESTS_PER_MINUTE": ("user_requests_per_minute", _int(1, 1_000_000)),
    "PLAYGROUND_MAX_IMAGE_MB": ("max_image_mb", _int(1, 50)),
    "PLAYGROUND_USER_STORAGE_MB": ("user_storage_mb", _megabytes_or_off),
}
assert {f for f, _ in VARIABLES.values()} == {f.name for f in fields(Settings)}


# With sign-in, many people share one database: 200 MB each holds thousands of text conversations
# or about 50 images at the 4 MB cap, and 100 users at most 20 GB. Without sign-in the one user
# owns the disk, and nothing they save is refused unless they set a budget.
DEFAULT_USER_STORAGE_MB = 200


def user_storage_bytes(settings: Settings, signed_in: bool) -> int | None:
    """The storage budget per user in bytes, None for no budget."""
    mb = settings.user_storage_mb
    if mb is None:
        mb = DEFAULT_USER_STORAGE_MB if signed_in else 0
    return mb * 1024 * 1024 or None


def load_settings(
    environ: Mapping[str, str],
    secrets: Mapping[str, Any] | None = None,
    dotenv_path: str | Path | None = ".env",
) -> Settings:
    """Build Settings from the three sources; empty values count as unset."""
    sources: list[Mapping[str, Any]] = [environ, secrets or {}]
    if dotenv_path and Path(dotenv_path).is_file():
        sources.append(dotenv_values(dotenv_path))
    values: dict[str, Any] = {}
    for name, (field_name, parse) in VARIABLES.items():
        raw = next((str(s[name]).strip() for s in sources if s.get(name) not in (None, "")), "")
        if raw:
            values[field_name] = parse(name, raw)
    return Settings(**values)
