"""Lago's official Python client (lago-python-client) against ``lagoform sandbox serve``.

An independent client, written by Lago against the real server, drives a realistic flow over
real HTTP: a metric with filters, a plan with filtered and graduated charges, a customer, a
subscription, a batch of events (sent the way that client sends them: every optional field as
``null``), then everything is read back. Every call must succeed with the expected data.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from lago_python_client.client import Client
from lago_python_client.models.billable_metric import (
    BillableMetric,
    BillableMetricFilter,
    BillableMetricFilters,
)
from lago_python_client.models.charge import Charge, ChargeFilter, ChargeFilters, Charges
from lago_python_client.models.customer import Customer
from lago_python_client.models.event import BatchEvent, Event
from lago_python_client.models.plan import Plan
from lago_python_client.models.subscription import Subscription

from tests.conftest import SandboxServer


@pytest.fixture
def lago(sandbox_server: SandboxServer) -> Client:
    return Client(api_key=sandbox_server.api_key, api_url=sandbox_server.url + "/")


def graduated() -> dict[str, Any]:
    return {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 1000, "per_unit_amount": "0.01", "flat_amount": "0"},
            {"from_value": 1001, "to_value": None, "per_unit_amount": "0.005", "flat_amount": "1"},
        ]
    }


def test_official_client_realistic_flow(lago: Client) -> None:
    metric = lago.billable_metrics.create(
        BillableMetric(
            name="LLM tokens",
            code="llm_tokens",
            aggregation_type="sum_agg",
            field_name="tokens",
            recurring=False,
            filters=BillableMetricFilters(
                __root__=[
                    BillableMetricFilter(key="model", values=["atlas-2", "atlas-1"]),
                    BillableMetricFilter(key="type", values=["input", "output"]),
                ]
            ),
        )
    )
    assert metric is not None and metric.code == "llm_tokens"
    assert [(f.key, f.values) for f in metric.filters.__root__] == [
        ("model", ["atlas-1", "atlas-2"]),  # Lago sorts filter values
        ("type", ["input", "output"]),
    ]

    plan = lago.plans.create(
        Plan(
            name="Pro",
            code="pro",
            interval="monthly",
            amount_cents=4900,
            amount_currency="USD",
            pay_in_advance=False,
            charges=Charges(
                __root__=[
                    Charge(
                        billable_metric_id=metric.lago_id,
                        code="tokens",
                        charge_model="standard",
                        invoice_display_name="Tokens",
                        properties={"amount": "0.001"},
                        filters=ChargeFilters(
                            __root__=[
                                ChargeFilter(
                                    invoice_display_name="Atlas 2 output",
                                    properties={"amount": "0.002"},
                                    values={"model": ["atlas-2"], "type": ["output"]},
                                )
                            ]
                        ),
                    ),
                    Charge(
                        billable_metric_id=metric.lago_id,
                        code="tokens_tiered",
                        charge_model="graduated",
                        properties=graduated(),
                    ),
                ]
            ),
        )
    )
    assert plan is not None and plan.code == "pro" and plan.amount_cents == 4900
    charges = {c.code: c for c in plan.charges.__root__}
    assert set(charges) == {"tokens", "tokens_tiered"}
    assert charges["tokens_tiered"].properties == graduated()
    flt = charges["tokens"].filters.__root__[0]
    assert flt.values == {"model": ["atlas-2"], "type": ["output"]}
    assert flt.properties == {"amount": "0.002"}

    customer = lago.customers.create(
        Customer(external_id="acme", name="Acme Corp", currency="USD", email="billing@acme.test")
    )
    assert customer is not None and customer.external_id == "acme" and customer.currency == "USD"

    sub = lago.subscriptions.create(
        Subscription(
            external_customer_id="acme",
            plan_code="pro",
            external_id="acme-pro",
            billing_time="calendar",
        )
    )
    assert sub is not None and sub.status == "active" and sub.plan_code == "pro"

    events = [
        Event(
            transaction_id=f"tx-{i}",
            external_subscription_id="acme-pro",
            code="llm_tokens",
            properties={
                "tokens": 100,
                "model": "atlas-2" if i % 2 else "atlas-1",
                "type": "output",
            },
        )
        for i in range(20)
    ]
    assert lago.events.batch_create(BatchEvent(events=events)) is None  # 200, nothing returned
    single = lago.events.create(
        Event(
            transaction_id="tx-single",
            external_subscription_id="acme-pro",
            code="llm_tokens",
            properties={"tokens": 0, "model": "atlas-1", "type": "input"},
        )
    )
    assert single is not None and single.transaction_id == "tx-single"

    # read everything back
    found_metric = lago.billable_metrics.find("llm_tokens")
    assert found_metric.lago_id == metric.lago_id and found_metric.name == "LLM tokens"
    found_plan = lago.plans.find("pro")
    assert {c.code for c in found_plan.charges.__root__} == {"tokens", "tokens_tiered"}
    assert [p.code for p in lago.plans.find_all()["plans"]] == ["pro"]
    assert [m.code for m in lago.billable_metrics.find_all()["billable_metrics"]] == ["llm_tokens"]
    found_sub = lago.subscriptions.find("acme-pro")
    assert found_sub.external_customer_id == "acme" and found_sub.status == "active"
    assert lago.customers.find("acme").name == "Acme Corp"
    event = lago.events.find("tx-7")
    assert event.code == "llm_tokens" and event.external_subscription_id == "acme-pro"
    assert event.properties == {"tokens": 100, "model": "atlas-2", "type": "output"}

    usage = lago.customers.current_usage("acme", "acme-pro")
    # this client's usage model keeps only the charge's lago_id (it drops `code`)
    code_of = {c.lago_id: c.code for c in found_plan.charges.__root__}
    by_code = {code_of[u.charge.lago_id]: u for u in usage.charges_usage}
    assert Decimal(by_code["tokens"].units) == 2000
    assert by_code["tokens"].events_count == 21
    # 1000 tokens at the atlas-2/output filter price (0.002) + 1000 at the default (0.001)
    assert by_code["tokens"].amount_cents == 300
    # graduated: 1000 × 0.01 + 1000 × 0.005 + the second tier's flat 1.00
    assert by_code["tokens_tiered"].amount_cents == 1600
    assert usage.amount_cents == 1900
    assert usage.currency == "USD"

    # an edit through PUT /plans/{code}: charges kept by id, one price changed
    tiered = charges["tokens_tiered"]
    cheaper = {"graduated_ranges": [dict(r) for r in graduated()["graduated_ranges"]]}
    cheaper["graduated_ranges"][1]["per_unit_amount"] = "0.004"
    updated = lago.plans.update(
        Plan(
            name="Pro 2026",
            interval="monthly",
            charges=Charges(
                __root__=[
                    Charge(
                        id=charges["tokens"].lago_id,
                        charge_model="standard",
                        properties={"amount": "0.001"},
                        invoice_display_name="Tokens",
                    ),
                    Charge(id=tiered.lago_id, charge_model="graduated", properties=cheaper),
                ]
            ),
        ),
        "pro",
    )
    assert updated is not None and updated.name == "Pro 2026"
    after = {c.code: c for c in updated.charges.__root__}
    assert after["tokens_tiered"].lago_id == tiered.lago_id  # updated in place, not recreated
    assert after["tokens_tiered"].properties == cheaper
    repriced = lago.customers.current_usage("acme", "acme-pro")
    assert repriced.amount_cents == 1800  # the open period is repriced (API_NOTES §4.6)

    terminated = lago.subscriptions.destroy("acme-pro")
    assert terminated is not None and terminated.status == "terminated"
