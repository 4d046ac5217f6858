"""The state file: a JSON snapshot of everything but events, plus an append-only journal of
events (``<state file>.events``: each line is the JSON array of the events one save added).

Events are the bulk of the state; appending only the new ones keeps periodic saves cheap at
ingestion rates of 10^5 events/s. The snapshot records how many journal lines belong to it,
so lines appended by a save that crashed before its snapshot was written are ignored.

One writer at a time: a sandbox holds ``<state file>.lock`` (``flock``) from loading to its last
save, and writes there who it is — a ``lagoform sandbox serve`` also its URL. A second sandbox
on the same file (the embedded CLI while the server runs, say) is refused with ``StateInUse``,
which names the holder and, for a server, the ``--api-url`` to talk to it instead: two copies of
the state would each save over the other's writes. The lock dies with its process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from lagoform.errors import LagoformError
from lagoform.sandbox.state import State, StoredEvent

JOURNAL_SUFFIX = ".events"
LOCK_SUFFIX = ".lock"


class StateInUse(LagoformError):
    """Another process holds the state file."""


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
        self._lock_file: IO[str] | None = None

    # -- one writer at a time -------------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + LOCK_SUFFIX)

    def acquire(self, holder: str, wait: float = 0.0) -> None:
        """Become the only sandbox on this state file, waiting up to ``wait`` seconds for
        another embedded one to finish (never for a server: it does not finish)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                owner = _read_owner(handle)
                if owner.get("url") or time.monotonic() >= deadline:
                    handle.close()
                    raise StateInUse(_in_use(self.path, owner)) from None
                time.sleep(0.05)
        self._lock_file = handle
        self.announce(holder)

    def announce(self, holder: str, url: str | None = None) -> None:
        """Say who holds the state (a server: also where it listens)."""
        if self._lock_file is None:
            return
        owner = {"pid": os.getpid(), "holder": holder, **({"url": url} if url else {})}
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(json.dumps(owner))
        self._lock_file.flush()

    def release(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                self._lock_file.seek(0)
                self._lock_file.truncate()
            self._lock_file.close()  # closing drops the flock
            self._lock_file = None

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

    def remove(self, holder: str = "lagoform sandbox reset") -> list[Path]:
        """Delete the state (refused while a sandbox holds it)."""
        self.acquire(holder)
        try:
            return self._remove()
        finally:
            self.release()

    def _remove(self) -> list[Path]:
        removed = []
        for path in (self.path, self.journal):
            if path.exists():
                path.unlink()
                removed.append(path)
        return removed


def _read_owner(handle: IO[str]) -> dict[str, object]:
    handle.seek(0)
    try:
        owner = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _in_use(path: Path, owner: dict[str, object]) -> str:
    who = f"{owner.get('holder') or 'another lagoform'} (pid {owner.get('pid', '?')})"
    text = (
        f"the sandbox state {path} is in use by {who}: one writer at a time, or each would save "
        "over the other's changes."
    )
    url = owner.get("url")
    if url:
        return (
            f"{text} Talk to that server instead: --api-url {url} (with LAGO_API_KEY set to the "
            "key it accepts), or stop it first."
        )
    return f"{text} Wait for it to finish, then run this again."
