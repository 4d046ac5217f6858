"""Client-side pacing: the request rate per endpoint class (fake clock, no real sleeping)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_default_burst_is_a_tenth_of_a_second() -> None:
    assert PacingConfig().burst_for(500.0) == 50
    assert PacingConfig().burst_for(50.0) == 5
    assert PacingConfig().burst_for(3.0) == 1
    assert PacingConfig(burst=7).burst_for(500.0) == 7


def test_window_caps_every_second_whatever_the_burst() -> None:
    fake = FakeTime()
    bucket = TokenBucket(rate=500.0, burst=10_000, clock=fake.clock)
    waits = [bucket.reserve() for _ in range(1001)]  # all asked at the same instant
    assert waits[:500] == [0.0] * 500  # the burst allows them, and so does the window
    assert waits[500] == pytest.approx(1.0) and waits[999] == pytest.approx(1.0)
    assert waits[1000] == pytest.approx(2.0)


def test_a_late_caller_catches_up_without_exceeding_a_second() -> None:
    """The loop comes back 30 ms late every 100 ms (a busy worker): with the default burst
    it still gets the whole budget, and no one-second window holds more than the rate."""
    fake = FakeTime()
    rate = 500.0
    bucket = TokenBucket(rate, PacingConfig().burst_for(rate), clock=fake.clock)
    starts: list[float] = []
    begin = fake.now
    while len(starts) < 5000:
        if len(starts) % 50 == 49:
            fake.sleep(0.03)  # busy elsewhere
        fake.sleep(bucket.reserve())
        starts.append(fake.now)
    assert _most_in_one_second(starts) <= rate
    # nothing lost: 5,000 requests at 500/s take 10 s less the first burst, never more
    assert 9.8 < fake.now - begin <= 10.0


def test_a_burst_of_one_loses_the_late_callers_slots() -> None:
    """Why the default burst is not one: the same late caller gets a fifth less."""
    fake = FakeTime()
    bucket = TokenBucket(500.0, 1, clock=fake.clock)
    begin = fake.now
    for i in range(5000):
        if i % 50 == 49:
            fake.sleep(0.03)
        fake.sleep(bucket.reserve())
    assert fake.now - begin > 10.0 * 1.1


@given(
    rate=st.sampled_from([5.0, 50.0, 200.0, 500.0]),
    burst=st.integers(1, 600),
    gaps=st.lists(st.floats(0, 0.05), min_size=1, max_size=700),
)
@settings(max_examples=60, deadline=None)
def test_no_second_ever_holds_more_than_the_rate(
    rate: float, burst: int, gaps: list[float]
) -> None:
    fake = FakeTime()
    bucket = TokenBucket(rate, burst, clock=fake.clock)
    starts: list[float] = []
    for gap in gaps:  # callers arrive at arbitrary times, several at once when gap is 0
        fake.now += gap
        starts.append(fake.now + bucket.reserve())
    assert starts == sorted(starts)
    assert _most_in_one_second(starts) <= max(1, int(rate))


def _most_in_one_second(starts: list[float]) -> int:
    """The most start times inside any half-open one-second window [t, t + 1)."""
    most, first = 0, 0
    for last, start in enumerate(starts):
        while starts[first] <= start - 1.0 + 1e-9:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_a_share_of_the_budget_paces_at_that_share() -> None:
    """Two Kafka workers of one group, two partitions of four each: each takes half."""
    fake = FakeTime()
    pacer = Pacer(PacingConfig(events=500.0, burst=1), clock=fake.clock)
    pacer.reserve("POST", "/events/batch")  # the bucket exists at the full rate
    assert pacer.share("events", 0.5) == 250.0
    assert pacer.rate("events") == 250.0 and pacer.rate("config") == 50.0
    begin = fake.now
    for _ in range(500):
        fake.sleep(pacer.reserve("POST", "/events/batch"))
    assert fake.now - begin == pytest.approx(2.0, abs=0.01)  # 250 a second
    assert pacer.share("events", 1.0) == 500.0  # the other worker left: the whole budget
    begin = fake.now
    for _ in range(500):
        fake.sleep(pacer.reserve("POST", "/events/batch"))
    assert fake.now - begin == pytest.approx(1.0, abs=0.01)


def test_a_share_before_the_first_request_and_when_unpaced() -> None:
    fake = FakeTime()
    pacer = Pacer(PacingConfig(events=500.0), clock=fake.clock)
    assert pacer.share("events", 0.25) == 125.0
    bucket = pacer.bucket("events")
    assert bucket is not None and bucket.rate == 125.0
    assert Pacer(PacingConfig(events=None)).share("events", 0.5) is None
    with pytest.raises(ValueError, match="above 0"):
        pacer.share("events", 0.0)


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
            pacing=PacingConfig(events=500.0, burst=1),
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
