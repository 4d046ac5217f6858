"""Exact conversion to Lago's request bodies and back, for every kind of object."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from lagoform.catalog import (
    BillingPlan,
    Tenant,
    add_on_body,
    add_on_from_lago,
    billable_metric_body,
    billable_metric_from_lago,
    coupon_body,
    coupon_from_lago,
    customer_body,
    customer_from_lago,
    dump_yaml,
    load_project,
    load_yaml,
    overrides_from_plans,
    plan_body,
    plan_from_lago,
    plan_overrides_body,
    subscription_body,
    subscription_from_lago,
    tax_body,
    tax_from_lago,
    tenant_to_yaml,
    to_yaml,
    wallet_body,
    wallet_from_lago,
)
from tests.catalog import strategies as s

ROOT = Path(__file__).resolve().parents[2]
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _example() -> tuple[BillingPlan, BillingPlan, Tenant]:
    project = load_project(ROOT)
    pro = project.catalog.plan("pro_monthly")
    enterprise = project.catalog.plan("enterprise")
    globex = project.tenant("globex")
    assert pro is not None and enterprise is not None and globex is not None
    return pro, enterprise, globex


def test_plan_body_is_exact() -> None:
    pro, _, _ = _example()
    body = plan_body(pro)
    assert body["amount_cents"] == 9900
    assert body["amount_currency"] == "USD"
    assert body["pay_in_advance"] is True
    assert body["trial_period"] == 14
    assert body["bill_charges_monthly"] is None  # monthly plans do not take it
    assert body["tax_codes"] == ["vat_standard"]
    assert "cascade_updates" not in body and "minimum_commitment" not in body
    tokens = body["charges"][0]
    assert tokens["code"] == "tokens"
    assert tokens["billable_metric_code"] == "token_usage"
    assert "billable_metric_id" not in tokens
    assert tokens["charge_model"] == "graduated"
    assert tokens["min_amount_cents"] == 0
    assert tokens["properties"] == {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 1000000, "per_unit_amount": "0", "flat_amount": "0"},
            {
                "from_value": 1000001,
                "to_value": None,
                "per_unit_amount": "0.000002",
                "flat_amount": "0",
            },
        ]
    }
    reasoning = tokens["filters"][3]
    assert reasoning["values"] == {"modality": ["__ALL_FILTER_VALUES__"], "type": ["reasoning"]}
    assert reasoning["invoice_display_name"] == "Reasoning tokens"
    api_calls = body["charges"][2]["properties"]
    assert api_calls == {"amount": "1.00", "package_size": 10000, "free_units": 100000}


def test_plan_update_body_carries_cascade_and_clears_commitment() -> None:
    pro, enterprise, _ = _example()
    assert plan_body(pro, update=True)["minimum_commitment"] == {}
    assert plan_body(pro, update=True)["cascade_updates"] is False
    body = plan_body(enterprise, update=True)
    assert body["minimum_commitment"] == {
        "amount_cents": 1000000,
        "invoice_display_name": "Minimum monthly commitment",
        "tax_codes": [],
    }
    assert body["usage_thresholds"] == [
        {
            "amount_cents": 2000000,
            "threshold_display_name": "Progressive billing at $20k",
            "recurring": False,
        }
    ]
    assert body["charges"][3]["min_amount_cents"] == 10000


def test_tiny_prices_stay_exact_strings() -> None:
    plan = BillingPlan.model_validate(
        load_yaml(
            "code: p\nname: P\ninterval: monthly\namount: 99.00 USD\ncharges:\n"
            "  - metric: m\n    properties: {amount: 0.0000025}\n"
            "  - metric: n\n    properties: {amount: 0.00000025}\n",
            "p.yaml",
        )
    )
    charges = plan_body(plan)["charges"]
    assert charges[0]["properties"] == {"amount": "0.0000025"}
    assert charges[1]["properties"] == {"amount": "0.00000025"}
    assert plan_body(plan)["amount_cents"] == 9900


def test_overrides_bodies() -> None:
    _, enterprise, globex = _example()
    subscription = globex.subscriptions[0]
    assert subscription.overrides is not None
    body = plan_overrides_body(subscription.overrides, enterprise)
    assert body["amount_cents"] == 450000
    assert body["amount_currency"] == "USD"
    assert [c["code"] for c in body["charges"]] == ["tokens"]
    assert body["charges"][0]["properties"] == {"amount": "0.0000015"}
    assert body["charges"][0]["filters"][0] == {
        "invoice_display_name": None,
        "properties": {"amount": "0.000001"},
        "values": {"modality": ["text"], "type": ["input"]},
    }
    assert "reason" not in body and "approval" not in body
    sub = subscription_body("globex", subscription)
    assert sub == {
        "external_customer_id": "globex",
        "plan_code": "enterprise",
        "external_id": "globex-main",
        "name": "Globex production",
        "billing_time": "anniversary",
        "subscription_at": "2026-02-01T00:00:00Z",
        "ending_at": None,
    }


def test_effective_plan_and_overrides_round_trip() -> None:
    _, enterprise, globex = _example()
    overrides = globex.subscriptions[0].overrides
    assert overrides is not None
    # the tenant's copy of the plan, as Lago holds it after apply: its fee and token prices
    deal = overrides.charges["tokens"]
    child = enterprise.model_copy(
        update={
            "amount": overrides.amount,
            "charges": tuple(
                c.model_copy(update={"properties": deal.properties, "filters": deal.filters})
                if c.code == "tokens"
                else c
                for c in enterprise.charges
            ),
        }
    )
    assert child.amount.cents == 450000
    tokens = child.charge("tokens")
    assert tokens is not None and tokens.properties.amount == Decimal("0.0000015")  # type: ignore[union-attr]
    back = overrides_from_plans(
        enterprise, child, reason=overrides.reason, approval=overrides.approval
    )
    assert back == overrides
    assert overrides_from_plans(enterprise, enterprise, reason="r", approval="a") is None


def test_customer_and_wallet_bodies() -> None:
    _, _, globex = _example()
    body = customer_body(globex)
    assert body["external_id"] == "globex"
    assert body["country"] == "US" and body["zipcode"] == "49007"
    assert body["metadata"] == [
        {"key": "crm_id", "value": "42", "display_in_invoice": False},
        {"key": "account_manager", "value": "j.doe", "display_in_invoice": False},
    ]
    wallet = wallet_body("globex", globex.wallets[0])
    assert wallet["rate_amount"] == "1"
    assert wallet["paid_credits"] == "10000" and wallet["granted_credits"] == "500"


def test_lago_responses_are_read_back() -> None:
    response = {
        "lago_id": "9f1c",
        "code": "p",
        "name": "P",
        "interval": "monthly",
        "amount_cents": 1999,
        "amount_currency": "EUR",
        "trial_period": 0.0,
        "pay_in_advance": False,
        "bill_charges_monthly": None,
        "taxes": [{"code": "vat"}],
        "charges": [
            {
                "lago_id": "c1",
                "lago_billable_metric_id": "m1",
                "billable_metric_code": "tokens",
                "code": "tokens",
                "charge_model": "standard",
                "invoiceable": True,
                "pay_in_advance": False,
                "prorated": False,
                "min_amount_cents": 150,
                "properties": {
                    "amount": "0.5",
                    "grouped_by": ["region"],
                    "pricing_group_keys": ["region"],
                },
                "filters": [
                    {
                        "invoice_display_name": None,
                        "properties": {"amount": "1"},
                        "values": {"type": ["__ALL_FILTER_VALUES__"]},
                    }
                ],
                "taxes": [],
            }
        ],
    }
    plan = plan_from_lago(response)
    assert str(plan.amount) == "19.99 EUR"
    assert plan.tax_codes == ("vat",)
    charge = plan.charges[0]
    assert charge.min_amount == Decimal("1.50")
    assert charge.filters[0].values == {"type": ("*",)}
    assert charge.properties.pricing_group_keys == ("region",)


@FAST
@given(s.taxes)
def test_tax_round_trip(tax: object) -> None:
    assert tax_from_lago(tax_body(tax)) == tax  # type: ignore[arg-type]


@FAST
@given(s.metrics())
def test_metric_round_trip(metric: object) -> None:
    assert billable_metric_from_lago(billable_metric_body(metric)) == metric  # type: ignore[arg-type]


@FAST
@given(s.add_ons)
def test_add_on_round_trip(add_on: object) -> None:
    assert add_on_from_lago(add_on_body(add_on)) == add_on  # type: ignore[arg-type]


@FAST
@given(s.coupons())
def test_coupon_round_trip(coupon: object) -> None:
    assert coupon_from_lago(coupon_body(coupon)) == coupon  # type: ignore[arg-type]


@FAST
@given(s.plans())
def test_plan_round_trip_through_lago_and_yaml(plan: BillingPlan) -> None:
    assert plan_from_lago(plan_body(plan, update=True)) == plan
    assert BillingPlan.model_validate(load_yaml(dump_yaml(to_yaml(plan)), "p.yaml")) == plan


@FAST
@given(s.tenants())
def test_tenant_round_trip_through_lago_and_yaml(tenant: Tenant) -> None:
    customer = customer_from_lago(customer_body(tenant))
    assert customer == tenant.customer.model_copy(update={"external_id": tenant.external_id})
    for sub in tenant.subscriptions:
        assert subscription_from_lago(subscription_body(tenant.external_id, sub)) == sub
    for wallet in tenant.wallets:
        assert wallet_from_lago(wallet_body(tenant.external_id, wallet)) == wallet
    data = load_yaml(dump_yaml(tenant_to_yaml(tenant)), "t.yaml")
    assert Tenant.model_validate({**data, "external_id": tenant.external_id}) == tenant
