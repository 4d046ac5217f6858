"""The spool worker against `lagoform sandbox serve` over HTTP, as real processes.

Crashes (SIGKILL at random points while records keep arriving), an outage, poison pills and
replays: every expected event ends up in the sandbox exactly once, and only bad records are
dead-lettered.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from lagoform.dispatch.deadletters import DeadLetterStore
from lagoform.dispatch.spool import Spool
from tests.dispatch.fixtures import llm_record, write_project
from tests.dispatch.harness import create_metric, run_cli, start_worker, transaction_counts


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


def _record(i: int) -> dict[str, Any]:
    """Record i and, by construction, its events (see ``_expected``)."""
    return llm_record(
        f"u{i}",
        usage={"input": {"text": i % 50 + 1}, "output": {"text": i % 7}},
        images=1 if i % 10 == 0 else 0,
        timestamp=1767225600 + i,
    )


def _expected(n: int) -> Counter[tuple[str | None, str]]:
    out: Counter[tuple[str | None, str]] = Counter()
    for i in range(n):
        out[("globex-main", f"u{i}:tokens.input.text")] += 1
        if i % 7:
            out[("globex-main", f"u{i}:tokens.output.text")] += 1
        if i % 10 == 0:
            out[("globex-main", f"u{i}:images#0")] += 1
    return out


@pytest.mark.slow
def test_sigkill_at_random_points_bills_every_event_exactly_once(
    sandbox_server: Any, project: Path, tmp_path: Path
) -> None:
    total, chunk, upfront = 50_000, 2_500, 20_000
    spool_path = tmp_path / "spool.db"
    seed = int(time.time())  # printed on failure so a run can be repeated
    rng = random.Random(seed)
    produced = threading.Event()

    def produce() -> None:
        with Spool(spool_path) as spool:
            for start in range(upfront, total, chunk):
                spool.enqueue(_record(i) for i in range(start, start + chunk))
                time.sleep(0.4)
        produced.set()

    # A backlog the six short-lived workers cannot drain (each delivers for well under a
    # second), so each always has records to claim; more keep arriving while they are killed.
    with Spool(spool_path) as spool:
        spool.enqueue(_record(i) for i in range(upfront))
    # a little latency keeps the worker busy, so kills land on batches in flight
    sandbox_server.control(latency_ms=25)
    producer = threading.Thread(target=produce)
    producer.start()
    kills = 0
    try:
        while kills < 6:
            worker = start_worker(sandbox_server, project, spool_path)
            _kill_mid_delivery(worker, spool_path, rng.uniform(0.0, 0.4), f"seed {seed}")
            assert worker.returncode == -signal.SIGKILL, f"seed {seed}"
            kills += 1
            # what the kill left behind: its claims, released by the next worker
            assert _open_claims(spool_path, worker.pid) > 0, f"seed {seed}"
    finally:
        producer.join(timeout=120)
    assert produced.is_set()
    print(f"kills {kills}, all mid-delivery, seed {seed}")
    sandbox_server.control(latency_ms=0)
    done = run_cli(sandbox_server, project, spool_path, "run", "--once", "-q")
    assert done.returncode == 0, done.stderr
    assert "backlog 0" in done.stdout and "dead letters 0" in done.stdout, done.stdout
    counts = transaction_counts(sandbox_server)
    expected = _expected(total)
    assert set(counts) == set(expected), f"seed {seed}: missing or unexpected events"
    assert counts == expected, f"seed {seed}: some event stored twice"
    with Spool(spool_path) as spool:
        assert spool.backlog() == 0 and spool.dead_letter_count() == 0


def _kill_mid_delivery(
    worker: subprocess.Popen[bytes], spool_path: Path, after: float, context: str
) -> None:
    """SIGKILL ``worker`` ``after`` seconds into its delivery, at a moment it holds claimed,
    unsettled records. It is frozen (SIGSTOP) while its claims are read, so the kill lands on
    exactly what was read: a batch in flight or claimed, never an idle worker. Waiting for the
    worker instead of sleeping a fixed time keeps this true however slow start-up is."""
    deadline = time.monotonic() + 120
    while _open_claims(spool_path, worker.pid) == 0:  # start-up: imports, catalog, first claim
        assert worker.poll() is None, f"{context}: the worker exited"
        assert time.monotonic() < deadline, f"{context}: the worker never claimed records"
        time.sleep(0.02)
    time.sleep(after)  # a random point of the delivery
    while True:
        worker.send_signal(signal.SIGSTOP)
        try:
            if _open_claims(spool_path, worker.pid, timeout=1.0) > 0:
                break
        except sqlite3.OperationalError:
            pass  # frozen in the middle of a write: let it finish, look again
        worker.send_signal(signal.SIGCONT)  # between two claims: catch the next one
        assert time.monotonic() < deadline, f"{context}: the worker stopped claiming"
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)


def _open_claims(spool_path: Path, pid: int | None = None, timeout: float = 5.0) -> int:
    """Claims in the spool (of the worker with this pid, if given)."""
    conn = sqlite3.connect(spool_path, timeout=timeout)
    try:
        if pid is None:
            row = conn.execute("SELECT count(*) FROM claims").fetchone()
        else:
            row = conn.execute("SELECT count(*) FROM claims WHERE owner = ?", (f"pid {pid}",))
            row = row.fetchone()
        return int(row[0])
    finally:
        conn.close()


def test_outage_loses_nothing(sandbox_server: Any, project: Path, tmp_path: Path) -> None:
    spool_path = tmp_path / "spool.db"
    with Spool(spool_path) as spool:
        spool.enqueue(_record(i) for i in range(3_000))
    sandbox_server.control(outage=True)  # every request answered 503
    worker = start_worker(sandbox_server, project, spool_path, "--once", "--max-attempts", "30")
    deadline = time.monotonic() + 60
    while _open_claims(spool_path) == 0:  # the worker is trying, and failing
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.1)
    time.sleep(2.0)
    assert transaction_counts(sandbox_server) == Counter()
    sandbox_server.control(outage=False)
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err.decode()
    summary = out.decode()
    assert "retries 0)" not in summary and "dead letters 0" in summary, summary
    assert transaction_counts(sandbox_server) == _expected(3_000)


def _poison_project(sandbox_server: Any) -> None:
    # Lago evaluates a metric's expression at ingestion; a failure rejects the event (422)
    create_metric(
        sandbox_server,
        {
            "name": "API calls",
            "code": "api_calls",
            "aggregation_type": "sum_agg",
            "field_name": "calls",
            "expression": "event.properties.calls * event.properties.weight",
        },
    )


def _api_call(record_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": record_id,
        "type": "api.call",
        "timestamp": 1767225600,
        "tenant": "globex",
        **extra,
    }


def test_poison_pills_are_dead_lettered_and_nothing_else(
    sandbox_server: Any, project: Path, tmp_path: Path
) -> None:
    _poison_project(sandbox_server)
    spool_path = tmp_path / "spool.db"
    good = [_record(i) for i in range(400)] + [_api_call(f"c{i}", weight=2) for i in range(50)]
    bad = {
        "p-type": llm_record("p-type", type="llm.unknown"),
        "p-tenant": llm_record("p-tenant", tenant="umbrella"),
        "p-filter": llm_record("p-filter", model="gpt-9"),
        "p-qty": llm_record("p-qty", usage={"input": {"text": "lots"}}),
        "p-time": llm_record("p-time", timestamp="last tuesday"),
        "p-lago": _api_call("p-lago"),  # no weight: Lago's expression fails -> 422
    }
    lines = (
        [orjson.dumps(r) for r in good[:200]]
        + [b'{"id": "p-json", "type": ']
        + [orjson.dumps(r) for r in [*bad.values(), *good[200:]]]
    )
    usage = tmp_path / "usage.jsonl"
    usage.write_bytes(b"\n".join(lines) + b"\n")
    sent = run_cli(sandbox_server, project, spool_path, "send", str(usage))
    assert sent.returncode == 0 and "1 dead-lettered" in sent.stdout, sent.stdout + sent.stderr
    done = run_cli(sandbox_server, project, spool_path, "run", "--once", "-q")
    assert done.returncode == 0, done.stderr
    with DeadLetterStore(spool_path) as store:
        letters = {d.record_id or "p-json": d for d in store.list()}
    assert set(letters) == {*bad, "p-json"}
    assert {k: d.reason for k, d in letters.items()} == {
        "p-json": "malformed_json",
        "p-type": "unknown_record_type",
        "p-tenant": "unknown_tenant",
        "p-filter": "filter_value_not_allowed",
        "p-qty": "invalid_quantity",
        "p-time": "invalid_timestamp",
        "p-lago": "rejected",
    }
    assert letters["p-json"].source.endswith("usage.jsonl:201")
    assert "expression" in letters["p-lago"].error
    assert letters["p-lago"].payload and letters["p-lago"].payload[0]["code"] == "api_calls"
    counts = transaction_counts(sandbox_server)
    expected = _expected(400)
    expected.update({("globex-main", f"c{i}:calls"): 1 for i in range(50)})
    assert counts == expected


def test_replay_delivers_dead_letters_once(
    sandbox_server: Any, project: Path, tmp_path: Path
) -> None:
    spool_path = tmp_path / "spool.db"
    with Spool(spool_path) as spool:  # a tenant the catalog does not know yet
        spool.enqueue([llm_record(f"n{i}", tenant="newco") for i in range(30)])
    # and a batch that exhausts its attempts during an outage
    sandbox_server.control(outage=True)
    with Spool(spool_path) as spool:
        spool.enqueue([_record(i) for i in range(100)])
    done = run_cli(
        sandbox_server, project, spool_path, "run", "--once", "-q", "--max-attempts", "2"
    )
    assert done.returncode == 0, done.stderr
    sandbox_server.control(outage=False)
    with DeadLetterStore(spool_path) as store:
        reasons = Counter(d.reason for d in store.list())
    assert reasons == {"unknown_tenant": 30, "exhausted": 100}
    assert transaction_counts(sandbox_server) == Counter()

    # the tenant is added to overrides/, then the dead letters are replayed
    (project / "overrides" / "newco.yaml").write_text(
        "customer: {name: NewCo, currency: USD}\n"
        "subscriptions:\n  - {external_id: newco-main, plan: pro}\n"
    )
    first = run_cli(sandbox_server, project, spool_path, "dlq", "replay", "--all")
    assert first.returncode == 0, first.stderr
    assert "replayed 130 dead letters" in first.stdout
    expected = _expected(100)
    expected.update({("newco-main", f"n{i}:tokens.input.text"): 1 for i in range(30)})
    expected.update({("newco-main", f"n{i}:tokens.output.text"): 1 for i in range(30)})
    assert transaction_counts(sandbox_server) == expected

    again = run_cli(sandbox_server, project, spool_path, "dlq", "replay", "--all")
    assert again.returncode == 0 and "replayed 0 dead letters" in again.stdout
    with DeadLetterStore(spool_path) as store:
        ids = [str(d.id) for d in store.list(status="replayed")]
    forced = run_cli(sandbox_server, project, spool_path, "dlq", "replay", "--force", *ids[:20])
    assert forced.returncode == 0 and "replayed 20 dead letters" in forced.stdout, forced.stderr
    assert transaction_counts(sandbox_server) == expected  # billed once, however often replayed
    listed = run_cli(sandbox_server, project, spool_path, "dlq", "list", "--all", "--limit", "500")
    assert listed.stdout.count(" replayed ") == 130 and "0 dead, 130 replayed" in listed.stderr


def test_sigterm_finishes_in_flight_batches_then_stops(
    sandbox_server: Any, project: Path, tmp_path: Path
) -> None:
    spool_path = tmp_path / "spool.db"
    total = 30_000
    with Spool(spool_path) as spool:
        spool.enqueue(_record(i) for i in range(total))
    sandbox_server.control(latency_ms=20)  # slow enough to stop mid-drain
    worker = start_worker(sandbox_server, project, spool_path, quiet=False)
    deadline = time.monotonic() + 60
    while sum(transaction_counts(sandbox_server).values()) < 2_000:
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.3)
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr.decode()
    assert "stopping: finishing the batches in flight" in stderr.decode()
    progress = [line for line in stderr.decode().splitlines() if "events/s" in line]
    assert progress and "backlog" in progress[-1] and "dead letters 0" in progress[-1]
    assert _open_claims(spool_path) == 0
    with Spool(spool_path) as spool:
        left = {orjson.loads(r.payload)["id"] for r in spool.claim(total)}
    assert 0 < len(left) < total
    settled = [i for i in range(total) if f"u{i}" not in left]
    stored = transaction_counts(sandbox_server)
    # every settled record is fully in Lago; nothing in Lago comes from outside the input
    assert not _expected_for(settled) - stored
    assert not stored - _expected(total)
    sandbox_server.control(latency_ms=0)
    done = run_cli(sandbox_server, project, spool_path, "run", "--once", "-q")
    assert done.returncode == 0, done.stderr
    assert transaction_counts(sandbox_server) == _expected(total)


def _expected_for(ids: list[int]) -> Counter[tuple[str | None, str]]:
    wanted = {f"u{i}:" for i in ids}
    return Counter(
        {k: v for k, v in _expected(max(ids) + 1).items() if k[1].split(":")[0] + ":" in wanted}
    )
