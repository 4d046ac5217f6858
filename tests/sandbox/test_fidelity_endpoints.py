"""The endpoints the sandbox lacked (issue 13): ``POST /billable_metrics/evaluate_expression``,
``POST /events/estimate_fees`` and ``POST /invoices/preview``, in-process and over HTTP. Each row
cites the lago-api spec or service it paraphrases; every amount is lagoform.pricing's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import (
    Api,
    charge_item,
    create_metric,
    create_plan,
    not_found,
    send_event,
    subscribe,
    validation,
)

BM_SPEC = "spec/requests/api/v1/billable_metrics_controller_spec.rb"
EVALUATE = "app/services/billable_metrics/evaluate_expression_service.rb"


@pytest.mark.parametrize(
    ("source", "expression", "event", "status", "expected"),
    [
        (
            f"{BM_SPEC}:309-316",
            "round(event.properties.value)",
            {"code": "bm_code", "timestamp": 1_700_000_000, "properties": {"value": "2.4"}},
            200,
            {"expression_result": {"value": "2.0"}},
        ),
        (
            f"{EVALUATE}:23-29 (properties arrive as text, numbers read back as numbers)",
            "ceil(event.properties.seconds / 60, 1) * 2",
            {"code": "c", "properties": {"seconds": 125}},
            200,
            {"expression_result": {"value": "4.2"}},
        ),
        (
            "lago-expression grammar: concat, event.code",
            "concat(event.code, '-', event.properties.region)",
            {"code": "calls", "properties": {"region": "eu"}},
            200,
            {"expression_result": {"value": "calls-eu"}},
        ),
        (f"{BM_SPEC}:318-328", "", {}, 422, validation({"expression": ["value_is_mandatory"]})),
        (
            f"{EVALUATE}:18-21",
            "round(event.properties.value",
            {},
            422,
            validation({"expression": ["invalid_expression"]}),
        ),
        (
            f"{EVALUATE}:31-32",
            "event.properties.a + 1",
            {"code": "c", "properties": {}},
            422,
            validation({"event": ["invalid_event"]}),
        ),
    ],
)
def test_evaluate_expression(
    any_api: Api, source: str, expression: str, event: Any, status: int, expected: Any
) -> None:
    assert source
    reply = any_api.post(
        "/billable_metrics/evaluate_expression", {"expression": expression, "event": event}
    )
    assert (reply.status, reply.body) == (status, expected)


EVENTS_SPEC = "spec/requests/api/v1/events_controller_spec.rb"
FIRST_FLAT = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "1"}
    ]
}


@pytest.fixture
def advance(any_api: Api) -> dict[str, Any]:
    """A sum metric with a pay-in-advance graduated charge (first-range flat fee $1, $0.50 a
    unit) and an in-arrears standard charge with a $50 minimum; a 20% default tax."""
    any_api.ok(
        "POST",
        "/taxes",
        {"tax": {"name": "VAT", "code": "vat", "rate": "20", "applied_to_organization": True}},
    )
    metric = create_metric(any_api, "calls", field_name="n")
    plan = create_plan(
        any_api,
        "pro",
        amount_cents=1000,
        amount_currency="EUR",
        charges=[
            charge_item(metric["lago_id"], "graduated", FIRST_FLAT, pay_in_advance=True),
            charge_item(
                metric["lago_id"],
                properties={"amount": "2"},
                code="calls_in_arrears",
                min_amount_cents=5000,
            ),
        ],
    )
    subscribe(any_api, "s1", "pro", customer="c1", billing_time="anniversary")
    return plan


def _estimate(api: Api, **event: Any) -> Any:
    body = {"code": "calls", "external_subscription_id": "s1", **event}
    return api.post("/events/estimate_fees", {"event": body})


def test_estimate_fees_prices_the_increment(any_api: Api, advance: dict[str, Any]) -> None:
    # EVENTS_SPEC:595-613: one fee per pay-in-advance charge, not stored (lago_id null)
    first = _estimate(any_api, properties={"n": 4})
    assert first.status == 200, first.body
    (fee,) = first.body["fees"]
    # the first event pays the first range's flat amount: 4 × 0.50 + 1 = $3.00
    # (charge_models/graduated_service.rb:29-31), taxed 20% (EVENTS_SPEC:615-628)
    assert (fee["lago_id"], fee["item"]["type"], fee["item"]["code"]) == (None, "charge", "calls")
    assert (fee["amount_cents"], fee["units"], fee["events_count"], fee["pay_in_advance"]) == (
        300,
        "4.0",
        1,
        True,
    )
    assert (fee["taxes_amount_cents"], fee["taxes_rate"], fee["total_amount_cents"]) == (
        60,
        20.0,
        360,
    )
    # once an event is stored, the next one only pays its own units (after − before)
    send_event(any_api, "t1", "s1", n=4)
    assert _estimate(any_api, properties={"n": 4}).body["fees"][0]["amount_cents"] == 200
    # nothing was stored by the estimates
    listed = any_api.ok("GET", "/events", query={"external_subscription_id": "s1"})
    assert [e["transaction_id"] for e in listed["events"]] == ["t1"]


@pytest.mark.parametrize(
    ("source", "event", "expected"),
    [
        (
            f"{EVENTS_SPEC}:631-646",
            {"external_subscription_id": None},
            (404, not_found("subscription_not_found")),
        ),
        (
            "app/services/events/validate_creation_service.rb:79-81",
            {"code": "unknown"},
            (404, not_found("billable_metric_not_found")),
        ),
        (
            "app/services/events/validate_creation_service.rb:59-63,83-85",
            {"properties": {"n": "x"}},
            (422, validation({"properties": ["value_is_not_valid_number"]})),
        ),
        (
            "app/services/events/validate_creation_service.rb:36-41,87-89",
            {"timestamp": "today"},
            (422, validation({"timestamp": ["invalid_format"]})),
        ),
    ],
)
def test_estimate_fees_refusals(
    any_api: Api, advance: dict[str, Any], source: str, event: Any, expected: Any
) -> None:
    assert source
    reply = _estimate(any_api, **event)
    assert (reply.status, reply.body) == expected


def test_estimate_fees_needs_a_pay_in_advance_charge(any_api: Api) -> None:
    # EVENTS_SPEC:648-665
    metric = create_metric(any_api, "calls", field_name="n")
    create_plan(any_api, "pro", charges=[charge_item(metric["lago_id"])])
    subscribe(any_api, "s1", "pro")
    reply = _estimate(any_api, properties={"n": 1})
    assert reply.body == validation({"code": ["does_not_match_an_instant_charge"]})


def test_estimate_fees_refuses_what_the_calculator_does_not_model(any_api: Api) -> None:
    # a percentage with free units on Lago's totals path: never a guessed amount
    metric = create_metric(any_api, "calls", field_name="n")
    free = {"rate": "1", "free_units_per_events": 2}
    create_plan(
        any_api,
        "pro",
        charges=[charge_item(metric["lago_id"], "percentage", free, pay_in_advance=True)],
    )
    subscribe(any_api, "s1", "pro")
    reply = _estimate(any_api, properties={"n": 10})
    assert (reply.status, reply.body["code"]) == (501, "not_supported_by_sandbox")
    assert "free units" in reply.body["message"]


INVOICES_SPEC = "spec/requests/api/v1/invoices_controller_spec.rb"
SPEC_PLAN: dict[str, Any] = {"amount_cents": 100, "amount_currency": "EUR"}


def _org_tax(api: Api) -> None:
    api.ok(
        "POST",
        "/taxes",
        {"tax": {"name": "VAT", "code": "vat", "rate": "20", "applied_to_organization": True}},
    )


def _totals(reply: Any) -> tuple[int, int, int, str]:
    assert reply.status == 200, reply.body
    invoice = reply.body["invoice"]
    return (
        invoice["fees_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["total_amount_cents"],
        invoice["currency"],
    )


def test_preview_of_a_new_subscription(any_api: Api) -> None:
    # INVOICES_SPEC:1081-1107: a new customer, an anniversary plan of 100 EUR, 20% tax
    _org_tax(any_api)
    create_plan(any_api, "startup", **SPEC_PLAN)
    body = {
        "customer": {"name": "test 1", "currency": "EUR", "tax_identification_number": "1"},
        "plan_code": "startup",
        "billing_time": "anniversary",
    }
    assert _totals(any_api.post("/invoices/preview", body)) == (100, 20, 120, "EUR")


def test_preview_of_stored_subscriptions(any_api: Api, advance: dict[str, Any]) -> None:
    # INVOICES_SPEC:1258-1284: two anniversary subscriptions started now, 100 EUR each
    _ = advance
    create_plan(any_api, "startup", **SPEC_PLAN)
    subscribe(any_api, "a", "startup", customer="123456789", billing_time="anniversary")
    subscribe(any_api, "b", "startup", customer="123456789", billing_time="anniversary")
    body = {"customer": {"external_id": "123456789"}, "subscriptions": {"external_ids": ["a", "b"]}}
    assert _totals(any_api.post("/invoices/preview", body)) == (200, 40, 240, "EUR")


def test_preview_bills_usage_and_the_prorated_minimum(
    any_api: Api, advance: dict[str, Any]
) -> None:
    # invoices/preview_service.rb:184-231 (charges through fees/charge_service.rb with its
    # true-up, fees/create_true_up_service.rb); pay-in-advance charges on a non-recurring metric
    # are left out (preview_service.rb:190-192)
    _ = advance
    send_event(any_api, "t1", "s1", n=4)
    body = {"customer": {"external_id": "c1"}, "subscriptions": {"external_ids": ["s1"]}}
    reply = any_api.post("/invoices/preview", body)
    fees = [
        (f["item"]["type"], f["amount_cents"], f["units"]) for f in reply.body["invoice"]["fees"]
    ]
    # subscription $10 (whole anniversary period), usage 4 × $2, minimum $50 → true-up $42
    assert fees == [("subscription", 1000, "1.0"), ("charge", 800, "4.0"), ("charge", 4200, "1.0")]
    assert _totals(reply) == (6000, 1200, 7200, "EUR")


def test_preview_deducts_prepaid_credits(any_api: Api, advance: dict[str, Any]) -> None:
    # invoices/preview_service.rb:328-337, credits/allocate_prepaid_credits_by_wallets_service.rb
    _ = advance
    any_api.ok(
        "POST",
        "/wallets",
        {
            "wallet": {
                "external_customer_id": "c1",
                "rate_amount": "1",
                "granted_credits": "10",
                "currency": "EUR",
            }
        },
    )
    body = {"customer": {"external_id": "c1"}, "subscriptions": {"external_ids": ["s1"]}}
    invoice = any_api.ok("POST", "/invoices/preview", body)["invoice"]
    # 1000 + the whole minimum true-up 5000, +20% tax = 7200, less 1000 of credits
    assert (invoice["prepaid_credit_amount_cents"], invoice["total_amount_cents"]) == (1000, 6200)


@pytest.mark.parametrize(
    ("source", "body", "status", "code"),
    [
        (
            f"{INVOICES_SPEC}:1403-1417",
            {"customer": {"external_id": "unknown"}, "plan_code": "x"},
            404,
            "customer_not_found",
        ),
        (
            f"{INVOICES_SPEC}:1382-1401",
            {"customer": {"external_id": "c1"}, "subscriptions": {"external_ids": ["nope"]}},
            404,
            "subscription_not_found",
        ),
        (
            f"{INVOICES_SPEC}:1189-1208",
            {"customer": {}, "plan_code": "pro", "billing_entity_code": "nope"},
            404,
            "billing_entity_not_found",
        ),
        (
            "app/services/invoices/preview/build_subscription_service.rb:17",
            {"customer": {}, "plan_code": "nope"},
            404,
            "plan_not_found",
        ),
    ],
)
def test_preview_refusals(
    any_api: Api, advance: dict[str, Any], source: str, body: Any, status: int, code: str
) -> None:
    assert source
    reply = any_api.post("/invoices/preview", body)
    assert (reply.status, reply.body) == (status, not_found(code))


def test_preview_request_shape_and_licence(any_api: Api, advance: dict[str, Any]) -> None:
    # invoices_controller.rb:231-249: the exact 400 bodies
    bad = any_api.post("/invoices/preview", {"customer": {}, "coupons": {"code": "x"}})
    assert (bad.status, bad.body) == (400, {"status": 400, "error": "coupons_must_be_an_array"})
    bad = any_api.post("/invoices/preview", {"customer": {}, "subscriptions": ["s1"]})
    assert bad.body == {"status": 400, "error": "subscriptions_must_be_an_object"}
    stored = {"customer": {"external_id": "c1"}, "subscriptions": {"external_ids": ["s1"]}}
    # invoices/preview_service.rb:22: stored subscriptions need the `preview` integration
    any_api.settings(features=["progressive_billing"])
    missing = any_api.post("/invoices/preview", stored)
    assert (missing.status, missing.body["code"]) == (405, "premium_integration_missing")
    # invoices/preview_service.rb:19: premium only
    any_api.premium(False)
    forbidden = any_api.post("/invoices/preview", stored)
    assert (forbidden.status, forbidden.body["code"]) == (403, "feature_unavailable")


def test_preview_says_what_the_sandbox_does_not_compute(
    any_api: Api, advance: dict[str, Any]
) -> None:
    _ = advance
    body = {
        "customer": {"external_id": "c1"},
        "subscriptions": {"external_ids": ["s1"], "terminated_at": "2099-01-01T00:00:00Z"},
    }
    reply = any_api.post("/invoices/preview", body)
    assert (reply.status, reply.body["code"]) == (501, "not_supported_by_sandbox")
