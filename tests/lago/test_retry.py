"""Retries: what is repeated, how long the client waits, and when it gives up (no real sleeps)."""

from __future__ import annotations

import httpx
import pytest

from lagoform.errors import (
    LagoError,
    LagoNotFound,
    LagoRateLimited,
    LagoServerError,
    LagoTransportError,
    LagoValidationError,
)
from lagoform.lago import LagoClient, RetryPolicy, is_safe_to_repeat
from tests.lago.scripted import FakeTime, ScriptedLago, lago_error, ok

PLAN = {"plan": {"code": "pro", "lago_id": "p1"}}


def make(steps: list, **kw: object) -> tuple[LagoClient, ScriptedLago, FakeTime]:
    lago, fake = ScriptedLago(list(steps)), FakeTime()
    retry = kw.pop("retry", RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0))
    client = LagoClient(
        "https://lago.test",
        "lago_test_key_1",
        transport=lago.transport(),
        retry=retry,
        pacing=None,
        sleep=fake.sleep,
        clock=fake.clock,
        **kw,  # type: ignore[arg-type]
    )
    return client, lago, fake


def test_policy_backoff_is_exponential_jittered_and_capped() -> None:
    low = RetryPolicy(base_delay=1.0, max_delay=10.0, rand=lambda: 0.0)
    high = RetryPolicy(base_delay=1.0, max_delay=10.0, rand=lambda: 1.0)
    assert [low.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert [high.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_policy_gives_up_after_max_attempts_and_on_non_retryable() -> None:
    policy = RetryPolicy(max_attempts=3)
    err = LagoServerError("boom", status=500)
    assert policy.delay(1, err) is not None
    assert policy.delay(3, err) is None
    assert policy.delay(1, LagoValidationError("bad", status=422)) is None


def test_policy_honours_retry_after_within_bounds() -> None:
    policy = RetryPolicy(max_retry_after=30.0, rand=lambda: 1.0)
    assert policy.delay(1, LagoRateLimited("slow", retry_after=4.0)) == pytest.approx(4.5)
    assert policy.delay(1, LagoRateLimited("slow", retry_after=120.0)) is None


@pytest.mark.parametrize(
    ("method", "path", "safe"),
    [
        ("GET", "/plans", True),
        ("PUT", "/plans/pro", True),
        ("DELETE", "/plans/pro", True),
        ("POST", "/events", True),
        ("POST", "/events/batch", True),
        ("POST", "/plans", False),
        ("POST", "/wallet_transactions", False),
        ("POST", "/subscriptions", False),
    ],
)
def test_safe_to_repeat(method: str, path: str, safe: bool) -> None:
    assert is_safe_to_repeat(method, path) is safe


def test_get_retries_5xx_and_transport_errors_then_succeeds() -> None:
    client, lago, fake = make(
        [lago_error(503), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof"), ok(PLAN)]
    )
    assert client.get("/plans/pro") == PLAN
    assert len(lago.requests) == 4
    assert len(fake.sleeps) == 3
    assert all(0.25 <= s <= 8.0 for s in fake.sleeps)
    assert fake.sleeps[2] >= 1.0  # third wait is from the 2**2 band


def test_gives_up_with_the_last_error() -> None:
    client, lago, fake = make([lago_error(500)] * 4)
    with pytest.raises(LagoServerError):
        client.get("/plans")
    assert len(lago.requests) == 4
    assert len(fake.sleeps) == 3


def test_transport_error_is_typed_and_chained() -> None:
    client, _, _ = make([httpx.ConnectError("refused")] * 4)
    with pytest.raises(LagoTransportError) as info:
        client.get("/plans")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.status is None
    assert "ConnectError: refused" in str(info.value)


def test_429_waits_what_the_server_says() -> None:
    limited = lago_error(
        429,
        headers={"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"},
    )
    client, _, fake = make([limited, ok(PLAN)], retry=RetryPolicy(max_attempts=3, rand=lambda: 0.0))
    assert client.get("/plans/pro") == PLAN
    assert fake.sleeps == [3.0]


def test_429_retry_after_header_wins() -> None:
    limited = lago_error(429, headers={"Retry-After": "2", "X-RateLimit-Reset": "9"})
    client, _, fake = make([limited, ok(PLAN)], retry=RetryPolicy(rand=lambda: 0.0))
    client.get("/plans/pro")
    assert fake.sleeps == [2.0]


def test_429_is_retried_even_for_a_create() -> None:
    # Lago Cloud's limiter refuses before doing anything, so repeating a POST is harmless
    client, lago, _ = make([lago_error(429, headers={"Retry-After": "1"}), ok(PLAN)])
    assert client.create("/plans", "plan", {"code": "pro"}) == PLAN["plan"]
    assert len(lago.requests) == 2


def test_plain_post_is_not_repeated_after_a_lost_response() -> None:
    client, lago, fake = make([lago_error(502)])
    with pytest.raises(LagoServerError):
        client.post("/wallet_transactions", {"wallet_transaction": {"wallet_id": "w"}})
    assert len(lago.requests) == 1
    assert fake.sleeps == []


def test_post_that_never_left_is_repeated() -> None:
    client, lago, _ = make([httpx.ConnectError("refused"), ok({"wallet_transactions": []})])
    client.post("/wallet_transactions", {"wallet_transaction": {"wallet_id": "w"}})
    assert len(lago.requests) == 2


def test_event_batch_is_repeated_after_a_lost_response() -> None:
    events = [{"transaction_id": "t1", "code": "c", "external_subscription_id": "s"}]
    client, lago, _ = make([httpx.ReadTimeout("lost"), ok({"events": events})])
    result = client.post_events_batch(events)
    assert result.events == events and not result.already_delivered
    assert len(lago.requests) == 2
    assert lago.bodies()[0] == lago.bodies()[1] == {"events": events}


def test_event_batch_duplicates_after_lost_response_count_as_delivered() -> None:
    events = [{"transaction_id": f"t{i}", "code": "c"} for i in range(2)]
    dup = {"transaction_id": ["value_already_exist"]}
    rejected = lago_error(422, "validation_errors", body={"error_details": {"0": dup, "1": dup}})
    client, _, _ = make([lago_error(504), rejected])
    result = client.post_events_batch(events)
    assert result.already_delivered
    assert result.events == []


def test_event_batch_partly_invalid_raises_with_indexes() -> None:
    events = [{"transaction_id": f"t{i}", "code": "c"} for i in range(3)]
    bad = lago_error(
        422, "validation_errors", body={"error_details": {"1": {"timestamp": ["invalid_format"]}}}
    )
    client, _, _ = make([bad])
    with pytest.raises(LagoValidationError) as info:
        client.post_events_batch(events)
    assert "events[1].timestamp: has an invalid format" in str(info.value)


def test_delete_gone_after_lost_response_is_success() -> None:
    client, lago, _ = make([httpx.ReadTimeout("lost"), lago_error(404, "plan_not_found")])
    assert client.delete_plan("pro") is None
    assert len(lago.requests) == 2


def test_delete_404_without_prior_loss_raises() -> None:
    client, _, _ = make([lago_error(404, "plan_not_found")])
    with pytest.raises(LagoNotFound):
        client.delete_plan("pro")


def test_non_retryable_errors_are_raised_at_once() -> None:
    client, lago, fake = make(
        [
            lago_error(
                422, "validation_errors", body={"error_details": {"name": ["value_is_mandatory"]}}
            )
        ]
    )
    with pytest.raises(LagoValidationError):
        client.put("/plans/pro", {"plan": {}})
    assert len(lago.requests) == 1 and fake.sleeps == []


@pytest.mark.parametrize("header", ["soon", "1,2", "Thu, 99 Foo 2026 25:61:61 GMT", "-1"])
def test_429_with_an_unreadable_retry_after_backs_off_instead(header: str) -> None:
    # these raised ValueError in plan, apply and the worker: now they fall back to backoff
    limited = lago_error(429, headers={"Retry-After": header})
    client, lago, fake = make([limited, limited, ok(PLAN)], retry=RetryPolicy(rand=lambda: 0.0))
    assert client.get("/plans/pro") == PLAN
    assert len(lago.requests) == 3
    assert fake.sleeps == [0.25, 0.5]  # the policy's own backoff (equal jitter, rand 0)


def test_429_with_an_unreadable_retry_after_is_named_when_giving_up() -> None:
    limited = lago_error(429, headers={"Retry-After": "soon"})
    client, _, _ = make([limited, limited], retry=RetryPolicy(max_attempts=2, rand=lambda: 0.0))
    with pytest.raises(LagoRateLimited, match="Retry-After 'soon' is neither seconds"):
        client.get("/plans/pro")


def test_a_long_retry_after_gives_up_saying_so() -> None:
    limited = lago_error(429, headers={"Retry-After": "3600"})
    client, lago, fake = make([limited], retry=RetryPolicy(max_retry_after=60))
    with pytest.raises(LagoRateLimited) as info:
        client.get("/plans/pro")
    text = str(info.value)
    assert "Lago asked to wait 3,600 s" in text and "longer than the 60 s" in text
    assert "retry.max_retry_after" in text
    assert len(lago.requests) == 1 and fake.sleeps == []


def test_a_redirect_is_not_followed_nor_retried() -> None:
    moved = httpx.Response(302, headers={"Location": "https://elsewhere.test/api/v1/plans/pro"})
    client, lago, _ = make([moved])
    with pytest.raises(LagoError, match=r"redirect \(HTTP 302\) to https://elsewhere\.test"):
        client.get("/plans/pro")
    assert len(lago.requests) == 1
