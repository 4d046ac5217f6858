"""lagoform.dispatch: usage records → Lago events, billed exactly once.

Pipeline: a source (the SQLite ``Spool`` drained by ``SpoolWorker``, or Kafka via
``lagoform.dispatch.kafka.KafkaWorker``) hands raw records to the ``Pipeline``, which maps them
with a ``Mapper`` compiled from the catalog's usage mappings, packs ≤100 events per batch and
delivers them through a ``Deliverer`` (on lagoform's ``AsyncLagoClient``). Records that cannot
be billed go to the ``DeadLetterStore`` (or a dead-letter topic) with the reason; ``replay``
sends them again. Every ``transaction_id`` is derived from the record id and the fan-out key,
so re-sending after a crash, an outage or a replay never bills twice.

Producers enqueue with ``Spool(path).enqueue(records)``. The Kafka module imports
confluent-kafka only when a ``KafkaWorker`` is built.
"""

from __future__ import annotations

from lagoform.dispatch.deadletters import DeadLetter, DeadLetterStore, NewDeadLetter
from lagoform.dispatch.delivery import Deliverer, DeliveryPolicy, EventOutcome, EventSink
from lagoform.dispatch.mapping import Event, Mapper, RecordRejected, mapper_for_project
from lagoform.dispatch.pipeline import Pipeline, Settlement, Unit
from lagoform.dispatch.replay import ReplayResult, replay
from lagoform.dispatch.spool import DEFAULT_SPOOL, IngestResult, Spool
from lagoform.dispatch.values import transaction_id
from lagoform.dispatch.worker import Progress, SpoolWorker, WorkerResult

__all__ = [
    "DEFAULT_SPOOL",
    "DeadLetter",
    "DeadLetterStore",
    "Deliverer",
    "DeliveryPolicy",
    "Event",
    "EventOutcome",
    "EventSink",
    "IngestResult",
    "Mapper",
    "NewDeadLetter",
    "Pipeline",
    "Progress",
    "RecordRejected",
    "ReplayResult",
    "Settlement",
    "Spool",
    "SpoolWorker",
    "Unit",
    "WorkerResult",
    "mapper_for_project",
    "replay",
    "transaction_id",
]
