"""Fees of one Lago charge for one period's usage, filters and minimum included.

A charge with filters bills one fee per filter (its own properties) plus one fee for the events
matching no filter (the charge's own properties, its default price); a charge without filters
bills one fee. Each fee is rounded to cents once; the charge's ``min_amount_cents`` then adds a
true-up fee of (minimum × period fraction) − (sum of its fees) when that is positive (§13.7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lagoform.model.currency import subunit_to_unit
from lagoform.pricing.filters import FilterRouter, GroupKey
from lagoform.pricing.models import price_units
from lagoform.pricing.rounding import (
    ZERO,
    PricingError,
    lago_prorated,
    round_half_up,
    to_cents,
    to_decimal,
)

__all__ = [
    "ChargeFees",
    "ChargeUsage",
    "GroupKey",
    "GroupUsage",
    "UsageEvent",
    "price_charge_usage",
    "true_up_cents",
    "usage_from_events",
]

ONE = Decimal(1)


@dataclass(frozen=True)
class GroupUsage:
    """Usage of one fee: aggregated units, number of events, and the events' values in order.

    ``transactions`` matter for percentage (free units, fixed fee, per-transaction bounds) and
    dynamic (each event's ``precise_total_amount_cents``); other models read ``units``.
    """

    units: Decimal = ZERO
    events_count: int | None = None
    transactions: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class ChargeUsage:
    """Usage of one charge in one period, per filter group (missing groups have no usage)."""

    groups: Mapping[GroupKey, GroupUsage] = field(default_factory=dict)

    @classmethod
    def single(
        cls,
        units: Decimal,
        *,
        events_count: int | None = None,
        transactions: Sequence[Decimal] = (),
    ) -> ChargeUsage:
        """Usage of a charge without filters (or usage all on the default price)."""
        return cls({None: GroupUsage(units, events_count, tuple(transactions))})


@dataclass(frozen=True)
class ChargeFees:
    """What one charge bills for a period, in minor units of the plan's currency.

    ``by_group`` holds the rounded fee of every filter (by index) and of the default (None);
    ``precise_by_group`` the same amounts unrounded, in currency units.
    """

    by_group: Mapping[GroupKey, int]
    precise_by_group: Mapping[GroupKey, Decimal]
    true_up_cents: int = 0

    @property
    def amount_cents(self) -> int:
        """Sum of the charge's fees, before the minimum's true-up."""
        return sum(self.by_group.values())

    @property
    def total_cents(self) -> int:
        """Everything the charge bills: its fees plus the true-up."""
        return self.amount_cents + self.true_up_cents


def _filters(charge: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = charge.get("filters") or []
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise PricingError("charge.filters must be a list")
    return [f for f in raw if isinstance(f, Mapping)]


def _properties(source: Mapping[str, Any]) -> Mapping[str, Any]:
    props = source.get("properties")
    return props if isinstance(props, Mapping) else {}


def _charge_model(charge: Mapping[str, Any]) -> str:
    model = charge.get("charge_model")
    if not isinstance(model, str):
        raise PricingError("charge.charge_model is missing")
    return model


UsageEvent = tuple[Mapping[str, Any], Decimal] | tuple[Mapping[str, Any], Decimal, Decimal | None]
"""``(properties, value)``; dynamic charges: ``(properties, value, precise_total_amount_cents)``."""


def usage_from_events(
    charge: Mapping[str, Any],
    events: Iterable[UsageEvent],
    *,
    metric_filters: Mapping[str, Sequence[str]] | None = None,
) -> ChargeUsage:
    """Route events to the charge's fees and sum them (sum/count aggregations).

    Events come in time order; for a count metric pass value 1. An event counts in every fee
    ``FilterRouter.groups`` names (filters that overlap without being nested share it). A dynamic
    charge's transactions are the events' ``precise_total_amount_cents`` (third item, missing =
    0); other models' are the values. Other aggregations (max, unique count, latest, weighted
    sum) must be aggregated by the caller into ``ChargeUsage`` directly.
    """
    filters = _filters(charge)
    router = FilterRouter(filters, metric_filters=metric_filters) if filters else None
    dynamic = charge.get("charge_model") == "dynamic"
    units: dict[GroupKey, Decimal] = {}
    transactions: dict[GroupKey, list[Decimal]] = {}
    for event in events:
        properties, value = event[0], event[1]
        precise = event[2] if len(event) > 2 else None
        transaction = (precise or ZERO) if dynamic else value
        for key in router.groups(properties) if router is not None else (None,):
            units[key] = units.get(key, ZERO) + value
            transactions.setdefault(key, []).append(transaction)
    return ChargeUsage(
        {k: GroupUsage(units[k], len(transactions[k]), tuple(transactions[k])) for k in units}
    )


def _group_amount(
    model: str,
    properties: Mapping[str, Any],
    usage: GroupUsage,
    *,
    premium: bool,
    zero_usage_first_tier_flat: bool,
    currency: str | None,
    count_aggregation: bool,
) -> Decimal:
    if model == "dynamic":
        # The events carry their price in the currency's minor units; zero units bill nothing,
        # and like every fee, negative units or a negative amount bill 0.
        if usage.units <= ZERO:
            return ZERO
        return max(sum(usage.transactions, ZERO) / subunit_to_unit(currency), ZERO)
    return price_units(
        model,
        properties,
        usage.units,
        transactions=usage.transactions,
        events_count=usage.events_count,
        premium=premium,
        zero_usage_first_tier_flat=zero_usage_first_tier_flat,
        count_aggregation=count_aggregation,
    )


def price_charge_usage(
    charge: Mapping[str, Any],
    usage: ChargeUsage,
    *,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
    period_fraction: Decimal = ONE,
    period_days: tuple[int, int] | None = None,
    currency: str | None = None,
    count_aggregation: bool = False,
) -> ChargeFees:
    """Price one period's usage of a Lago-shaped charge (as ``GET /plans/{code}`` returns it).

    The charge's ``min_amount_cents`` is prorated by ``period_days`` (days billed, days in the
    period — Lago's own arithmetic, see ``true_up_cents``) or else by ``period_fraction``;
    ``currency`` picks the minor unit (default: cents); ``count_aggregation``: the metric counts
    events (see ``price_units``).
    """
    model = _charge_model(charge)
    filters = _filters(charge)
    keys: list[GroupKey] = [*range(len(filters)), None]
    unknown = [k for k in usage.groups if k not in keys]
    if unknown:
        raise PricingError(f"usage names filter groups the charge does not have: {unknown}")
    precise: dict[GroupKey, Decimal] = {}
    rounded: dict[GroupKey, int] = {}
    for key in keys:
        props = _properties(charge) if key is None else _properties(filters[key])
        amount = _group_amount(
            model,
            props,
            usage.groups.get(key, GroupUsage()),
            premium=premium,
            zero_usage_first_tier_flat=zero_usage_first_tier_flat,
            currency=currency,
            count_aggregation=count_aggregation,
        )
        precise[key] = amount
        rounded[key] = to_cents(amount, currency=currency)
    true_up = true_up_cents(
        charge, sum(rounded.values()), period_fraction=period_fraction, period_days=period_days
    )
    return ChargeFees(by_group=rounded, precise_by_group=precise, true_up_cents=true_up)


def true_up_cents(
    charge: Mapping[str, Any],
    used_cents: int,
    *,
    period_fraction: Decimal = ONE,
    period_days: tuple[int, int] | None = None,
) -> int:
    """True-up of a charge's ``min_amount_cents``: prorated minimum − fees billed, if positive.

    ``used_cents`` is the sum of every fee of the charge in the period (all filters and pricing
    groups; each fee already 0 when negative). Callers pricing ``pricing_group_keys`` groups one
    by one add them up and call this. With ``period_days = (days billed, days in the period)``
    the minimum is prorated the way Lago's server does it — minimum ÷ days in the period × days
    billed in floating point, compared unrounded, the difference rounded half away from zero
    (fees/create_true_up_service.rb) — so a true-up that lands on a half cent only through
    binary rounding (34 ÷ 28 × 21 = 25.4999…) rounds as Lago rounds it.
    """
    minimum = to_decimal(charge.get("min_amount_cents"), field="min_amount_cents")
    if minimum <= ZERO:
        return 0
    if period_days is not None:
        prorated = lago_prorated(minimum, *period_days)
        if used_cents >= prorated:
            return 0
        return round_half_up(Decimal(float(prorated) - used_cents))
    prorated_minimum = minimum * period_fraction
    if used_cents >= prorated_minimum:
        return 0
    return round_half_up(prorated_minimum - used_cents)
