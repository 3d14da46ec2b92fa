"""PLAYGROUND_USER_REQUESTS_PER_MINUTE: requests per user per minute, counted in the playground's
database, so every session, thread, process and replica on it counts together (Chat, Compare
columns, Evaluate all count).

One `RequestLimiter` per process (resources keeps it under st.cache_resource); `LimitedTransport`
asks it before each chat request, so a page cannot forget to.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from .errors import PlaygroundError
from .store import Store

WINDOW_SECONDS = 60.0


class RequestLimiter:
    """A sliding window of the last minute's requests per owner, in the store's `requests_sent`
    table. Writes queue one after another (see playground.store), so two replicas cannot both take
    the last request of a minute. The clock is wall time: replicas need synchronised clocks (NTP)."""

    def __init__(self, store: Store, per_minute: int, clock: Callable[[], float] = time.time):
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._db = store.database
        self._clock = clock

    def acquire(self, owner: str) -> None:
        """Count one request of `owner`, or raise PlaygroundError (status 429, `retry_after`)
        without counting it when the last minute already holds `per_minute` of theirs."""
        with self._db.write() as tx:
            now = self._clock()
            tx.run("DELETE FROM requests_sent WHERE at <= ?", (now - WINDOW_SECONDS,))  # everyone's, past the minute
            sent, first = tx.one_row("SELECT count(*), min(at) FROM requests_sent WHERE owner = ?", (owner,))
            if sent < self.per_minute:
                tx.run("INSERT INTO requests_sent (owner, at) VALUES (?, ?)", (owner, now))
                return
        wait = max(1, math.ceil(first + WINDOW_SECONDS - now))
        raise PlaygroundError(
            f"You have sent {sent} requests in the last minute, the limit on this deployment; "
            f"try again in {wait} s.", status=429, code="user_rate_limit", retry_after=float(wait))

    def used(self, owner: str) -> int:
        with self._db.read() as tx:
            return int(tx.one_row("SELECT count(*) FROM requests_sent WHERE owner = ? AND at > ?",
                                  (owner, self._clock() - WINDOW_SECONDS))[0])


class LimitedTransport:
    """A transport whose chat requests count against `owner`'s limit; a refused one is never sent."""

    def __init__(self, inner: Any, limiter: RequestLimiter, owner: str):
        self._inner, self._limiter, self._owner = inner, limiter, owner
        self.endpoint = inner.endpoint

    def stream_chat(self, *args: Any, **kwargs: Any) -> Any:
        self._limiter.acquire(self._owner)
        return self._inner.stream_chat(*args, **kwargs)

    def complete_chat(self, *args: Any, **kwargs: Any) -> Any:
        self._limiter.acquire(self._owner)
        return self._inner.complete_chat(*args, **kwargs)

    def close(self) -> None:  # the wrapped transport is shared (cached): its owner closes it
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
