"""Edge cases of the charge models (API_NOTES §13) and the errors for what cannot be priced."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lagoform.errors import LagoformError
from lagoform.pricing import PricingError, price_units, to_cents

D = Decimal


def _range(lo: Any, hi: Any, price: str, flat: str = "0") -> dict[str, Any]:
    return {"from_value": lo, "to_value": hi, "per_unit_amount": price, "flat_amount": flat}


GRADUATED = {
    "graduated_ranges": [
        _range(0, 100, "1", "5"),
        _range(101, 200, "0.5", "7"),
        _range(201, None, "0.1"),
    ]
}


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        ("0", "5"),  # zero usage: first range's flat amount (current servers)
        ("1", "6"),
        ("100", "105"),  # the boundary unit stays in tier 1: no tier-2 flat fee
        ("100.5", "112.25"),  # half a unit enters tier 2 and pays its whole flat fee
        ("201", "162.1"),
    ],
)
def test_graduated_flat_fees_and_boundaries(units: str, expected: str) -> None:
    assert price_units("graduated", GRADUATED, D(units)) == D(expected)


def test_graduated_contiguous_decimal_ranges() -> None:
    # Since 2026-04 a range may start at the previous to_value (decimal boundaries, §13.1).
    props = {"graduated_ranges": [_range(0, "2.5", "1"), _range("2.5", None, "10")]}
    assert price_units("graduated", props, D("2.5")) == D("2.5")
    assert price_units("graduated", props, D("3")) == D("7.5")


def test_zero_usage_flag_reproduces_older_servers() -> None:
    assert price_units("graduated", GRADUATED, D(0), zero_usage_first_tier_flat=False) == 0
    pct = {
        "graduated_percentage_ranges": [
            {"from_value": 0, "to_value": None, "rate": "1", "flat_amount": "3"}
        ]
    }
    assert price_units("graduated_percentage", pct, D(0)) == 3
    assert price_units("graduated_percentage", pct, D(0), zero_usage_first_tier_flat=False) == 0


def test_negative_usage_bills_nothing_not_the_first_flat_fee() -> None:
    # Lago zeroes a fee with negative units (fees/charge_service.rb:275-279; rows with their
    # sources in test_server_rules.py).
    assert price_units("graduated", GRADUATED, D(-4)) == 0


def test_package_rounds_packages_up() -> None:
    props = {"amount": "3", "package_size": 1000, "free_units": 0}
    assert price_units("package", props, D(1080)) == 6  # 2 packages (§13.4)
    assert price_units("package", props, D(0)) == 0


@pytest.mark.parametrize(
    ("transactions", "expected"),
    [
        # free total $100: the crossing transaction pays the rate on its excess + whole fixed fee
        (["60", "60"], D("20") * D("0.02") + D("1")),
        # then the allowance is over: every later transaction pays in full
        (["60", "60", "10"], D("0.4") + 1 + D("0.2") + 1),
        (["0"], D(0)),  # no fixed fee on a zero total
    ],
)
def test_percentage_free_total_crossed_mid_transaction(
    transactions: list[str], expected: Decimal
) -> None:
    props = {"rate": "2", "fixed_amount": "1", "free_units_per_total_aggregation": "100"}
    txs = [D(t) for t in transactions]
    assert price_units("percentage", props, sum(txs, D(0)), transactions=txs) == expected


def test_percentage_free_transactions_are_not_raised_to_the_minimum() -> None:
    props = {
        "rate": "1",
        "free_units_per_events": 1,
        "per_transaction_min_amount": "2",
    }
    txs = [D(10), D(10)]
    assert price_units("percentage", props, D(20), transactions=txs) == 2  # only the second


def test_percentage_on_totals() -> None:
    props = {"rate": "1.5", "fixed_amount": "0.25"}
    assert price_units("percentage", props, D(200), events_count=4) == D("4")
    assert price_units(
        "percentage", {"rate": "1", "free_units_per_total_aggregation": "50"}, D(80)
    ) == D("0.3")
    assert price_units("percentage", props, D(0), events_count=4) == 0


@pytest.mark.parametrize(
    ("model", "props", "kw"),
    [
        ("percentage", {"rate": "1", "free_units_per_events": 2}, {}),
        ("percentage", {"rate": "1", "per_transaction_max_amount": "3"}, {}),
        ("percentage", {"rate": "1", "fixed_amount": "0.1"}, {}),
        (
            "percentage",
            {"rate": "1", "fixed_amount": "0.1", "free_units_per_total_aggregation": "5"},
            {"events_count": 3},
        ),
        ("graduated", {"graduated_ranges": []}, {}),
        ("graduated", {"graduated_ranges": [_range(0, 10, "1")]}, {}),  # last range not open
        ("volume", {}, {}),
        ("package", {"amount": "1", "package_size": 0, "free_units": 0}, {}),
        ("standard", {"amount": "one"}, {}),
        ("standard", {"amount": True}, {}),
        ("standard", {"amount": "NaN"}, {}),
        ("custom", {}, {}),
    ],
)
def test_unpriceable_input_raises_a_lagoform_error(
    model: str, props: dict[str, Any], kw: dict[str, Any]
) -> None:
    with pytest.raises(PricingError) as err:
        price_units(model, props, D(10), **kw)
    assert isinstance(err.value, LagoformError)


def test_amounts_parse_without_float_noise() -> None:
    assert price_units("standard", {"amount": 0.1}, D(3)) == D("0.3")
    assert price_units("standard", {"amount": 2}, D(3)) == 6
    assert price_units("standard", {}, D(3)) == 0  # unset amount reads as 0


def test_dynamic_sums_precise_amounts_in_cents() -> None:
    assert to_cents(price_units("dynamic", {}, D(3), transactions=[D("0.4"), D("0.4")])) == 1


def test_percentage_transaction_reaching_the_free_total_pays_the_fixed_fee() -> None:
    # The server counts as free only events whose running total stays below the free total.
    props = {"rate": "2", "fixed_amount": "1", "free_units_per_total_aggregation": "500"}
    txs = [D(100), D(400), D(50)]
    assert price_units("percentage", props, D(550), transactions=txs) == D("1") + D("2")


def test_dynamic_bills_nothing_at_zero_units() -> None:
    assert price_units("dynamic", {}, D(0), transactions=[D(120)]) == 0


def test_percentage_zero_allowances_mean_no_allowance() -> None:
    props = {"rate": "10", "free_units_per_events": 0, "free_units_per_total_aggregation": "50"}
    txs = [D(20), D(20), D(20)]
    assert price_units("percentage", props, D(60), transactions=txs) == 1  # only $10 pays
    none = {"rate": "10", "free_units_per_events": "0", "free_units_per_total_aggregation": "0"}
    assert price_units("percentage", none, D(60)) == 6  # totals are enough without allowance
