"""Replay dead letters: send them again, once, and mark them replayed.

A letter that failed in delivery (``rejected``/``exhausted``) is replayed by resending exactly
the events that failed (its stored payload), so a catalog edit since then cannot change their
``transaction_id``s. A letter that never became events (unknown tenant, bad quantity, ...) is
mapped again with the current catalog — that is how a fixed catalog or tenant file lets stuck
usage through. Either way the ids are deterministic and Lago deduplicates, and a letter is
marked ``replayed`` only after Lago accepted its events: replaying twice bills once. A replay
that fails again keeps the letter dead, with the newer error and a higher attempt count.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from lagoform.dispatch.deadletters import DeadLetter, DeadLetterStore
from lagoform.dispatch.delivery import Deliverer
from lagoform.dispatch.mapping import Mapper
from lagoform.dispatch.pipeline import Pipeline, Settlement, Unit


@dataclass
class ReplayResult:
    replayed: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (letter id, error)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (letter id, why)
    events: int = 0


async def replay(
    store: DeadLetterStore,
    letters: Sequence[DeadLetter],
    mapper: Mapper,
    deliverer: Deliverer,
    *,
    force: bool = False,
) -> ReplayResult:
    """Replay ``letters``; those already replayed are skipped unless ``force``."""
    result = ResultCollector(store)
    pipeline = Pipeline(mapper, deliverer, result.settle, source="replay")
    units: list[Unit] = []
    for letter in letters:
        if letter.status == "replayed" and not force:
            result.result.skipped.append((letter.id, "already replayed"))
            continue
        if letter.is_delivery_failure:
            units.append(
                Unit(letter.id, letter.record, events=letter.payload, record_id=letter.record_id)
            )
        else:
            units.append(Unit(letter.id, letter.record))
    await pipeline.submit(units)
    await pipeline.drain()
    result.result.events = pipeline.stats.events
    return result.result


class ResultCollector:
    """Turns settlements into store updates as they arrive."""

    def __init__(self, store: DeadLetterStore) -> None:
        self.store = store
        self.result = ReplayResult()

    def settle(self, settled: list[Settlement]) -> None:
        done: list[int] = []
        for s in settled:
            letter_id = _letter_id(s.ref)
            if s.abandoned:
                self.result.skipped.append((letter_id, "stopped before Lago answered"))
            elif s.dead is not None:
                self.store.record_failure(
                    letter_id,
                    s.dead.reason,
                    s.dead.error,
                    max(1, s.dead.attempts),
                    s.dead.payload,
                )
                self.result.failed.append((letter_id, s.dead.error))
            else:
                done.append(letter_id)
        if done:
            self.store.mark_replayed(done)
            self.result.replayed.extend(done)


def _letter_id(ref: Hashable) -> int:
    assert isinstance(ref, int)
    return ref
