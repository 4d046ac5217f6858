"""Plan rules (§4): validation codes, ``PUT /plans`` semantics, locks, taxes, deletion."""

from __future__ import annotations

from typing import Any

import pytest

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


def _ranges(*bounds: tuple[int, int | None], amount: Any = "1") -> list[dict[str, Any]]:
    return [
        {"from_value": a, "to_value": b, "per_unit_amount": amount, "flat_amount": "0"}
        for a, b in bounds
    ]


CHARGE_CASES: list[tuple[str, Any, int, Any]] = [
    (
        "standard amount as number",
        {"charge_model": "standard", "properties": {"amount": 1}},
        422,
        validation({"properties": ["invalid_amount"]}),
    ),
    (
        "standard negative",
        {"charge_model": "standard", "properties": {"amount": "-1"}},
        422,
        validation({"properties": ["invalid_amount"]}),
    ),
    (
        "graduated ok",
        {
            "charge_model": "graduated",
            "properties": {"graduated_ranges": _ranges((0, 100), (101, None))},
        },
        200,
        None,
    ),
    (
        "graduated from equals previous to",
        {
            "charge_model": "graduated",
            "properties": {"graduated_ranges": _ranges((0, 100), (100, None))},
        },
        200,
        None,
    ),
    (
        "graduated gap",
        {
            "charge_model": "graduated",
            "properties": {"graduated_ranges": _ranges((0, 100), (150, None))},
        },
        422,
        validation({"properties": ["invalid_graduated_ranges"]}),
    ),
    (
        "graduated last closed",
        {"charge_model": "graduated", "properties": {"graduated_ranges": _ranges((0, 100))}},
        422,
        validation({"properties": ["invalid_graduated_ranges"]}),
    ),
    (
        "graduated empty",
        {"charge_model": "graduated", "properties": {"graduated_ranges": []}},
        422,
        validation({"properties": ["missing_graduated_ranges"]}),
    ),
    (
        "graduated numeric amounts",
        {
            "charge_model": "graduated",
            "properties": {"graduated_ranges": _ranges((0, None), amount=0.5)},
        },
        422,
        validation({"properties": ["invalid_amount"]}),
    ),
    (
        "volume ok",
        {"charge_model": "volume", "properties": {"volume_ranges": _ranges((0, 10), (11, None))}},
        200,
        None,
    ),
    (
        "volume overlap",
        {"charge_model": "volume", "properties": {"volume_ranges": _ranges((0, 10), (5, None))}},
        422,
        validation({"properties": ["invalid_volume_ranges"]}),
    ),
    (
        "package ints",
        {
            "charge_model": "package",
            "properties": {"amount": "5", "package_size": "10", "free_units": 0},
        },
        422,
        validation({"properties": ["invalid_package_size"]}),
    ),
    (
        "package free units",
        {
            "charge_model": "package",
            "properties": {"amount": "5", "package_size": 10, "free_units": -1},
        },
        422,
        validation({"properties": ["invalid_free_units"]}),
    ),
    (
        "percentage rate number",
        {"charge_model": "percentage", "properties": {"rate": 1}},
        422,
        validation({"properties": ["invalid_rate"]}),
    ),
    (
        "percentage min above max",
        {
            "charge_model": "percentage",
            "properties": {
                "rate": "1",
                "per_transaction_min_amount": "5",
                "per_transaction_max_amount": "2",
            },
        },
        422,
        validation({"properties": ["per_transaction_max_lower_than_per_transaction_min"]}),
    ),
    (
        "unknown model",
        {"charge_model": "magic"},
        422,
        validation({"charge_model": ["value_is_invalid"]}),
    ),
    (
        "volume in advance",
        {"charge_model": "volume", "pay_in_advance": True, "properties": {}},
        422,
        validation({"pay_in_advance": ["invalid_aggregation_type_or_charge_model"]}),
    ),
    (
        "invoiceable false in arrears",
        {"charge_model": "standard", "invoiceable": False},
        422,
        validation({"invoiceable": ["must_be_true_unless_pay_in_advance"]}),
    ),
    (
        "prorated on non recurring",
        {"charge_model": "standard", "prorated": True},
        422,
        validation({"prorated": ["invalid_billable_metric_or_charge_model"]}),
    ),
    ("dynamic on sum", {"charge_model": "dynamic", "properties": {}}, 200, None),
    (
        "min amount in advance",
        {"charge_model": "standard", "pay_in_advance": True, "min_amount_cents": 100},
        422,
        validation({"min_amount_cents": ["not_compatible_with_pay_in_advance"]}),
    ),
    (
        "filter on unknown key",
        {"charge_model": "standard", "filters": [{"values": {"color": ["red"]}, "properties": {}}]},
        422,
        validation({"values": ["value_is_invalid"]}),
    ),
    (
        "filter on unknown value",
        {
            "charge_model": "standard",
            "filters": [{"values": {"region": ["mars"]}, "properties": {}}],
        },
        422,
        validation({"values": ["value_is_invalid"]}),
    ),
    (
        "filter with empty values",
        {"charge_model": "standard", "filters": [{"values": {"region": []}, "properties": {}}]},
        422,
        validation({"values": ["value_is_mandatory"]}),
    ),
    (
        "filter amount as number",
        {
            "charge_model": "standard",
            "filters": [{"values": {"region": ["eu"]}, "properties": {"amount": 2}}],
        },
        422,
        validation({"properties": ["invalid_amount"]}),
    ),
    (
        "unknown tax",
        {"charge_model": "standard", "tax_codes": ["nope"]},
        404,
        not_found("tax_not_found"),
    ),
]


@pytest.mark.parametrize(
    ("case", "item", "status", "expected"), CHARGE_CASES, ids=[c[0] for c in CHARGE_CASES]
)
def test_charge_validation_on_plan_create(
    api: Api, case: str, item: dict[str, Any], status: int, expected: Any
) -> None:
    metric = create_metric(api, "calls", filters=[{"key": "region", "values": ["eu", "us"]}])
    charge = {"billable_metric_id": metric["lago_id"], "properties": {"amount": "1"}, **item}
    reply = api.post("/plans", plan_body("pro", charges=[charge]))
    assert reply.status == status, reply.body
    if expected is not None:
        assert reply.body == expected
    else:
        assert reply.body["plan"]["charges"][0]["charge_model"] == item["charge_model"]
    if status != 200:
        assert api.get("/plans/pro").status == 404  # nothing half-created


@pytest.mark.parametrize(
    ("changes", "status", "expected"),
    [
        ({"interval": "daily"}, 422, validation({"interval": ["value_is_invalid"]})),
        ({"amount_currency": "XXX"}, 422, validation({"amount_currency": ["value_is_invalid"]})),
        ({"pay_in_advance": None}, 422, validation({"pay_in_advance": ["value_is_invalid"]})),
        ({"amount_cents": "10"}, 422, validation({"amount_cents": ["value_is_invalid"]})),
        ({"amount_cents": -1}, 422, validation({"amount_cents": ["value_is_out_of_range"]})),
        ({"name": ""}, 422, validation({"name": ["value_is_mandatory"]})),
        ({"tax_codes": ["missing"]}, 404, not_found("tax_not_found")),
        (
            {
                "charges": [
                    {
                        "billable_metric_id": "00000000-0000-4000-8000-000000000000",
                        "charge_model": "standard",
                    }
                ]
            },
            404,
            not_found("billable_metrics_not_found"),
        ),
    ],
)
def test_plan_create_validation(
    any_api: Api, changes: dict[str, Any], status: int, expected: Any
) -> None:
    body = plan_body("pro")
    body["plan"].update(changes)
    reply = any_api.post("/plans", body)
    assert (reply.status, reply.body) == (status, expected)


def test_plan_code_unique_and_bill_charges_monthly_only_for_long_intervals(api: Api) -> None:
    monthly = create_plan(api, "m", bill_charges_monthly=True)
    yearly = create_plan(api, "y", interval="yearly", bill_charges_monthly=True)
    yearly_default = create_plan(api, "y2", interval="yearly")
    assert (
        monthly["bill_charges_monthly"],
        yearly["bill_charges_monthly"],
        yearly_default["bill_charges_monthly"],
    ) == (None, True, False)
    assert api.post("/plans", plan_body("m")).body == validation({"code": ["value_already_exist"]})


def test_properties_defaults_slicing_and_generated_codes(api: Api) -> None:
    metric = create_metric(api, "calls")
    plan = create_plan(
        api,
        "pro",
        charges=[
            {"billable_metric_id": metric["lago_id"], "charge_model": "package"},
            {
                "billable_metric_id": metric["lago_id"],
                "charge_model": "standard",
                "properties": {"amount": "2", "package_size": 4, "grouped_by": ["region"]},
            },
            {"billable_metric_id": metric["lago_id"], "charge_model": "graduated"},
        ],
    )
    charges = plan["charges"]
    assert [c["code"] for c in charges] == ["calls", "calls_2", "calls_3"]
    assert charges[0]["properties"] == {"package_size": 1, "amount": "0", "free_units": 0}
    assert charges[1]["properties"] == {
        "amount": "2",
        "pricing_group_keys": ["region"],
        "grouped_by": ["region"],
    }
    assert charges[2]["properties"] == {
        "graduated_ranges": [
            {"from_value": 0, "to_value": None, "per_unit_amount": "0", "flat_amount": "0"}
        ]
    }


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
