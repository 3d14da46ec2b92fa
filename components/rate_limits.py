"""The sidebar's rate-limit reading: what the endpoint's last response headers said about
requests and tokens left (`x-ratelimit-*`), whichever provider sent them."""

from __future__ import annotations

import time

import streamlit as st

from components.plain_text import plain
from playground.transports.base import RateLimits, duration


def _resets(seconds: float | None, taken_at: float, now: float) -> str:
    if seconds is None:
        return ""
    left = taken_at + seconds - now
    return f" · resets in {duration(left)}" if left > 0 else " · has reset since"


def _counter(what: str, remaining: int | None, limit: int | None, reset: str) -> None:
    if remaining is None and limit is None:
        return
    if remaining is not None and limit:
        st.progress(min(max(remaining / limit, 0.0), 1.0), text=f"{remaining:,} / {limit:,} {what} left{reset}")
    elif remaining is not None:
        st.caption(f"{remaining:,} {what} left{reset}")
    else:
        st.caption(f"Limit: {limit:,} {what}{reset}")


def render_rate_limits(reading: tuple[RateLimits, float] | None, endpoint_label: str) -> None:
    """Draws where it is called; nothing until a response carried rate-limit headers."""
    if reading is None:
        return
    limits, taken_at = reading
    now = time.time()
    st.caption(f"Rate limits, as {plain(endpoint_label)} reported them {duration(max(now - taken_at, 0))} ago:")
    _counter("requests", limits.remaining_requests, limits.limit_requests,
             _resets(limits.reset_requests, taken_at, now))
    _counter("tokens", limits.remaining_tokens, limits.limit_tokens, _resets(limits.reset_tokens, taken_at, now))
