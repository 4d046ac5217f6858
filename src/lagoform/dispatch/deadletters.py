"""The SQLite dead-letter store: usage that could not be billed, kept with the reason.

A dead letter holds the original record (bytes as received), the event payload that failed (if
any got that far), the error, how many attempts were made and when. It lives in the same SQLite
file as the spool so a record moves from the spool to the dead letters in one transaction.

Reasons fall in two families: *mapping* reasons (the record never became events: unknown type,
unknown tenant, malformed JSON, ...) and *delivery* reasons (``rejected`` — Lago answered 422
for these events; ``exhausted`` — retryable failures until the attempt limit). Replay (see
``replay.py``) re-maps the former and resends the exact failed payload of the latter.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from lagoform.dispatch.db import connect, transaction
from lagoform.errors import DispatchError

DELIVERY_REASONS = frozenset({"rejected", "exhausted"})

INSERT_SQL = (
    "INSERT INTO dead_letters (record_id, source, record, payload, reason, error, attempts,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class NewDeadLetter:
    """A dead letter about to be written."""

    record: bytes
    reason: str
    error: str
    source: str
    record_id: str | None = None
    payload: Sequence[dict[str, Any]] | None = None
    attempts: int = 0

    def row(self, now: float) -> tuple[Any, ...]:
        payload = orjson.dumps(list(self.payload)) if self.payload else None
        return (
            self.record_id,
            self.source,
            self.record,
            payload,
            self.reason,
            self.error,
            self.attempts,
            now,
            now,
        )


@dataclass(frozen=True)
class DeadLetter:
    id: int
    record_id: str | None
    source: str
    record: bytes
    payload: list[dict[str, Any]] | None
    reason: str
    error: str
    attempts: int
    created_at: float
    updated_at: float
    status: str
    replayed_at: float | None

    @property
    def is_delivery_failure(self) -> bool:
        return self.reason in DELIVERY_REASONS and self.payload is not None

    def as_json(self) -> dict[str, Any]:
        try:
            record: Any = orjson.loads(self.record)
        except orjson.JSONDecodeError:
            record = self.record.decode("utf-8", "replace")
        return {
            "id": self.id,
            "record_id": self.record_id,
            "source": self.source,
            "status": self.status,
            "reason": self.reason,
            "error": self.error,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "replayed_at": self.replayed_at,
            "record": record,
            "payload": self.payload,
        }


_COLUMNS = (
    "id, record_id, source, record, payload, reason, error, attempts, created_at, updated_at,"
    " status, replayed_at"
)


def _from_row(row: Sequence[Any]) -> DeadLetter:
    return DeadLetter(
        id=row[0],
        record_id=row[1],
        source=row[2],
        record=bytes(row[3]),
        payload=orjson.loads(row[4]) if row[4] is not None else None,
        reason=row[5],
        error=row[6],
        attempts=row[7],
        created_at=row[8],
        updated_at=row[9],
        status=row[10],
        replayed_at=row[11],
    )


class DeadLetterStore:
    """Read, add and mark dead letters. One instance per process; not shared across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> DeadLetterStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, letters: Iterable[NewDeadLetter]) -> int:
        now = time.time()
        rows = [letter.row(now) for letter in letters]
        if rows:
            with transaction(self._conn):
                self._conn.executemany(INSERT_SQL, rows)
        return len(rows)

    def count(self, status: str = "dead") -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM dead_letters WHERE status = ?", (status,)
        ).fetchone()
        return int(row[0])

    def list(self, *, status: str | None = "dead", limit: int = 1000) -> list[DeadLetter]:
        if status is None:
            sql = f"SELECT {_COLUMNS} FROM dead_letters ORDER BY id LIMIT ?"
            rows = self._conn.execute(sql, (limit,)).fetchall()
        else:
            sql = f"SELECT {_COLUMNS} FROM dead_letters WHERE status = ? ORDER BY id LIMIT ?"
            rows = self._conn.execute(sql, (status, limit)).fetchall()
        return [_from_row(r) for r in rows]

    def get(self, letter_id: int) -> DeadLetter:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM dead_letters WHERE id = ?", (letter_id,)
        ).fetchone()
        if row is None:
            raise DispatchError(f"no dead letter with id {letter_id}")
        return _from_row(row)

    def mark_replayed(self, ids: Iterable[int]) -> None:
        now = time.time()
        with transaction(self._conn):
            self._conn.executemany(
                "UPDATE dead_letters SET status = 'replayed', replayed_at = ?, updated_at = ?"
                " WHERE id = ?",
                [(now, now, i) for i in ids],
            )

    def record_failure(
        self,
        letter_id: int,
        reason: str,
        error: str,
        attempts: int,
        payload: Sequence[dict[str, Any]] | None,
    ) -> None:
        """A replay failed again: keep the letter dead, with the newest error."""
        now = time.time()
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE dead_letters SET reason = ?, error = ?, attempts = attempts + ?,"
                " payload = coalesce(?, payload), updated_at = ? WHERE id = ?",
                (
                    reason,
                    error,
                    attempts,
                    orjson.dumps(list(payload)) if payload else None,
                    now,
                    letter_id,
                ),
            )
