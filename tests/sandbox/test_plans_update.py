"""``PUT /plans/{code}`` (§4.6), locks once subscribed, taxes replace semantics, asynchronous
deletion (§4.8) and child plans hidden from ``GET /plans``."""

from __future__ import annotations

from typing import Any

from tests.sandbox.helpers import (
    Api,
    charge_item,
    create_metric,
    create_plan,
    not_found,
    plan_body,
    subscribe,
    validation,
)


def _two_charge_plan(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    calls = create_metric(api, "calls")
    seats = create_metric(api, "seats", aggregation_type="unique_count_agg", field_name="user")
    plan = create_plan(
        api,
        "pro",
        charges=[
            charge_item(calls["lago_id"], properties={"amount": "1"}, invoice_display_name="Calls"),
            charge_item(seats["lago_id"], properties={"amount": "5"}),
        ],
    )
    return plan, calls


def test_put_matches_charges_by_id_only(any_api: Api) -> None:
    plan, calls = _two_charge_plan(any_api)
    first, second = plan["charges"]
    reply = any_api.put(
        "/plans/pro",
        {
            "plan": {
                "interval": "monthly",
                "charges": [
                    {
                        "id": first["lago_id"],
                        "charge_model": "standard",
                        "properties": {"amount": "3"},
                    },
                    # same metric as the first but no id: a NEW charge, code generated
                    {"billable_metric_id": calls["lago_id"], "charge_model": "standard"},
                ],
            }
        },
    )
    assert reply.status == 200
    charges = reply.body["plan"]["charges"]
    assert next(c["lago_id"] for c in charges) == first["lago_id"]
    assert second["lago_id"] not in [c["lago_id"] for c in charges]  # omitted -> deleted
    assert [c["code"] for c in charges] == ["calls", "calls_2"]
    assert charges[0]["properties"] == {"amount": "3"}
    assert charges[0]["invoice_display_name"] is None  # omitted -> cleared
    assert charges[1]["properties"] == {"amount": "0"}  # omitted -> model defaults


def test_put_without_ids_recreates_every_charge(api: Api) -> None:
    plan, _calls = _two_charge_plan(api)
    items = [
        {"billable_metric_id": c["lago_billable_metric_id"], "charge_model": "standard"}
        for c in plan["charges"]
    ]
    charges = api.ok("PUT", "/plans/pro", {"plan": {"charges": items}})["plan"]["charges"]
    assert not {c["lago_id"] for c in charges} & {c["lago_id"] for c in plan["charges"]}
    assert [c["code"] for c in charges] == ["calls_2", "seats_2"]


def test_put_id_of_another_plans_charge_creates_a_new_charge(api: Api) -> None:
    _plan, calls = _two_charge_plan(api)
    other = create_plan(api, "other", charges=[charge_item(calls["lago_id"], code="x")])
    foreign = other["charges"][0]["lago_id"]
    charges = api.ok(
        "PUT",
        "/plans/pro",
        {
            "plan": {
                "charges": [
                    {
                        "id": foreign,
                        "billable_metric_id": calls["lago_id"],
                        "charge_model": "standard",
                    }
                ]
            }
        },
    )["plan"]["charges"]
    assert charges[0]["lago_id"] != foreign
    assert api.ok("GET", "/plans/other")["plan"]["charges"][0]["lago_id"] == foreign


def test_put_empty_charges_deletes_all_and_omitted_leaves_them(api: Api) -> None:
    _two_charge_plan(api)
    kept = api.ok("PUT", "/plans/pro", {"plan": {"name": "Renamed"}})["plan"]
    assert (kept["name"], len(kept["charges"])) == ("Renamed", 2)
    cleared = api.ok("PUT", "/plans/pro", {"plan": {"charges": []}})["plan"]
    assert cleared["charges"] == []


def test_put_is_atomic(api: Api) -> None:
    plan, _ = _two_charge_plan(api)
    first = plan["charges"][0]
    reply = api.put(
        "/plans/pro",
        {
            "plan": {
                "name": "Changed",
                "charges": [
                    {
                        "id": first["lago_id"],
                        "charge_model": "standard",
                        "properties": {"amount": 5},
                    }
                ],
            }
        },
    )
    assert reply.body == validation({"properties": ["invalid_amount"]})
    assert api.ok("GET", "/plans/pro")["plan"] == plan


def test_locked_fields_ignored_once_the_plan_ever_had_a_subscription(any_api: Api) -> None:
    plan, _calls = _two_charge_plan(any_api)
    subscribe(any_api)
    any_api.ok("DELETE", "/subscriptions/sub-1")  # terminated still counts
    first = plan["charges"][0]
    reply = any_api.put(
        "/plans/pro",
        {
            "plan": {
                "code": "new-code",
                "interval": "yearly",
                "pay_in_advance": True,
                "amount_currency": "EUR",
                "trial_period": 7,
                "bill_charges_monthly": True,
                "name": "Renamed",
                "amount_cents": 2000,
                "description": "d",
                "charges": [
                    {
                        "id": first["lago_id"],
                        "charge_model": "graduated",
                        "pay_in_advance": True,
                        "code": "renamed",
                        "min_amount_cents": 10,
                        "properties": {"amount": "7"},
                    }
                ],
            }
        },
    )
    assert reply.status == 200
    updated = reply.body["plan"]
    assert (
        updated["code"],
        updated["interval"],
        updated["pay_in_advance"],
        updated["amount_currency"],
        updated["trial_period"],
    ) == ("pro", "monthly", False, "USD", None)
    assert updated["bill_charges_monthly"] is None
    assert (updated["name"], updated["amount_cents"], updated["description"]) == (
        "Renamed",
        2000,
        "d",
    )
    charge = updated["charges"][0]
    assert (
        charge["charge_model"],
        charge["pay_in_advance"],
        charge["code"],
        charge["min_amount_cents"],
    ) == ("standard", False, "calls", 0)
    assert charge["properties"] == {"amount": "7"}  # properties stay editable
    assert len(updated["charges"]) == 1  # removing charges stays allowed


def test_unlocked_plan_takes_locked_fields_and_recomputes_monthly_flags(api: Api) -> None:
    create_plan(api, "pro", interval="yearly", bill_charges_monthly=True)
    updated = api.ok("PUT", "/plans/pro", {"plan": {"code": "pro2", "trial_period": 3}})["plan"]
    assert (updated["code"], updated["trial_period"]) == ("pro2", 3.0)
    assert updated["bill_charges_monthly"] is None  # PUT without interval resets it


def test_tax_codes_replace_semantics(any_api: Api) -> None:
    for code in ("vat", "gst"):
        any_api.ok("POST", "/taxes", {"tax": {"name": code, "code": code, "rate": "10"}})
    create_plan(any_api, "pro", tax_codes=["vat"])
    replaced = any_api.ok("PUT", "/plans/pro", {"plan": {"tax_codes": ["gst"]}})["plan"]
    assert [t["code"] for t in replaced["taxes"]] == ["gst"]
    untouched = any_api.ok("PUT", "/plans/pro", {"plan": {"name": "x"}})["plan"]
    assert [t["code"] for t in untouched["taxes"]] == ["gst"]
    cleared = any_api.ok("PUT", "/plans/pro", {"plan": {"tax_codes": []}})["plan"]
    assert cleared["taxes"] == []
    reply = any_api.put("/plans/pro", {"plan": {"tax_codes": ["zzz"]}})
    assert (reply.status, reply.body) == (404, not_found("tax_not_found"))


def test_unknown_billable_metric_on_put(api: Api) -> None:
    create_plan(api, "pro")
    reply = api.put(
        "/plans/pro",
        {"plan": {"charges": [{"billable_metric_id": "nope", "charge_model": "standard"}]}},
    )
    assert (reply.status, reply.body) == (404, not_found("billable_metrics_not_found"))


def test_delete_is_pending_then_completes_and_terminates_subscriptions(any_api: Api) -> None:
    any_api.settings(plan_delete_delay=60)
    metric = create_metric(any_api, "calls")
    create_plan(any_api, "pro", charges=[charge_item(metric["lago_id"])])
    subscribe(any_api, "direct")
    subscribe(any_api, "custom", customer="cust-2", plan_overrides={"amount_cents": 1})
    deleted = any_api.delete("/plans/pro")
    assert (deleted.status, deleted.body["plan"]["pending_deletion"]) == (200, True)
    listed = any_api.ok("GET", "/plans")["plans"]
    assert [(p["code"], p["pending_deletion"]) for p in listed] == [("pro", True)]
    assert any_api.ok("GET", "/plans/pro")["plan"]["pending_deletion"] is True
    assert any_api.post("/plans", plan_body("pro")).body == validation(
        {"code": ["value_already_exist"]}
    )
    any_api.advance(61)
    assert any_api.get("/plans/pro").body == not_found("plan_not_found")
    subs = any_api.ok("GET", "/subscriptions", query={"status[]": "terminated"})["subscriptions"]
    assert sorted(s["external_id"] for s in subs) == ["custom", "direct"]
    assert any_api.post("/plans", plan_body("pro")).status == 200


def test_list_hides_child_plans(api: Api) -> None:
    create_plan(api, "pro")
    subscribe(api, plan_overrides={"amount_cents": 10})
    plans = api.ok("GET", "/plans")
    assert [p["code"] for p in plans["plans"]] == ["pro"]
    assert plans["plans"][0]["parent_id"] is None
    assert plans["meta"]["total_count"] == 1
