"""Batch delivery against the sandbox (in-process transport): dedup, 422 take-apart, retries."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
import pytest

from lagoform.dispatch.delivery import (
    ABANDONED,
    DELIVERED,
    EXHAUSTED,
    REJECTED,
    Deliverer,
    DeliveryPolicy,
    backoff_delay,
    jitter_fraction,
)
from lagoform.errors import DispatchError, LagoServerError
from lagoform.lago import NO_RETRY, AsyncLagoClient, PacingConfig
from lagoform.sandbox.core import Sandbox
from lagoform.sandbox.state import E_TXN

FAST = DeliveryPolicy(max_in_flight=4, max_attempts=6, base_delay=0.01, max_delay=0.05)
UNPACED = PacingConfig(None, None, None)


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": f"r{i}:tokens",
        "external_subscription_id": "sub-1",
        "code": "token_usage",
        "timestamp": 1767225600 + i,
        "properties": {"tokens": i + 1},
        **extra,
    }


def _client(transport: httpx.AsyncBaseTransport) -> AsyncLagoClient:
    return AsyncLagoClient(
        "http://sandbox.test", "key", retry=NO_RETRY, pacing=UNPACED, transport=transport
    )


def _stored(sandbox: Sandbox) -> list[str]:
    return sorted(e[E_TXN] for e in sandbox.state.events)


async def _deliver(
    sandbox: Sandbox, events: Sequence[dict[str, Any]], policy: DeliveryPolicy = FAST
) -> tuple[list[Any], Deliverer]:
    async with _client(sandbox.transport()) as client:
        deliverer = Deliverer(client, policy)
        return await deliverer.deliver(events), deliverer


def test_deliver_then_redeliver_counts_duplicates_as_delivered() -> None:
    sandbox = Sandbox()
    events = [_event(i) for i in range(100)]
    outcomes, d = asyncio.run(_deliver(sandbox, events))
    assert {o.kind for o in outcomes} == {DELIVERED} and d.stats.duplicates == 0
    outcomes, d = asyncio.run(_deliver(sandbox, events))
    assert {o.kind for o in outcomes} == {DELIVERED} and d.stats.duplicates == 100
    assert len(_stored(sandbox)) == 100


def test_422_is_taken_apart_duplicates_delivered_bad_rejected_rest_sent(contract: Any) -> None:
    sandbox = Sandbox()
    asyncio.run(_deliver(sandbox, [_event(i) for i in range(30)]))
    mixed = [_event(i) for i in range(20, 60)]  # 20..29 already stored
    mixed[5] = _event(999, code=None)  # no code: Lago says value_is_mandatory
    mixed[33] = _event(998, timestamp="yesterday")  # invalid_format
    with contract.expect_invalid_request():  # the two bad events are off-spec on purpose
        outcomes, _ = asyncio.run(_deliver(sandbox, mixed))
    kinds = [o.kind for o in outcomes]
    assert kinds[5] == REJECTED and "code" in outcomes[5].error
    assert kinds[33] == REJECTED and "timestamp" in outcomes[33].error
    assert kinds.count(DELIVERED) == 38
    assert sum(o.duplicate for o in outcomes) == 9  # 20..29 minus the one replaced by index 5
    stored = _stored(sandbox)
    assert len(stored) == 30 + 29  # 30..59 minus index 33's slot (event 53)
    assert "r998:tokens" not in stored and "r999:tokens" not in stored


def test_422_without_indexes_is_bisected_to_the_bad_event() -> None:
    """A server whose 422 names no index (not the sandbox's behaviour, so a tiny stand-in)."""
    accepted: list[str] = []
    requests: list[int] = []

    def lago(request: httpx.Request) -> httpx.Response:
        events = orjson.loads(request.content)["events"]
        requests.append(len(events))
        if any(e["code"] == "poison" for e in events):
            body = {
                "status": 422,
                "error": "Unprocessable Entity",
                "code": "validation_errors",
                "error_details": {"events": ["value_is_invalid"]},
            }
            return httpx.Response(422, json=body)
        accepted.extend(e["transaction_id"] for e in events)
        return httpx.Response(200, json={"events": events})

    events = [_event(i) for i in range(64)]
    events[41] = _event(41, code="poison")

    async def go() -> list[Any]:
        async with _client(httpx.MockTransport(lago)) as client:
            return await Deliverer(client, FAST).deliver(events)

    outcomes = asyncio.run(go())
    assert [i for i, o in enumerate(outcomes) if o.kind == REJECTED] == [41]
    assert len(accepted) == 63 and "r41:tokens" not in accepted
    assert len(requests) <= 2 * 7 + 1  # log2(64) levels, two halves each


def test_outage_is_retried_until_lago_is_back() -> None:
    sandbox = Sandbox()
    sandbox.set_faults(outage_seconds=0.3)
    policy = DeliveryPolicy(max_attempts=20, base_delay=0.02, max_delay=0.1)
    outcomes, d = asyncio.run(_deliver(sandbox, [_event(i) for i in range(10)], policy))
    assert {o.kind for o in outcomes} == {DELIVERED}
    assert d.stats.retries >= 1 and len(_stored(sandbox)) == 10


def test_lost_responses_are_retried_and_deduplicated() -> None:
    # the sandbox stores the batch, then answers 500: the retry meets duplicates
    sandbox = Sandbox(faults=None, fault_rate=0.5, fault_seed=3)
    sandbox.set_faults(fault_phase="after")
    events = [_event(i) for i in range(100)]
    outcomes, d = asyncio.run(_deliver(sandbox, events))
    assert {o.kind for o in outcomes} == {DELIVERED}
    assert d.stats.retries >= 1 and d.stats.duplicates == 100  # stored, answer lost, re-sent
    assert len(_stored(sandbox)) == 100


def test_attempts_exhausted() -> None:
    sandbox = Sandbox()
    sandbox.set_faults(outage=True)
    policy = DeliveryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01)
    outcomes, d = asyncio.run(_deliver(sandbox, [_event(i) for i in range(5)], policy))
    assert {o.kind for o in outcomes} == {EXHAUSTED}
    assert outcomes[0].attempts == 3 and "503" in outcomes[0].error
    assert d.stats.requests == 3


def test_rate_limit_429_is_honoured() -> None:
    sandbox = Sandbox()
    # 1 request per calendar second: two of the six concurrent batches share a second even on a
    # loaded machine (with 4, five had to, and a slow run spread them over two seconds)
    sandbox.set_faults(rate_limits={"events": 1})
    events = [_event(i) for i in range(600)]

    async def go() -> Deliverer:
        async with _client(sandbox.transport()) as client:
            deliverer = Deliverer(client, DeliveryPolicy(max_attempts=10))
            await asyncio.gather(
                *(deliverer.deliver(events[i : i + 100]) for i in range(0, 600, 100))
            )
            return deliverer

    d = asyncio.run(go())
    assert d.stats.retries >= 1 and d.stats.delivered == 600
    assert len(_stored(sandbox)) == 600


def test_wrong_key_stops_the_worker() -> None:
    sandbox = Sandbox(api_key="right")
    with pytest.raises(DispatchError, match="Check the API URL and key"):
        asyncio.run(_deliver(sandbox, [_event(1)]))
    assert _stored(sandbox) == []


def test_stop_during_backoff_abandons_without_settling() -> None:
    sandbox = Sandbox()
    sandbox.set_faults(outage=True)

    async def go() -> list[Any]:
        async with _client(sandbox.transport()) as client:
            deliverer = Deliverer(client, DeliveryPolicy(base_delay=5, max_delay=5))
            task = asyncio.create_task(deliverer.deliver([_event(1), _event(2)]))
            await asyncio.sleep(0.2)
            deliverer.stop()
            return await asyncio.wait_for(task, 2)

    outcomes = asyncio.run(go())
    assert {o.kind for o in outcomes} == {ABANDONED}


def test_jitter_is_deterministic_and_spread() -> None:
    fractions = {jitter_fraction(f"r{i}:k", 1) for i in range(200)}
    assert len(fractions) == 200 and all(0 <= f < 1 for f in fractions)
    assert jitter_fraction("a", 2) == jitter_fraction("a", 2) != jitter_fraction("a", 3)
    err = LagoServerError("boom", status=503)
    policy = DeliveryPolicy(base_delay=1, max_delay=8)
    delays = [backoff_delay(policy, n, "seed", err) for n in range(1, 8)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, [1, 2, 4, 8, 8, 8, 8], strict=True))
