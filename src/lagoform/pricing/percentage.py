"""The percentage charge model as Lago's server computes it (charge_models/percentage_service.rb).

Two computations, chosen like the server chooses them:

* **per transaction** — with the premium licence and a ``per_transaction_min_amount`` or
  ``per_transaction_max_amount``: each event in time order is free while *either* free
  allowance remains (a free event count, or a free total not yet used up); the event that uses up
  the free total pays the rate on its excess and ends both allowances; every paying event pays
  rate + fixed fee, then is clamped to [min, max]. A zero-valued paying event is raised to the
  minimum (no "zero total" shortcut on this path).
* **on totals** — otherwise: the free units are read from Lago's running total of the events
  (the first ``free_units_per_events`` events, or the events up to the one crossing
  ``free_units_per_total_aggregation``); the rate applies to the units above them and the fixed
  fee to the events beyond the free ones; nothing at zero units.

Count metrics (``count_agg``, ``unique_count_agg``) have a running total of 1, 2, … units
instead of the events' values (``count_aggregation=True``): their free event count then wins over
a smaller free total (a server quirk, see docs/pricing-server-rules.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lagoform.pricing.rounding import HUNDRED, ZERO, PricingError, to_decimal

__all__ = ["COUNTED_AGGREGATIONS", "PercentageRules", "percentage_amount"]

# Metrics whose running total Lago reads as 1, 2, … units (percentage free units;
# billing_metrics/aggregations/count_service.rb and unique_count_service.rb).
COUNTED_AGGREGATIONS = frozenset({"count_agg", "unique_count_agg"})


@dataclass(frozen=True)
class PercentageRules:
    """A percentage charge's properties, parsed once."""

    rate: Decimal  # a fraction: "2.5" percent → 0.025
    fixed: Decimal
    free_events: int  # 0 = no free event count
    free_total: Decimal  # 0 = no free total
    tx_min: Decimal | None
    tx_max: Decimal | None

    @classmethod
    def parse(cls, properties: Mapping[str, Any], *, premium: bool) -> PercentageRules:
        free_events = to_decimal(
            properties.get("free_units_per_events"), field="free_units_per_events"
        )
        tx_min_raw = properties.get("per_transaction_min_amount")
        tx_max_raw = properties.get("per_transaction_max_amount")
        # Per-transaction bounds are a premium feature: a free server ignores them (§13.5).
        return cls(
            rate=to_decimal(properties.get("rate"), field="rate") / HUNDRED,
            fixed=to_decimal(properties.get("fixed_amount"), field="fixed_amount"),
            free_events=max(int(free_events), 0),
            free_total=max(
                to_decimal(
                    properties.get("free_units_per_total_aggregation"),
                    field="free_units_per_total_aggregation",
                ),
                ZERO,
            ),
            tx_min=to_decimal(tx_min_raw) if premium and tx_min_raw not in (None, "") else None,
            tx_max=to_decimal(tx_max_raw) if premium and tx_max_raw not in (None, "") else None,
        )

    @property
    def per_transaction(self) -> bool:
        return self.tx_min is not None or self.tx_max is not None

    def clamp(self, fee: Decimal) -> Decimal:
        if self.tx_min is not None and fee < self.tx_min:
            return self.tx_min
        if self.tx_max is not None and fee > self.tx_max:
            return self.tx_max
        return fee


def _per_transaction(rules: PercentageRules, transactions: Sequence[Decimal]) -> Decimal:
    events_left = rules.free_events
    total_left = rules.free_total
    amount = ZERO
    for value in transactions:
        if events_left > 0 or total_left > 0:
            events_left -= 1
            if total_left <= 0:
                continue  # free by count: not raised to the per-transaction minimum
            if total_left > value:
                total_left -= value
                continue
            value -= total_left
            total_left, events_left = ZERO, 0
        amount += rules.clamp(value * rules.rate + rules.fixed)
    return amount


@dataclass(frozen=True)
class _RunningTotal:
    """What Lago's running total tells the percentage model: its last value, its length,
    its value after ``free_events`` events, and how many of its values stay below the free
    total."""

    last: Decimal
    length: int
    at_free_events: Decimal | None
    below_free_total: int


def _running_total(
    rules: PercentageRules,
    units: Decimal,
    transactions: Sequence[Decimal],
    count_aggregation: bool,
) -> _RunningTotal:
    if rules.free_events == 0 and rules.free_total == 0:
        return _RunningTotal(ZERO, 0, None, 0)
    if count_aggregation:
        # 1, 2, …, units (billing_metrics/aggregations/count_service.rb#running_total)
        whole = int(units)
        at = Decimal(rules.free_events) if 0 < rules.free_events <= whole else None
        below = max(0, min(whole, math.ceil(rules.free_total) - 1))
        return _RunningTotal(Decimal(whole), whole, at, below)
    totals: list[Decimal] = []
    running = ZERO
    if rules.free_events:
        for value in transactions[: rules.free_events]:
            running += value
            totals.append(running)
    else:
        for value in transactions:
            if rules.free_total < running:
                break
            running += value
            totals.append(running)
    at = totals[rules.free_events - 1] if 0 < rules.free_events <= len(totals) else None
    below = sum(1 for t in totals if t < rules.free_total)
    return _RunningTotal(totals[-1] if totals else ZERO, len(totals), at, below)


def _on_totals(
    rules: PercentageRules,
    units: Decimal,
    transactions: Sequence[Decimal] | None,
    events_count: int | None,
    count_aggregation: bool,
) -> Decimal:
    if units == 0:
        return ZERO  # nothing at zero units, fixed fee included (percentage_service.rb:61)
    if count_aggregation or transactions is not None:
        running = _running_total(rules, units, transactions or (), count_aggregation)
    elif rules.free_events == 0 and rules.free_total == 0:
        running = _RunningTotal(ZERO, 0, None, 0)
    elif rules.free_events == 0 and rules.fixed == 0:
        # Without the events, a summed metric's running total ends at the total itself when it
        # stays within the free total, past it otherwise: min(total, free total) is free.
        running = _RunningTotal(units, 1, None, 0)
    else:
        raise PricingError(
            "percentage: free units of a summed metric need the individual transactions"
        )
    if running.last == 0:
        free_units = ZERO
    elif rules.free_events and rules.free_events < running.length:
        free_units = running.at_free_events or ZERO
    elif rules.free_total == 0 or running.last <= rules.free_total:
        free_units = running.last
    else:
        free_units = rules.free_total
    rate_part = ZERO if free_units > units else (units - free_units) * rules.rate
    if rules.fixed == 0:
        return rate_part
    if events_count is None:
        raise PricingError("percentage: a fixed_amount needs the number of events")
    free_count = min((n for n in (rules.free_events, running.below_free_total) if n), default=0)
    if free_count >= events_count:
        return rate_part
    return rate_part + (events_count - free_count) * rules.fixed


def percentage_amount(
    properties: Mapping[str, Any],
    units: Decimal,
    *,
    transactions: Sequence[Decimal] = (),
    events_count: int | None = None,
    premium: bool = True,
    count_aggregation: bool = False,
) -> Decimal:
    """Unrounded amount of a percentage fee (see the module docstring)."""
    rules = PercentageRules.parse(properties, premium=premium)
    if rules.per_transaction:
        if not transactions and units != 0:
            raise PricingError(
                "percentage: per-transaction bounds need the individual transactions, "
                "not only the total"
            )
        return _per_transaction(rules, transactions)
    count = events_count if events_count is not None else (len(transactions) or None)
    return _on_totals(rules, units, transactions or None, count, count_aggregation)
