"""Client-side pacing: stay under Lago Cloud's per-organization request rates.

Lago Cloud allows 500 req/s on ``POST /events``, 200 req/s on usage endpoints and 50 req/s on
everything else (API_NOTES §2.4). A large apply or a busy worker would trip 429s without
pacing, so every request first takes a token from the bucket of its endpoint class.

The bucket hands out *reservations*: a caller learns how long to wait and sleeps outside any
lock, so concurrent threads or tasks queue fairly. A 429 pauses the whole class until the
server's reset time. The same bucket serves the sync and the async client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

EndpointClass = str  # "config" | "events" | "usage"

_USAGE_MARKERS = ("/current_usage", "/past_usage", "/projected_usage", "/lifetime_usage")


def endpoint_class(method: str, path: str) -> EndpointClass:
    """Which rate budget a request draws from (``path`` is relative to ``/api/v1``)."""
    if method.upper() == "POST" and path in ("/events", "/events/batch"):
        return "events"
    if any(marker in path for marker in _USAGE_MARKERS):
        return "usage"
    return "config"


@dataclass(frozen=True)
class PacingConfig:
    """Requests per second per endpoint class; ``None`` means unpaced.

    ``burst`` is how many requests may go back to back before spacing starts. It is small by
    default because Lago counts per one-second window: a full-second burst on top of the steady
    rate could exceed the budget at a window edge.
    """

    config: float | None = 50.0
    events: float | None = 500.0
    usage: float | None = 200.0
    burst: int = 1

    def rate_for(self, cls: EndpointClass) -> float | None:
        rate: float | None = {"config": self.config, "events": self.events}.get(cls, self.usage)
        return rate if rate and rate > 0 else None


class TokenBucket:
    """A token bucket that returns how long the caller must wait for its token."""

    def __init__(
        self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self.capacity = float(max(1, burst))
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; return the seconds to sleep before using it (0.0 = go now)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            return max(wait, self._paused_until - now)

    def pause(self, seconds: float) -> None:
        """Hold every caller of this bucket for ``seconds`` (after a 429 with a reset time)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


class Pacer:
    """One bucket per endpoint class, built lazily from a ``PacingConfig``."""

    def __init__(
        self, config: PacingConfig | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._clock = clock
        self._buckets: dict[EndpointClass, TokenBucket | None] = {}
        self._lock = threading.Lock()

    def bucket(self, cls: EndpointClass) -> TokenBucket | None:
        with self._lock:
            if cls not in self._buckets:
                rate = self.config.rate_for(cls) if self.config else None
                self._buckets[cls] = (
                    TokenBucket(rate, self.config.burst, self._clock)
                    if rate is not None and self.config is not None
                    else None
                )
            return self._buckets[cls]

    def reserve(self, method: str, path: str) -> float:
        bucket = self.bucket(endpoint_class(method, path))
        return bucket.reserve() if bucket is not None else 0.0

    def pause(self, method: str, path: str, seconds: float) -> None:
        bucket = self.bucket(endpoint_class(method, path))
        if bucket is not None:
            bucket.pause(seconds)
