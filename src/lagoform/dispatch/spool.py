"""The embedded usage spool: a SQLite (WAL) queue of usage records waiting to be billed.

Producers append records (``Spool.enqueue`` from Python, ``lagoform dispatch send``, the HTTP
ingest endpoint); one worker at a time drains it (a lock file enforces that). The ``records``
table holds exactly the usage not yet billed: a record is deleted only when Lago has accepted
all its events, or moved to the dead letters in the same transaction.

The worker claims records in batches: a claim is one row in ``claims`` (a range of sequence
numbers, its owner and time), not an update of every record, so claiming costs one insert per
thousand records. Sequence numbers only grow (AUTOINCREMENT, one writer at a time), so a
cursor never skips a record. A worker that dies leaves its claims behind; the next one drops
them and starts from the oldest record, re-sending what was in flight — Lago deduplicates by
``transaction_id``, so that bills nothing twice.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from lagoform.dispatch.db import BUSY_TIMEOUT_MS, connect, transaction
from lagoform.dispatch.deadletters import INSERT_SQL, NewDeadLetter
from lagoform.dispatch.exact import dumps_exact
from lagoform.errors import DispatchError

DEFAULT_SPOOL = Path(".lagoform") / "dispatch" / "spool.db"
# rows per write transaction when ingesting a large stream (bounded memory, few fsyncs)
INGEST_CHUNK = 20_000
INCREMENTAL = 2  # PRAGMA auto_vacuum's value for incremental
COMPACT_MIN_PAGES = 2_048  # 8 MiB of free pages before the worker bothers (4 KiB pages)


class SpooledRecord(NamedTuple):
    seq: int
    payload: bytes


@dataclass
class IngestResult:
    """What happened to an ingested stream: counts, and the first few problems."""

    accepted: int = 0
    dead_lettered: int = 0
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "dead_lettered": self.dead_lettered,
            "problems": self.problems[:20],
        }


@dataclass
class _Claim:
    id: int
    first: int
    last: int
    remaining: int


class Spool:
    """A handle on one spool file. Producers and the worker each open their own."""

    def __init__(self, path: Path | str = DEFAULT_SPOOL, *, durable: bool = True) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, synchronous="FULL" if durable else "NORMAL")
        self._lock: IO[str] | None = None
        self._cursor = 0  # highest sequence number claimed by this worker
        self._claims: list[_Claim] = []

    def close(self) -> None:
        self._conn.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- producers --------------------------------------------------------------------------

    def enqueue(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Append usage records (JSON objects). Returns how many; durable when it returns."""
        now = time.time()
        count = 0
        chunk: list[tuple[bytes, float]] = []
        for record in records:
            chunk.append((dumps_exact(record if type(record) is dict else dict(record)), now))
            if len(chunk) >= INGEST_CHUNK:
                count += self._insert(chunk, [])
                chunk = []
        return count + self._insert(chunk, [])

    def ingest_lines(self, lines: Iterable[bytes], source: str) -> IngestResult:
        """Append JSON lines; a line that is not a JSON object becomes a dead letter naming it.

        ``source`` names the stream in dead letters, e.g. ``usage.jsonl`` → ``usage.jsonl:12``.
        """
        return self._ingest(((n, line) for n, line in enumerate(lines, 1)), source, "line")

    def ingest_items(self, items: Iterable[Any], source: str) -> IngestResult:
        """Append the items of a JSON array body — parsed, or each item's exact bytes (see
        ``exact.split_array``); non-objects are dead-lettered."""
        return self._ingest(((n, item) for n, item in enumerate(items)), source, "item")

    def _ingest(self, numbered: Iterable[tuple[int, Any]], source: str, unit: str) -> IngestResult:
        result = IngestResult()
        now = time.time()
        rows: list[tuple[bytes, float]] = []
        dead: list[NewDeadLetter] = []
        for number, item in numbered:
            if isinstance(item, bytes):
                raw = item.strip()
                if not raw:
                    continue
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError as err:
                    dead.append(self._bad(raw, source, unit, number, "malformed_json", str(err)))
                    result.problems.append(f"{source} {unit} {number}: not valid JSON ({err})")
                    continue
            else:
                record = item
                raw = dumps_exact(item)
            if not isinstance(record, dict):
                message = "a usage record must be a JSON object"
                dead.append(self._bad(raw, source, unit, number, "not_an_object", message))
                result.problems.append(f"{source} {unit} {number}: {message}")
                continue
            rows.append((raw, now))
            if len(rows) + len(dead) >= INGEST_CHUNK:
                result.accepted += self._insert(rows, dead)
                result.dead_lettered += len(dead)
                rows, dead = [], []
        result.accepted += self._insert(rows, dead)
        result.dead_lettered += len(dead)
        return result

    @staticmethod
    def _bad(
        raw: bytes, source: str, unit: str, number: int, reason: str, msg: str
    ) -> NewDeadLetter:
        return NewDeadLetter(
            record=raw, reason=reason, error=f"{unit} {number}: {msg}", source=f"{source}:{number}"
        )

    def _insert(self, rows: Sequence[tuple[bytes, float]], dead: Sequence[NewDeadLetter]) -> int:
        if not rows and not dead:
            return 0
        now = time.time()
        with transaction(self._conn) as conn:
            conn.executemany(
                "INSERT INTO records (payload, enqueued_at) VALUES (?, ?)",
                rows,
            )
            conn.executemany(INSERT_SQL, [d.row(now) for d in dead])
        return len(rows)

    # ---- the worker -------------------------------------------------------------------------

    def lock_for_worker(self) -> None:
        """Become the only worker draining this spool, then release claims a dead one left."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the worker's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DispatchError(
                f"another worker ({holder}) is draining {self.path}; one worker per spool"
            ) from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._lock = handle
        self.release_claims()

    def release_claims(self) -> int:
        """Forget every claim (this worker's, or a dead one's): all records are pending again."""
        with transaction(self._conn) as conn:
            count = conn.execute("DELETE FROM claims").rowcount
        self._cursor = 0
        self._claims.clear()
        return count

    def claim(self, limit: int) -> list[SpooledRecord]:
        """Claim up to ``limit`` records after the last claimed one, oldest first."""
        # a plain read: an idle worker polling an empty spool takes no write lock
        rows = self._conn.execute(
            "SELECT seq, payload FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
            (self._cursor, limit),
        ).fetchall()
        if not rows:
            return []
        first, last = rows[0][0], rows[-1][0]
        claim_id = self._conn.execute(
            "INSERT INTO claims (first_seq, last_seq, owner, claimed_at) VALUES (?,?,?,?)",
            (first, last, f"pid {os.getpid()}", time.time()),
        ).lastrowid
        assert claim_id is not None
        self._cursor = last
        self._claims.append(_Claim(claim_id, first, last, len(rows)))
        return [SpooledRecord(*row) for row in rows]

    def settle(
        self, delivered: Sequence[int], dead: Sequence[tuple[int, NewDeadLetter]] = ()
    ) -> None:
        """Remove delivered records and move dead ones to the dead letters, atomically."""
        if not delivered and not dead:
            return
        seqs = sorted([*delivered, *(s for s, _ in dead)])
        finished = self._count_down(seqs)
        now = time.time()
        with transaction(self._conn) as conn:
            conn.executemany("DELETE FROM records WHERE seq BETWEEN ? AND ?", _runs(seqs))
            if dead:
                conn.executemany(INSERT_SQL, [d.row(now) for _, d in dead])
            if finished:
                conn.executemany("DELETE FROM claims WHERE id = ?", [(i,) for i in finished])

    def _count_down(self, seqs: Sequence[int]) -> list[int]:
        """Mark ``seqs`` settled in their claims; return the ids of claims now finished."""
        finished = []
        claims = self._claims
        i = 0
        for seq in seqs:  # both sorted: one merge pass
            while i < len(claims) and claims[i].last < seq:
                i += 1
            if i < len(claims) and claims[i].first <= seq:
                claims[i].remaining -= 1
                if claims[i].remaining == 0:
                    finished.append(claims[i].id)
        if finished:
            done = set(finished)
            self._claims = [c for c in claims if c.id not in done]
        return finished

    def compact(self, min_free_pages: int = COMPACT_MIN_PAGES) -> int:
        """Give free pages (left by delivered records) back to the file system once there are
        at least ``min_free_pages`` and they are half the file, and checkpoint the WAL; returns
        the pages released. Free pages are reused by new records anyway, so the file only grows
        with the backlog; this shrinks it once the backlog drains, keeping it within twice the
        records it holds, and moving each live page at most once per halving.

        A spool made before incremental auto-vacuum is converted first (one ``VACUUM``, which
        rewrites the file: done once, by the worker)."""
        conn = self._conn
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != INCREMENTAL:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("VACUUM")
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        if free < min_free_pages or 2 * free < pages:
            return 0
        # executescript steps the pragma to completion (execute frees a single page). The
        # checkpoint must not wait for producers (it would stall the worker while ingest keeps
        # writing): no busy wait, and if it cannot truncate now, journal_size_limit trims the WAL
        # when it next restarts.
        conn.executescript(
            f"PRAGMA incremental_vacuum({free}); PRAGMA busy_timeout=0; "
            f"PRAGMA wal_checkpoint(TRUNCATE); PRAGMA busy_timeout={BUSY_TIMEOUT_MS};"
        )
        return free

    def file_bytes(self) -> int:
        """The spool's size on disk: the database and its WAL."""
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())

    def claimed(self) -> int:
        """Records claimed by this worker and not yet settled."""
        return sum(c.remaining for c in self._claims)

    def backlog(self) -> int:
        """Records not yet billed (pending or claimed)."""
        return int(self._conn.execute("SELECT count(*) FROM records").fetchone()[0])

    def dead_letter_count(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM dead_letters WHERE status = 'dead'")
        return int(row.fetchone()[0])


def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted sequence numbers as (first, last) runs of consecutive integers."""
    runs: list[tuple[int, int]] = []
    start = prev = seqs[0]
    for seq in seqs[1:]:
        if seq != prev + 1:
            runs.append((start, prev))
            start = seq
        prev = seq
    runs.append((start, prev))
    return runs
