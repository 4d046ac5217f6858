"""The SQLite file behind the spool and the dead-letter store: schema, connections, transactions.

One file holds both tables so that moving a record from the spool to the dead letters, or
acknowledging a delivered batch, is a single transaction. WAL mode lets producers (``send``,
``serve``, the Python API) append while the worker drains. The file uses incremental
auto-vacuum, so the worker can give the pages of delivered records back to the file system as
it drains (``Spool.compact``): a backlog that came and went does not leave the file at its peak.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType

from lagoform.errors import DispatchError

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    payload     BLOB NOT NULL,
    enqueued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    claimed_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   TEXT,
    source      TEXT NOT NULL,
    record      BLOB NOT NULL,
    payload     BLOB,
    reason      TEXT NOT NULL,
    error       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'dead',
    replayed_at REAL
);
CREATE INDEX IF NOT EXISTS dead_letters_status ON dead_letters (status, id);
"""


WAL_LIMIT = 16 * 1024 * 1024
BUSY_TIMEOUT_MS = 30_000


def connect(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating if needed) the dispatch database in WAL mode, in autocommit mode.

    Producers keep ``synchronous=FULL``: once ``enqueue`` returns, the usage survives a power
    cut. The worker may use ``NORMAL``: a lost acknowledgement only means a re-send, which
    Lago deduplicates by ``transaction_id``.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        # before the first table: a new file can hand freed pages back (Spool.compact)
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # a checkpointed WAL is cut back to this size rather than kept at its largest
        conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        conn.executescript(SCHEMA)
    except (sqlite3.Error, OSError) as err:
        raise DispatchError(f"cannot open the dispatch spool {path}: {err}") from err
    return conn


class transaction:  # lower case: it reads like a function, `with transaction(conn):`
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
