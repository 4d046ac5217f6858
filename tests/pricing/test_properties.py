"""Properties of Lago's charge models that must hold for any usage and any non-negative prices."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lagoform.pricing import ChargeUsage, price_charge_usage, price_units, to_cents

settings.register_profile("pricing", max_examples=150, deadline=None)
settings.load_profile("pricing")

# Amounts with up to 4 decimals and usage with up to 2, as Decimals (never floats).
prices = st.integers(0, 100_000).map(lambda n: Decimal(n).scaleb(-4))
usage = st.integers(0, 5_000_000).map(lambda n: Decimal(n).scaleb(-2))
whole_usage = st.integers(0, 50_000).map(Decimal)


@st.composite
def tiers(draw: st.DrawFn, *, volume: bool = False) -> list[dict[str, Any]]:
    """1-5 integer ranges 0-a, a+1-b, …, last open, with random prices and flat amounts."""
    widths = draw(st.lists(st.integers(1, 5_000), min_size=0, max_size=4))
    ranges: list[dict[str, Any]] = []
    start = 0
    for width in [*widths, None]:
        end = None if width is None else start + width
        ranges.append(
            {
                "from_value": start,
                "to_value": end,
                "per_unit_amount": str(draw(prices)),
                "flat_amount": str(draw(prices)),
            }
        )
        if end is not None:
            start = end + 1
    return ranges


def _graduated(ranges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"graduated_ranges": ranges}


@given(amount=prices, a=usage, b=usage)
def test_standard_is_monotonic(amount: Decimal, a: Decimal, b: Decimal) -> None:
    lo, hi = sorted((a, b))
    props = {"amount": str(amount)}
    assert price_units("standard", props, lo) <= price_units("standard", props, hi)


@given(ranges=tiers(), a=usage, b=usage)
def test_graduated_is_monotonic(ranges: list[dict[str, Any]], a: Decimal, b: Decimal) -> None:
    lo, hi = sorted((a, b))
    props = _graduated(ranges)
    assert price_units("graduated", props, lo) <= price_units("graduated", props, hi)


@given(
    amount=prices,
    size=st.integers(1, 1000),
    free=st.integers(0, 1000),
    a=usage,
    b=usage,
)
def test_package_is_monotonic(
    amount: Decimal, size: int, free: int, a: Decimal, b: Decimal
) -> None:
    lo, hi = sorted((a, b))
    props = {"amount": str(amount), "package_size": size, "free_units": free}
    assert price_units("package", props, lo) <= price_units("package", props, hi)


@given(
    rate=prices,
    fixed=prices,
    free_events=st.none() | st.integers(1, 5),
    free_total=st.none() | usage,
    bounds=st.none() | st.tuples(prices, prices),
    transactions=st.lists(usage, min_size=1, max_size=12),
    extra=usage,
    bump=usage,
)
def test_percentage_is_monotonic(
    rate: Decimal,
    fixed: Decimal,
    free_events: int | None,
    free_total: Decimal | None,
    bounds: tuple[Decimal, Decimal] | None,
    transactions: list[Decimal],
    extra: Decimal,
    bump: Decimal,
) -> None:
    props: dict[str, Any] = {"rate": str(rate), "fixed_amount": str(fixed)}
    if free_events is not None:
        props["free_units_per_events"] = free_events
    if free_total is not None:
        props["free_units_per_total_aggregation"] = str(free_total)
    if bounds is not None:
        low, high = sorted(bounds)
        props["per_transaction_min_amount"] = str(low)
        props["per_transaction_max_amount"] = str(high)

    def price(txs: list[Decimal]) -> Decimal:
        return price_units("percentage", props, sum(txs, Decimal(0)), transactions=txs)

    base = price(transactions)
    assert price([*transactions, extra]) >= base  # one more transaction never lowers the bill
    assert price([*transactions[:-1], transactions[-1] + bump]) >= base  # nor a larger last one


@given(rate=prices, fixed=prices, count=st.integers(1, 50), a=usage, b=usage)
def test_percentage_on_totals_is_monotonic(
    rate: Decimal, fixed: Decimal, count: int, a: Decimal, b: Decimal
) -> None:
    lo, hi = sorted((a, b))
    props = {"rate": str(rate), "fixed_amount": str(fixed)}
    low = price_units("percentage", props, lo, events_count=count)
    assert low <= price_units("percentage", props, hi, events_count=count)


@given(ranges=tiers(), units=usage)
def test_graduated_is_the_sum_of_its_tiers_priced_separately(
    ranges: list[dict[str, Any]], units: Decimal
) -> None:
    expected = Decimal(0)
    lower = Decimal(0)
    for i, tier in enumerate(ranges):
        upper = tier["to_value"]
        in_tier = units - lower if upper is None else min(units, Decimal(upper)) - lower
        if in_tier > 0 or (i == 0 and units == 0):
            # Each tier alone: a standard charge on its own units, plus its flat amount once.
            expected += price_units("standard", {"amount": tier["per_unit_amount"]}, in_tier)
            expected += Decimal(tier["flat_amount"])
        if upper is not None:
            lower = Decimal(upper)
    assert price_units("graduated", _graduated(ranges), units) == expected


@given(ranges=tiers(), units=usage)
def test_volume_bills_every_unit_at_one_tier(ranges: list[dict[str, Any]], units: Decimal) -> None:
    amount = price_units("volume", {"volume_ranges": ranges}, units)
    if units == 0:
        assert amount == Decimal(ranges[0]["flat_amount"])
        return
    reach = math.ceil(units)  # usage rounded up picks the tier
    chosen = next(r for r in ranges if r["to_value"] is None or reach <= r["to_value"])
    assert amount == units * Decimal(chosen["per_unit_amount"]) + Decimal(chosen["flat_amount"])
    assert chosen["from_value"] <= reach


@given(
    amount=st.integers(1, 9_999).map(lambda n: Decimal(n).scaleb(-6)),
    events=st.lists(st.integers(1, 20).map(Decimal), min_size=1, max_size=40),
)
def test_each_fee_is_rounded_once_after_summing(amount: Decimal, events: list[Decimal]) -> None:
    charge = {"charge_model": "standard", "properties": {"amount": str(amount)}}
    units = sum(events, Decimal(0))
    fees = price_charge_usage(charge, ChargeUsage.single(units, events_count=len(events)))
    exact = units * amount
    assert fees.precise_by_group[None] == exact
    assert fees.by_group[None] == to_cents(exact)
    assert abs(Decimal(fees.by_group[None]) - exact * 100) <= Decimal("0.5")


def test_rounding_per_event_would_lose_money_where_rounding_once_does_not() -> None:
    charge = {"charge_model": "standard", "properties": {"amount": "0.004"}}
    fees = price_charge_usage(charge, ChargeUsage.single(Decimal(3), events_count=3))
    assert sum(to_cents(Decimal("0.004")) for _ in range(3)) == 0
    assert fees.total_cents == 1  # $0.012, rounded once


@given(ranges=tiers(), units=whole_usage)
def test_zero_usage_flag_only_changes_zero_usage(
    ranges: list[dict[str, Any]], units: Decimal
) -> None:
    props = _graduated(ranges)
    new = price_units("graduated", props, units)
    old = price_units("graduated", props, units, zero_usage_first_tier_flat=False)
    if units == 0:
        assert (new, old) == (Decimal(ranges[0]["flat_amount"]), Decimal(0))
    else:
        assert new == old
