"""The Kafka source: several workers in one consumer group share a topic's partitions.

Each worker consumes a chunk, maps and delivers it through the shared pipeline, sends records
that cannot be billed to a dead-letter topic (and waits for the broker to confirm), and only then
commits the chunk's offsets (``enable.auto.commit=false``). A worker killed at any point has not
committed what Lago has not accepted: its partitions move to the others, which re-send from the
last commit, and Lago's dedup by ``transaction_id`` keeps billing exactly-once. Rebalances only
happen inside ``consume``, when nothing is outstanding, so no offset is committed for messages a
worker no longer owns. Replaying the dead-letter topic is running this worker on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson

from lagoform.dispatch.delivery import Deliverer
from lagoform.dispatch.mapping import Mapper
from lagoform.dispatch.pipeline import Pipeline, Settlement, Unit
from lagoform.dispatch.worker import Progress
from lagoform.errors import DispatchError
from lagoform.extras import missing_extra_message

log = logging.getLogger("lagoform.dispatch")

MessageRef = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True)
class KafkaSettings:
    brokers: str
    topic: str
    group: str
    dead_letter_topic: str | None = None  # default: "<topic>.dead-letters"
    # records per consume → deliver → commit round: the pipeline drains at each round's end,
    # so a larger round keeps more batches in flight (a crash re-sends at most one round)
    chunk_size: int = 4000
    poll_timeout: float = 0.5
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    extra: dict[str, Any] = field(default_factory=dict)  # passed to librdkafka as given

    @property
    def dlq_topic(self) -> str:
        return self.dead_letter_topic or f"{self.topic}.dead-letters"

    def consumer_config(self) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.brokers,
            "group.id": self.group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": self.heartbeat_interval_ms,
            **self.extra,
        }

    def producer_config(self) -> dict[str, Any]:
        return {"bootstrap.servers": self.brokers, "acks": "all", "linger.ms": 5}


@dataclass(frozen=True)
class KafkaResult:
    records: int
    events: int
    dead_letters: int
    commits: int
    elapsed: float


def _ref(ref: Hashable) -> MessageRef:
    assert isinstance(ref, tuple) and len(ref) == 3
    return ref


class KafkaWorker:
    def __init__(
        self,
        settings: KafkaSettings,
        mapper: Mapper,
        deliverer: Deliverer,
        *,
        progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 1.0,
        on_assignment: Callable[[int, int], None] | None = None,
    ) -> None:
        """``on_assignment(owned, total)`` hears how many of the topic's partitions this worker
        owns after each rebalance (the CLI splits the events budget by it)."""
        try:
            from confluent_kafka import Consumer, Producer
        except ImportError as err:
            raise DispatchError(missing_extra_message("kafka", "the Kafka source")) from err

        self.settings = settings
        self.deliverer = deliverer
        self.progress = progress
        self.progress_interval = progress_interval
        self.pipeline = Pipeline(mapper, deliverer, self._on_settled, source="kafka")
        self._stop = asyncio.Event()
        self._consumer = Consumer(settings.consumer_config())
        self._producer = Producer(settings.producer_config())
        self._settled: list[Settlement] = []
        self._dlq_errors: list[str] = []
        self._records = 0
        self._dead = 0
        self._commits = 0
        self._on_assignment = on_assignment
        self._owned: set[int] = set()
        self._partitions = 0  # the topic's, once known

    def stop(self) -> None:
        self._stop.set()
        self.deliverer.stop()

    def _on_settled(self, settled: list[Settlement]) -> None:
        self._settled.extend(settled)

    async def run(self, *, idle_exit: float | None = None) -> KafkaResult:
        """Consume until stopped; with ``idle_exit``, also stop after that long without data."""
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        self._consumer.subscribe(
            [self.settings.topic],
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_lost=self._revoked,
        )
        reporter = asyncio.create_task(self._report(started)) if self.progress else None
        idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                messages = await loop.run_in_executor(
                    None,
                    self._consumer.consume,
                    self.settings.chunk_size,
                    self.settings.poll_timeout,
                )
                units = self._units(messages)
                if not units:
                    if idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                        break
                    continue
                idle_since = time.monotonic()
                await self.pipeline.submit(units)
                await self.pipeline.drain()
                self._finish_chunk(units)
        finally:
            if reporter is not None:
                reporter.cancel()
            self._consumer.close()  # leaves the group at once: partitions move now
        return KafkaResult(
            records=self._records,
            events=self.pipeline.stats.events,
            dead_letters=self._dead,
            commits=self._commits,
            elapsed=time.monotonic() - started,
        )

    # rebalance callbacks: called inside ``consume`` (on its thread), which then assigns or
    # unassigns as usual
    def _assigned(self, consumer: Any, partitions: list[Any]) -> None:
        self._owned.update(tp.partition for tp in partitions if tp.topic == self.settings.topic)
        self._report_assignment(consumer)

    def _revoked(self, consumer: Any, partitions: list[Any]) -> None:
        self._owned.difference_update(
            tp.partition for tp in partitions if tp.topic == self.settings.topic
        )
        self._report_assignment(consumer)

    def _report_assignment(self, consumer: Any) -> None:
        if self._on_assignment is None:
            return
        if not self._partitions:
            try:
                metadata = consumer.list_topics(self.settings.topic, timeout=5.0)
                self._partitions = len(metadata.topics[self.settings.topic].partitions)
            except Exception as err:  # metadata only sizes the budget; never stop the worker
                log.warning("Kafka: cannot read the partitions of %s: %s", self.settings.topic, err)
        total = max(self._partitions, len(self._owned), 1)
        self._on_assignment(len(self._owned), total)

    def _units(self, messages: list[Any]) -> list[Unit]:
        from confluent_kafka import KafkaError

        units = []
        for message in messages:
            err = message.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    raise DispatchError(f"Kafka consumer failed: {err.str()}")
                log.warning("Kafka: %s", err.str())
                continue
            ref = (message.topic(), message.partition(), message.offset())
            units.append(Unit(ref, message.value() or b""))
        return units

    def _finish_chunk(self, units: list[Unit]) -> None:
        """Dead letters to their topic (confirmed), then commit what is settled."""
        settled, self._settled = self._settled, []
        held: dict[tuple[str, int], int] = {}  # lowest abandoned offset per partition
        dead = 0
        for s in settled:
            topic, partition, offset = _ref(s.ref)
            if s.abandoned:
                key = (topic, partition)
                held[key] = min(offset, held.get(key, offset))
            elif s.dead is not None:
                self._produce_dead_letter(s, (topic, partition, offset))
                dead += 1
        if dead:
            self._flush_dead_letters()
            self._dead += dead
        commit: dict[tuple[str, int], int] = {}
        for unit in units:
            topic, partition, offset = _ref(unit.ref)
            key = (topic, partition)
            if key in held and offset >= held[key]:
                continue
            commit[key] = max(commit.get(key, -1), offset + 1)
        self._records += sum(1 for s in settled if not s.abandoned)
        self._commit(commit)

    def _produce_dead_letter(self, s: Settlement, ref: MessageRef) -> None:
        assert s.dead is not None
        letter = s.dead
        headers: list[tuple[str, str | bytes | None]] = [
            ("lagoform.reason", letter.reason.encode()),
            ("lagoform.error", letter.error.encode()[:4000]),
            ("lagoform.source", f"{ref[0]}/{ref[1]}/{ref[2]}".encode()),
            ("lagoform.attempts", str(letter.attempts).encode()),
        ]
        if letter.record_id:
            headers.append(("lagoform.record_id", letter.record_id.encode()))
        if letter.payload:
            headers.append(("lagoform.payload", orjson.dumps(list(letter.payload))))
        self._producer.produce(
            self.settings.dlq_topic,
            value=letter.record,
            headers=headers,
            on_delivery=self._dlq_delivered,
        )

    def _dlq_delivered(self, err: Any, message: Any) -> None:
        if err is not None:
            self._dlq_errors.append(str(err))

    def _flush_dead_letters(self) -> None:
        remaining = self._producer.flush(30.0)
        if remaining or self._dlq_errors:
            errors, self._dlq_errors = self._dlq_errors, []
            # not committing keeps the records: they come back after a restart
            raise DispatchError(
                f"could not write dead letters to {self.settings.dlq_topic}: "
                f"{errors[0] if errors else f'{remaining} still queued'}; offsets not committed"
            )

    def _commit(self, commit: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        if not commit:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(commit.items())]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
            self._commits += 1
        except KafkaException as err:
            # typically a rebalance took the partition: its new owner re-sends, Lago dedups
            log.warning("Kafka: commit failed (%s); the records will be re-sent", err)

    async def _report(self, started: float) -> None:
        assert self.progress is not None
        last = (time.monotonic(), 0)
        while True:
            await asyncio.sleep(self.progress_interval)
            now, events = time.monotonic(), self.pipeline.stats.events
            self.progress(
                Progress(
                    elapsed=now - started,
                    events=events,
                    events_per_second=(events - last[1]) / max(now - last[0], 1e-9),
                    records=self._records,
                    backlog=self._lag(),
                    dead_letters=self._dead,
                    retries=self.deliverer.stats.retries,
                )
            )
            last = (now, events)

    def _lag(self) -> int:
        """Messages behind the newest in this worker's partitions (best effort, cached)."""
        try:
            total = 0
            for tp in self._consumer.position(self._consumer.assignment()):
                _low, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if high >= 0 and tp.offset >= 0:
                    total += max(0, high - tp.offset)
            return total
        except Exception:  # progress only; never let it stop the worker
            return 0
