"""A charge's usage in a period, aggregated from stored events and priced with lagoform.pricing.

Shared by current/past usage, ``POST /events/estimate_fees`` and ``POST /invoices/preview``, so
every sandbox amount comes from the one calculator. Units are aggregated here per the metric's
aggregation type; events are routed to the charge's fees by ``pricing.FilterRouter`` (an event
may count in several overlapping filters) and, with ``pricing_group_keys``, priced per
combination of values (ranges restart in each). Approximations (see docs/sandbox.md):
``weighted_sum_agg`` weighs each running total by the seconds it held within the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from lagoform import pricing
from lagoform.sandbox.state import E_PRECISE, E_PROPS, E_SEQ, E_TS, Record, StoredEvent

ZERO = Decimal(0)


def number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() else None


def _raw_units(metric: Record, events: Sequence[StoredEvent], start: float, end: float) -> Decimal:
    agg, field = metric["aggregation_type"], metric["field_name"]
    if agg == "count_agg":
        return Decimal(len(events))
    if agg == "unique_count_agg":
        return Decimal(len({str(e[E_PROPS].get(field)) for e in events if field in e[E_PROPS]}))
    values = [(e, v) for e in events if (v := number(e[E_PROPS].get(field))) is not None]
    if not values:
        return ZERO
    if agg == "sum_agg":
        return sum((v for _, v in values), ZERO)
    if agg == "max_agg":
        return max(v for _, v in values)
    if agg == "latest_agg":
        return max(values, key=lambda ev: (ev[0][E_TS], ev[0][E_SEQ]))[1]
    if agg == "weighted_sum_agg":
        span = Decimal(str(max(end - start, 1)))
        total, level, cursor = ZERO, ZERO, start
        for event, value in sorted(values, key=lambda ev: ev[0][E_TS]):
            at = min(max(event[E_TS], start), end)
            total += level * Decimal(str(at - cursor))
            level, cursor = level + value, at
        total += level * Decimal(str(end - cursor))
        return total / span
    return ZERO


def aggregate(metric: Record, events: Sequence[StoredEvent], start: float, end: float) -> Decimal:
    """The metric's units for these events, rounded by the metric's rounding settings."""
    units = _raw_units(metric, events, start, end)
    function = metric["rounding_function"]
    if function is None:
        return units
    exponent = Decimal(1).scaleb(-int(metric["rounding_precision"] or 0))
    mode = {"ceil": ROUND_CEILING, "floor": ROUND_FLOOR}.get(function, ROUND_HALF_UP)
    return units.quantize(exponent, rounding=mode)


def transactions(charge: Record, metric: Record, events: Sequence[StoredEvent]) -> list[Decimal]:
    """The events' values in time order as the percentage and dynamic models read them."""
    if charge["charge_model"] == "dynamic":
        return [number(e[E_PRECISE]) or ZERO for e in events]
    if metric["aggregation_type"] == "count_agg":
        return [Decimal(1)] * len(events)
    field = metric["field_name"]
    return [v for e in events if (v := number(e[E_PROPS].get(field))) is not None]


def group_value(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class PricedGroup:
    """One combination of ``pricing_group_keys`` values (None without grouping): its usage per
    fee and the fees lagoform.pricing bills for it."""

    grouped_by: dict[str, str | None] | None
    events: tuple[StoredEvent, ...]
    units: Decimal
    usage: pricing.ChargeUsage
    fees: pricing.ChargeFees


@dataclass(frozen=True)
class PricedCharge:
    groups: tuple[PricedGroup, ...]
    true_up_cents: int

    @property
    def amount_cents(self) -> int:
        return sum(g.fees.amount_cents for g in self.groups)


def _price_group(
    plan: Record,
    charge: Record,
    metric: Record,
    events: Sequence[StoredEvent],
    window: tuple[float, float],
    premium: bool,
) -> tuple[pricing.ChargeUsage, pricing.ChargeFees]:
    start, end = window
    router = (
        pricing.FilterRouter(charge["filters"], metric_filters=metric["filters"])
        if charge["filters"]
        else None
    )
    routed: dict[int | None, list[StoredEvent]] = {}
    for event in events:
        for key in router.groups(event[E_PROPS]) if router is not None else (None,):
            routed.setdefault(key, []).append(event)
    usage = pricing.ChargeUsage(
        {
            key: pricing.GroupUsage(
                aggregate(metric, chosen, start, end),
                len(chosen),
                tuple(transactions(charge, metric, chosen)),
            )
            for key, chosen in routed.items()
        }
    )
    fees = pricing.price_charge_usage(
        {**charge, "min_amount_cents": 0},  # the true-up spans every group: see price_charge
        usage,
        premium=premium,
        currency=plan["amount_currency"],
        count_aggregation=metric["aggregation_type"] in pricing.COUNTED_AGGREGATIONS,
    )
    return usage, fees


def price_charge(
    plan: Record,
    charge: Record,
    metric: Record,
    events: Sequence[StoredEvent],
    window: tuple[float, float],
    premium: bool,
    *,
    period_days: tuple[int, int] | None = None,
) -> PricedCharge:
    """Price one charge's events of a period; its ``min_amount_cents`` true-up covers all of its
    fees, prorated by ``period_days`` (days billed, days in the period) when given."""
    group_keys = charge["properties"].get("pricing_group_keys") or []
    buckets: dict[tuple[str | None, ...], list[StoredEvent]] = {}
    for event in events:
        values = tuple(group_value(event[E_PROPS].get(k)) for k in group_keys)
        buckets.setdefault(values, []).append(event)
    if not group_keys:
        buckets = {(): list(events)}
    groups: list[PricedGroup] = []
    for values, chosen in buckets.items():
        usage, fees = _price_group(plan, charge, metric, chosen, window, premium)
        groups.append(
            PricedGroup(
                dict(zip(group_keys, values, strict=True)) if group_keys else None,
                tuple(chosen),
                aggregate(metric, chosen, *window),
                usage,
                fees,
            )
        )
    used = sum(g.fees.amount_cents for g in groups)
    true_up = pricing.true_up_cents(charge, used, period_days=period_days)
    return PricedCharge(tuple(groups), true_up)
