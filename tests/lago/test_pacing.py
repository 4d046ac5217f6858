"""Client-side pacing: the request rate per endpoint class (fake clock, no real sleeping)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from lagoform.lago import AsyncLagoClient, LagoClient, PacingConfig, TokenBucket, endpoint_class
from lagoform.lago.pacing import Pacer
from tests.lago.scripted import FakeTime, ScriptedLago, lago_error, ok


@pytest.mark.parametrize(
    ("method", "path", "cls"),
    [
        ("POST", "/events", "events"),
        ("POST", "/events/batch", "events"),
        ("GET", "/events/t1", "config"),
        ("GET", "/customers/c/current_usage", "usage"),
        ("GET", "/customers/c/past_usage", "usage"),
        ("PUT", "/plans/pro", "config"),
    ],
)
def test_endpoint_classes(method: str, path: str, cls: str) -> None:
    assert endpoint_class(method, path) == cls


def test_defaults_are_lago_clouds_limits() -> None:
    cfg = PacingConfig()
    assert (cfg.rate_for("config"), cfg.rate_for("events"), cfg.rate_for("usage")) == (
        50.0,
        500.0,
        200.0,
    )
    assert PacingConfig(config=None).rate_for("config") is None


def test_bucket_spaces_requests_at_the_rate() -> None:
    fake = FakeTime()
    bucket = TokenBucket(rate=10.0, burst=1, clock=fake.clock)
    start = fake.now
    for _ in range(21):
        fake.sleep(bucket.reserve())
    # the first token is free; 20 more at 10/s take 2 seconds
    assert fake.now - start == pytest.approx(2.0)


def test_bucket_burst_then_steady() -> None:
    fake = FakeTime()
    bucket = TokenBucket(rate=100.0, burst=5, clock=fake.clock)
    waits = [bucket.reserve() for _ in range(7)]  # all reserved at the same instant
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(0.01) and waits[6] == pytest.approx(0.02)


def test_pause_holds_the_class() -> None:
    fake = FakeTime()
    pacer = Pacer(PacingConfig(config=1000.0), clock=fake.clock)
    pacer.pause("GET", "/plans", 2.5)
    assert pacer.reserve("GET", "/plans") == pytest.approx(2.5)
    assert pacer.reserve("POST", "/events") == 0.0  # another budget is not held


def test_sync_client_paces_config_requests() -> None:
    fake = FakeTime()
    lago = ScriptedLago([ok({"plans": [], "meta": {}})], repeat_last=True)
    client = LagoClient(
        "https://lago.test",
        "lago_test_key_1",
        transport=lago.transport(),
        pacing=PacingConfig(config=50.0),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    start = fake.now
    for _ in range(101):
        client.get("/plans")
    assert fake.now - start == pytest.approx(2.0)  # 100 paced requests at 50/s
    assert len(lago.requests) == 101


def test_429_pauses_other_requests_of_the_class() -> None:
    fake = FakeTime()
    limited = lago_error(429, headers={"X-RateLimit-Reset": "1"})
    lago = ScriptedLago([limited, ok({"plan": {}}), ok({"plan": {}})])
    client = LagoClient(
        "https://lago.test",
        "lago_test_key_1",
        transport=lago.transport(),
        pacing=PacingConfig(config=1000.0),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    client.get("/plans/a")
    assert fake.sleeps[0] >= 1.0


def test_async_client_paces_events() -> None:
    fake = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:  # Lago echoes what it created
        return httpx.Response(200, json={"events": json.loads(request.content)["events"]})

    async def run() -> None:
        client = AsyncLagoClient(
            "https://lago.test",
            "lago_test_key_1",
            transport=httpx.MockTransport(handler),
            pacing=PacingConfig(events=500.0),
            sleep=fake.asleep,
            clock=fake.clock,
        )
        async with client:
            await asyncio.gather(
                *(client.post_events_batch([{"transaction_id": str(i)}]) for i in range(51))
            )

    start = fake.now
    asyncio.run(run())
    # 50 paced batches at 500 req/s: 2 ms apart, 0.1 s in all
    assert len(fake.sleeps) == 50
    assert fake.now - start == pytest.approx(0.1)
