"""Usage is never lost or rounded: exact quantities end to end, and a 2xx acknowledges only the
events its reply accounts for (issue 15)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from lagoform.dispatch.delivery import DELIVERED, EXHAUSTED, Deliverer, DeliveryPolicy
from lagoform.dispatch.exact import dumps_exact, has_long_numbers, loads_exact, split_array
from lagoform.dispatch.spool import Spool
from lagoform.errors import LagoUnconfirmed
from lagoform.lago import NO_RETRY, AsyncLagoClient, LagoClient, PacingConfig
from tests.dispatch.fixtures import build_mapper, llm_record

MAPPER = build_mapper()
BIG = "12345678901234567890123"


def _tokens(raw: bytes) -> list[Any]:
    _, events = MAPPER.map_bytes(raw)
    return [e["properties"]["tokens"] for e in events]


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        (BIG, BIG),  # was 1.2345678901234568e+22
        ("18446744073709551616", "18446744073709551616"),  # 2**64: orjson made it a float
        ("1.10000000000000000001", "1.10000000000000000001"),
        ("1234567.123456789012", "1234567.123456789012"),
        ("0.1", 0.1),  # a float holds it exactly: it stays a JSON number
        ("12", 12),
        ("9007199254740993", 9007199254740993),  # 2**53 + 1: an exact 64-bit integer
    ],
)
def test_json_number_quantities_reach_lago_exactly(written: str, sent: Any) -> None:
    record = orjson.loads(orjson.dumps(llm_record("r")))
    text = orjson.dumps(record).decode().replace('"text":100', f'"text":{written}', 1)
    assert f'"text":{written}' in text
    assert _tokens(text.encode())[0] == sent
    # what goes on the wire is the same digits
    _, events = MAPPER.map_bytes(text.encode())
    body = orjson.dumps({"events": events}, default=str)
    assert (f'"{written}"' if isinstance(sent, str) else written).encode() in body


def test_long_digit_runs_elsewhere_only_cost_the_slow_path() -> None:
    record = llm_record("1234567890123456789012")
    raw = orjson.dumps(record)
    assert has_long_numbers(raw)
    rid, events = MAPPER.map_bytes(raw)
    assert rid == "1234567890123456789012" and events


def test_out_of_extent_quantities_are_rejected_not_sent() -> None:
    from lagoform.dispatch.mapping import RecordRejected

    for written in ("1e-999999999", '"1e999999999"', "1" + "0" * 60):
        text = orjson.dumps(llm_record("r")).decode().replace('"text":100', f'"text":{written}', 1)
        with pytest.raises(RecordRejected) as caught:
            MAPPER.map_bytes(text.encode())
        assert caught.value.reason == "invalid_quantity"


def test_exact_json_helpers() -> None:
    assert loads_exact(b'{"a": 1.0, "b": 0.30000000000000004, "c": ' + BIG.encode() + b"}") == {
        "a": 1.0,
        "b": 0.30000000000000004,
        "c": int(BIG),
    }
    assert loads_exact(b'{"d": 3.14159265358979323846}')["d"] == Decimal("3.14159265358979323846")
    with pytest.raises(ValueError):
        loads_exact(b'{"n": NaN}')
    items = split_array(b' [ {"a": 1}, {"b": ' + BIG.encode() + b"} ,[1,2] ]\n")
    assert items == [b'{"a": 1}', b'{"b": ' + BIG.encode() + b"}", b"[1,2]"]
    assert split_array(b"[]") == []
    for bad in (b'[{"a":1},]', b'[{"a":1}', b'{"a":1}', b"[1] 2"):
        with pytest.raises(ValueError):
            split_array(bad)
    assert json.loads(dumps_exact({"q": Decimal("1.50"), "n": 2**70})) == {
        "q": "1.50",
        "n": 2**70,
    }


def test_spool_keeps_exact_bytes_from_arrays_and_the_python_api(tmp_path: Path) -> None:
    with Spool(tmp_path / "spool.db") as spool:
        raw_items = split_array(b'[{"id": "a", "q": ' + BIG.encode() + b"}]")
        assert spool.ingest_items(raw_items, "http").accepted == 1
        spool.enqueue([{"id": "b", "q": Decimal("0.000000000000000000001")}])
        payloads = [payload for _, payload in spool.claim(10)]
    assert BIG.encode() in payloads[0]
    assert json.loads(payloads[1])["q"] == "0.000000000000000000001"


# -- a 2xx must account for every event --------------------------------------------------------


def _echo(request: httpx.Request) -> list[dict[str, Any]]:
    return list(json.loads(request.content)["events"])


ANSWERS = {
    "200 {}": lambda r: httpx.Response(200, json={}),
    '200 {"events": []}': lambda r: httpx.Response(200, json={"events": []}),
    "202 no body": lambda r: httpx.Response(202),
    "204": lambda r: httpx.Response(204),
    "200 some events": lambda r: httpx.Response(200, json={"events": _echo(r)[:1]}),
}


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_a_2xx_without_the_events_is_unconfirmed(answer: str) -> None:
    events = [{"transaction_id": f"t{i}", "code": "c"} for i in range(3)]
    transport = httpx.MockTransport(ANSWERS[answer])
    sync = LagoClient("https://lago.test", "key", transport=transport, pacing=None)
    with pytest.raises(LagoUnconfirmed, match=r"accounts for [01] of the 3 events"):
        sync.post_events_batch(events)
    full = httpx.MockTransport(lambda r: httpx.Response(200, json={"events": _echo(r)}))
    ok = LagoClient("https://lago.test", "key", transport=full, pacing=None)
    assert len(ok.post_events_batch(events).events) == 3


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_the_deliverer_acknowledges_nothing_unconfirmed_then_dead_letters_with_the_reason(
    answer: str,
) -> None:
    events = [{"transaction_id": f"t{i}", "code": "c"} for i in range(3)]
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) <= 2:  # the first two answers say nothing useful; then Lago works
            return ANSWERS[answer](request)
        return httpx.Response(200, json={"events": _echo(request)})

    policy = DeliveryPolicy(max_attempts=5, base_delay=0.001, max_delay=0.002)

    async def run(handler: Any) -> list[Any]:
        async with AsyncLagoClient(
            "https://lago.test",
            "key",
            retry=NO_RETRY,
            pacing=PacingConfig(None, None, None),
            transport=httpx.MockTransport(handler),
        ) as client:
            return await Deliverer(client, policy).deliver(events)

    outcomes = asyncio.run(run(flaky))
    assert [o.kind for o in outcomes] == [DELIVERED] * 3 and len(calls) == 3
    # an endpoint that never accounts for the events: dead letters carry the reason
    outcomes = asyncio.run(run(ANSWERS[answer]))
    assert {o.kind for o in outcomes} == {EXHAUSTED}
    assert "nothing is counted as delivered" in outcomes[0].error
