"""PLAYGROUND_USER_REQUESTS_PER_MINUTE: requests per user per minute, counted in this process
over every session and thread of that user (Chat, Compare columns, Evaluate all count).

One `RequestLimiter` per process (resources keeps it under st.cache_resource); `LimitedTransport`
asks it before each chat request, so a page cannot forget to.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .errors import PlaygroundError

WINDOW_SECONDS = 60.0


class RequestLimiter:
    """A sliding window of the last minute's requests per owner. Thread-safe."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}

    def acquire(self, owner: str) -> None:
        """Count one request of `owner`, or raise PlaygroundError (status 429, `retry_after`)
        without counting it when the last minute already holds `per_minute` of theirs."""
        with self._lock:
            now = self._clock()
            sent = self._sent.setdefault(owner, deque())
            while sent and sent[0] <= now - WINDOW_SECONDS:
                sent.popleft()
            if len(sent) >= self.per_minute:
                wait = max(1, math.ceil(sent[0] + WINDOW_SECONDS - now))
                raise PlaygroundError(
                    f"You have sent {len(sent)} requests in the last minute, the limit on this deployment; "
                    f"try again in {wait} s.", status=429, code="user_rate_limit", retry_after=float(wait))
            sent.append(now)
            if len(self._sent) > 10_000:  # owners seen once long ago: drop their empty windows
                for key in [k for k, v in self._sent.items() if not v or v[-1] <= now - WINDOW_SECONDS]:
                    del self._sent[key]

    def used(self, owner: str) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for t in self._sent.get(owner, ()) if t > now - WINDOW_SECONDS)


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
