"""Deliver one batch of ≤100 events to ``POST /events/batch`` and say what became of each.

Lago treats a batch atomically: one bad or duplicate event rejects all of it (422, errors keyed
by index; API_NOTES §7.3). So a 422 is taken apart: duplicates (``value_already_exist``) count
as delivered — that is exactly-once working after a retry or replay; events with other errors
are *rejected* (dead-lettered with Lago's words); the rest is sent again. A 422 that names no
index is bisected until the bad events stand alone. 429/5xx/timeouts back off with jitter and,
after ``max_attempts``, the batch's events are *exhausted* (dead-lettered, replayable).
A 2xx whose reply does not list every transaction id sent (``{}``, ``{"events": []}``, 202 or
204 without events: ``LagoUnconfirmed``) proves nothing and is retried the same way; only a
reply that accounts for every event acknowledges it. 401/403/404 and other answers mean the
worker is misconfigured: they stop it (nothing is acknowledged, so nothing is lost). Retries
are logged (``lagoform.dispatch``, at most one line per kind of failure every few seconds).

Jitter is derived from a hash of the batch's first transaction id and the attempt, not from a
random generator: batches still spread out, and the module stays free of randomness (dispatch
must never mint ids from random or time sources, and a test scans for them).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lagoform.errors import DispatchError, LagoError, LagoRateLimited, LagoValidationError
from lagoform.lago.errors import batch_rejections, explain_error_details

MAX_BATCH = 100
DUPLICATE = {"transaction_id": ["value_already_exist"]}
WARN_EVERY = 5.0  # seconds between two retry warnings of the same kind

log = logging.getLogger("lagoform.dispatch")


class BatchResultLike(Protocol):
    @property
    def already_delivered(self) -> bool: ...


class EventSink(Protocol):
    """What delivery needs from a Lago client (``lagoform.lago.AsyncLagoClient`` fits)."""

    async def post_events_batch(self, events: Sequence[Mapping[str, Any]]) -> Any: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    max_in_flight: int = 4
    max_attempts: int = 10
    base_delay: float = 0.25
    max_delay: float = 15.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_in_flight < 1 or self.max_attempts < 1:
            raise DispatchError("max_in_flight and max_attempts must be at least 1")


def jitter_fraction(seed: str, attempt: int) -> float:
    """A number in [0, 1) that differs between batches and attempts, reproducibly."""
    digest = hashlib.blake2b(f"{seed}/{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def backoff_delay(policy: DeliveryPolicy, attempt: int, seed: str, err: LagoError) -> float:
    fraction = jitter_fraction(seed, attempt)
    if isinstance(err, LagoRateLimited) and err.retry_after is not None:
        wait = float(min(err.retry_after, policy.max_retry_after))
        return wait + fraction * min(1.0, 0.1 + wait * 0.1)
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** max(0, attempt - 1))
    return ceiling / 2 + fraction * ceiling / 2  # "equal jitter": never retry at once


# outcome kinds of one event
DELIVERED = "delivered"
REJECTED = "rejected"
EXHAUSTED = "exhausted"
ABANDONED = "abandoned"  # the worker is stopping: not settled, sent again next run


@dataclass(frozen=True)
class EventOutcome:
    kind: str
    error: str = ""
    attempts: int = 0
    duplicate: bool = False


@dataclass
class DeliveryStats:
    requests: int = 0
    retries: int = 0
    delivered: int = 0
    duplicates: int = 0
    rejected: int = 0
    exhausted: int = 0
    splits: int = 0


@dataclass
class _Job:
    events: Sequence[Mapping[str, Any]]
    outcomes: list[EventOutcome | None] = field(default_factory=list)


class Deliverer:
    """Sends batches with at most ``max_in_flight`` requests open; safe to share across tasks."""

    def __init__(self, sink: EventSink, policy: DeliveryPolicy | None = None) -> None:
        self.sink = sink
        self.policy = policy or DeliveryPolicy()
        self.stats = DeliveryStats()
        self._slots = asyncio.Semaphore(self.policy.max_in_flight)
        self._stopping = asyncio.Event()
        self._warned: dict[str, tuple[float, int]] = {}  # kind -> (last warning, silenced)

    def stop(self) -> None:
        """Finish requests already on the wire, but start no more retries."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def deliver(self, events: Sequence[Mapping[str, Any]]) -> list[EventOutcome]:
        """Deliver ≤100 events; one outcome per event, in order."""
        result = await self.deliver_batch(events)
        return [result] * len(events) if isinstance(result, EventOutcome) else result

    async def deliver_batch(
        self, events: Sequence[Mapping[str, Any]]
    ) -> EventOutcome | list[EventOutcome]:
        """Like ``deliver``, but one shared outcome when every event had the same fate (the
        common case), so callers can skip a per-event pass."""
        if len(events) > MAX_BATCH:
            raise DispatchError(f"a batch holds at most {MAX_BATCH} events, got {len(events)}")
        job = _Job(events, [None] * len(events))
        if events and not self.stopping:
            await self._send(job, list(range(len(events))))
        outcomes = job.outcomes
        first = outcomes[0] if outcomes else None
        if first is not None and outcomes.count(first) == len(outcomes):  # identity: C speed
            return first
        abandoned = EventOutcome(ABANDONED)
        return [o if o is not None else abandoned for o in outcomes]

    async def _send(self, job: _Job, pending: list[int]) -> None:
        attempts = 0
        while pending:
            batch = [job.events[i] for i in pending]
            try:
                async with self._slots:
                    self.stats.requests += 1
                    result = await self.sink.post_events_batch(batch)
            except LagoValidationError as err:
                pending = await self._take_apart(job, pending, err, attempts + 1)
                continue
            except LagoError as err:
                if not err.retryable:
                    raise DispatchError(
                        f"Lago refused the events and retrying cannot help: {err}. "
                        "Check the API URL and key; nothing was acknowledged."
                    ) from err
                attempts += 1
                if attempts >= self.policy.max_attempts:
                    self._finish(job, pending, EventOutcome(EXHAUSTED, _text(err), attempts))
                    return
                if self.stopping:
                    return  # outcomes stay None → abandoned
                self.stats.retries += 1
                seed = str(batch[0].get("transaction_id", ""))
                delay = backoff_delay(self.policy, attempts, seed, err)
                self._warn_retry(err, len(batch), delay, attempts)
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                    return  # stop requested while waiting
                except TimeoutError:
                    continue
            duplicate = bool(getattr(result, "already_delivered", False))
            self._finish(job, pending, EventOutcome(DELIVERED, "", attempts + 1, duplicate))
            return

    async def _take_apart(
        self, job: _Job, pending: list[int], err: LagoValidationError, attempts: int
    ) -> list[int]:
        """Settle what a 422 names; return the indexes still to send."""
        rejections = batch_rejections(err)
        named = {pos: r for pos, r in rejections.items() if 0 <= pos < len(pending)}
        if not named:
            if len(pending) == 1:
                self._finish(job, pending, EventOutcome(REJECTED, _text(err), attempts))
                return []
            self.stats.splits += 1
            mid = len(pending) // 2
            await asyncio.gather(self._send(job, pending[:mid]), self._send(job, pending[mid:]))
            return []
        rest: list[int] = []
        for pos, index in enumerate(pending):
            problem = named.get(pos)
            if problem is None:
                rest.append(index)
            elif problem == DUPLICATE:
                self._finish(job, [index], EventOutcome(DELIVERED, "", attempts, duplicate=True))
            else:
                words = "; ".join(explain_error_details(problem)) or str(problem)
                message = f"Lago rejected the event (HTTP 422): {words}"
                self._finish(job, [index], EventOutcome(REJECTED, message, attempts))
        return rest

    def _warn_retry(self, err: LagoError, events: int, delay: float, attempts: int) -> None:
        kind = type(err).__name__
        now = time.monotonic()
        last, silenced = self._warned.get(kind, (float("-inf"), 0))
        if now - last < WARN_EVERY:
            self._warned[kind] = (last, silenced + 1)
            return
        also = f" ({silenced} more like it not shown)" if silenced else ""
        log.warning(
            "%s; %d event(s) not acknowledged, retrying in %.1fs (attempt %d of %d)%s",
            err,
            events,
            delay,
            attempts + 1,
            self.policy.max_attempts,
            also,
        )
        self._warned[kind] = (now, 0)

    def _finish(self, job: _Job, indexes: Sequence[int], outcome: EventOutcome) -> None:
        for i in indexes:
            job.outcomes[i] = outcome
        n = len(indexes)
        if outcome.kind == DELIVERED:
            self.stats.delivered += n
            if outcome.duplicate:
                self.stats.duplicates += n
        elif outcome.kind == REJECTED:
            self.stats.rejected += n
        elif outcome.kind == EXHAUSTED:
            self.stats.exhausted += n


def _text(err: LagoError) -> str:
    return str(err)
