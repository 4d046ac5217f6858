"""Taxes, add-ons, coupons and applied coupons (§6.3–6.5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import Api, create_metric, create_plan, not_found, validation


def test_tax_crud(any_api: Api) -> None:
    tax = any_api.ok("POST", "/taxes", {"tax": {"name": "VAT", "code": "vat", "rate": "20"}})["tax"]
    assert (tax["rate"], tax["applied_to_organization"]) == (20.0, False)
    assert any_api.post("/taxes", {"tax": {"name": "x", "code": "vat", "rate": "1"}}).body == (
        validation({"code": ["value_already_exist"]})
    )
    assert any_api.post("/taxes", {"tax": {"name": "x", "code": "y"}}).body == validation(
        {"rate": ["value_is_mandatory"]}
    )
    updated = any_api.ok("PUT", "/taxes/vat", {"tax": {"rate": "19.5"}})["tax"]
    assert updated["rate"] == 19.5
    create_plan(any_api, "pro", tax_codes=["vat"])
    any_api.ok("DELETE", "/taxes/vat")
    assert any_api.ok("GET", "/plans/pro")["plan"]["taxes"] == []
    assert any_api.get("/taxes/vat").body == not_found("tax_not_found")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"amount_cents": 0}, validation({"amount_cents": ["value_is_invalid"]})),
        ({"amount_currency": "???"}, validation({"amount_currency": ["value_is_invalid"]})),
        ({"tax_codes": ["nope"]}, not_found("tax_not_found")),
    ],
)
def test_add_on_validation(any_api: Api, fields: dict[str, Any], expected: Any) -> None:
    body = {"name": "Setup", "code": "setup", "amount_cents": 5000, "amount_currency": "USD"}
    assert any_api.post("/add_ons", {"add_on": {**body, **fields}}).body == expected


def test_add_on_crud_and_fixed_charge(api: Api) -> None:
    add_on = api.ok(
        "POST",
        "/add_ons",
        {
            "add_on": {
                "name": "Setup",
                "code": "setup",
                "amount_cents": 5000,
                "amount_currency": "USD",
            }
        },
    )["add_on"]
    plan = create_plan(
        api,
        "pro",
        fixed_charges=[
            {
                "add_on_id": add_on["lago_id"],
                "charge_model": "standard",
                "units": 2,
                "properties": {"amount": "10"},
            }
        ],
    )
    fixed = plan["fixed_charges"][0]
    assert (fixed["code"], fixed["add_on_code"], fixed["units"]) == ("setup", "setup", 2)
    renamed = api.ok("PUT", "/add_ons/setup", {"add_on": {"name": "Onboarding"}})["add_on"]
    assert renamed["name"] == "Onboarding"
    assert [a["code"] for a in api.ok("GET", "/add_ons")["add_ons"]] == ["setup"]


def _coupon(**fields: Any) -> dict[str, Any]:
    return {
        "coupon": {
            "name": "Launch",
            "code": "launch",
            "coupon_type": "fixed_amount",
            "amount_cents": 1000,
            "amount_currency": "USD",
            "frequency": "once",
            "expiration": "no_expiration",
            **fields,
        }
    }


@pytest.mark.parametrize(
    ("fields", "status", "expected"),
    [
        (
            {"applies_to": {"plan_codes": ["pro"], "billable_metric_codes": ["calls"]}},
            405,
            {
                "status": 405,
                "error": "Method Not Allowed",
                "code": "only_one_limitation_type_per_coupon_allowed",
            },
        ),
        ({"applies_to": {"plan_codes": ["missing"]}}, 404, not_found("plans_not_found")),
        (
            {"applies_to": {"billable_metric_codes": ["missing"]}},
            404,
            not_found("billable_metrics_not_found"),
        ),
        (  # spec/services/coupons/create_service_spec.rb:120-142: Lago's codes, Rails' message
            {"frequency": "recurring"},
            422,
            validation({"frequency_duration": ["value_is_mandatory", "is not a number"]}),
        ),
        (
            {"coupon_type": "percentage", "percentage_rate": None},
            422,
            validation({"percentage_rate": ["value_is_mandatory"]}),
        ),
    ],
)
def test_coupon_validation(
    any_api: Api, fields: dict[str, Any], status: int, expected: Any
) -> None:
    create_plan(any_api, "pro")
    create_metric(any_api, "calls")  # unknown codes: 404 before the 405 (create_service:43-53)
    reply = any_api.post("/coupons", _coupon(**fields))
    assert (reply.status, reply.body) == (status, expected)


def test_applied_coupon_freezes_coupon_fields(any_api: Api) -> None:
    create_plan(any_api, "pro")
    coupon = any_api.ok("POST", "/coupons", _coupon(applies_to={"plan_codes": ["pro"]}))["coupon"]
    assert (coupon["limited_plans"], coupon["plan_codes"], coupon["reusable"]) == (
        True,
        ["pro"],
        True,
    )
    any_api.ok("POST", "/customers", {"customer": {"external_id": "acme"}})
    applied = any_api.ok(
        "POST",
        "/applied_coupons",
        {"applied_coupon": {"external_customer_id": "acme", "coupon_code": "launch"}},
    )["applied_coupon"]
    assert (applied["coupon_code"], applied["status"], applied["amount_cents"]) == (
        "launch",
        "active",
        1000,
    )
    updated = any_api.ok(
        "PUT", "/coupons/launch", {"coupon": {"name": "Renamed", "amount_cents": 1}}
    )["coupon"]
    assert (updated["name"], updated["amount_cents"]) == ("Renamed", 1000)
    listed = any_api.ok("GET", "/customers/acme/applied_coupons")["applied_coupons"]
    assert [a["lago_id"] for a in listed] == [applied["lago_id"]]
    any_api.ok("DELETE", "/coupons/launch")
    after = any_api.ok("GET", "/applied_coupons", query={"status": "terminated"})
    assert [a["lago_id"] for a in after["applied_coupons"]] == [applied["lago_id"]]
