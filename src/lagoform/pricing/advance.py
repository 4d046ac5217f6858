"""The fee one event adds to a pay-in-advance charge, as Lago's server computes it.

Lago prices the period's usage with and without the new event and bills the difference
(``charges/apply_pay_in_advance_charge_model_service.rb``): amount(usage + event) −
amount(usage). On the "before" side a graduated or graduated-percentage charge at zero units
bills no flat amount (``charge_models/graduated_service.rb#compute_amount``), so the first event
of a period pays the first range's flat amount; the difference is not clamped at zero (a negative
event value gives a negative fee) and is rounded once, half-up, to the currency's minor unit.

Refused with ``PricingError`` (never a guess): ``volume`` (Lago refuses it for pay-in-advance
charges) and ``percentage`` with free units on Lago's "totals" path, where the server reads its
running total including the new event on both sides (see docs/pricing-server-rules.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lagoform.model.currency import subunit_to_unit
from lagoform.pricing.charges import GroupUsage
from lagoform.pricing.models import model_amount
from lagoform.pricing.percentage import PercentageRules
from lagoform.pricing.rounding import ZERO, PricingError

__all__ = ["price_pay_in_advance"]


def _dynamic(before: GroupUsage, value: Decimal, precise: Decimal, currency: str | None) -> Decimal:
    subunit = subunit_to_unit(currency)
    old_total = sum(before.transactions, ZERO)
    after = ZERO if before.units + value == 0 else (old_total + precise) / subunit
    previous = ZERO if before.units == 0 else old_total / subunit
    return after - previous


def price_pay_in_advance(
    charge_model: str,
    properties: Mapping[str, Any],
    before: GroupUsage,
    value: Decimal,
    *,
    precise_total_amount_cents: Decimal | None = None,
    premium: bool = True,
    count_aggregation: bool = False,
    currency: str | None = None,
) -> Decimal:
    """Unrounded amount (currency units) Lago bills for one more event of a pay-in-advance charge.

    ``before``: the period's usage of the fee the event falls in, without the event (its units,
    events count and values in time order); ``value``: what the event adds to the units (1 for a
    count metric, its field value for a sum metric, 1 or 0 for a unique count);
    ``precise_total_amount_cents``: the event's amount for a dynamic charge.
    """
    if charge_model == "volume":
        raise PricingError("volume charges cannot be paid in advance (Lago refuses them)")
    if charge_model == "dynamic":
        return _dynamic(before, value, precise_total_amount_cents or ZERO, currency)
    count = before.events_count if before.events_count is not None else len(before.transactions)
    if charge_model == "percentage":
        rules = PercentageRules.parse(properties, premium=premium)
        if not rules.per_transaction and (rules.free_events or rules.free_total):
            raise PricingError(
                "percentage: a pay-in-advance fee with free units is not modelled (Lago reads "
                "its running total including the new event on both sides)"
            )

    def amount(
        units: Decimal, transactions: tuple[Decimal, ...], events: int, first: bool
    ) -> Decimal:
        return model_amount(
            charge_model,
            properties,
            units,
            transactions=transactions,
            events_count=events,
            premium=premium,
            count_aggregation=count_aggregation,
            before_event=first,
        )

    after = amount(before.units + value, (*before.transactions, value), count + 1, False)
    return after - amount(before.units, before.transactions, count, True)
