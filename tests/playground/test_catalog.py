"""Model lists: GitHub Models' catalog (retired 2026-07-30) read from a local server serving its
documented JSON and its retirement answer, the built-in list, and the cache in front of every list."""

from __future__ import annotations

import pytest

from playground.catalog import (
    BUILTIN_MODELS,
    ListingCache,
    builtin_card,
    fetch_catalog,
    filter_models,
    github_builtin_models,
    parse_catalog,
)
from playground.client import PlaygroundError
from playground.settings import Secret
from tests.support.fake_service import FakeService, Reply
from tests.support.github_models import CATALOG, RETIRED_403

TOKEN = Secret("ghp_catalogtest")


def test_the_catalog_is_read_with_the_token_and_parsed():
    with FakeService({"/catalog/models": [Reply(body=CATALOG)]}) as fake:
        models = fetch_catalog(fake.url, TOKEN)
    assert fake.requests[0]["headers"]["Authorization"] == "Bearer ghp_catalogtest"
    phi = next(m for m in models if m.id == "microsoft/phi-3-mini-4k-instruct")
    assert (phi.name, phi.publisher, phi.rate_limit_tier) == ("Phi-3-mini instruct (4k)", "Microsoft", "low")
    assert (phi.max_input_tokens, phi.max_output_tokens) == (4096, 1024)
    assert phi.html_url.endswith("Phi-3-mini-4k-instruct") and not phi.offline


def test_reasoning_models_are_recognised():
    models = {m.id: m for m in parse_catalog(CATALOG)}
    assert models["openai/o3-mini"].is_reasoning
    assert not models["meta/llama-3.3-70b-instruct"].is_reasoning


def test_odd_entries_are_skipped_and_odd_fields_ignored():
    models = parse_catalog([{"name": "no id"}, "text", {"id": "x/y", "limits": "n/a", "tags": "t"}])
    assert [m.id for m in models] == ["x/y"]
    assert models[0].max_output_tokens is None and models[0].publisher == "x"


def test_a_refused_token_names_the_variable():
    with FakeService({"/catalog/models": [Reply(status=401, body={"message": "Bad credentials"})]}) as fake:
        with pytest.raises(PlaygroundError) as caught:
            fetch_catalog(fake.url, TOKEN)
    assert "GITHUB_TOKEN" in caught.value.message and "models:read" in caught.value.message


def test_the_retired_service_says_so_with_its_notice_and_gives_no_token_advice():
    with FakeService({"/catalog/models": [RETIRED_403]}) as fake:
        with pytest.raises(PlaygroundError) as caught:
            fetch_catalog(fake.url, TOKEN)
    message = caught.value.message
    assert "retired on 2026-07-30" in message and "github.blog/changelog/2026-07-01" in message
    assert "Check" not in message and caught.value.code == "retired"


def test_an_unreachable_catalog_says_why():
    with pytest.raises(PlaygroundError) as caught:
        fetch_catalog("http://127.0.0.1:9", TOKEN)
    assert "cannot be reached" in caught.value.message


def test_the_builtin_list_under_github_ids_for_its_offline_list():
    ids = {m.id for m in github_builtin_models()}
    phi3 = {"microsoft/phi-3-medium-128k-instruct", "microsoft/phi-3-medium-4k-instruct",
            "microsoft/phi-3-mini-128k-instruct", "microsoft/phi-3-mini-4k-instruct",
            "microsoft/phi-3-small-128k-instruct", "microsoft/phi-3-small-8k-instruct"}
    assert phi3 <= ids and {"meta/llama-3.3-70b-instruct", "meta/meta-llama-3.1-8b-instruct"} <= ids
    assert all(m.offline for m in github_builtin_models())


def test_builtin_cards_are_found_by_foundry_name_or_publisher_id():
    assert builtin_card("Phi-4").max_input_tokens == 16384
    assert builtin_card("meta/Llama-3.2-90B-Vision-Instruct").input_modalities == ("text", "image")
    assert builtin_card("gpt-4o-mini") is None


def test_the_cache_keeps_a_good_list_and_retries_a_failure_soon():
    now = [0.0]
    calls = []

    def fetch():
        calls.append(now[0])
        if len(calls) == 1:
            raise PlaygroundError("down")
        return parse_catalog(CATALOG)

    cache = ListingCache(ok_seconds=300, failure_seconds=60, clock=lambda: now[0])
    assert cache.get("u", fetch)[1].message == "down"
    assert cache.get("u", fetch)[1].message == "down" and len(calls) == 1  # failure remembered
    now[0] = 61
    models, error = cache.get("u", fetch)
    assert error is None and len(models) == 3 and len(calls) == 2
    now[0] = 300
    assert cache.get("u", fetch)[1] is None and len(calls) == 2  # success kept for 5 minutes
    now[0] = 362
    cache.get("u", fetch)
    assert len(calls) == 3
    assert cache.get("other", fetch)[1] is None and len(calls) == 4  # per key


def test_search_publisher_and_capability_filters():
    models = parse_catalog(CATALOG)
    assert [m.id for m in filter_models(models, search="phi")] == ["microsoft/phi-3-mini-4k-instruct"]
    assert [m.publisher for m in filter_models(models, publishers=["Meta"])] == ["Meta"]
    assert [m.id for m in filter_models(models, capability="reasoning")] == ["openai/o3-mini"]
    assert len(BUILTIN_MODELS) == 17
