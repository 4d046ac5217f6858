"""Event ingestion (§7): dedup per subscription + transaction_id, atomic 100-event batches
with errors keyed by index, unknown codes accepted, timestamps, reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import Api, create_metric, not_found, validation


def event(txn: str, sub: str = "sub-1", code: str = "calls", **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": txn,
        "external_subscription_id": sub,
        "code": code,
        "timestamp": 1_760_000_000,
        "properties": {"n": 1},
        **extra,
    }


def test_single_event_shape_and_duplicate(any_api: Api) -> None:
    reply = any_api.post("/events", {"event": event("t1", timestamp=1651240791.123)})
    assert reply.status == 200
    body = reply.body["event"]
    assert body["timestamp"] == "2022-04-29T13:59:51.123Z"
    assert (body["lago_customer_id"], body["lago_subscription_id"]) == (None, None)
    assert set(body) == {
        "lago_id",
        "transaction_id",
        "lago_customer_id",
        "code",
        "timestamp",
        "precise_total_amount_cents",
        "properties",
        "lago_subscription_id",
        "external_subscription_id",
        "created_at",
    }
    again = any_api.post("/events", {"event": event("t1")})
    assert (again.status, again.body) == (
        422,
        validation({"transaction_id": ["value_already_exist"]}),
    )
    other_sub = any_api.post("/events", {"event": event("t1", sub="sub-2")})
    assert other_sub.status == 200  # dedup is per subscription


@pytest.mark.parametrize(
    ("item", "details"),
    [
        ({"code": "calls"}, {"transaction_id": ["value_is_mandatory"]}),
        ({"transaction_id": "x"}, {"code": ["value_is_mandatory"]}),
        (
            {"transaction_id": "x", "code": "c", "timestamp": "2024-01-01T00:00:00Z"},
            {"timestamp": ["invalid_format"]},
        ),
        (
            {"transaction_id": "x", "code": "c", "properties": [1]},
            {"properties": ["value_is_invalid"]},
        ),
    ],
)
def test_single_event_validation(any_api: Api, item: dict[str, Any], details: Any) -> None:
    reply = any_api.post("/events", {"event": item})
    assert (reply.status, reply.body) == (422, validation(details))


def test_numeric_string_timestamp_and_unknown_code_accepted(any_api: Api) -> None:
    body = any_api.ok(
        "POST",
        "/events",
        {"event": {"transaction_id": "x", "code": "never-defined", "timestamp": "1651240791.5"}},
    )["event"]
    assert (body["code"], body["timestamp"]) == ("never-defined", "2022-04-29T13:59:51.500Z")


def test_batch_accepts_up_to_100(any_api: Api) -> None:
    reply = any_api.post("/events/batch", {"events": [event(f"t{i}") for i in range(100)]})
    assert reply.status == 200
    assert [e["transaction_id"] for e in reply.body["events"]] == [f"t{i}" for i in range(100)]
    too_many = any_api.post("/events/batch", {"events": [event(f"u{i}") for i in range(101)]})
    assert (too_many.status, too_many.body) == (422, validation({"events": ["too_many_events"]}))


def test_batch_is_atomic_with_errors_keyed_by_index(any_api: Api) -> None:
    any_api.ok("POST", "/events", {"event": event("old")})
    batch = [
        event("a"),
        event("old"),
        event("b"),
        event("b"),
        {"code": "calls"},
        event("c", sub="other"),
    ]
    reply = any_api.post("/events/batch", {"events": batch})
    assert reply.status == 422
    assert reply.body == validation(
        {
            "1": {"transaction_id": ["value_already_exist"]},
            "3": {"transaction_id": ["value_already_exist"]},
            "4": {"transaction_id": ["value_is_mandatory"]},
        }
    )
    assert any_api.get("/events/a").body == not_found("event_not_found")
    listed = any_api.ok("GET", "/events")
    assert [e["transaction_id"] for e in listed["events"]] == ["old"]
    retry = any_api.post("/events/batch", {"events": [event("a"), event("b")]})
    assert retry.status == 200  # nothing from the rejected batch was kept


def test_reads(any_api: Api) -> None:
    any_api.ok(
        "POST",
        "/events/batch",
        {
            "events": [
                event("t1", timestamp=100),
                event("t2", timestamp=300, code="other"),
                event("t1", sub="sub-2", timestamp=200),
            ]
        },
    )
    first = any_api.ok("GET", "/events/t1")["event"]
    assert first["external_subscription_id"] == "sub-1"  # the first one with that id
    listed = any_api.ok("GET", "/events", query={"external_subscription_id": "sub-1"})
    assert [e["transaction_id"] for e in listed["events"]] == ["t2", "t1"]
    by_code = any_api.ok("GET", "/events", query={"code": "other"})["events"]
    assert [e["transaction_id"] for e in by_code] == ["t2"]
    window = any_api.ok(
        "GET",
        "/events",
        query={"timestamp_from": "1970-01-01T00:02:00Z", "timestamp_to": "1970-01-01T00:04:00Z"},
    )
    assert [e["timestamp"] for e in window["events"]] == ["1970-01-01T00:03:20.000Z"]


def test_expression_is_computed_at_ingestion(api: Api) -> None:
    create_metric(
        api, "minutes", field_name="minutes", expression="round(event.properties.seconds / 60, 1)"
    )
    body = api.ok(
        "POST",
        "/events",
        {"event": {"transaction_id": "x", "code": "minutes", "properties": {"seconds": 90}}},
    )["event"]
    # Lago stores the result as a decimal and renders it as a string
    # (spec/requests/api/v1/events_controller_spec.rb:103-108)
    assert body["properties"] == {"seconds": 90, "minutes": "1.5"}
    bad = api.post(
        "/events", {"event": {"transaction_id": "y", "code": "minutes", "properties": {"other": 1}}}
    )
    assert bad.status == 422
