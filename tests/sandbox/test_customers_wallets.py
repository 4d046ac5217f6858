"""Customers (upsert by external_id, metadata replace-by-id §6.1) and wallets (§6.2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import Api, not_found, validation


def _customer(api: Api, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = api.ok(
        "POST", "/customers", {"customer": {"external_id": "acme", **fields}}
    )
    customer: dict[str, Any] = body["customer"]
    return customer


def test_upsert_by_external_id(any_api: Api) -> None:
    created = _customer(any_api, name="ACME", country="fr", currency="EUR")
    updated = _customer(any_api, email="billing@acme.test")
    assert updated["lago_id"] == created["lago_id"]
    assert (updated["name"], updated["country"], updated["email"], updated["currency"]) == (
        "ACME",
        "FR",
        "billing@acme.test",
        "EUR",
    )
    listed = any_api.ok("GET", "/customers")
    assert [c["external_id"] for c in listed["customers"]] == ["acme"]
    assert any_api.delete("/customers/acme").status == 200
    assert any_api.get("/customers/acme").body == not_found("customer_not_found")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"external_id": ""}, validation({"external_id": ["value_is_mandatory"]})),
        ({"external_id": "x", "currency": "ZZZ"}, validation({"currency": ["value_is_invalid"]})),
        (
            {"external_id": "x", "metadata": [{"key": f"k{i}", "value": "v"} for i in range(6)]},
            validation({"metadata": ["invalid_count"]}),
        ),
        (
            {"external_id": "x", "metadata": [{"key": "k" * 21, "value": "v"}]},
            validation({"key": ["value_is_too_long"]}),
        ),
        ({"external_id": "x", "tax_codes": ["nope"]}, not_found("tax_not_found")),
    ],
)
def test_customer_validation(any_api: Api, fields: dict[str, Any], expected: Any) -> None:
    reply = any_api.post("/customers", {"customer": fields})
    assert reply.body == expected


def test_metadata_is_replaced_by_id(any_api: Api) -> None:
    first = _customer(
        any_api, metadata=[{"key": "tier", "value": "gold"}, {"key": "region", "value": "eu"}]
    )["metadata"]
    tier = next(m for m in first if m["key"] == "tier")
    kept = _customer(
        any_api,
        metadata=[
            {"id": tier["lago_id"], "key": "tier", "value": "plat"},
            {"key": "owner", "value": "ops"},
        ],
    )["metadata"]
    assert sorted((m["key"], m["value"]) for m in kept) == [("owner", "ops"), ("tier", "plat")]
    assert next(m for m in kept if m["key"] == "tier")["lago_id"] == tier["lago_id"]
    # re-sending an existing key without its id collides before the old one is deleted
    reply = any_api.post(
        "/customers",
        {"customer": {"external_id": "acme", "metadata": [{"key": "owner", "value": "x"}]}},
    )
    assert reply.body == validation({"key": ["value_already_exist"]})


def test_wallet_create_top_up_and_terminate(any_api: Api) -> None:
    _customer(any_api, currency="USD")
    wallet = any_api.ok(
        "POST",
        "/wallets",
        {
            "wallet": {
                "external_customer_id": "acme",
                "rate_amount": "1.5",
                "currency": "USD",
                "name": "Prepaid",
                "code": "prepaid",
                "paid_credits": "10",
                "granted_credits": "5",
            }
        },
    )["wallet"]
    assert (wallet["credits_balance"], wallet["balance_cents"], wallet["status"]) == (
        "15.0",
        2250,
        "active",
    )
    txns = any_api.ok(
        "POST",
        "/wallet_transactions",
        {
            "wallet_transaction": {
                "wallet_id": wallet["lago_id"],
                "granted_credits": "2.5",
                "voided_credits": "1",
            }
        },
    )
    assert [
        (t["transaction_status"], t["transaction_type"], t["credit_amount"])
        for t in txns["wallet_transactions"]
    ] == [("granted", "inbound", "2.5"), ("voided", "outbound", "1.0")]
    shown = any_api.ok("GET", f"/wallets/{wallet['lago_id']}")["wallet"]
    assert shown["credits_balance"] == "16.5"
    by_code = any_api.ok("GET", "/customers/acme/wallets/prepaid")["wallet"]
    assert by_code["lago_id"] == wallet["lago_id"]
    history = any_api.ok("GET", f"/wallets/{wallet['lago_id']}/wallet_transactions")
    assert history["meta"]["total_count"] == 4
    ended = any_api.ok("DELETE", f"/wallets/{wallet['lago_id']}")["wallet"]
    assert ended["status"] == "terminated"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # models/wallet.rb:48 — a number is a valid rate; zero is out of range
        (
            {"rate_amount": "0", "paid_credits": "1"},
            validation({"rate_amount": ["value_is_out_of_range"]}),
        ),
        # wallets/validate_service.rb:67-79 — credits must be decimal strings, two codes each
        (
            {"rate_amount": "1", "paid_credits": 10},
            validation({"paid_credits": ["invalid_paid_credits", "invalid_amount"]}),
        ),
        (
            {"rate_amount": "1", "granted_credits": "x"},
            validation({"granted_credits": ["invalid_granted_credits", "invalid_amount"]}),
        ),
        ({"rate_amount": "1", "priority": 51}, validation({"priority": ["value_is_invalid"]})),
    ],
)
def test_wallet_amounts_must_be_decimal_strings(
    any_api: Api, fields: dict[str, Any], expected: Any
) -> None:
    _customer(any_api, currency="USD")
    reply = any_api.post(
        "/wallets", {"wallet": {"external_customer_id": "acme", "currency": "USD", **fields}}
    )
    assert (reply.status, reply.body) == (422, expected)


def test_wallet_limits_and_unknown_customer(api: Api) -> None:
    # POST /wallets names the customer in a 422 (spec/requests/api/v1/wallets_controller_spec.rb
    # :21-28); the customer-scoped route answers 404 (customers/base_controller.rb)
    assert api.post(
        "/wallets", {"wallet": {"external_customer_id": "ghost", "rate_amount": "1"}}
    ).body == validation({"customer": ["customer_not_found"]})
    assert api.post("/customers/ghost/wallets", {"wallet": {"rate_amount": "1"}}).body == (
        not_found("customer_not_found")
    )
    _customer(api, currency="USD")
    for i in range(6):
        api.ok("POST", "/customers/acme/wallets", {"wallet": {"rate_amount": "1", "code": f"w{i}"}})
    seventh = api.post("/wallets", {"wallet": {"external_customer_id": "acme", "rate_amount": "1"}})
    assert seventh.body == validation({"customer": ["wallet_limit_reached"]})
