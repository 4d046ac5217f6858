"""Prices as finance reviewers read them (pure): money in its currency, exact unit prices, tier
tables, moves with direction and percentage; and the credited totals of a wallet."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lagoform.engine.live import credited
from lagoform.engine.render import money as fmt
from lagoform.model.filters import label as filter_label


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (500000, "USD", "5,000.00 USD"),
        (9900, "EUR", "99.00 EUR"),
        (0, "USD", "0.00 USD"),
        (1000, "JPY", "1,000 JPY"),  # no minor unit
        (12345, "KWD", "12.345 KWD"),  # three decimals
        (None, "USD", "(none)"),
    ],
)
def test_cents_are_money_in_their_currency(cents: Any, currency: str, shown: str) -> None:
    assert fmt.money(cents, currency) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [("0.0000018", "0.0000018"), ("1000000", "1,000,000"), ("1234.50", "1,234.5"),
     (Decimal("-2500"), "-2,500"), ("0", "0"), ("0.000", "0")],
)  # fmt: skip
def test_numbers_keep_every_digit(value: Any, shown: str) -> None:
    assert fmt.number(value) == shown


def test_unit_prices_and_tiers() -> None:
    assert fmt.properties("standard", {"amount": "0.0000018"}, "USD") == "0.0000018 USD/unit"
    tiers = {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 100, "per_unit_amount": "0", "flat_amount": "0"},
            {"from_value": 101, "per_unit_amount": "0.04", "flat_amount": "5"},
        ]
    }
    assert (
        fmt.properties("graduated", tiers, "USD")
        == "0–100: 0 per unit | 101–∞: 0.04 per unit, flat 5 (USD)"
    )
    percent = {"graduated_percentage_ranges": [{"from_value": 0, "rate": "1.5"}]}
    assert fmt.properties("graduated_percentage", percent, "EUR") == "0–∞: 1.5% (EUR)"


def test_other_models_in_words() -> None:
    package = {"amount": "1.00", "package_size": 10000, "free_units": 100000}
    assert fmt.properties("package", package, "USD") == (
        "1 USD per 10,000 units, first 100,000 free"
    )
    percentage = {"rate": "2.5", "fixed_amount": "0.30", "per_transaction_max_amount": "10"}
    assert fmt.properties("percentage", percentage, "USD") == (
        "2.5% + 0.3 USD per transaction, max 10 USD per transaction"
    )
    grouped = {"amount": "0.1", "pricing_group_keys": ["region"]}
    assert fmt.properties("standard", grouped, "USD") == "0.1 USD/unit, priced per region"
    assert fmt.properties("dynamic", {}, "USD") == "dynamic (each event carries its price)"


@pytest.mark.parametrize(
    ("old", "new", "shown"),
    [("0.04", "0.05", "▲ +25.0%"), ("0.5", "0.4", "▼ -20.0%"), ("4500", "4500", ""),
     ("0", "1", "▲ from 0"), (None, "1", ""), ("a", "b", "")],
)  # fmt: skip
def test_price_moves_have_direction_and_percentage(old: Any, new: Any, shown: str) -> None:
    assert fmt.change(old, new) == shown


def test_tier_label_and_filter_label() -> None:
    ranges = [{"from_value": 0, "to_value": 10}, {"from_value": 11, "to_value": None}]
    assert fmt.tier_label(ranges, 1, "per_unit_amount") == "11–∞ per unit"
    assert fmt.tier_label(ranges, 5, "flat_amount") == "tier 6 flat"
    assert filter_label("modality=__ALL_FILTER_VALUES__;type=input|output") == (
        "modality=*, type=input/output"
    )


def test_wallet_credits_are_totals_ever_credited() -> None:
    transactions = [
        {"transaction_status": "purchased", "transaction_type": "inbound", "status": "settled",
         "credit_amount": "1000.0"},
        {"transaction_status": "purchased", "transaction_type": "inbound", "status": "pending",
         "credit_amount": "250.5"},
        {"transaction_status": "purchased", "transaction_type": "inbound", "status": "failed",
         "credit_amount": "99"},
        {"transaction_status": "granted", "transaction_type": "inbound", "status": "settled",
         "credit_amount": "100"},
        {"transaction_status": "voided", "transaction_type": "outbound", "status": "settled",
         "credit_amount": "40"},
        {"transaction_status": "invoiced", "transaction_type": "outbound", "status": "settled",
         "credit_amount": "600"},
    ]  # fmt: skip
    # consumption (invoiced) and voids are outbound; a failed payment never credited anything
    assert credited(transactions) == {"paid_credits": "1250.5", "granted_credits": "100"}
    assert credited([]) == {"paid_credits": "0", "granted_credits": "0"}
