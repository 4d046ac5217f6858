"""Subscription rules (§5): create, same-plan no-op, upgrade/downgrade by yearly amount,
pending starts, list filters, update and termination."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import (
    Api,
    not_found,
    subscribe,
    validation,
)


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (
            {"external_customer_id": "c", "plan_code": "nope", "external_id": "s"},
            404,
            not_found("plan_not_found"),
        ),
        (
            {"external_customer_id": "c", "plan_code": "pro", "external_id": ""},
            422,
            validation({"external_id": ["value_is_mandatory"]}),
        ),
        (
            {
                "external_customer_id": "c",
                "plan_code": "pro",
                "external_id": "s",
                "billing_time": "weekly",
            },
            422,
            validation({"billing_time": ["value_is_invalid"]}),
        ),
        (
            {
                "external_customer_id": "c",
                "plan_code": "pro",
                "external_id": "s",
                "ending_at": "2001-01-01T00:00:00Z",
            },
            422,
            validation({"ending_at": ["invalid_date"]}),
        ),
        (
            {
                "external_customer_id": "c",
                "plan_code": "pro",
                "external_id": "s",
                "subscription_at": "yesterday",
            },
            422,
            validation({"subscription_at": ["invalid_date"]}),
        ),
    ],
)
def test_create_validation(
    any_api: Api, catalog: dict[str, Any], body: dict[str, Any], status: int, expected: Any
) -> None:
    reply = any_api.post("/subscriptions", {"subscription": body})
    assert (reply.status, reply.body) == (status, expected)


def test_create_autocreates_customer_and_returns_plan(
    any_api: Api, catalog: dict[str, Any]
) -> None:
    sub = subscribe(any_api)
    assert (sub["status"], sub["plan_code"], sub["external_customer_id"]) == (
        "active",
        "pro",
        "cust-1",
    )
    assert sub["plan"]["lago_id"] == catalog["pro"]["lago_id"]
    customer = any_api.ok("GET", "/customers/cust-1")["customer"]
    assert customer["currency"] == "USD"
    listed = any_api.ok("GET", "/subscriptions")["subscriptions"][0]
    assert "plan" not in listed


def test_same_plan_repost_is_a_no_op(any_api: Api, catalog: dict[str, Any]) -> None:
    first = subscribe(any_api, name="first")
    again = subscribe(any_api, name="second", plan_overrides={"amount_cents": 1})
    assert again["lago_id"] == first["lago_id"]
    assert (again["name"], again["plan"]["parent_id"]) == ("first", None)


def test_external_id_taken_by_another_customer(any_api: Api, catalog: dict[str, Any]) -> None:
    subscribe(any_api)
    reply = any_api.post(
        "/subscriptions",
        {
            "subscription": {
                "external_customer_id": "someone-else",
                "plan_code": "pro",
                "external_id": "sub-1",
            }
        },
    )
    assert reply.body == validation({"external_id": ["value_already_exist"]})


def test_upgrade_by_yearly_amount_is_immediate(any_api: Api, catalog: dict[str, Any]) -> None:
    old = subscribe(any_api, plan_code="basic")  # 500/month = 6000/year
    new = subscribe(any_api, plan_code="yearly")  # 13000/year: upgrade
    assert new["lago_id"] != old["lago_id"]
    assert (new["status"], new["plan_code"], new["previous_plan_code"]) == (
        "active",
        "yearly",
        "basic",
    )
    ended = any_api.ok("GET", "/subscriptions/sub-1", query={"status": "terminated"})
    assert ended["subscription"]["lago_id"] == old["lago_id"]


def test_downgrade_waits_for_the_period_end(any_api: Api, catalog: dict[str, Any]) -> None:
    current = subscribe(any_api, plan_code="pro")  # 1000/month = 12000/year
    answer = subscribe(any_api, plan_code="basic")
    assert answer["lago_id"] == current["lago_id"]
    assert (answer["plan_code"], answer["next_plan_code"]) == ("pro", "basic")
    assert answer["downgrade_plan_date"] == answer["current_billing_period_ending_at"][:10]
    pending = any_api.ok("GET", "/subscriptions/sub-1", query={"status": "pending"})
    assert pending["subscription"]["plan_code"] == "basic"
    any_api.advance(32 * 86400)
    now_active = any_api.ok("GET", "/subscriptions/sub-1")["subscription"]
    assert (now_active["plan_code"], now_active["previous_plan_code"]) == ("basic", "pro")


def test_list_filters(any_api: Api, catalog: dict[str, Any]) -> None:
    subscribe(any_api, "a", customer="c1")
    subscribe(any_api, "b", customer="c2", plan_overrides={"amount_cents": 5})
    subscribe(any_api, "c", customer="c2", plan_code="basic")
    subscribe(any_api, "d", customer="c3")
    any_api.ok("DELETE", "/subscriptions/d")

    def ids(query: dict[str, Any]) -> list[str]:
        subs = any_api.ok("GET", "/subscriptions", query=query)["subscriptions"]
        return sorted(s["external_id"] for s in subs)

    assert ids({}) == ["a", "b", "c"]
    assert ids({"plan_code": "pro"}) == ["a", "b"]
    assert ids({"external_customer_id": "c2"}) == ["b", "c"]
    assert ids({"overridden": "true"}) == ["b"]
    assert ids({"overriden": "false"}) == ["a", "c"]
    assert ids({"status[]": ["active", "terminated"]}) == ["a", "b", "c", "d"]
    assert ids({"status[]": "terminated"}) == ["d"]
    assert ids({"status[]": ["active", "bogus"]}) == ["a", "b", "c", "d"]  # filter skipped
    by_customer = any_api.ok("GET", "/customers/c2/subscriptions")["subscriptions"]
    assert sorted(s["external_id"] for s in by_customer) == ["b", "c"]
    assert any_api.get("/customers/nobody/subscriptions").body == not_found("customer_not_found")


def test_update_and_terminate(any_api: Api, catalog: dict[str, Any]) -> None:
    subscribe(any_api)
    updated = any_api.ok(
        "PUT",
        "/subscriptions/sub-1",
        {
            "subscription": {
                "name": "Renamed",
                "ending_at": "2099-01-01T00:00:00Z",
                "plan_code": "basic",
            }
        },
    )
    sub = updated["subscription"]
    assert (sub["name"], sub["ending_at"], sub["plan_code"]) == (
        "Renamed",
        "2099-01-01T00:00:00Z",
        "pro",
    )
    ended = any_api.ok("DELETE", "/subscriptions/sub-1")["subscription"]
    assert ended["status"] == "terminated" and ended["terminated_at"] is not None
    assert any_api.get("/subscriptions/sub-1").body == not_found("subscription_not_found")
    assert any_api.delete("/subscriptions/sub-1").body == not_found("subscription_not_found")
    again = subscribe(any_api)  # a terminated external_id can be reused
    assert again["status"] == "active"


def test_future_subscription_is_pending_and_can_be_canceled(
    any_api: Api, catalog: dict[str, Any]
) -> None:
    sub = subscribe(any_api, subscription_at="2099-01-01T00:00:00Z")
    assert (sub["status"], sub["started_at"]) == ("pending", None)
    canceled = any_api.ok("DELETE", "/subscriptions/sub-1", query={"status": "pending"})
    assert canceled["subscription"]["status"] == "canceled"
