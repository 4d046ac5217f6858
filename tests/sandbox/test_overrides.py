"""Plan overrides (§5.4–5.5): hidden child plans (first vs later override), the per-charge
override endpoint, premium gating and ``cascade_updates`` reaching uncustomised children."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import (
    FORBIDDEN,
    Api,
    charge_item,
    create_metric,
    create_plan,
    not_found,
    subscribe,
    validation,
)


def test_first_override_creates_a_hidden_child_plan(any_api: Api, catalog: dict[str, Any]) -> None:
    pro = catalog["pro"]
    calls_charge, seats_charge = pro["charges"]
    sub = subscribe(
        any_api,
        plan_overrides={
            "amount_cents": 1500,
            "name": "Pro for ACME",
            "interval": "yearly",
            "charges": [
                {
                    "id": calls_charge["lago_id"],
                    "properties": {"amount": "0.5"},
                    "charge_model": "graduated",
                    "filters": [],
                },
                {"id": "unknown-id", "properties": {"amount": "9"}},
            ],
        },
    )
    child = sub["plan"]
    assert (
        child["parent_id"],
        child["code"],
        child["amount_cents"],
        child["name"],
        child["interval"],
    ) == (pro["lago_id"], "pro", 1500, "Pro for ACME", "monthly")
    assert child["lago_id"] != pro["lago_id"]
    assert [c["lago_parent_id"] for c in child["charges"]] == [
        calls_charge["lago_id"],
        seats_charge["lago_id"],
    ]
    assert child["charges"][0]["properties"] == {"amount": "0.5"}
    assert child["charges"][0]["charge_model"] == "standard"  # not overridable
    assert child["charges"][0]["filters"] == []
    assert child["charges"][1]["properties"] == {"amount": "5"}
    assert (sub["plan_code"], sub["plan_amount_cents"]) == ("pro", 1500)
    shown = any_api.ok("GET", "/subscriptions/sub-1")["subscription"]["plan"]
    assert shown["lago_id"] == child["lago_id"]
    parent = any_api.ok("GET", "/plans/pro")["plan"]
    assert (parent["lago_id"], parent["amount_cents"]) == (pro["lago_id"], 1000)
    # the parent never had a direct subscription: its locked fields stay editable
    assert (
        any_api.ok("PUT", "/plans/pro", {"plan": {"interval": "weekly"}})["plan"]["interval"]
        == "weekly"
    )


def test_later_override_uses_put_plan_logic_on_the_child(
    any_api: Api, catalog: dict[str, Any]
) -> None:
    pro = catalog["pro"]
    sub = subscribe(any_api, plan_overrides={"amount_cents": 1500})
    child = sub["plan"]
    calls_child = child["charges"][0]
    updated = any_api.ok(
        "PUT",
        "/subscriptions/sub-1",
        {
            "subscription": {
                "plan_overrides": {
                    "amount_cents": 1700,
                    "amount_currency": "EUR",
                    "trial_period": 9,
                    "charges": [
                        # parent id: unknown among the child's charges -> a NEW charge on the child
                        {
                            "id": pro["charges"][1]["lago_id"],
                            "billable_metric_id": catalog["seats"]["lago_id"],
                            "charge_model": "standard",
                            "properties": {"amount": "4"},
                        },
                        {
                            "id": calls_child["lago_id"],
                            "charge_model": "standard",
                            "properties": {"amount": "0.1"},
                        },
                    ],
                }
            }
        },
    )["subscription"]["plan"]
    assert updated["lago_id"] == child["lago_id"]
    assert (updated["amount_cents"], updated["amount_currency"], updated["trial_period"]) == (
        1700,
        "USD",
        None,
    )
    codes = [(c["code"], c["lago_parent_id"]) for c in updated["charges"]]
    assert codes == [("calls", pro["charges"][0]["lago_id"]), ("seats_2", None)]
    assert updated["charges"][0]["properties"] == {"amount": "0.1"}


def test_per_charge_override_endpoint(any_api: Api, catalog: dict[str, Any]) -> None:
    pro = catalog["pro"]
    subscribe(any_api)
    reply = any_api.put(
        "/subscriptions/sub-1/charges/seats",
        {
            "charge": {
                "properties": {"amount": "3"},
                "invoice_display_name": "Seats (ACME)",
                "charge_model": "graduated",
            }
        },
    )
    assert reply.status == 200
    charge = reply.body["charge"]
    assert (
        charge["lago_parent_id"],
        charge["code"],
        charge["properties"],
        charge["invoice_display_name"],
        charge["charge_model"],
    ) == (pro["charges"][1]["lago_id"], "seats", {"amount": "3"}, "Seats (ACME)", "standard")
    plan = any_api.ok("GET", "/subscriptions/sub-1")["subscription"]["plan"]
    assert plan["parent_id"] == pro["lago_id"]
    assert [c["properties"] for c in plan["charges"]] == [{"amount": "1"}, {"amount": "3"}]
    # patch semantics: a second call only touches the keys it sends
    again = any_api.ok(
        "PUT", "/subscriptions/sub-1/charges/calls", {"charge": {"invoice_display_name": "Calls"}}
    )["charge"]
    assert again["properties"] == {"amount": "1"}
    assert len(again["filters"]) == 1
    listed = any_api.ok("GET", "/subscriptions/sub-1/charges")
    assert [c["invoice_display_name"] for c in listed["charges"]] == ["Calls", "Seats (ACME)"]
    missing = any_api.put("/subscriptions/sub-1/charges/nope", {"charge": {"properties": {}}})
    assert missing.body == not_found("charge_not_found")
    bad = any_api.put(
        "/subscriptions/sub-1/charges/seats", {"charge": {"properties": {"amount": 3}}}
    )
    assert bad.body == validation({"properties": ["invalid_amount"]})
    assert any_api.ok("GET", "/subscriptions/sub-1/charges/seats")["charge"]["properties"] == {
        "amount": "3"
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/subscriptions",
            {
                "subscription": {
                    "external_customer_id": "c2",
                    "plan_code": "pro",
                    "external_id": "s2",
                    "plan_overrides": {"amount_cents": 1},
                }
            },
        ),
        ("PUT", "/subscriptions/sub-1", {"subscription": {"plan_overrides": {"amount_cents": 1}}}),
        ("PUT", "/subscriptions/sub-1/charges/calls", {"charge": {"properties": {"amount": "2"}}}),
    ],
)
def test_premium_off_refuses_overrides(
    any_api: Api, catalog: dict[str, Any], method: str, path: str, body: Any
) -> None:
    subscribe(any_api)
    any_api.premium(False)
    reply = any_api.call(method, path, body)
    assert (reply.status, reply.body) == (403, FORBIDDEN)
    assert any_api.ok("GET", "/subscriptions/sub-1")["subscription"]["plan"]["parent_id"] is None


def test_cascade_updates_reach_uncustomised_children(api: Api) -> None:
    metric = create_metric(api, "calls")
    pro = create_plan(api, "pro", charges=[charge_item(metric["lago_id"])])
    subscribe(api, "plain", plan_overrides={"name": "plain"})
    subscribe(
        api,
        "custom",
        customer="c2",
        plan_overrides={
            "charges": [{"id": pro["charges"][0]["lago_id"], "properties": {"amount": "0.2"}}]
        },
    )
    api.ok(
        "PUT",
        "/plans/pro",
        {
            "plan": {
                "cascade_updates": True,
                "amount_cents": 2000,
                "charges": [
                    {
                        "id": pro["charges"][0]["lago_id"],
                        "charge_model": "standard",
                        "properties": {"amount": "9"},
                    }
                ],
            }
        },
    )

    def effective(ext: str) -> tuple[int, Any]:
        plan = api.ok("GET", f"/subscriptions/{ext}")["subscription"]["plan"]
        return plan["amount_cents"], plan["charges"][0]["properties"]

    assert effective("plain") == (2000, {"amount": "9"})
    assert effective("custom") == (2000, {"amount": "0.2"})
    api.ok("PUT", "/plans/pro", {"plan": {"amount_cents": 3000}})  # no cascade
    assert effective("plain")[0] == 2000


def test_cascade_follows_the_models_filter_rule(api: Api) -> None:
    # The sandbox asks lagoform.model which parts of a copy follow a cascade (one rule):
    # an uncustomised filter takes the new price and display name (ChargeFilters::
    # CascadeService), a customised one keeps its price, and "0.50" equals "0.5".
    metric = create_metric(api, "tokens", filters=[{"key": "type", "values": ["a", "b"]}])
    filters = [
        {"values": {"type": ["a"]}, "properties": {"amount": "0.50"}},
        {"values": {"type": ["b"]}, "properties": {"amount": "1"}},
    ]
    pro = create_plan(api, "pro", charges=[charge_item(metric["lago_id"], filters=filters)])
    charge_id = pro["charges"][0]["lago_id"]
    subscribe(api, "plain", plan_overrides={"name": "plain"})
    own_b = [filters[0], {"values": {"type": ["b"]}, "properties": {"amount": "0.7"}}]
    subscribe(api, "custom", customer="c2",
              plan_overrides={"charges": [{"id": charge_id, "filters": own_b}]})  # fmt: skip
    raised = [
        {"values": {"type": ["a"]}, "properties": {"amount": "0.6"}, "invoice_display_name": "A"},
        {"values": {"type": ["b"]}, "properties": {"amount": "2"}},
    ]
    api.ok("PUT", "/plans/pro", {"plan": {"cascade_updates": True, "charges": [
        {"id": charge_id, "charge_model": "standard", "properties": {"amount": "1"},
         "filters": raised}]}})  # fmt: skip

    def filters_of(ext: str) -> dict[str, tuple[str, Any]]:
        plan = api.ok("GET", f"/subscriptions/{ext}")["subscription"]["plan"]
        return {
            f["values"]["type"][0]: (f["properties"]["amount"], f["invoice_display_name"])
            for f in plan["charges"][0]["filters"]
        }

    assert filters_of("plain") == {"a": ("0.6", "A"), "b": ("2", None)}
    assert filters_of("custom") == {"a": ("0.6", "A"), "b": ("0.7", None)}
