"""From raw usage records to settled records: map, pack into batches, deliver, report back.

The pipeline is shared by the sources (the SQLite spool, Kafka, dead-letter replay). A source
submits *units* (an opaque reference plus the raw record, or ready events for a replay); the
pipeline maps them, packs their events into batches of ≤100 without reordering, delivers the
batches through a ``Deliverer`` and, once every event of a unit has an outcome, hands the
source a ``Settlement``: delivered, dead (with the dead letter to store) or abandoned (the
worker is stopping; the source must leave that unit to be sent again). Sources decide what
"settled" means for them: delete from the spool, commit a Kafka offset, mark a letter replayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from lagoform.dispatch.deadletters import NewDeadLetter
from lagoform.dispatch.delivery import (
    ABANDONED,
    DELIVERED,
    EXHAUSTED,
    MAX_BATCH,
    Deliverer,
    EventOutcome,
)
from lagoform.dispatch.mapping import Event, Mapper, RecordRejected


class Unit(NamedTuple):
    """One usage record to dispatch. ``events`` set means 'send these, do not map'."""

    ref: Hashable
    raw: bytes
    events: Sequence[Event] | None = None
    record_id: str | None = None  # known to the source when ``events`` is given


class Settlement(NamedTuple):
    ref: Hashable
    record_id: str | None
    events: int  # how many events the record produced
    dead: NewDeadLetter | None = None
    abandoned: bool = False

    @property
    def delivered(self) -> bool:
        return self.dead is None and not self.abandoned


@dataclass(slots=True)
class _Tracked:
    unit: Unit
    record_id: str
    events: list[Event]
    remaining: int
    failed: list[tuple[Event, EventOutcome]] = field(default_factory=list)
    abandoned: bool = False


@dataclass
class PipelineStats:
    records: int = 0
    events: int = 0
    dead_letters: int = 0


SettleCallback = Callable[[list[Settlement]], None]


class Pipeline:
    """Maps and delivers submitted units; at most ``window`` batches outstanding."""

    def __init__(
        self,
        mapper: Mapper | None,
        deliverer: Deliverer,
        on_settled: SettleCallback,
        *,
        source: str,
        window: int | None = None,
    ) -> None:
        self.mapper = mapper
        self.deliverer = deliverer
        self.on_settled = on_settled
        self.source = source
        self.stats = PipelineStats()
        self._window = asyncio.Semaphore(window or deliverer.policy.max_in_flight * 2)
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None

    @property
    def outstanding(self) -> int:
        return len(self._tasks)

    async def submit(self, units: Sequence[Unit]) -> None:
        """Map and schedule ``units``; returns once their batches are queued (backpressure)."""
        self._raise_failure()
        settled: list[Settlement] = []
        owners: list[_Tracked] = []  # owners[i] produced events[i]
        events: list[Event] = []
        for unit in units:
            tracked = self._track(unit, settled)
            if tracked is None:
                continue
            for event in tracked.events:
                owners.append(tracked)
                events.append(event)
                if len(events) == MAX_BATCH:
                    if settled:
                        self._settle(settled)
                        settled = []
                    await self._schedule(owners, events)
                    owners, events = [], []
        if settled:
            self._settle(settled)
        if events:
            await self._schedule(owners, events)

    async def drain(self) -> None:
        """Wait until every scheduled batch has settled; re-raise a fatal delivery error."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        self._raise_failure()

    def _track(self, unit: Unit, settled: list[Settlement]) -> _Tracked | None:
        self.stats.records += 1
        if unit.events is not None:
            record_id, events = unit.record_id or "", list(unit.events)
        else:
            assert self.mapper is not None, "a unit without events needs a mapper"
            try:
                record_id, events = self.mapper.map_bytes(unit.raw)
            except RecordRejected as rejected:
                self.stats.dead_letters += 1
                letter = NewDeadLetter(
                    record=unit.raw,
                    reason=rejected.reason,
                    error=str(rejected),
                    source=self.source,
                    record_id=rejected.record_id,
                )
                settled.append(Settlement(unit.ref, rejected.record_id, 0, letter))
                return None
        if not events:  # zero usage: nothing to bill, nothing to wait for
            settled.append(Settlement(unit.ref, record_id, 0))
            return None
        return _Tracked(unit, record_id, events, len(events))

    async def _schedule(self, owners: list[_Tracked], events: list[Event]) -> None:
        await self._window.acquire()
        self._raise_failure()
        task = asyncio.create_task(self._deliver(owners, events))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._window.release()
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            self._failure = task.exception()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def _deliver(self, owners: list[_Tracked], events: list[Event]) -> None:
        result = await self.deliverer.deliver_batch(events)
        settled: list[Settlement] = []
        if isinstance(result, EventOutcome) and result.kind == DELIVERED:
            for tracked in owners:  # the common case: the whole batch went through
                tracked.remaining -= 1
                if tracked.remaining == 0:
                    settled.append(self._conclude(tracked))
        else:
            outcomes = [result] * len(events) if isinstance(result, EventOutcome) else result
            for tracked, event, outcome in zip(owners, events, outcomes, strict=True):
                if outcome.kind == ABANDONED:
                    tracked.abandoned = True
                elif outcome.kind != DELIVERED:
                    tracked.failed.append((event, outcome))
                tracked.remaining -= 1
                if tracked.remaining == 0:
                    settled.append(self._conclude(tracked))
        if settled:
            self._settle(settled)

    def _conclude(self, tracked: _Tracked) -> Settlement:
        unit = tracked.unit
        if tracked.abandoned:
            return Settlement(unit.ref, tracked.record_id, len(tracked.events), abandoned=True)
        if not tracked.failed:
            self.stats.events += len(tracked.events)
            return Settlement(unit.ref, tracked.record_id, len(tracked.events))
        self.stats.events += len(tracked.events) - len(tracked.failed)
        self.stats.dead_letters += 1
        worst = max(tracked.failed, key=lambda f: f[1].kind == EXHAUSTED)[1]
        errors = sorted({outcome.error for _, outcome in tracked.failed})
        letter = NewDeadLetter(
            record=unit.raw,
            reason=worst.kind,
            error=" | ".join(errors),
            source=self.source,
            record_id=tracked.record_id,
            payload=[event for event, _ in tracked.failed],
            attempts=max(outcome.attempts for _, outcome in tracked.failed),
        )
        return Settlement(unit.ref, tracked.record_id, len(tracked.events), letter)

    def _settle(self, settled: list[Settlement]) -> None:
        self.on_settled(settled)
