"""Lago's charge models: the amount one fee bills for a quantity of usage.

``price_units`` prices the usage of one fee (one charge, or one filter of a charge) under one
charge model and its Lago ``properties``, returning the **unrounded** amount in currency units;
rounding to cents happens once, later (see ``rounding.to_cents``). Rules follow API_NOTES §4.4 and
§13 (the server's behaviour where Lago's docs differ). No I/O, stdlib ``Decimal`` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lagoform.pricing.rounding import HUNDRED, ZERO, PricingError, ceil_decimal, to_decimal

__all__ = ["CHARGE_MODELS", "Tier", "parse_tiers", "price_units"]

CHARGE_MODELS = frozenset(
    {"standard", "graduated", "volume", "package", "percentage", "graduated_percentage", "dynamic"}
)


@dataclass(frozen=True)
class Tier:
    """One range of a graduated, volume or graduated_percentage charge.

    ``price`` is the per-unit amount, or for graduated_percentage the rate as a fraction
    (``"1.5"`` percent → ``0.015``). ``to_value`` is None on the last, open range.
    """

    from_value: Decimal
    to_value: Decimal | None
    price: Decimal
    flat_amount: Decimal


def parse_tiers(charge_model: str, properties: Mapping[str, Any]) -> list[Tier]:
    """Read the ranges of a tiered model from Lago-shaped properties."""
    key, price_key = {
        "graduated": ("graduated_ranges", "per_unit_amount"),
        "volume": ("volume_ranges", "per_unit_amount"),
        "graduated_percentage": ("graduated_percentage_ranges", "rate"),
    }[charge_model]
    raw = properties.get(key)
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise PricingError(f"{charge_model}: properties.{key} must be a non-empty list of ranges")
    tiers: list[Tier] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise PricingError(f"{charge_model}: {key}[{i}] must be an object")
        where = f"{key}[{i}]"
        to_raw = item.get("to_value")
        price = to_decimal(item.get(price_key), field=f"{where}.{price_key}")
        if charge_model == "graduated_percentage":
            price = price / HUNDRED
        tiers.append(
            Tier(
                from_value=to_decimal(item.get("from_value"), field=f"{where}.from_value"),
                to_value=None if to_raw is None else to_decimal(to_raw, field=f"{where}.to_value"),
                price=price,
                flat_amount=to_decimal(item.get("flat_amount"), field=f"{where}.flat_amount"),
            )
        )
    if tiers[-1].to_value is not None:
        raise PricingError(f"{charge_model}: the last range of {key} must have to_value null")
    return tiers


def _graduated(tiers: Sequence[Tier], units: Decimal, zero_usage_first_tier_flat: bool) -> Decimal:
    # Each range holds the units above the previous range's to_value, up to its own to_value:
    # that reading is the same for integer ranges (0-100, 101-200) and for the decimal ranges
    # whose from_value repeats the previous to_value (API_NOTES §13.1).
    if units <= ZERO:
        return tiers[0].flat_amount if zero_usage_first_tier_flat else ZERO
    amount = ZERO
    lower = ZERO
    for tier in tiers:
        upper = units if tier.to_value is None else min(units, tier.to_value)
        amount += tier.flat_amount + (upper - lower) * tier.price
        if tier.to_value is None or units <= tier.to_value:
            break
        lower = tier.to_value
    return amount


def _volume(tiers: Sequence[Tier], units: Decimal, zero_usage_first_tier_flat: bool) -> Decimal:
    if units <= ZERO:
        return tiers[0].flat_amount if zero_usage_first_tier_flat else ZERO
    # The tier is chosen with the usage rounded up: 100.5 units fall in 101-200 (§13.1).
    reach = ceil_decimal(units)
    for tier in tiers:
        if tier.to_value is None or reach <= tier.to_value:
            return units * tier.price + tier.flat_amount
    raise PricingError("volume: no range holds the usage")  # unreachable: last range is open


def _package(properties: Mapping[str, Any], units: Decimal) -> Decimal:
    size = to_decimal(properties.get("package_size"), field="package_size")
    if size <= ZERO:
        raise PricingError("package: package_size must be a positive integer")
    amount = to_decimal(properties.get("amount"), field="amount")
    paid_units = units - to_decimal(properties.get("free_units"), field="free_units_per_events")
    if paid_units <= ZERO:
        return ZERO
    # A package counts from its first unit: 1,080 units at 1,000 per package = 2 packages (§13.4).
    return ceil_decimal(paid_units / size) * amount


def _percentage(
    properties: Mapping[str, Any],
    units: Decimal,
    transactions: Sequence[Decimal],
    events_count: int | None,
    premium: bool,
) -> Decimal:
    rate = to_decimal(properties.get("rate"), field="rate") / HUNDRED
    fixed = to_decimal(properties.get("fixed_amount"), field="fixed_amount")
    # Lago reads a zero (or absent) free allowance as "no allowance".
    free_events_value = to_decimal(
        properties.get("free_units_per_events"), field="free_units_per_events"
    )
    free_events = int(free_events_value) if free_events_value > ZERO else None
    free_total_value = to_decimal(
        properties.get("free_units_per_total_aggregation"), field="free_units_per_total_aggregation"
    )
    free_total = free_total_value if free_total_value > ZERO else None
    tx_min_raw = properties.get("per_transaction_min_amount")
    tx_max_raw = properties.get("per_transaction_max_amount")
    # Per-transaction bounds are a premium feature: a free server ignores them (§13.5).
    tx_min = to_decimal(tx_min_raw) if premium and tx_min_raw not in (None, "") else None
    tx_max = to_decimal(tx_max_raw) if premium and tx_max_raw not in (None, "") else None
    has_allowance = free_events is not None or free_total is not None

    if transactions:
        return _percentage_per_transaction(
            transactions, rate, fixed, free_events, free_total, tx_min, tx_max
        )
    if units == ZERO:
        return ZERO
    if tx_min is not None or tx_max is not None or free_events is not None:
        raise PricingError(
            "percentage: per-transaction bounds or free_units_per_events need the individual "
            "transactions, not only the total"
        )
    if fixed != ZERO and has_allowance:
        raise PricingError(
            "percentage: a fixed_amount with free units needs the individual transactions"
        )
    billed_units = units if free_total is None else max(units - free_total, ZERO)
    if fixed != ZERO and events_count is None:
        raise PricingError("percentage: a fixed_amount needs the number of events")
    return billed_units * rate + fixed * (events_count or 0)


def _percentage_per_transaction(
    transactions: Sequence[Decimal],
    rate: Decimal,
    fixed: Decimal,
    free_events: int | None,
    free_total: Decimal | None,
    tx_min: Decimal | None,
    tx_max: Decimal | None,
) -> Decimal:
    if sum(transactions, ZERO) == ZERO:
        return ZERO  # no fixed fee on a zero total (§13.5)
    # The free allowance covers whole transactions until either limit is used up. The transaction
    # that reaches or crosses the free total pays the rate on its excess only, but the whole fixed
    # fee: the server counts as free only the events whose running total stays below the limit.
    allowance_open = free_events is not None or free_total is not None
    events_left: float = math.inf if free_events is None else free_events
    total_left = free_total
    amount = ZERO
    for tx in transactions:
        billed = tx
        if allowance_open and events_left <= 0:
            allowance_open = False
        if allowance_open:
            if total_left is None or tx < total_left:
                events_left -= 1
                if total_left is not None:
                    total_left -= tx
                continue  # free: not raised to the per-transaction minimum
            billed = tx - total_left
            allowance_open = False
        fee = billed * rate + fixed
        if tx_min is not None and fee < tx_min:
            fee = tx_min
        if tx_max is not None and fee > tx_max:
            fee = tx_max
        amount += fee
    return amount


def price_units(
    charge_model: str,
    properties: Mapping[str, Any],
    units: Decimal,
    *,
    transactions: Sequence[Decimal] = (),
    events_count: int | None = None,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
) -> Decimal:
    """Unrounded amount (currency units) one fee bills for ``units`` of usage.

    - ``transactions``: the events' values in time order. Percentage uses them for free units,
      per-transaction fixed fees and min/max; dynamic reads them as the events'
      ``precise_total_amount_cents`` and bills their sum / 100 (nothing at zero units).
    - ``events_count``: number of events, for percentage's fixed fee when no transactions given.
    - ``premium``: whether the server has the premium licence (percentage min/max apply only then).
    - ``zero_usage_first_tier_flat``: at zero usage graduated, volume and graduated_percentage
      bill the first range's flat amount — servers since lago-api PR #5760 (2026-07) do;
      pass False to price like an older server.
    Negative usage of a tiered model is priced as zero usage.
    """
    match charge_model:
        case "standard":
            return units * to_decimal(properties.get("amount"), field="amount")
        case "graduated" | "graduated_percentage":
            tiers = parse_tiers(charge_model, properties)
            return _graduated(tiers, units, zero_usage_first_tier_flat)
        case "volume":
            return _volume(parse_tiers(charge_model, properties), units, zero_usage_first_tier_flat)
        case "package":
            return _package(properties, units)
        case "percentage":
            return _percentage(properties, units, transactions, events_count, premium)
        case "dynamic":
            # Lago bills nothing when the metric's units sum to zero, whatever the amounts say.
            return ZERO if units == ZERO else sum(transactions, ZERO) / HUNDRED
        case _:
            raise PricingError(f"charge model {charge_model!r} cannot be priced by lagoform")
