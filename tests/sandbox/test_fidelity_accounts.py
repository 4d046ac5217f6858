"""Wallets, customers and coupons where the sandbox used to differ from Lago's server (issue 13),
in-process and over HTTP. Each row cites the lago-api spec or service it paraphrases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import Api, create_plan, not_found, validation

WALLET_SHARED = "spec/support/shared_examples/wallet_actions.rb"
WALLET_SPEC = "spec/services/wallets/create_service_spec.rb"
TXN_SPEC = "spec/services/wallet_transactions/validate_service_spec.rb"
COUPON_SPEC = "spec/services/coupons/create_service_spec.rb"


def _customer(api: Api, external_id: str = "acme", **fields: Any) -> dict[str, Any]:
    body = {"customer": {"external_id": external_id, "currency": "EUR", **fields}}
    created: dict[str, Any] = api.ok("POST", "/customers", body)["customer"]
    return created


def _wallet(api: Api, **fields: Any) -> Any:
    return api.post(
        "/wallets", {"wallet": {"external_customer_id": "acme", "rate_amount": "1", **fields}}
    )


@pytest.mark.parametrize(
    ("source", "fields", "expected"),
    [
        (
            f"{WALLET_SHARED}:72-86",
            {"paid_credits": "10", "paid_top_up_min_amount_cents": 3000},
            {"paid_credits": ["amount_below_minimum"]},
        ),
        (
            f"{WALLET_SPEC}:213-221",
            {
                "rate_amount": "5.00",
                "paid_credits": "1002.0",
                "paid_top_up_max_amount_cents": 100000,
            },
            {"paid_credits": ["amount_above_maximum"]},
        ),
        (
            f"{WALLET_SPEC}:181-199",
            {"rate_amount": "0.01", "granted_credits": "0.4"},
            {"granted_credits": ["amount_rounds_to_zero"]},
        ),
        (
            f"{WALLET_SPEC}:159-166",
            {"paid_credits": "-15.00"},
            {"paid_credits": ["invalid_paid_credits", "invalid_amount"]},
        ),
        (
            f"{WALLET_SPEC}:168-179",
            {"purchase_order_number": "a" * 256},
            {"purchase_order_number": ["value_is_too_long"]},
        ),
        (
            "app/models/wallet.rb:51-55,113-120",
            {"paid_top_up_min_amount_cents": 500, "paid_top_up_max_amount_cents": 100},
            {"paid_top_up_max_amount_cents": ["must_be_greater_than_or_equal_min"]},
        ),
        (
            "app/services/wallets/validate_service.rb:7-22 (every request problem at once)",
            {"paid_credits": 10, "granted_credits": "x", "expiration_at": "2001-01-01T00:00:00Z"},
            {
                "paid_credits": ["invalid_paid_credits", "invalid_amount"],
                "granted_credits": ["invalid_granted_credits", "invalid_amount"],
                "expiration_at": ["invalid_date"],
            },
        ),
    ],
)
def test_wallet_create_is_refused_like_lago(
    any_api: Api, source: str, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert source
    _customer(any_api)
    reply = _wallet(any_api, **fields)
    assert (reply.status, reply.body) == (422, validation(expected))
    assert any_api.ok("GET", "/wallets", query={"external_customer_id": "acme"})["wallets"] == []


def test_paid_top_up_bounds_can_be_ignored_on_creation(any_api: Api) -> None:
    # WALLET_SHARED:88-105
    _customer(any_api)
    reply = _wallet(
        any_api,
        paid_credits="10",
        paid_top_up_min_amount_cents=3000,
        ignore_paid_top_up_limits_on_creation="true",
    )
    assert reply.status == 200, reply.body


@pytest.mark.parametrize(
    ("source", "fields", "expected"),
    [
        (
            f"{WALLET_SHARED}:598-614",
            {"name": "Wallet1", "code": "custom_wallet_code"},
            "custom_wallet_code",
        ),
        (f"{WALLET_SHARED}:617-632", {"name": "My Premium Wallet"}, "my_premium_wallet"),
        (f"{WALLET_SHARED}:635-649", {}, "default"),
    ],
)
def test_wallet_code_comes_from_its_name(
    any_api: Api, source: str, fields: dict[str, Any], expected: str
) -> None:
    assert source
    _customer(any_api)
    reply = _wallet(any_api, **fields)
    assert reply.body["wallet"]["code"] == expected


def test_wallet_codes_are_unique_per_customer_and_updatable(any_api: Api) -> None:
    _customer(any_api)
    _customer(any_api, "other")
    first = _wallet(any_api, code="existing_code").body["wallet"]
    # WALLET_SHARED:652-672: a code the customer's active wallet holds is refused
    assert _wallet(any_api, code="existing_code").body == validation(
        {"code": ["value_already_exist"]}
    )
    # ... but another customer may use it (models/wallet.rb:122-128)
    other = any_api.post(
        "/wallets",
        {"wallet": {"external_customer_id": "other", "rate_amount": "1", "code": "existing_code"}},
    )
    assert other.status == 200
    # a derived code already taken gets the creation time appended (create_service.rb:27-31)
    derived = _wallet(any_api, name="Existing code").body["wallet"]["code"]
    assert derived.startswith("existing_code_") and derived[len("existing_code_") :].isdigit()
    # WALLET_SHARED:1179-1211: updatable, still unique
    second = _wallet(any_api, code="second").body["wallet"]
    taken = any_api.put(f"/wallets/{second['lago_id']}", {"wallet": {"code": "existing_code"}})
    assert taken.body == validation({"code": ["value_already_exist"]})
    renamed = any_api.ok("PUT", f"/wallets/{first['lago_id']}", {"wallet": {"code": "renamed"}})
    assert renamed["wallet"]["code"] == "renamed"


def test_wallet_for_an_unknown_customer(any_api: Api) -> None:
    # spec/requests/api/v1/wallets_controller_spec.rb:21-28: a 422 naming `customer`
    reply = any_api.post(
        "/wallets", {"wallet": {"external_customer_id": "ghost", "rate_amount": "1"}}
    )
    assert (reply.status, reply.body) == (422, validation({"customer": ["customer_not_found"]}))


@pytest.mark.parametrize(
    ("source", "fields", "expected"),
    [
        (
            f"{TXN_SPEC}:139-146",
            {"paid_credits": "0.4"},
            {"paid_credits": ["amount_rounds_to_zero"]},
        ),
        (
            f"{TXN_SPEC}:148-156",
            {"paid_credits": "0.0", "granted_credits": "0.4"},
            {"granted_credits": ["amount_rounds_to_zero"]},
        ),
        (
            "app/services/wallet_transactions/validate_service.rb:45-63 (reported together)",
            {"paid_credits": "0.4", "granted_credits": 3},
            {
                "paid_credits": ["amount_rounds_to_zero"],
                "granted_credits": ["invalid_granted_credits", "invalid_amount"],
            },
        ),
    ],
)
def test_top_up_checks(
    any_api: Api, source: str, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert source
    _customer(any_api)
    wallet = _wallet(any_api, rate_amount="0.01").body["wallet"]
    body = {"wallet_transaction": {"wallet_id": wallet["lago_id"], **fields}}
    reply = any_api.post("/wallet_transactions", body)
    assert (reply.status, reply.body) == (422, validation(expected))


def test_top_up_bounds_and_unknown_wallet(any_api: Api) -> None:
    _customer(any_api)
    wallet = _wallet(any_api, paid_top_up_min_amount_cents=2000).body["wallet"]
    # spec/requests/api/v1/wallet_transactions_controller_spec.rb:66-73
    low = {"wallet_transaction": {"wallet_id": wallet["lago_id"], "paid_credits": "10"}}
    assert any_api.post("/wallet_transactions", low).body == validation(
        {"paid_credits": ["amount_below_minimum"]}
    )
    # spec/requests/api/v1/wallet_transactions_controller_spec.rb:259-266: a 422, not a 404
    ghost = {"wallet_transaction": {"wallet_id": "00000000-0000-4000-8000-000000000000"}}
    reply = any_api.post("/wallet_transactions", ghost)
    assert (reply.status, reply.body) == (422, validation({"wallet_id": ["wallet_not_found"]}))


CUSTOMER_SPEC = "spec/requests/api/v1/customers_controller_spec.rb"


@pytest.mark.parametrize(
    ("source", "fields", "expected"),
    [
        (
            f"{CUSTOMER_SPEC}:371-386",
            {"external_id": "x", "email": "joão.silva@"},
            {"email": ["invalid_email_format"]},
        ),
        (
            "app/validators/email_validator.rb:10-17 (a list: every address is checked)",
            {"external_id": "x", "email": "a@b.co,,"},
            {"email": ["invalid_email_format"]},
        ),
        (
            f"{CUSTOMER_SPEC}:389-420",
            {"name": "Foo Bar", "currency": "invalid"},
            {"currency": ["value_is_invalid"], "external_id": ["value_is_mandatory"]},
        ),
    ],
)
def test_customer_validation(
    any_api: Api, source: str, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert source
    reply = any_api.post("/customers", {"customer": fields})
    assert (reply.status, reply.body) == (422, validation(expected))


def test_customer_emails_that_lago_accepts(any_api: Api) -> None:
    # CUSTOMER_SPEC:360-369 (unicode local part), email_validator.rb (comma-separated list),
    # support/email_sanitizer.rb (dash look-alikes and invisible characters cleaned)
    for email, stored in [
        ("joão.silva@example.com", "joão.silva@example.com"),
        ("billing@acme.test, ops@acme.test", "billing@acme.test, ops@acme.test"),
        ("\u200bops@acme\u2013corp.test ", "ops@acme-corp.test"),
    ]:
        reply = any_api.post("/customers", {"customer": {"external_id": "x", "email": email}})
        assert reply.status == 200, (email, reply.body)
        assert reply.body["customer"]["email"] == stored


def test_customer_identifiers_sent_as_numbers(any_api: Api) -> None:
    # models/customer.rb: external_id and name are string columns (numbers are stored as text)
    created = any_api.ok("POST", "/customers", {"customer": {"external_id": 42, "name": 7}})
    assert (created["customer"]["external_id"], created["customer"]["name"]) == ("42", "7")
    assert (
        any_api.ok("GET", "/customers/42")["customer"]["lago_id"] == created["customer"]["lago_id"]
    )


def test_applied_coupons_of_an_unknown_customer(any_api: Api) -> None:
    # spec/requests/api/v1/customers/applied_coupons_controller_spec.rb:17-25: 404 on the
    # customer's route; spec/requests/api/v1/applied_coupons_controller_spec.rb:77-86: the
    # filter of GET /applied_coupons lists nothing
    assert any_api.get("/customers/ghost/applied_coupons").body == not_found("customer_not_found")
    listed = any_api.ok("GET", "/applied_coupons", query={"external_customer_id": "ghost"})
    assert listed["applied_coupons"] == []


def test_applied_coupons_ignore_an_unknown_status(any_api: Api) -> None:
    # app/queries/applied_coupons_query.rb:13,37-39: an invalid status is not applied
    _customer(any_api)
    any_api.ok("POST", "/coupons", _coupon_body())
    any_api.ok(
        "POST",
        "/applied_coupons",
        {"applied_coupon": {"external_customer_id": "acme", "coupon_code": "launch"}},
    )
    listed = any_api.ok("GET", "/applied_coupons", query={"status": "bogus"})
    assert len(listed["applied_coupons"]) == 1


def _coupon_body(**fields: Any) -> dict[str, Any]:
    return {
        "coupon": {
            "name": "Launch",
            "code": "launch",
            "coupon_type": "fixed_amount",
            "amount_cents": 1000,
            "amount_currency": "EUR",
            "frequency": "once",
            "expiration": "no_expiration",
            **fields,
        }
    }


@pytest.mark.parametrize(
    ("source", "fields", "expected"),
    [
        (
            f"{COUPON_SPEC}:96-106",
            {"expiration": "time_limit", "expiration_at": "2001-01-01T00:00:00Z"},
            {"expiration_at": ["invalid_date"]},
        ),
        (
            f"{COUPON_SPEC}:108-118",
            {"expiration_at": "invalid-date"},
            {"expiration_at": ["invalid_date"]},
        ),
        (
            f"{COUPON_SPEC}:120-142",
            {"frequency": "recurring"},
            {"frequency_duration": ["value_is_mandatory", "is not a number"]},
        ),
        (
            "app/models/coupon.rb:62",
            {"frequency": "recurring", "frequency_duration": 0},
            {"frequency_duration": ["value_is_out_of_range"]},
        ),
        (
            "app/models/coupon.rb:54-58",
            {"amount_cents": None, "amount_currency": None},
            {"amount_cents": ["value_is_mandatory"], "amount_currency": ["value_is_mandatory"]},
        ),
        (
            "app/models/coupon.rb:55",
            {"amount_cents": -5},
            {"amount_cents": ["value_is_out_of_range"]},
        ),
    ],
)
def test_coupon_validation_codes(
    any_api: Api, source: str, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert source
    reply = any_api.post("/coupons", _coupon_body(**fields))
    assert (reply.status, reply.body) == (422, validation(expected))


def test_coupon_rules_lago_does_not_have(any_api: Api) -> None:
    # COUPON_SPEC:73-80: any parseable future date; models/coupon.rb has no rule tying
    # expiration "time_limit" to an expiration_at
    create_plan(any_api, "pro")
    later = any_api.post(
        "/coupons", _coupon_body(expiration="time_limit", expiration_at="2064-12-13 12:00:00")
    )
    assert later.status == 200, later.body
    no_date = any_api.post("/coupons", _coupon_body(code="open", expiration="time_limit"))
    assert no_date.status == 200, no_date.body
