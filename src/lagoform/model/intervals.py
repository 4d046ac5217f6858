"""Interval arithmetic: how many billing periods make a year, and money on a common basis.

Lago compares plans across intervals by their yearly base fee (``Plan#yearly_amount_cents``:
weekly × 52, monthly × 12, quarterly × 4, semiannual × 2, yearly × 1; API_NOTES §5.2). A
yearly or semiannual plan may bill its charges monthly (``bill_charges_monthly``), so its
usage period is a month while its fee's period is the plan's. Revenue figures are compared on
one basis: an amount of one period times the periods in a year, over the periods of the basis
(a yearly fee's monthly share is a twelfth of it). Pure.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "PERIODS_PER_YEAR",
    "charges_interval",
    "monthly_cents",
    "periods_per_year",
    "rebase",
    "yearly_cents",
]

PERIODS_PER_YEAR: dict[str, int] = {
    "weekly": 52,
    "monthly": 12,
    "quarterly": 4,
    "semiannual": 2,
    "yearly": 1,
}
_SPLIT = ("yearly", "semiannual")


def periods_per_year(interval: Any) -> int:
    """Billing periods in a year (12 when the interval is unknown or not given)."""
    return PERIODS_PER_YEAR.get(str(interval), 12)


def charges_interval(interval: Any, bill_charges_monthly: Any = False) -> str:
    """The period a plan bills its charges (usage) for: monthly for a yearly or semiannual plan
    that bills charges monthly (Lago honours the flag only there), else the plan's interval."""
    if bill_charges_monthly and str(interval) in _SPLIT:
        return "monthly"
    return str(interval or "monthly")


def yearly_cents(amount_cents: Any, interval: Any) -> int | None:
    """A base fee's yearly amount, as Lago compares plans on an upgrade or downgrade."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
        return None
    return amount_cents * periods_per_year(interval)


def rebase(cents: int | Decimal, interval: Any, basis: Any) -> Decimal:
    """An amount of one ``interval`` period as an amount of one ``basis`` period (exact):
    ``rebase(360000, "yearly", "monthly") == 30000``."""
    return Decimal(cents) * periods_per_year(interval) / periods_per_year(basis)


def monthly_cents(cents: int, interval: Any) -> int:
    """One ``interval`` period's amount on the monthly run-rate basis, in whole minor units
    (halves away from zero): ``monthly_cents(500000, "yearly") == 41667``."""
    return int(rebase(cents, interval, "monthly").quantize(Decimal(1), rounding=ROUND_HALF_UP))
