"""The computing endpoints (evaluate an expression, estimate pay-in-advance fees, preview an
invoice) through lagoform's client against the sandbox, in process and over real HTTP, each
request and response checked against Lago's OpenAPI spec."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.errors import LagoValidationError
from lagoform.lago import LagoClient


def run_flow(client: LagoClient) -> None:
    assert (
        client.evaluate_expression(
            "round(event.properties.seconds / 60, 1)",
            {"code": "minutes", "timestamp": 1_767_225_600, "properties": {"seconds": "90"}},
        )
        == "1.5"
    )
    client.create_tax(
        {"code": "vat", "name": "VAT", "rate": "20.0", "applied_to_organization": True}
    )
    metric = client.create_billable_metric(
        {"name": "Calls", "code": "calls", "aggregation_type": "sum_agg", "field_name": "n"}
    )
    client.create_plan(
        {
            "name": "Pro",
            "code": "pro",
            "interval": "monthly",
            "amount_cents": 1000,
            "amount_currency": "EUR",
            "pay_in_advance": False,
            "charges": [
                {
                    "billable_metric_id": metric["lago_id"],
                    "code": "calls",
                    "charge_model": "standard",
                    "pay_in_advance": True,
                    "properties": {"amount": "0.5"},
                },
                {
                    "billable_metric_id": metric["lago_id"],
                    "code": "calls_monthly",
                    "charge_model": "standard",
                    "min_amount_cents": 2000,
                    "properties": {"amount": "1"},
                },
            ],
        }
    )
    client.create_subscription(
        {
            "external_customer_id": "acme",
            "plan_code": "pro",
            "external_id": "acme-main",
            "billing_time": "anniversary",
        }
    )
    (fee,) = client.estimate_fees(
        {"code": "calls", "external_subscription_id": "acme-main", "properties": {"n": 4}}
    )
    assert (fee["amount_cents"], fee["taxes_amount_cents"]) == (200, 40)
    invoice = client.preview_invoice(
        {"customer": {"external_id": "acme"}, "subscriptions": {"external_ids": ["acme-main"]}}
    )
    # $10 subscription + the $20 minimum's true-up, 20% tax
    assert (invoice["fees_amount_cents"], invoice["total_amount_cents"]) == (3000, 3600)
    # an expression that cannot be evaluated: Lago's message reaches the user
    # (events/create_service.rb:26-27, events_controller_spec.rb:110-128)
    client.create_billable_metric(
        {
            "name": "Minutes",
            "code": "minutes",
            "aggregation_type": "sum_agg",
            "field_name": "minutes",
            "expression": "event.properties.seconds / 60",
        }
    )
    with pytest.raises(LagoValidationError) as failed:
        client.post_event(
            {"transaction_id": "m1", "code": "minutes", "external_subscription_id": "acme-main"}
        )
    assert "Variable: seconds not found" in str(failed.value)
    proposal = client.preview_invoice(
        {
            "customer": {"name": "Prospect", "currency": "EUR"},
            "plan_code": "pro",
            "billing_time": "anniversary",
        }
    )
    assert proposal["total_amount_cents"] == 1200


def test_contract_in_process(lago_client: LagoClient, contract: Any) -> None:
    run_flow(lago_client)
    assert contract.exchanges >= 7


def test_contract_over_http(lago_http_client: LagoClient, contract: Any) -> None:
    run_flow(lago_http_client)
    assert contract.exchanges >= 7
