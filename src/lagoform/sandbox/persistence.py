"""The state file: a JSON snapshot of everything but events, plus an append-only journal of
events (``<state file>.events``: each line is the JSON array of the events one save added).

Events are the bulk of the state; appending only the new ones keeps periodic saves cheap at
ingestion rates of 10^5 events/s. The snapshot records how many journal lines belong to it,
so lines appended by a save that crashed before its snapshot was written are ignored.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import orjson

from lagoform.sandbox.state import State, StoredEvent

JOURNAL_SUFFIX = ".events"


@dataclass
class PendingSave:
    snapshot: bytes
    events: list[StoredEvent]
    rewrite: bool  # the journal no longer matches the state (reset): write it from scratch
    total: int


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal = path.with_name(path.name + JOURNAL_SUFFIX)
        self._journaled = 0
        self._owner: int | None = None  # id() of the State the journal belongs to
        self._size = 0  # journal size after our last write: another writer changes it
        self._write_lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> State:
        doc = orjson.loads(self.path.read_bytes())
        count = int(doc.get("events_in_journal", 0)) if isinstance(doc, dict) else 0
        events: list[object] = []
        if count and self.journal.exists():
            with self.journal.open("rb") as handle:
                for line in handle:
                    if len(events) >= count:
                        break
                    events.extend(orjson.loads(line))
            del events[count:]
        state = State.from_doc(doc, events if "events" not in doc else None)
        self._size = self._journal_size()
        self._journaled = len(state.events)
        self._owner = id(state)
        return state

    def capture(self, state: State) -> PendingSave:
        """Cheap, under the sandbox lock: the snapshot and the events not yet journaled."""
        total = len(state.events)
        rewrite = self._owner != id(state) or self._journaled > total
        start = 0 if rewrite else self._journaled
        doc = state.to_doc(with_events=False)
        doc["events_in_journal"] = total
        return PendingSave(orjson.dumps(doc), state.events[start:total], rewrite, total)

    def _journal_size(self) -> int:
        try:
            return self.journal.stat().st_size
        except FileNotFoundError:
            return 0

    def write(self, pending: PendingSave, state: State) -> None:
        """Outside the sandbox lock: append the new events, then replace the snapshot.

        If another process wrote the journal since (two sandboxes on one state file), ours is
        rewritten whole: the last writer wins, but journal and snapshot never mix."""
        with self._write_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not pending.rewrite and self._journal_size() != self._size:
                pending = PendingSave(
                    pending.snapshot, state.events[: pending.total], True, pending.total
                )
            # one orjson call per save: tuples serialize natively as arrays
            lines = orjson.dumps(pending.events) + b"\n" if pending.events else b""
            if pending.rewrite:
                tmp = self.journal.with_name(self.journal.name + ".tmp")
                tmp.write_bytes(lines)
                os.replace(tmp, self.journal)
            elif lines:
                with self.journal.open("ab") as handle:
                    handle.write(lines)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_bytes(pending.snapshot)
            os.replace(tmp, self.path)
            self._journaled = pending.total
            self._owner = id(state)
            self._size = self._journal_size()

    def remove(self) -> list[Path]:
        removed = []
        for path in (self.path, self.journal):
            if path.exists():
                path.unlink()
                removed.append(path)
        return removed
