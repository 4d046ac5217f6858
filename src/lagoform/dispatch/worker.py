"""The spool worker: drain the SQLite spool into Lago, crash-safe, with progress and a clean stop.

Loop: claim records → pipeline (map, batch, deliver) → settle (delete delivered records, move
dead ones to the dead letters, one transaction per claimed chunk); every ``compact_interval``
seconds the spool gives the pages of delivered records back (``Spool.compact``), so the file
shrinks as a backlog drains. Only one worker drains a spool
(lock file); on start it releases claims a dead worker left, so those records are re-sent and
Lago's dedup by ``transaction_id`` keeps billing exactly-once. ``stop()`` (SIGTERM/SIGINT)
stops claiming, lets requests on the wire finish, settles them and puts the rest back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from lagoform.dispatch.deadletters import NewDeadLetter
from lagoform.dispatch.delivery import Deliverer
from lagoform.dispatch.mapping import Mapper
from lagoform.dispatch.pipeline import Pipeline, Settlement, Unit
from lagoform.dispatch.spool import Spool

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One progress report (printed to stderr by the CLI)."""

    elapsed: float
    events: int
    events_per_second: float
    records: int
    backlog: int
    dead_letters: int
    retries: int

    def line(self) -> str:
        return (
            f"dispatch: {self.events_per_second:,.0f} events/s · {self.events:,} events "
            f"from {self.records:,} records · backlog {self.backlog:,} · "
            f"dead letters {self.dead_letters:,} · retries {self.retries:,}"
        )


@dataclass(frozen=True)
class WorkerResult:
    records: int
    events: int
    dead_letters: int
    duplicates: int
    retries: int
    elapsed: float
    backlog: int


class SpoolWorker:
    def __init__(
        self,
        spool: Spool,
        mapper: Mapper,
        deliverer: Deliverer,
        *,
        claim_size: int = 1000,
        idle_poll: float = 0.2,
        progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 1.0,
        compact_interval: float = 5.0,
    ) -> None:
        self.spool = spool
        self.compact_interval = compact_interval
        self._compacted = float("-inf")
        self.deliverer = deliverer
        self.claim_size = claim_size
        self.idle_poll = idle_poll
        self.progress = progress
        self.progress_interval = progress_interval
        self.pipeline = Pipeline(mapper, deliverer, self._settle, source="spool")
        self._stop = asyncio.Event()
        self._records = 0
        self._dead = 0
        self._delivered_buffer: list[int] = []
        self._dead_buffer: list[tuple[int, NewDeadLetter]] = []
        # Every spool call runs on this one thread, in order: a claim or an acknowledgement
        # that waits for a producer's write lock (ingest commits durably) no longer stalls the
        # requests in flight on the event loop.
        self._db = ThreadPoolExecutor(1, thread_name_prefix="lagoform-spool")
        self._writes: list[Future[None]] = []

    def stop(self) -> None:
        """Graceful stop: no new claims or retries; in-flight requests finish and settle."""
        self._stop.set()
        self.deliverer.stop()

    def _settle(self, settled: list[Settlement]) -> None:
        # buffered: one transaction per claimed chunk rather than per batch (an ack lost in a
        # crash only means a re-send, which Lago deduplicates)
        delivered = self._delivered_buffer
        for s in settled:
            if s.dead is None:
                if not s.abandoned:  # abandoned: stays in the spool, sent by the next run
                    delivered.append(s.ref)  # type: ignore[arg-type]
            else:
                self._dead_buffer.append((_seq(s.ref), s.dead))
        if len(self._delivered_buffer) + len(self._dead_buffer) >= self.claim_size:
            self._flush()

    def _flush(self) -> None:
        delivered, dead = self._delivered_buffer, self._dead_buffer
        if not delivered and not dead:
            return
        self._delivered_buffer, self._dead_buffer = [], []
        self._writes.append(self._db.submit(self._settle_now, delivered, dead))

    def _settle_now(self, delivered: list[int], dead: list[tuple[int, NewDeadLetter]]) -> None:
        self.spool.settle(delivered, dead)
        self._records += len(delivered) + len(dead)
        self._dead += len(dead)
        self._maybe_compact()

    def _maybe_compact(self, *, now: bool = False) -> None:
        at = time.monotonic()
        if now or at - self._compacted >= self.compact_interval:
            self._compacted = at
            self.spool.compact()

    def _check_writes(self) -> None:
        """Re-raise a failed acknowledgement (a full disk, say): nothing more is claimed."""
        done = [w for w in self._writes if w.done()]
        self._writes = [w for w in self._writes if not w.done()]
        for write in done:
            write.result()

    async def _spool(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, call, *args)

    async def run(self, *, once: bool = False) -> WorkerResult:
        """Drain until stopped (or, with ``once``, until the spool is empty)."""
        self.spool.lock_for_worker()
        started = time.monotonic()
        reporter = asyncio.create_task(self._report(started)) if self.progress else None
        try:
            while not self._stop.is_set():
                self._check_writes()
                claimed = await self._spool(self.spool.claim, self.claim_size)
                if claimed:
                    await self.pipeline.submit([Unit(seq, payload) for seq, payload in claimed])
                    self._flush()
                    continue
                self._flush()
                if self.pipeline.outstanding == 0:
                    # drained: hand the backlog's pages back
                    await self._spool(self._maybe_compact)
                    if once:
                        break
                await self._idle()
            await self.pipeline.drain()
            self._flush()
            await self._spool(lambda: self._maybe_compact(now=True))
        finally:
            if reporter is not None:
                reporter.cancel()
            self._db.shutdown(wait=True)  # every acknowledgement written (or failed)
            # anything still claimed (a fatal error, or a stop mid-retry) is pending again
            self.spool.release_claims()
        self._check_writes()
        if self.progress:
            self.progress(self._snapshot(started))
        return WorkerResult(
            records=self._records,
            events=self.pipeline.stats.events,
            dead_letters=self._dead,
            duplicates=self.deliverer.stats.duplicates,
            retries=self.deliverer.stats.retries,
            elapsed=time.monotonic() - started,
            backlog=self.spool.backlog(),
        )

    async def _idle(self) -> None:
        if self.pipeline.outstanding:
            # let batches finish before polling the spool again
            await asyncio.sleep(0.005)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=self.idle_poll)

    def _snapshot(self, started: float, last: tuple[float, int] | None = None) -> Progress:
        now = time.monotonic()
        events = self.pipeline.stats.events
        if last is None:
            rate = events / max(now - started, 1e-9)
        else:
            rate = (events - last[1]) / max(now - last[0], 1e-9)
        return Progress(
            elapsed=now - started,
            events=events,
            events_per_second=rate,
            records=self._records,
            backlog=self.spool.backlog(),
            dead_letters=self.spool.dead_letter_count(),
            retries=self.deliverer.stats.retries,
        )

    async def _report(self, started: float) -> None:
        assert self.progress is not None
        last = (time.monotonic(), 0)
        while True:
            await asyncio.sleep(self.progress_interval)
            snap = await self._spool(self._snapshot, started, last)
            last = (time.monotonic(), snap.events)
            self.progress(snap)


def _seq(ref: Hashable) -> int:
    assert isinstance(ref, int)
    return ref
