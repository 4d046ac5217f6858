"""When to try a request again, and how long to wait first.

Only exchanges that are safe to repeat are retried: GET, PUT, DELETE, and event posts (Lago
deduplicates events by ``transaction_id``). A POST that creates an object is never blindly
repeated: ``LagoClient.create`` reads the object back after a lost response (see transport.py).
A request that never left (refused connection, pool timeout) is always safe to repeat.
Backoff is exponential with jitter; a 429's ``Retry-After``/``X-RateLimit-Reset`` is honoured.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from lagoform.errors import LagoError, LagoRateLimited, LagoServerError, LagoTransportError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
# Paths (after /api/v1) whose POST is safe to repeat: events dedup by transaction_id,
# customers are upserted by external_id.
SAFE_POST_PATHS = frozenset({"/events", "/events/batch", "/customers"})


def is_safe_to_repeat(method: str, path: str) -> bool:
    method = method.upper()
    return method in SAFE_METHODS or (method == "POST" and path in SAFE_POST_PATHS)


def never_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached the server (so repeating it is harmless)."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def is_retryable(err: LagoError) -> bool:
    return isinstance(err, LagoRateLimited | LagoServerError | LagoTransportError)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with jittered exponential backoff.

    ``delay(attempt)`` for attempt n (1-based, the attempt that just failed) is drawn from
    ``[d/2, d]`` with ``d = min(max_delay, base_delay * 2**(n-1))`` ("equal jitter": spreads
    clients out without ever retrying immediately). A 429 waits what the server asked (plus a
    little jitter), up to ``max_retry_after``; beyond that the error is raised.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    rand: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be ≥ 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must be ≥ 0")

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + self.rand() * ceiling / 2

    def delay(self, attempt: int, err: LagoError) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise ``err``."""
        if attempt >= self.max_attempts or not is_retryable(err):
            return None
        if isinstance(err, LagoRateLimited) and err.retry_after is not None:
            if err.retry_after > self.max_retry_after:
                return None
            # jitter so that many workers released by one reset don't collide again
            return err.retry_after + self.rand() * min(1.0, 0.1 + err.retry_after * 0.1)
        return self.backoff(attempt)


NO_RETRY = RetryPolicy(max_attempts=1)
