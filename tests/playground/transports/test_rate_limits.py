"""base.rate_limits: the x-ratelimit-* counters Azure OpenAI, Foundry and OpenAI send, read the same
whichever transport received them."""

from __future__ import annotations

import pytest

from playground.transports.base import RateLimits, rate_limits, reset_seconds
from tests.playground.transports.foundry import RATE_LIMIT_HEADERS


def test_all_counters_and_reset_durations_are_read():
    assert rate_limits(RATE_LIMIT_HEADERS) == RateLimits(
        remaining_requests=999, remaining_tokens=199950, limit_requests=1000, limit_tokens=200000,
        reset_requests=360.0, reset_tokens=1.0)


def test_header_names_are_case_insensitive_and_missing_ones_stay_none():
    limits = rate_limits({"X-RateLimit-Remaining-Tokens": "42"})
    assert limits == RateLimits(remaining_tokens=42)


def test_no_counters_means_none():
    assert rate_limits({}) is None and rate_limits(None) is None
    assert rate_limits({"content-type": "application/json"}) is None
    # GitHub's daily 429 names the limit's type but carries no counter.
    assert rate_limits({"x-ratelimit-type": "UserByModelByDay"}) is None


@pytest.mark.parametrize("value, seconds", [
    ("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("2m", 120.0),
    ("60", 60.0), ("0.5", 0.5), (" 7s ", 7.0),
])
def test_reset_values_in_every_form_providers_send(value, seconds):
    assert reset_seconds(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", None, "soon", "5x", "1s later", "Thu, 30 Jul 2026 00:00:00 GMT"])
def test_unreadable_reset_values_are_none_not_a_wrong_countdown(value):
    assert reset_seconds(value) is None


def test_an_unreadable_count_is_none_and_the_rest_still_read():
    assert rate_limits({"x-ratelimit-remaining-requests": "many", "x-ratelimit-limit-requests": "15"}) == \
        RateLimits(limit_requests=15)
