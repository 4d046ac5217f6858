"""A subscription's invoice for one period: plan base fee, charge fees, minimum commitment.

Proration follows Lago's day count (API_NOTES §13.8): an amount for a partial period is
amount × days billed / days in the full period, rounded to cents once. The plan's
``minimum_commitment`` tops the invoice up to the (prorated) commitment, counting the subscription
fee and every charge fee with its true-up, before taxes, coupons and credits (§13.7).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lagoform.pricing.charges import ChargeFees
from lagoform.pricing.rounding import ZERO, PricingError, lago_prorated, round_half_up

__all__ = [
    "InvoiceTotal",
    "TaxedLine",
    "base_fee_cents",
    "days_in_period",
    "invoice_total",
    "proration",
    "taxes_cents",
]

ONE = Decimal(1)
_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "yearly": 12}


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def days_in_period(interval: str, period_start: date) -> int:
    """Days in the billing period of a plan ``interval`` that starts on ``period_start``.

    Calendar billing starts periods on the 1st (a monthly period of February has 28 or 29 days);
    anniversary billing starts them on the subscription's day, clamped to the month's end.
    """
    if interval == "weekly":
        return 7
    if interval not in _MONTHS:
        raise PricingError(f"unknown plan interval {interval!r}")
    return (_add_months(period_start, _MONTHS[interval]) - period_start).days


def proration(days_billed: int, period_days: int) -> Decimal:
    """Fraction of a period billed: 22 of 31 days → 22/31 (full precision)."""
    if period_days <= 0 or not 0 <= days_billed <= period_days:
        raise PricingError(f"cannot prorate {days_billed} of {period_days} days")
    return Decimal(days_billed) / Decimal(period_days)


def base_fee_cents(
    amount_cents: int,
    period_fraction: Decimal = ONE,
    *,
    period_days: tuple[int, int] | None = None,
) -> int:
    """The plan's subscription fee for the billed part of a period ($10 × 22/31 → 710).

    ``period_days = (days billed, days in the period)`` computes it as Lago's server does
    (``lago_prorated``); a full period bills the amount itself."""
    if period_days is not None:
        if period_days[0] == period_days[1]:
            return amount_cents
        return round_half_up(lago_prorated(amount_cents, *period_days))
    return round_half_up(Decimal(amount_cents) * period_fraction)


@dataclass(frozen=True)
class TaxedLine:
    """An amount of minor units and the rates (percent) of the taxes that apply to it."""

    amount_cents: int
    rates: tuple[tuple[str, Decimal], ...]  # (tax code, rate)


def taxes_cents(lines: Iterable[TaxedLine]) -> tuple[int, dict[str, int]]:
    """Taxes of an invoice (or of one fee): per tax, the sum of its lines × rate ÷ 100 in
    floating point; the total is the unrounded per-tax amounts added up, rounded once
    (invoices/apply_taxes_service.rb:30-44, fees/apply_taxes_service.rb:37-51).
    Returns (total, {tax code: rounded amount})."""
    per_tax: dict[str, Decimal] = {}
    for line in lines:
        for code, rate in line.rates:
            per_tax[code] = per_tax.get(code, ZERO) + Decimal(line.amount_cents) * rate
    unrounded = {code: float(total) / 100 for code, total in per_tax.items()}
    total = round_half_up(Decimal(sum(unrounded.values(), 0.0)))
    return total, {code: round_half_up(Decimal(value)) for code, value in unrounded.items()}


@dataclass(frozen=True)
class InvoiceTotal:
    """One subscription's invoice for one period, in minor units, before taxes and coupons."""

    base_fee_cents: int
    charges_cents: int
    commitment_top_up_cents: int

    @property
    def total_cents(self) -> int:
        return self.base_fee_cents + self.charges_cents + self.commitment_top_up_cents


def invoice_total(
    base_fee: int,
    charges: Iterable[ChargeFees | int],
    *,
    minimum_commitment_cents: int | None = None,
    period_fraction: Decimal = ONE,
    period_days: tuple[int, int] | None = None,
) -> InvoiceTotal:
    """Add up a period's invoice and its minimum-commitment top-up.

    ``base_fee`` is the subscription fee already prorated (``base_fee_cents``); ``charges`` are
    the charges' fees (``ChargeFees`` count with their true-up) or plain cent amounts;
    ``period_days`` (Lago's arithmetic, ``lago_prorated``) or ``period_fraction`` prorates the
    commitment for a partial period.
    """
    charges_cents = sum(c.total_cents if isinstance(c, ChargeFees) else c for c in charges)
    top_up = 0
    if minimum_commitment_cents:
        if period_days is not None:
            prorated = lago_prorated(minimum_commitment_cents, *period_days, coefficient_first=True)
        else:
            prorated = Decimal(minimum_commitment_cents) * period_fraction
        top_up = max(0, round_half_up(prorated) - (base_fee + charges_cents))
    return InvoiceTotal(base_fee, charges_cents, top_up)
