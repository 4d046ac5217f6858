"""The SQLite spool and dead-letter store: ingest, claims, settling, crash recovery, locking."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from lagoform.dispatch.db import SCHEMA
from lagoform.dispatch.deadletters import DeadLetterStore, NewDeadLetter
from lagoform.dispatch.spool import Spool
from lagoform.errors import DispatchError


def test_enqueue_claim_settle(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.db") as spool:
        assert spool.enqueue([{"id": f"r{i}", "n": i} for i in range(250)]) == 250
        assert spool.backlog() == 250
        first = spool.claim(100)
        assert [orjson.loads(r.payload)["n"] for r in first] == list(range(100))
        second = spool.claim(100)
        assert orjson.loads(second[0].payload)["n"] == 100  # claimed ones are not handed out again
        assert spool.claimed() == 200 and _claims(tmp_path) == 2
        letter = NewDeadLetter(
            record=first[1].payload, reason="unknown_tenant", error="x", source="t"
        )
        spool.settle([r.seq for r in first[2:]], [(first[1].seq, letter)])
        # first[0] is still claimed, the second claim too, 50 pending
        assert spool.backlog() == 250 - 99
        assert spool.dead_letter_count() == 1
        assert spool.claimed() == 101
        spool.settle([first[0].seq])
        assert _claims(tmp_path) == 1  # the first claim is finished and gone
        assert spool.release_claims() == 1
        again = spool.claim(1000)
        assert len(again) == 150 and orjson.loads(again[0].payload)["n"] == 100


def _claims(tmp_path: Path) -> int:
    conn = sqlite3.connect(tmp_path / "s.db")
    try:
        return int(conn.execute("SELECT count(*) FROM claims").fetchone()[0])
    finally:
        conn.close()


def test_settle_deletes_exactly_the_given_records(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.db") as spool:
        spool.enqueue([{"n": i} for i in range(40)])
        claimed = spool.claim(40)
        chosen = [claimed[i].seq for i in (0, 1, 2, 5, 7, 8, 20, 39)]
        spool.settle(chosen)
        spool.release_claims()
        left = [orjson.loads(r.payload)["n"] for r in spool.claim(100)]
        assert left == [i for i in range(40) if i not in (0, 1, 2, 5, 7, 8, 20, 39)]


def test_ingest_lines_dead_letters_bad_lines_with_line_numbers(tmp_path: Path) -> None:
    lines = [b'{"id": "a"}\n', b"not json\n", b"\n", b"[1, 2]\n", b'{"id": "b"}']
    with Spool(tmp_path / "s.db") as spool:
        result = spool.ingest_lines(lines, "usage.jsonl")
        assert (result.accepted, result.dead_lettered) == (2, 2)
        assert spool.backlog() == 2
    with DeadLetterStore(tmp_path / "s.db") as store:
        letters = store.list()
        assert [(d.source, d.reason) for d in letters] == [
            ("usage.jsonl:2", "malformed_json"),
            ("usage.jsonl:4", "not_an_object"),
        ]
        assert letters[0].record == b"not json"
        assert "line 2" in letters[0].error
        shown = store.get(letters[1].id).as_json()
        assert shown["record"] == [1, 2] and shown["status"] == "dead"
        store.mark_replayed([letters[0].id])
        assert store.count() == 1 and store.count("replayed") == 1
        with pytest.raises(DispatchError, match="no dead letter"):
            store.get(999)


def test_ingest_is_chunked_but_complete(tmp_path: Path) -> None:
    lines = (orjson.dumps({"id": i}) for i in range(12_345))
    with Spool(tmp_path / "s.db") as spool:
        assert spool.ingest_lines(lines, "big").accepted == 12_345
        assert spool.backlog() == 12_345


def test_database_is_wal(tmp_path: Path) -> None:
    Spool(tmp_path / "s.db").close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_one_worker_per_spool_and_claims_released_on_start(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Spool(path) as producer:
        producer.enqueue([{"id": i} for i in range(10)])
    # a worker in another process claims records and dies without settling
    code = (
        "import os,sys; from lagoform.dispatch.spool import Spool;"
        "s=Spool(sys.argv[1]); s.lock_for_worker(); s.claim(4); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    assert _claims(tmp_path) == 1
    with Spool(path) as worker:
        worker.lock_for_worker()  # the dead worker's lock is gone; its claims are released
        assert _claims(tmp_path) == 0
        assert len(worker.claim(100)) == 10
        with Spool(path) as second, pytest.raises(DispatchError, match="one worker per spool"):
            second.lock_for_worker()


def test_public_api_is_importable_and_complete() -> None:
    import lagoform.dispatch as dispatch

    assert all(hasattr(dispatch, name) for name in dispatch.__all__)
    code = "import sys, lagoform.dispatch.kafka; print('confluent_kafka' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # the Kafka client loads only when a worker is built


def test_the_spool_file_shrinks_as_it_drains(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with Spool(path) as spool:
        spool.enqueue({"id": f"r{i}", "pad": "x" * 400} for i in range(40_000))
        spool.compact(min_free_pages=1)  # nothing to give back yet: only the WAL is folded in
        full = spool.file_bytes()
        assert full > 16 * 1024 * 1024
        claimed = spool.claim(40_000)
        spool.settle([r.seq for r in claimed])
        assert spool.backlog() == 0
        released = spool.compact(min_free_pages=1)
        assert released > 0
        assert spool.file_bytes() < full / 10  # the pages of delivered records went back


def test_a_spool_made_without_auto_vacuum_is_converted_when_compacted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)  # an older lagoform's file: no auto-vacuum
    conn.executemany(
        "INSERT INTO records (payload, enqueued_at) VALUES (?, 0)",
        [(b'{"id": "r%d"}' % i,) for i in range(10)],
    )
    conn.commit()
    conn.close()
    with Spool(path) as spool:
        spool.compact()
        assert spool._conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert spool.backlog() == 10  # nothing lost by the conversion
