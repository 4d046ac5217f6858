"""Every endpoint lagoform uses, driven through the client against the sandbox, in process and
over real HTTP, with each request and response checked against Lago's OpenAPI spec."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.errors import LagoError, LagoNotFound, LagoValidationError
from lagoform.lago import LagoClient

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def metric_body() -> dict[str, Any]:
    return {
        "name": "Tokens",
        "code": "tokens",
        "aggregation_type": "sum_agg",
        "field_name": "tokens",
        "recurring": False,
        "filters": [
            {"key": "model", "values": ["atlas-1", "atlas-2"]},
            {"key": "type", "values": ["input", "output"]},
        ],
    }


def plan_body(metric_id: str, seats_id: str) -> dict[str, Any]:
    return {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 9900,
        "amount_currency": "USD",
        "pay_in_advance": True,
        "trial_period": 0,
        "tax_codes": ["vat"],
        "charges": [
            {
                "billable_metric_id": metric_id,
                "code": "tokens",
                "charge_model": "standard",
                "invoice_display_name": "Tokens",
                "properties": {"amount": "0.000002"},
                "filters": [
                    {
                        "invoice_display_name": "Atlas 2 output",
                        "properties": {"amount": "0.00001"},
                        "values": {"model": ["atlas-2"], "type": ["output"]},
                    }
                ],
            },
            {
                "billable_metric_id": metric_id,
                "code": "tokens_tiered",
                "charge_model": "graduated",
                "properties": {
                    "graduated_ranges": [
                        {
                            "from_value": 0,
                            "to_value": 1000,
                            "per_unit_amount": "0.01",
                            "flat_amount": "0",
                        },
                        {
                            "from_value": 1001,
                            "to_value": None,
                            "per_unit_amount": "0.005",
                            "flat_amount": "1",
                        },
                    ]
                },
            },
            {
                "billable_metric_id": seats_id,
                "code": "seats",
                "charge_model": "package",
                "properties": {"amount": "10", "package_size": 5, "free_units": 1},
            },
            {
                "billable_metric_id": metric_id,
                "code": "tokens_volume",
                "charge_model": "volume",
                "properties": {
                    "volume_ranges": [
                        {
                            "from_value": 0,
                            "to_value": 100,
                            "per_unit_amount": "1",
                            "flat_amount": "0",
                        },
                        {
                            "from_value": 101,
                            "to_value": None,
                            "per_unit_amount": "0.5",
                            "flat_amount": "0",
                        },
                    ]
                },
            },
            {
                "billable_metric_id": metric_id,
                "code": "tokens_pct",
                "charge_model": "percentage",
                "properties": {"rate": "1.5", "fixed_amount": "0.1"},
            },
        ],
    }


def run_flow(client: LagoClient, contract: Any) -> None:
    # taxes, metrics, add-ons, coupons
    tax = client.create_tax({"code": "vat", "name": "VAT", "rate": "20.0"})
    assert tax["code"] == "vat"
    assert client.update_tax("vat", {"name": "VAT 20%"})["name"] == "VAT 20%"
    assert [t["code"] for t in client.list_taxes()] == ["vat"]
    metric = client.create_billable_metric(metric_body())
    seats = client.create_billable_metric(
        {
            "name": "Seats",
            "code": "seats",
            "aggregation_type": "unique_count_agg",
            "field_name": "user",
            "recurring": False,
        }
    )
    assert client.update_billable_metric("tokens", {"name": "LLM tokens"})["name"] == "LLM tokens"
    assert {m["code"] for m in client.list_billable_metrics()} == {"tokens", "seats"}
    assert client.get_billable_metric("nope") is None
    client.create_add_on(
        {"name": "Setup", "code": "setup", "amount_cents": 5000, "amount_currency": "USD"}
    )
    assert client.update_add_on("setup", {"amount_cents": 6000})["amount_cents"] == 6000
    client.create_coupon(
        {
            "name": "Launch",
            "code": "launch",
            "coupon_type": "percentage",
            "percentage_rate": "10",
            "frequency": "once",
            "expiration": "no_expiration",
        }
    )
    assert [c["code"] for c in client.list_coupons()] == ["launch"]
    assert [a["code"] for a in client.list_add_ons()] == ["setup"]

    # plans and their charges
    plan = client.create_plan(plan_body(metric["lago_id"], seats["lago_id"]))
    assert len(plan["charges"]) == 5
    ids = {c["code"]: c["lago_id"] for c in plan["charges"]}
    kept = [
        dict(c, id=ids[c["code"]])
        for c in plan_body(metric["lago_id"], seats["lago_id"])["charges"]
    ]
    updated = client.update_plan(
        "pro", {"name": "Pro 2026", "interval": "monthly", "charges": kept[:4]}
    )
    assert {c["lago_id"] for c in updated["charges"]} == {ids[c["code"]] for c in kept[:4]}
    assert [p["code"] for p in client.list_plans()] == ["pro"]
    assert {c["code"] for c in client.list_plan_charges("pro")} == {
        "tokens",
        "tokens_tiered",
        "seats",
        "tokens_volume",
    }
    charge = client.get_plan_charge("pro", "seats")
    assert charge is not None and charge["charge_model"] == "package"
    client.create_plan_charge(
        "pro",
        {
            "billable_metric_id": metric["lago_id"],
            "code": "extra",
            "charge_model": "standard",
            "properties": {"amount": "1"},
        },
    )
    client.update_plan_charge(
        "pro", "extra", {"charge_model": "standard", "properties": {"amount": "2"}}
    )
    assert client.delete_plan_charge("pro", "extra") is not None
    assert client.get_plan("pro") is not None

    # customers, subscriptions, overrides
    customer = client.upsert_customer({"external_id": "acme", "name": "Acme", "currency": "USD"})
    assert customer["external_id"] == "acme"
    assert [c["external_id"] for c in client.list_customers()] == ["acme"]
    sub = client.create_subscription(
        {
            "external_customer_id": "acme",
            "plan_code": "pro",
            "external_id": "acme-main",
            "billing_time": "calendar",
        }
    )
    assert sub["status"] == "active"
    assert [s["external_id"] for s in client.list_subscriptions(plan_code="pro")] == ["acme-main"]
    override = client.override_subscription_charge(
        "acme-main", "tokens", {"properties": {"amount": "0.000001"}}
    )
    assert override["properties"]["amount"] == "0.000001"
    effective = client.get_subscription("acme-main")
    assert effective is not None and effective["plan"]["parent_id"] == plan["lago_id"]
    assert client.list_subscriptions(overridden=True)[0]["external_id"] == "acme-main"
    assert len(client.list_subscription_charges("acme-main")) == 4
    assert client.get_subscription_charge("acme-main", "tokens") is not None
    client.update_subscription("acme-main", {"name": "Main"})

    # wallets and coupons applied
    wallet = client.create_wallet(
        {
            "external_customer_id": "acme",
            "name": "Prepaid",
            "code": "prepaid",
            "currency": "USD",
            "rate_amount": "1.0",
            "granted_credits": "10.0",
        }
    )
    client.update_wallet(wallet["lago_id"], {"name": "Prepaid credits"})
    txs = client.create_wallet_transaction(
        {"wallet_id": wallet["lago_id"], "paid_credits": "5.0", "granted_credits": "1.0"}
    )
    assert len(txs) == 2
    assert len(client.list_wallet_transactions(wallet["lago_id"])) >= 2
    assert [w["code"] for w in client.list_wallets("acme")] == ["prepaid"]
    client.apply_coupon({"external_customer_id": "acme", "coupon_code": "launch"})
    assert len(client.list_applied_coupons("acme")) == 1

    # events and usage
    one = client.post_event(
        {
            "transaction_id": "tx-1",
            "external_subscription_id": "acme-main",
            "code": "tokens",
            "timestamp": T0 + 60,
            "properties": {"tokens": 1200, "model": "atlas-2", "type": "output"},
        }
    )
    assert one.events[0]["transaction_id"] == "tx-1"
    batch = client.post_events_batch(
        [
            {
                "transaction_id": f"tx-b{i}",
                "external_subscription_id": "acme-main",
                "code": "tokens",
                "timestamp": T0 + i,
                "properties": {"tokens": 10},
            }
            for i in range(100)
        ]
    )
    assert len(batch.events) == 100
    again = client.post_events_batch(
        [
            {
                "transaction_id": "tx-b0",
                "external_subscription_id": "acme-main",
                "code": "tokens",
                "timestamp": T0,
                "properties": {"tokens": 10},
            }
        ]
    )
    assert again.already_delivered
    event = client.get_event("tx-1")
    assert event is not None and event["code"] == "tokens"
    usage = client.get_current_usage("acme", "acme-main")
    assert "charges_usage" in usage
    client.get_past_usage("acme", "acme-main")

    # errors, as Lago shapes them
    with pytest.raises(LagoNotFound):
        client.get("/plans/nope")
    with contract.expect_invalid_request(), pytest.raises(LagoValidationError) as info:
        client.create_plan(
            {
                **plan_body(metric["lago_id"], seats["lago_id"]),
                "code": "bad",
                "charges": [
                    {
                        "billable_metric_id": metric["lago_id"],
                        "charge_model": "standard",
                        "properties": {"amount": 1},
                    }
                ],
            }
        )
    assert "amount must be a decimal string" in str(info.value)
    with contract.expect_invalid_request(), pytest.raises(LagoError) as bad:
        client.post("/taxes", {"not_tax": {}})
    assert bad.value.status == 400

    # tear down
    assert client.terminate_subscription("acme-main") is not None
    assert client.delete_plan("pro")["pending_deletion"] is True  # type: ignore[index]
    assert client.delete_billable_metric("seats") is not None
    assert client.delete_coupon("launch") is not None
    assert client.delete_add_on("setup") is not None
    client.terminate_wallet(wallet["lago_id"])
    assert client.delete_customer("acme") is not None


def test_contract_in_process(lago_client: LagoClient, contract: Any) -> None:
    run_flow(lago_client, contract)
    assert contract.exchanges > 50


def test_contract_over_http(lago_http_client: LagoClient, contract: Any) -> None:
    run_flow(lago_http_client, contract)
    assert contract.exchanges > 50
