"""Lago's charge models: the amount one fee bills for a quantity of usage.

``price_units`` prices the usage of one fee (one charge, or one filter of a charge) under one
charge model and its Lago ``properties``, returning the **unrounded** amount in currency units;
rounding to cents happens once, later (see ``rounding.to_cents``). Rules follow API_NOTES §4.4 and
§13 (the server's behaviour where Lago's docs differ). No I/O, stdlib ``Decimal`` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

from lagoform.pricing.percentage import percentage_amount
from lagoform.pricing.rounding import HUNDRED, ZERO, PricingError, ceil_decimal, to_decimal

__all__ = ["CHARGE_MODELS", "Tier", "model_amount", "parse_tiers", "price_units"]

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


def _adjacent(tiers: Sequence[Tier]) -> bool:
    """Every range starts at the previous ``to_value``: Lago's decimal-boundary reading."""
    return len(tiers) >= 2 and all(
        cur.from_value == (prev.to_value or ZERO) for prev, cur in pairwise(tiers)
    )


def _graduated(tiers: Sequence[Tier], units: Decimal) -> Decimal:
    # Lago counts the units of a range as (usage capped at to_value) - from_value, plus one when
    # the ranges are not all adjacent (0-100, 101-200: inclusive integer ranges); a range starting
    # at 0 counts the capped usage itself (charge_models/amount_details/range_graduated_service).
    # So an adjacent set whose first range starts at 1 bills one unit less in that range.
    adjacent = _adjacent(tiers)
    amount = ZERO
    for tier in tiers:
        capped = tier.to_value if tier.to_value is not None and units >= tier.to_value else units
        count = (
            capped if tier.from_value == 0 else capped - tier.from_value + (0 if adjacent else 1)
        )
        amount += tier.flat_amount + (count * tier.price if count != 0 else ZERO)
        if tier.to_value is None or tier.to_value >= units:
            break
    return amount


def _graduated_percentage(tiers: Sequence[Tier], units: Decimal) -> Decimal:
    # Ranges are always read as inclusive integer ranges here, adjacent or not
    # (charge_models/amount_details/range_graduated_percentage_service): a range starting at the
    # previous to_value counts that boundary unit twice.
    amount = ZERO
    for tier in tiers:
        if tier.to_value is not None and units >= tier.to_value:
            count = tier.to_value - (1 if tier.from_value == 0 else tier.from_value) + 1
        elif tier.from_value == 0:
            count = units
        else:
            count = units - tier.from_value + 1
        amount += count * tier.price + tier.flat_amount
        if tier.to_value is None or tier.to_value >= units:
            break
    return amount


def _volume(tiers: Sequence[Tier], units: Decimal) -> Decimal:
    # The range is chosen with the usage rounded up against from_value: 100.5 units fall in
    # 101-200 (§13.1, charge_models/volume_service.rb#matching_range).
    reach = ceil_decimal(units)
    for tier in sorted(tiers, key=lambda t: t.from_value):
        if tier.from_value <= reach and (tier.to_value is None or units <= tier.to_value):
            return units * tier.price + tier.flat_amount
    raise PricingError(
        f"volume: no range holds {units} units (Lago's server cannot price it either)"
    )


def _package(properties: Mapping[str, Any], units: Decimal) -> Decimal:
    size = to_decimal(properties.get("package_size"), field="package_size")
    if size <= ZERO:
        raise PricingError("package: package_size must be a positive integer")
    amount = to_decimal(properties.get("amount"), field="amount")
    paid_units = units - to_decimal(properties.get("free_units"), field="free_units")
    if paid_units <= ZERO:
        return ZERO
    # A package counts from its first unit: 1,080 units at 1,000 per package = 2 packages (§13.4).
    return ceil_decimal(paid_units / size) * amount


def model_amount(
    charge_model: str,
    properties: Mapping[str, Any],
    units: Decimal,
    *,
    transactions: Sequence[Decimal] = (),
    events_count: int | None = None,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
    count_aggregation: bool = False,
    before_event: bool = False,
) -> Decimal:
    """The charge model's own amount, before Lago's fee rule (see ``price_units``).

    ``before_event``: the "before" side of a pay-in-advance increment, where a tiered model at
    zero units bills no flat amount (charge_models/graduated_service.rb#compute_amount).
    """
    match charge_model:
        case "standard":
            return units * to_decimal(properties.get("amount"), field="amount")
        case "graduated" | "graduated_percentage" | "volume":
            tiers = parse_tiers(charge_model, properties)
            if units == 0 and (before_event or not zero_usage_first_tier_flat):
                return ZERO
            if charge_model == "graduated":
                return _graduated(tiers, units)
            if charge_model == "volume":
                return _volume(tiers, units)
            return _graduated_percentage(tiers, units)
        case "package":
            return _package(properties, units)
        case "percentage":
            return percentage_amount(
                properties,
                units,
                transactions=transactions,
                events_count=events_count,
                premium=premium,
                count_aggregation=count_aggregation,
            )
        case "dynamic":
            # Lago bills nothing when the metric's units sum to zero, whatever the amounts say.
            return ZERO if units == 0 else sum(transactions, ZERO) / HUNDRED
        case _:
            raise PricingError(f"charge model {charge_model!r} cannot be priced by lagoform")


def price_units(
    charge_model: str,
    properties: Mapping[str, Any],
    units: Decimal,
    *,
    transactions: Sequence[Decimal] = (),
    events_count: int | None = None,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
    count_aggregation: bool = False,
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
    - ``count_aggregation``: the metric counts events (``count_agg``, ``unique_count_agg``);
      matters to a percentage charge's free units (see ``lagoform.pricing.percentage``).

    Lago's fee rule: a fee whose units or amount are negative bills 0
    (fees/charge_service.rb#init_fee), so negative usage bills nothing in every model.
    """
    if units < 0:
        return ZERO
    amount = model_amount(
        charge_model,
        properties,
        units,
        transactions=transactions,
        events_count=events_count,
        premium=premium,
        zero_usage_first_tier_flat=zero_usage_first_tier_flat,
        count_aggregation=count_aggregation,
    )
    return max(amount, ZERO)
