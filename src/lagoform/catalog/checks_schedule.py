"""Checks of ``scheduled:`` prices: the same rules as the prices they replace, and dates.

A scheduled price is checked now, when it is written, not on its date: its properties by the
charge model's rules and its ``per:`` unit, its minimum in whole cents, its fee in the plan's
currency. Two entries of one list may not share a date (which would win?). An effective date in
the past is fine: the entry has taken over (``lagoform.engine.scheduled``).
"""

from __future__ import annotations

from collections.abc import Sequence

from lagoform.catalog.checks_charge import (
    Path,
    Report,
    check_amount,
    check_cents,
    check_properties,
)
from lagoform.catalog.checks_units import check_unit_prices
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_schedule import ScheduledEntry

__all__ = ["check_scheduled"]


def check_scheduled(report: Report, plan: BillingPlan) -> None:
    """Every ``scheduled:`` entry of ``plan`` (its fee, its charges, their filters)."""
    currency = plan.currency
    _check_dates(report, ("scheduled",), plan.scheduled)
    for index, fee in enumerate(plan.scheduled):
        path = ("scheduled", index, "amount")
        if fee.amount.currency != currency:
            report.at(
                path,
                f"expected an amount in the plan's currency {currency}, got {fee.amount.currency}",
            )
        check_amount(report, path, fee.amount.amount, "amount")
    for c_index, charge in enumerate(plan.charges):
        at: Path = ("charges", c_index, "scheduled")
        _check_dates(report, at, charge.scheduled)
        for index, price in enumerate(charge.scheduled):
            if price.properties is not None:
                here = (*at, index, "properties")
                check_properties(report, here, price.properties)
                check_unit_prices(report, here, price.properties, charge.per)
            if price.min_amount is not None:
                check_cents(report, (*at, index, "min_amount"), price.min_amount, currency)
        for f_index, charge_filter in enumerate(charge.filters):
            at = ("charges", c_index, "filters", f_index, "scheduled")
            _check_dates(report, at, charge_filter.scheduled)
            per = charge_filter.per or charge.per
            for index, filter_price in enumerate(charge_filter.scheduled):
                here = (*at, index, "properties")
                check_properties(report, here, filter_price.properties)
                check_unit_prices(report, here, filter_price.properties, per)


def _check_dates(report: Report, path: Path, entries: Sequence[ScheduledEntry]) -> None:
    first: dict[object, int] = {}
    for index, entry in enumerate(entries):
        if entry.effective in first:
            report.at(
                (*path, index, "effective"),
                f"two scheduled prices take effect on {entry.effective.isoformat()} (entry "
                f"#{first[entry.effective] + 1} has that date too)",
                "give each scheduled price its own date, or merge the two",
            )
        first.setdefault(entry.effective, index)
