"""The pricing calculator against Lago's server code, rule by rule.

Every row cites the getlago/lago-api spec (or, where no spec pins the case, the service) whose
behaviour it paraphrases, as ``path:line``. Amounts are the unrounded ``price_units`` results
unless a row says cents.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lagoform.pricing import (
    ChargeUsage,
    GroupUsage,
    PricingError,
    TaxedLine,
    base_fee_cents,
    invoice_total,
    lago_prorated,
    price_charge_usage,
    price_pay_in_advance,
    price_units,
    taxes_cents,
    to_cents,
    true_up_cents,
)
from lagoform.pricing.rounding import round_half_up

D = Decimal
CM = "spec/services/charge_models"
SERVICES = "app/services"


def rng(lo: Any, hi: Any, price: str, flat: str = "0") -> dict[str, Any]:
    return {"from_value": lo, "to_value": hi, "per_unit_amount": price, "flat_amount": flat}


def prng(lo: Any, hi: Any, rate: str, flat: str = "0") -> dict[str, Any]:
    return {"from_value": lo, "to_value": hi, "rate": rate, "flat_amount": flat}


SPEC_GRADUATED = {
    "graduated_ranges": [rng(0, 10, "10", "2"), rng(11, 20, "5", "3"), rng(21, None, "5", "3")]
}
SPEC_DECIMAL = {"graduated_ranges": [rng(0, "0.1", "10"), rng("0.1", 1, "5"), rng(1, None, "2")]}
SPEC_GRADUATED_PERCENTAGE = {
    "graduated_percentage_ranges": [
        prng(0, 10, "1", "200"),
        prng(11, 20, "2", "300"),
        prng(21, None, "3", "400"),
    ]
}
ADJACENT_FROM_ONE = {"graduated_ranges": [rng(1, 10, "1"), rng(10, None, "2")]}
INCLUSIVE_FROM_ONE = {"graduated_ranges": [rng(1, 10, "1"), rng(11, None, "2")]}
ADJACENT_PERCENTAGE = {"graduated_percentage_ranges": [prng(0, 10, "1"), prng(10, None, "2")]}
RANGE = f"{SERVICES}/charge_models/amount_details/range_graduated_service.rb"
PRANGE = f"{SERVICES}/charge_models/amount_details/range_graduated_percentage_service.rb"


@pytest.mark.parametrize(
    ("source", "model", "props", "units", "expected"),
    [
        (f"{CM}/graduated_service_spec.rb:49-54", "graduated", SPEC_GRADUATED, "0", "2"),
        (f"{CM}/graduated_service_spec.rb:93-98", "graduated", SPEC_GRADUATED, "1", "12"),
        (f"{CM}/graduated_service_spec.rb:117-122", "graduated", SPEC_GRADUATED, "10", "102"),
        (f"{CM}/graduated_service_spec.rb:141-146", "graduated", SPEC_GRADUATED, "11", "110"),
        (f"{CM}/graduated_service_spec.rb:174-178", "graduated", SPEC_GRADUATED, "12", "115"),
        (f"{CM}/graduated_service_spec.rb:207-211", "graduated", SPEC_GRADUATED, "21", "163"),
        (f"{CM}/graduated_service_spec.rb:263-267", "graduated", SPEC_DECIMAL, "0.05", "0.5"),
        (f"{CM}/graduated_service_spec.rb:286-292", "graduated", SPEC_DECIMAL, "0.5", "3.0"),
        # Adjacent ranges whose first range starts at 1: the first range counts to - from units.
        (
            f"{RANGE}:53-65 with graduated_service.rb:20-26",
            "graduated",
            ADJACENT_FROM_ONE,
            "5",
            "4",
        ),
        (f"{RANGE}:53-65", "graduated", ADJACENT_FROM_ONE, "15", "19"),
        (f"{RANGE}:53-65 (not adjacent: +1)", "graduated", INCLUSIVE_FROM_ONE, "15", "20"),
        (
            f"{CM}/graduated_percentage_service_spec.rb:50-55",
            "graduated_percentage",
            SPEC_GRADUATED_PERCENTAGE,
            "0",
            "200",
        ),
        (
            f"{CM}/graduated_percentage_service_spec.rb:95-101",
            "graduated_percentage",
            SPEC_GRADUATED_PERCENTAGE,
            "1",
            "200.01",
        ),
        (
            f"{CM}/graduated_percentage_service_spec.rb:121-127",
            "graduated_percentage",
            SPEC_GRADUATED_PERCENTAGE,
            "10",
            "200.1",
        ),
        (
            f"{CM}/graduated_percentage_service_spec.rb:147-153",
            "graduated_percentage",
            SPEC_GRADUATED_PERCENTAGE,
            "11",
            "500.12",
        ),
        (
            f"{CM}/graduated_percentage_service_spec.rb:182-188",
            "graduated_percentage",
            SPEC_GRADUATED_PERCENTAGE,
            "12",
            "500.14",
        ),
        (
            f"{CM}/graduated_percentage_service_spec.rb:217-223",
            "graduated_percentage",
            SPEC_GRADUATED_PERCENTAGE,
            "21",
            "900.33",
        ),
        # graduated_percentage always counts inclusively: a range starting at the previous
        # to_value counts that unit twice (10 + 6 units for 15).
        (f"{PRANGE}:52-63", "graduated_percentage", ADJACENT_PERCENTAGE, "15", "0.22"),
    ],
)
def test_tier_edges(source: str, model: str, props: Any, units: str, expected: str) -> None:
    assert source
    assert price_units(model, props, D(units)) == D(expected)


NEGATIVE_GRADUATED = {"graduated_ranges": [rng(0, None, "0.01", "0.01")]}


@pytest.mark.parametrize(
    ("source", "model", "props", "units", "kw"),
    [
        (
            "spec/services/fees/charge_service_spec.rb:1485-1530",
            "graduated",
            NEGATIVE_GRADUATED,
            "-10",
            {},
        ),
        (f"{SERVICES}/fees/charge_service.rb:275-279", "standard", {"amount": "2"}, "-5", {}),
        (
            f"{SERVICES}/fees/charge_service.rb:275-279",
            "volume",
            {"volume_ranges": [rng(0, None, "1", "3")]},
            "-1",
            {},
        ),
        (
            f"{SERVICES}/charge_models/package_service.rb:8",
            "package",
            {"amount": "2", "package_size": 10, "free_units": 0},
            "-30",
            {},
        ),
        (f"{SERVICES}/fees/charge_service.rb:275-279", "percentage", {"rate": "1"}, "-100", {}),
        (
            f"{SERVICES}/fees/charge_service.rb:275-279 (negative amount, positive units)",
            "dynamic",
            {},
            "10",
            {"transactions": [D(-500)]},
        ),
    ],
)
def test_negative_usage_bills_nothing(
    source: str, model: str, props: Any, units: str, kw: dict[str, Any]
) -> None:
    assert source
    assert price_units(model, props, D(units), **kw) == 0


def test_negative_fees_count_as_zero_in_the_minimum_true_up() -> None:
    # fees/charge_service.rb:275-279 zeroes the fee before create_true_up_service.rb:18 adds up
    charge = {
        "charge_model": "dynamic",
        "properties": {},
        "filters": [{"values": {"region": ["eu"]}, "properties": {}}],
        "min_amount_cents": 1000,
    }
    usage = ChargeUsage({0: GroupUsage(D(1), 1, (D(-400),)), None: GroupUsage(D(1), 1, (D(300),))})
    fees = price_charge_usage(charge, usage)
    assert fees.by_group == {0: 0, None: 300}
    assert fees.true_up_cents == 700


PERCENT_SPEC = f"{CM}/percentage_service_spec.rb"
PCT = f"{SERVICES}/charge_models/percentage_service.rb"
SPEC_EVENTS = [D(50), D(100), D(250), D(400)]  # running totals 50, 150, 400 (spec line 21)
MIN_MAX_EVENTS = [D(10), D(80), D(10000)]  # spec line 275


def pct(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


@pytest.mark.parametrize(
    ("source", "props", "units", "transactions", "count", "premium", "expected"),
    [
        # -- on totals (no per-transaction bounds)
        (
            f"{PERCENT_SPEC}:51-56",
            pct(
                rate="1.3",
                fixed_amount="2.0",
                free_units_per_events=3,
                free_units_per_total_aggregation="250.0",
            ),
            "0",
            [],
            4,
            True,
            "0",
        ),
        (
            f"{PERCENT_SPEC}:74-77",
            pct(
                rate="1.3",
                fixed_amount="2.0",
                free_units_per_events=3,
                free_units_per_total_aggregation="250.0",
            ),
            "800",
            SPEC_EVENTS,
            4,
            True,
            "11.15",
        ),
        (f"{PERCENT_SPEC}:95-107", pct(rate="2.9"), "4", [], 4, True, "0.116"),
        (f"{PERCENT_SPEC}:118-126", pct(rate="0", fixed_amount="2.0"), "800", [], 4, True, "8"),
        (
            f"{PERCENT_SPEC}:145-150",
            pct(rate="1.3", fixed_amount="2.0", free_units_per_total_aggregation="250.0"),
            "800",
            SPEC_EVENTS,
            4,
            True,
            "11.15",
        ),
        (
            f"{PERCENT_SPEC}:168-173",
            pct(rate="1.3", fixed_amount="2.0", free_units_per_events=3),
            "800",
            SPEC_EVENTS,
            4,
            True,
            "7.2",
        ),
        (
            f"{PERCENT_SPEC}:191-198",
            pct(rate="1.3", fixed_amount="2.0"),
            "800",
            SPEC_EVENTS,
            4,
            True,
            "18.4",
        ),
        (
            f"{PERCENT_SPEC}:216-222",
            pct(
                rate="1.3",
                fixed_amount="2.0",
                free_units_per_events=3,
                free_units_per_total_aggregation="500.0",
            ),
            "800",
            SPEC_EVENTS,
            4,
            True,
            "7.2",
        ),
        (
            f"{PERCENT_SPEC}:241-247",
            pct(rate="1.3", fixed_amount="2.0", free_units_per_events=5),
            "400",
            [D(50), D(100), D(250), D(0)],
            4,
            True,
            "0",
        ),
        # -- per transaction (premium with min or max)
        (
            f"{PERCENT_SPEC}:285-286",
            pct(rate="2.99", per_transaction_min_amount="1.75", per_transaction_max_amount="12"),
            "10090",
            MIN_MAX_EVENTS,
            3,
            False,
            "301.691",
        ),
        (
            f"{PERCENT_SPEC}:290-292",
            pct(rate="2.99", per_transaction_min_amount="1.75", per_transaction_max_amount="12"),
            "10090",
            MIN_MAX_EVENTS,
            3,
            True,
            "16.142",
        ),
        (
            f"{PERCENT_SPEC}:295-300",
            pct(
                rate="2.99",
                fixed_amount="2.0",
                per_transaction_min_amount="1.75",
                per_transaction_max_amount="12",
            ),
            "10090",
            MIN_MAX_EVENTS,
            3,
            True,
            "18.691",
        ),
        (
            f"{PERCENT_SPEC}:304-309",
            pct(
                rate="2.99",
                free_units_per_events=2,
                per_transaction_min_amount="1.75",
                per_transaction_max_amount="12",
            ),
            "10090",
            MIN_MAX_EVENTS,
            3,
            True,
            "12",
        ),
        (
            f"{PERCENT_SPEC}:313-318",
            pct(
                rate="2.99",
                free_units_per_total_aggregation="30",
                per_transaction_min_amount="1.75",
                per_transaction_max_amount="12",
            ),
            "10090",
            MIN_MAX_EVENTS,
            3,
            True,
            "13.794",
        ),
        (
            f"{PERCENT_SPEC}:322-328",
            pct(
                rate="2.99",
                free_units_per_events=3,
                free_units_per_total_aggregation="10000",
                per_transaction_min_amount="1.75",
                per_transaction_max_amount="12",
            ),
            "10090",
            MIN_MAX_EVENTS,
            3,
            True,
            "2.691",
        ),
        # Free while either allowance remains: the one free event is used up, the free total
        # (100) is not, so the second event is free too; the third crosses it.
        (
            f"{PCT}:152-166",
            pct(
                rate="10",
                free_units_per_events=1,
                free_units_per_total_aggregation="100",
                per_transaction_min_amount="1",
            ),
            "150",
            [D(30), D(30), D(90)],
            3,
            True,
            "5",
        ),
        # Zero-valued paying transactions are raised to the minimum on this path.
        (
            f"{PCT}:142-186 (no zero-total shortcut)",
            pct(rate="2", per_transaction_min_amount="0.5"),
            "0",
            [D(0), D(0)],
            2,
            True,
            "1.0",
        ),
        (
            f"{PCT}:152-160 (a free zero event stays free)",
            pct(rate="2", free_units_per_events=1, per_transaction_min_amount="0.5"),
            "0",
            [D(0), D(0)],
            2,
            True,
            "0.5",
        ),
        # ... but the totals path bills nothing at zero units, fixed fee included.
        (f"{PCT}:61", pct(rate="2", fixed_amount="1"), "0", [D(0), D(0)], 2, True, "0"),
    ],
)
def test_percentage(
    source: str,
    props: dict[str, Any],
    units: str,
    transactions: list[Decimal],
    count: int,
    premium: bool,
    expected: str,
) -> None:
    assert source
    amount = price_units(
        "percentage",
        props,
        D(units),
        transactions=transactions,
        events_count=count,
        premium=premium,
    )
    assert amount == D(expected)


def test_percentage_free_units_of_a_count_metric_run_over_1_2_3() -> None:
    # billable_metrics/aggregations/count_service.rb:57-64 gives 1..units as the running total,
    # so percentage_service.rb:72-73 frees the first 5 units although the free total is 3;
    # a summed metric stops at the free total (sum_service.rb:114-124).
    props = {"rate": "10", "free_units_per_events": 5, "free_units_per_total_aggregation": "3"}
    ones = [D(1)] * 10
    counted = price_units("percentage", props, D(10), transactions=ones, count_aggregation=True)
    summed = price_units("percentage", props, D(10), transactions=ones)
    assert (counted, summed) == (D("0.5"), D("0.7"))


TRUE_UP = f"{SERVICES}/fees/create_true_up_service.rb"


@pytest.mark.parametrize(
    ("source", "minimum", "used", "days", "expected"),
    [
        ("spec/services/fees/create_true_up_service_spec.rb:57-82", 1000, 700, (31, 31), 300),
        ("spec/services/fees/create_true_up_service_spec.rb:128-157", 1000, 200, (15, 31), 284),
        ("spec/services/fees/charge_service_spec.rb:1447-1461", 1000, 0, (17, 31), 548),
        ("spec/services/fees/create_true_up_service_spec.rb:48-55", 1000, 1500, (31, 31), 0),
        # 34 / 28 * 21 is 25.499999999999996 in binary floating point: Lago rounds it down.
        (f"{TRUE_UP}:18,25,55-62", 34, 0, (21, 28), 25),
        (f"{TRUE_UP}:18,25,55-62", 34, 0, (28, 28), 34),
    ],
)
def test_prorated_minimum_true_up(
    source: str, minimum: int, used: int, days: tuple[int, int], expected: int
) -> None:
    assert source
    charge = {
        "charge_model": "standard",
        "properties": {"amount": "1"},
        "min_amount_cents": minimum,
    }
    assert true_up_cents(charge, used, period_days=days) == expected


def test_price_charge_usage_prorates_the_minimum_with_lagos_day_arithmetic() -> None:
    charge = {"charge_model": "standard", "properties": {"amount": "1"}, "min_amount_cents": 34}
    fees = price_charge_usage(charge, ChargeUsage.single(D(0)), period_days=(21, 28))
    assert fees.true_up_cents == 25  # an exact proration (25.5) would give 26
    with pytest.raises(PricingError):
        true_up_cents(charge, 0, period_days=(11, 10))


ADVANCE = f"{SERVICES}/charges/apply_pay_in_advance_charge_model_service.rb"
FIRST_FLAT = {"graduated_ranges": [rng(0, None, "0.01", "0.01")]}
FIRST_FLAT_PCT = {"graduated_percentage_ranges": [prng(0, None, "2", "0.01")]}


@pytest.mark.parametrize(
    ("source", "model", "props", "before", "value", "expected"),
    [
        (f"{ADVANCE}:20-24", "standard", {"amount": "2"}, GroupUsage(D(9), 4), "1", "2"),
        # The first event of the period pays the first range's flat amount: the "before" side
        # at zero units bills none (graduated_service.rb:29-31).
        (
            f"{SERVICES}/charge_models/graduated_service.rb:29-31",
            "graduated",
            FIRST_FLAT,
            GroupUsage(),
            "1",
            "0.02",
        ),
        (f"{ADVANCE}:20-24", "graduated", FIRST_FLAT, GroupUsage(D(1), 1), "1", "0.01"),
        (
            f"{SERVICES}/charge_models/graduated_percentage_service.rb:15-17",
            "graduated_percentage",
            FIRST_FLAT_PCT,
            GroupUsage(),
            "100",
            "2.01",
        ),
        (
            f"{ADVANCE}:20-24",
            "package",
            {"amount": "5", "package_size": 10, "free_units": 0},
            GroupUsage(D(10), 1),
            "1",
            "5",
        ),
        (
            f"{ADVANCE}:20-24 with percentage_service.rb:142-179",
            "percentage",
            {"rate": "10", "per_transaction_min_amount": "1"},
            GroupUsage(D(5), 1, (D(5),)),
            "4",
            "1",
        ),
        (
            f"{ADVANCE}:20-24 (a negative value is not clamped)",
            "standard",
            {"amount": "2"},
            GroupUsage(D(9), 4),
            "-3",
            "-6",
        ),
    ],
)
def test_pay_in_advance_increment(
    source: str, model: str, props: Any, before: GroupUsage, value: str, expected: str
) -> None:
    assert source
    assert price_pay_in_advance(model, props, before, D(value)) == D(expected)


def test_pay_in_advance_dynamic_uses_the_event_amount() -> None:
    before = GroupUsage(D(3), 1, (D(250),))
    amount = price_pay_in_advance("dynamic", {}, before, D(2), precise_total_amount_cents=D(125))
    assert to_cents(amount) == 125
    first = price_pay_in_advance("dynamic", {}, GroupUsage(), D(1), precise_total_amount_cents=D(9))
    assert to_cents(first) == 9


@pytest.mark.parametrize(
    ("model", "props"),
    [
        ("volume", {"volume_ranges": [rng(0, None, "1")]}),
        ("percentage", {"rate": "1", "free_units_per_events": 2}),
        ("percentage", {"rate": "1", "free_units_per_total_aggregation": "10"}),
    ],
)
def test_pay_in_advance_refuses_what_it_does_not_model(model: str, props: Any) -> None:
    # volume: models/charge.rb:131-137; percentage free units on totals: the running total
    # includes the new event on both sides (sum_service.rb:114-137), not modelled.
    with pytest.raises(PricingError):
        price_pay_in_advance(model, props, GroupUsage(D(1), 1, (D(1),)), D(1))


INVOICE = f"{SERVICES}/invoices/apply_taxes_service.rb"


def test_invoice_taxes_round_once_over_every_tax() -> None:
    # invoices/apply_taxes_service.rb:30-44: each tax is amount × rate ÷ 100 unrounded; the
    # invoice total rounds their sum once (10.5 + 10.5 → 21) while each tax line rounds alone
    lines = [
        TaxedLine(105, (("vat", D(10)),)),
        TaxedLine(105, (("levy", D(10)),)),
    ]
    assert taxes_cents(lines) == (21, {"vat": 11, "levy": 11})
    # fees/apply_taxes_service.rb:37-51: a fee's taxes are the same sum, rounded once
    assert taxes_cents([TaxedLine(1001, (("vat", D("20")), ("levy", D("5.5"))))]) == (
        255,
        {"vat": 200, "levy": 55},
    )


@pytest.mark.parametrize(
    ("source", "amount", "days", "coefficient_first", "expected"),
    [
        # fees/subscription_service.rb:172-178 with subscriptions/dates_service.rb:197-200
        (f"{SERVICES}/fees/subscription_service.rb:172-178", 1000, (17, 31), False, 548),
        (f"{SERVICES}/fees/subscription_service.rb:172-178", 34, (21, 28), False, 25),
        # commitments/minimum/calculate_preview_fee_service.rb:36-42: the coefficient first
        (
            f"{SERVICES}/fees/commitments/minimum/calculate_preview_fee_service.rb:36-42",
            34,
            (21, 28),
            True,
            26,
        ),
    ],
)
def test_lago_float_prorations(
    source: str, amount: int, days: tuple[int, int], coefficient_first: bool, expected: int
) -> None:
    assert source
    assert round_half_up(lago_prorated(amount, *days, coefficient_first=coefficient_first)) == (
        expected
    )


def test_base_fee_and_commitment_use_lagos_proration() -> None:
    assert base_fee_cents(34, period_days=(21, 28)) == 25
    assert base_fee_cents(1000, period_days=(31, 31)) == 1000  # a whole period: the amount
    total = invoice_total(0, [0], minimum_commitment_cents=34, period_days=(21, 28))
    assert total.commitment_top_up_cents == 26
