"""The client over real sockets against ``lagoform sandbox serve``: injected 5xx, lost responses,
outages and Lago Cloud's 429s; pacing that keeps under the limit; the async worker path."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from lagoform.errors import LagoTransportError
from lagoform.lago import AsyncLagoClient, LagoClient, PacingConfig, RetryPolicy
from tests.conftest import SandboxServer

FAST = RetryPolicy(max_attempts=8, base_delay=0.02, max_delay=0.2, max_retry_after=3)


class Seen:
    """Statuses and rate-limit headers the client actually received, via an httpx hook."""

    def __init__(self) -> None:
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.limit_headers: list[dict[str, str]] = []

    def hook(self, response: httpx.Response) -> None:
        self.statuses[(response.request.method, response.status_code)] += 1
        if response.status_code == 429:
            self.limit_headers.append(
                {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit")}
            )

    def count(self, status: int, method: str | None = None) -> int:
        return sum(
            n
            for (m, s), n in self.statuses.items()
            if s == status and m in (method, m)
            if method is None or m == method
        )


def client_for(server: SandboxServer, seen: Seen, **kw: Any) -> LagoClient:
    return LagoClient(
        server.url,
        server.api_key,
        event_hooks={"response": [seen.hook]},
        retry=kw.pop("retry", FAST),
        pacing=kw.pop("pacing", None),
        **kw,
    )


def test_reads_survive_injected_5xx(sandbox_server: SandboxServer) -> None:
    seen = Seen()
    with client_for(sandbox_server, seen) as client:
        client.create_tax({"code": "vat", "name": "VAT", "rate": "20"})
        sandbox_server.control(fault_rate=0.4, fault_seed=7, fault_status=503)
        for _ in range(25):
            tax = client.get_tax("vat")
            assert tax is not None and tax["code"] == "vat"
    assert seen.count(503) >= 3  # faults really happened and were retried away
    assert seen.count(200, "GET") == 25


def test_creates_after_lost_responses_are_never_duplicated(sandbox_server: SandboxServer) -> None:
    seen = Seen()
    with client_for(sandbox_server, seen) as client:
        # the server applies the request, then answers 500: the response is lost
        sandbox_server.control(fault_rate=0.5, fault_seed=3, fault_phase="after")
        for i in range(12):
            metric = client.create_billable_metric(
                {"code": f"m{i}", "name": f"M{i}", "aggregation_type": "count_agg"}
            )
            assert metric["code"] == f"m{i}"
        sandbox_server.control(fault_rate=0.0)
        codes = [m["code"] for m in client.list_billable_metrics()]
    assert sorted(codes) == sorted(f"m{i}" for i in range(12))  # each exactly once
    assert seen.count(500, "POST") >= 2


def test_event_batches_retry_through_faults_exactly_once(sandbox_server: SandboxServer) -> None:
    seen = Seen()
    with client_for(sandbox_server, seen) as client:
        sandbox_server.control(fault_rate=0.5, fault_seed=11, fault_phase="after")
        delivered = 0
        for b in range(6):
            events = [
                {
                    "transaction_id": f"t{b}-{i}",
                    "external_subscription_id": "s1",
                    "code": "tokens",
                    "properties": {"tokens": i},
                }
                for i in range(100)
            ]
            result = client.post_events_batch(events)
            delivered += 100 if result.already_delivered else len(result.events)
        sandbox_server.control(fault_rate=0.0)
        stored = client.list_events({"external_subscription_id": "s1"})
    assert delivered == 600
    assert len(stored) == 600
    assert len({e["transaction_id"] for e in stored}) == 600
    assert seen.count(500, "POST") >= 1


def test_outage_is_waited_out(sandbox_server: SandboxServer) -> None:
    seen = Seen()
    retry = RetryPolicy(max_attempts=10, base_delay=0.1, max_delay=0.4)
    with client_for(sandbox_server, seen, retry=retry) as client:
        sandbox_server.control(outage_seconds=0.6)
        assert client.list_taxes() == []
    assert seen.count(503) >= 1


def test_429s_are_honoured_with_lago_cloud_headers(sandbox_server: SandboxServer) -> None:
    seen = Seen()
    sandbox_server.control(rate_limits={"config": 5})
    started = time.monotonic()
    with client_for(sandbox_server, seen) as client:
        for _ in range(12):
            assert client.list_plans() == []
    elapsed = time.monotonic() - started
    assert seen.count(429) >= 1
    assert seen.count(200) == 12
    assert elapsed >= 1.0  # 12 requests at 5/s cannot finish within the first window
    first = seen.limit_headers[0]
    assert first["x-ratelimit-limit"] == "5" and first["x-ratelimit-remaining"] == "0"
    assert int(first["x-ratelimit-reset"]) >= 1


def test_pacing_keeps_a_large_run_under_the_limit(sandbox_server: SandboxServer) -> None:
    seen = Seen()
    sandbox_server.control(rate_limits={"config": 20})
    started = time.monotonic()
    with client_for(sandbox_server, seen, pacing=PacingConfig(config=18.0)) as client:
        for i in range(30):
            client.create_tax({"code": f"t{i}", "name": f"T{i}", "rate": "1"})
    elapsed = time.monotonic() - started
    assert seen.count(429) == 0
    assert seen.count(200) == 30
    assert elapsed >= 29 / 18.0 * 0.95


def test_refused_connection_is_a_typed_transport_error() -> None:
    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    retry = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    with (
        LagoClient(
            f"http://127.0.0.1:{port}", "lago_test_key_1", retry=retry, pacing=None
        ) as client,
        pytest.raises(LagoTransportError) as info,
    ):
        client.list_plans()
    assert info.value.status is None and info.value.retryable
    assert "GET /plans: no response" in str(info.value)


def test_async_worker_path_over_http(sandbox_server: SandboxServer) -> None:
    sandbox_server.control(fault_rate=0.3, fault_seed=5, fault_phase="after")

    async def run() -> int:
        async with AsyncLagoClient(
            sandbox_server.url,
            sandbox_server.api_key,
            retry=FAST,
            pacing=PacingConfig(events=500.0),
        ) as client:
            batches = [
                [
                    {
                        "transaction_id": f"a{b}-{i}",
                        "external_subscription_id": "s2",
                        "code": "tokens",
                        "properties": {"tokens": 1},
                    }
                    for i in range(100)
                ]
                for b in range(8)
            ]
            results = await asyncio.gather(*(client.post_events_batch(x) for x in batches))
            stored = await client.get_event("a3-42")
            assert stored is not None and stored["transaction_id"] == "a3-42"
            return sum(100 if r.already_delivered else len(r.events) for r in results)

    assert asyncio.run(run()) == 800
    sandbox_server.control(fault_rate=0.0)
    with LagoClient(sandbox_server.url, sandbox_server.api_key, pacing=None) as client:
        stored = client.list_events({"external_subscription_id": "s2"})
    assert len(stored) == len({e["transaction_id"] for e in stored}) == 800
