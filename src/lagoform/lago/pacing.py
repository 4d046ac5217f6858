"""Client-side pacing: stay under Lago Cloud's per-organization request rates.

Lago Cloud allows 500 req/s on ``POST /events``, 200 req/s on usage endpoints and 50 req/s on
everything else (API_NOTES §2.4). A large apply or a busy worker would trip 429s without
pacing, so every request first takes a token from the bucket of its endpoint class.

The bucket hands out *reservations*: a caller learns how long to wait and sleeps outside any
lock, so concurrent threads or tasks queue fairly. A 429 pauses the whole class until the
server's reset time. The same bucket serves the sync and the async client.

Two rules hold together. Lago counts requests per one-second window, so the hard one is the
window: never more than ``rate`` requests reserved in any one second (a log of the last
``rate`` reservation times; a request waits until the one ``rate`` places before it is a second
old). Inside that, a token bucket spaces requests at ``rate`` and lets ``burst`` of them go back
to back. The burst is what lets a busy caller catch up: a worker whose event loop was late by a
few milliseconds sends the requests it owes together instead of losing their slots, which with
a burst of one cost a fifth of the budget (benchmarks/RESULTS.md, "Dispatch throughput"); the
window keeps the catch-up from ever exceeding the budget of a second.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

EndpointClass = str  # "config" | "events" | "usage"
WINDOW = 1.0  # seconds: Lago counts requests per one-second window
BURST_SECONDS = 0.1  # the default burst: this many seconds' worth of requests

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

    ``burst`` is how many requests may go back to back before spacing starts; ``None`` means a
    tenth of a second's worth of the class's rate (50 events requests, 5 config requests). The
    one-second window caps every second at the rate whatever the burst.
    """

    config: float | None = 50.0
    events: float | None = 500.0
    usage: float | None = 200.0
    burst: int | None = None

    def burst_for(self, rate: float) -> int:
        return self.burst if self.burst is not None else max(1, int(rate * BURST_SECONDS))

    def rate_for(self, cls: EndpointClass) -> float | None:
        rate: float | None = {"config": self.config, "events": self.events}.get(cls, self.usage)
        return rate if rate and rate > 0 else None


class TokenBucket:
    """A token bucket inside a one-second window; returns how long the caller must wait.

    ``reserve`` never hands out more than ``max(1, floor(rate))`` start times within any
    ``WINDOW`` seconds, however late or early its callers come."""

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
        self._window: deque[float] = deque(maxlen=max(1, math.floor(rate * WINDOW)))
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; return the seconds to sleep before using it (0.0 = go now)."""
        with self._lock:
            now = self._refill()
            self._tokens -= 1.0
            start = now if self._tokens >= 0 else now - self._tokens / self.rate
            window = self._window
            if window:
                start = max(start, window[-1])  # start times never go backwards
                if len(window) == window.maxlen:  # the request `rate` places back
                    start = max(start, window[0] + WINDOW)
            start = max(start, self._paused_until)
            window.append(start)
            return start - now

    def set_rate(self, rate: float, burst: int) -> None:
        """Pace at ``rate`` from now on (the window follows: at most ``floor(rate)`` a second)."""
        if rate <= 0:
            raise ValueError("rate must be > 0")
        with self._lock:
            self._refill()  # what accrued at the old rate stays
            self.rate = rate
            self.capacity = float(max(1, burst))
            self._tokens = min(self._tokens, self.capacity)
            self._window = deque(self._window, maxlen=max(1, math.floor(rate * WINDOW)))

    def _refill(self) -> float:
        """Add the tokens accrued since the last call (under the lock); returns now."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        return now

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
        self._shares: dict[EndpointClass, float] = {}
        self._lock = threading.Lock()

    def rate(self, cls: EndpointClass) -> float | None:
        """The requests per second ``cls`` is paced at now (its share of the configured rate)."""
        rate = self.config.rate_for(cls) if self.config else None
        return rate * self._shares.get(cls, 1.0) if rate is not None else None

    def bucket(self, cls: EndpointClass) -> TokenBucket | None:
        with self._lock:
            if cls not in self._buckets:
                rate = self.rate(cls)
                self._buckets[cls] = (
                    TokenBucket(rate, self.config.burst_for(rate), self._clock)
                    if rate is not None and self.config is not None
                    else None
                )
            return self._buckets[cls]

    def share(self, cls: EndpointClass, fraction: float) -> float | None:
        """Pace ``cls`` at ``fraction`` (0 < fraction <= 1) of its configured rate: this process's
        part of a budget it shares with others (Kafka workers of one group split the events
        budget by the partitions each owns). Returns the new rate (None: unpaced)."""
        if not 0 < fraction <= 1:
            raise ValueError("a share of the budget is above 0 and at most 1")
        with self._lock:
            self._shares[cls] = fraction
            rate = self.rate(cls)
            bucket = self._buckets.get(cls)
            if bucket is not None and rate is not None and self.config is not None:
                bucket.set_rate(rate, self.config.burst_for(rate))
            return rate

    def reserve(self, method: str, path: str) -> float:
        bucket = self.bucket(endpoint_class(method, path))
        return bucket.reserve() if bucket is not None else 0.0

    def pause(self, method: str, path: str, seconds: float) -> None:
        bucket = self.bucket(endpoint_class(method, path))
        if bucket is not None:
            bucket.pause(seconds)
