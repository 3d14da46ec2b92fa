"""A request budget for GitHub Models: requests used this minute and today against the tier's
published limits, counted here and corrected by the service's `x-ratelimit-*` headers."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Mapping

MINUTE, DAY = 60.0, 86400.0


@dataclass(frozen=True)
class BudgetReading:
    used_minute: int
    used_day: int
    remaining_reported: int | None  # the service's own count, when it sent one
    limit_reported: int | None


class RequestBudget:
    """One per token and model (GitHub counts per user and model); thread-safe."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._limit: int | None = None

    def record(self) -> None:
        with self._lock:
            self._sent.append(self._clock())

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            for key, attr in (("x-ratelimit-remaining-requests", "_remaining"), ("x-ratelimit-limit-requests", "_limit")):
                if key in lowered:
                    try:
                        setattr(self, attr, int(lowered[key]))
                    except ValueError:
                        pass

    def reading(self) -> BudgetReading:
        now = self._clock()
        with self._lock:
            while self._sent and now - self._sent[0] > DAY:
                self._sent.popleft()
            minute = sum(1 for t in self._sent if now - t <= MINUTE)
            return BudgetReading(minute, len(self._sent), self._remaining, self._limit)
