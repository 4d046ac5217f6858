"""Fees of a whole charge: filter groups, default price, true-up, invoice totals, rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from lagoform.pricing import (
    ChargeUsage,
    GroupUsage,
    PricingError,
    UsageEvent,
    base_fee_cents,
    days_in_period,
    invoice_total,
    price_charge_usage,
    proration,
    to_cents,
    true_up_cents,
    usage_from_events,
)

D = Decimal

GRADUATED_WITH_FILTERS: dict[str, Any] = {
    "charge_model": "graduated",
    "properties": {
        "graduated_ranges": [
            {"from_value": 0, "to_value": None, "per_unit_amount": "1", "flat_amount": "2"}
        ]
    },
    "filters": [
        {
            "values": {"region": ["eu"]},
            "properties": {
                "graduated_ranges": [
                    {"from_value": 0, "to_value": None, "per_unit_amount": "3", "flat_amount": "0"}
                ]
            },
        }
    ],
    "min_amount_cents": 0,
}


def test_every_filter_and_the_default_bill_a_fee() -> None:
    fees = price_charge_usage(GRADUATED_WITH_FILTERS, ChargeUsage({0: GroupUsage(D(2))}))
    # The default group has no usage but bills its first range's flat amount (§13.2).
    assert fees.by_group == {0: 600, None: 200}
    assert fees.amount_cents == fees.total_cents == 800


def test_usage_from_events_routes_and_counts() -> None:
    usage = usage_from_events(
        GRADUATED_WITH_FILTERS,
        [({"region": "eu"}, D(1)), ({"region": "us"}, D(4)), ({"region": "eu"}, D("0.5"))],
    )
    assert usage.groups[0] == GroupUsage(D("1.5"), 2, (D(1), D("0.5")))
    assert usage.groups[None] == GroupUsage(D(4), 1, (D(4),))


def test_true_up_is_prorated_and_rounded_half_up() -> None:
    charge = {"charge_model": "standard", "properties": {"amount": "1"}, "min_amount_cents": 1000}
    fees = price_charge_usage(charge, ChargeUsage.single(D(2)), period_fraction=proration(22, 31))
    # 1000 x 22/31 = 709.68 → true-up 709.68 - 200 = 509.68 → 510
    assert (fees.amount_cents, fees.true_up_cents, fees.total_cents) == (200, 510, 710)
    above = price_charge_usage(charge, ChargeUsage.single(D(11)))
    assert above.true_up_cents == 0


def test_true_up_counts_every_filter_fee() -> None:
    charge = {**GRADUATED_WITH_FILTERS, "min_amount_cents": 1000}
    fees = price_charge_usage(charge, ChargeUsage({0: GroupUsage(D(2))}))
    assert fees.true_up_cents == 200  # 1000 - (600 + 200)


def test_unknown_filter_group_is_refused() -> None:
    with pytest.raises(PricingError, match="filter groups"):
        price_charge_usage(GRADUATED_WITH_FILTERS, ChargeUsage({3: GroupUsage(D(1))}))


def test_charge_without_a_model_is_refused() -> None:
    with pytest.raises(PricingError):
        price_charge_usage({"properties": {}}, ChargeUsage())


def test_dynamic_uses_the_currency_minor_unit() -> None:
    charge = {"charge_model": "dynamic", "properties": {}}
    usage = ChargeUsage({None: GroupUsage(D(1), 2, (D("150"), D("50")))})
    assert price_charge_usage(charge, usage).total_cents == 200
    assert price_charge_usage(charge, usage, currency="JPY").total_cents == 200


@pytest.mark.parametrize(
    ("amount", "currency", "cents"),
    [
        ("0.175", None, 18),  # half-up (§13.3)
        ("0.165", None, 17),  # not banker's rounding
        ("-0.175", None, -18),
        ("11.02", "USD", 1102),
        ("199.5", "JPY", 200),
        ("1.2345", "KWD", 1235),
    ],
)
def test_to_cents(amount: str, currency: str | None, cents: int) -> None:
    assert to_cents(D(amount), currency=currency) == cents


@pytest.mark.parametrize(
    ("interval", "start", "days"),
    [
        ("weekly", date(2024, 1, 1), 7),
        ("monthly", date(2024, 2, 1), 29),
        ("monthly", date(2023, 2, 1), 28),
        ("monthly", date(2024, 1, 31), 29),  # anniversary on the 31st: clamped to Feb 29
        ("quarterly", date(2024, 1, 1), 91),
        ("semiannual", date(2024, 7, 1), 184),
        ("yearly", date(2024, 1, 1), 366),
    ],
)
def test_days_in_period(interval: str, start: date, days: int) -> None:
    assert days_in_period(interval, start) == days


def test_bad_intervals_and_prorations_are_refused() -> None:
    with pytest.raises(PricingError):
        days_in_period("daily", date(2024, 1, 1))
    with pytest.raises(PricingError):
        proration(32, 31)


def test_invoice_total_with_and_without_commitment() -> None:
    charge = {"charge_model": "standard", "properties": {"amount": "1"}, "min_amount_cents": 500}
    fees = price_charge_usage(charge, ChargeUsage.single(D(1)))
    total = invoice_total(1000, [fees, 250], minimum_commitment_cents=3000)
    assert (total.charges_cents, total.commitment_top_up_cents, total.total_cents) == (
        750,
        1250,
        3000,
    )
    assert invoice_total(1000, [fees]).total_cents == 1500
    half = invoice_total(0, [], minimum_commitment_cents=3001, period_fraction=D("0.5"))
    assert half.commitment_top_up_cents == 1501  # 1500.5 rounded half-up
    assert base_fee_cents(5000, proration(0, 30)) == 0


def test_true_up_cents_for_callers_pricing_groups_themselves() -> None:
    charge = {"charge_model": "standard", "properties": {"amount": "1"}, "min_amount_cents": 1000}
    assert true_up_cents(charge, 300) == 700
    assert true_up_cents(charge, 1200) == 0
    assert true_up_cents(charge, 0, period_fraction=D("0.5")) == 500
    assert true_up_cents({"charge_model": "standard"}, 0) == 0


def test_usage_from_events_for_a_dynamic_charge_keeps_the_precise_amounts() -> None:
    charge = {"charge_model": "dynamic", "properties": {}}
    events: list[UsageEvent] = [({}, D(7), D(70)), ({}, D(5), D(55)), ({}, D(10), None)]
    usage = usage_from_events(charge, events)
    assert usage.groups[None] == GroupUsage(D(22), 3, (D(70), D(55), D(0)))
    assert price_charge_usage(charge, usage).total_cents == 125
