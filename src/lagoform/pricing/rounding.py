"""Decimal parsing and Lago's rounding of amounts to the currency's minor unit.

Lago keeps full precision while it prices usage and rounds each fee to cents exactly once, half-up
(API_NOTES §13.3). The calculator turns a precise amount into an integer of minor units only
through ``to_cents`` (the currency's minor unit is ``lagoform.model.currency``), so "round once"
stays true by construction. It also holds ``PricingError``, raised for
charge properties or usage the calculator cannot price.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from lagoform.errors import LagoformError
from lagoform.model.currency import round_to_cents

__all__ = [
    "PricingError",
    "ceil_decimal",
    "lago_prorated",
    "round_half_up",
    "to_cents",
    "to_decimal",
]

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class PricingError(LagoformError):
    """Charge properties or usage that the pricing calculator cannot price as Lago would."""


def to_decimal(value: Any, *, field: str = "value") -> Decimal:
    """Parse a Lago amount (JSON string, int, float or Decimal) without binary-float noise.

    ``None`` and ``""`` read as zero, as Lago treats an unset optional amount.
    """
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        raise PricingError(f"{field}: expected a decimal amount, got a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise PricingError(f"{field}: {value!r} is not a decimal amount") from None
    else:
        raise PricingError(f"{field}: expected a decimal amount, got {type(value).__name__}")
    if not result.is_finite():
        raise PricingError(f"{field}: {value!r} is not a finite amount")
    return result


def ceil_decimal(value: Decimal) -> Decimal:
    """Smallest whole number not below ``value`` (as a Decimal)."""
    return value.to_integral_value(rounding=ROUND_CEILING)


def to_cents(amount: Decimal, *, currency: str | None = None) -> int:
    """Round a precise amount in currency units to whole minor units, half-up (0.175 → 18).

    Half-up is away from zero for negative amounts too (-0.175 → -18), like Ruby's
    ``BigDecimal#round``. ``currency`` selects the minor unit (JPY: none, KWD: 1/1000) from the
    one currency table (``lagoform.model.currency``); no currency means cents.
    """
    return round_to_cents(amount, currency)


def round_half_up(value: Decimal) -> int:
    """Nearest whole number, halves away from zero (Ruby's ``round``)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def lago_prorated(
    amount: Decimal | int, days: int, period_days: int, *, coefficient_first: bool = False
) -> Decimal:
    """An amount of minor units for ``days`` of a ``period_days`` period, computed in binary
    floating point the way Lago's server computes it, so its rounding lands where Lago's does:
    amount ÷ period × days for the subscription fee and the charge minimum
    (subscriptions/dates_service.rb:197-200, fees/create_true_up_service.rb:55-62), amount ×
    (days ÷ period) for the minimum commitment (commitments/minimum/calculate_preview_fee
    _service.rb:36-42). Returns the float's exact value; round it with ``round_half_up``."""
    if period_days <= 0 or not 0 <= days <= period_days:
        raise PricingError(f"cannot prorate {days} of {period_days} days")
    if coefficient_first:
        return Decimal(float(amount) * (days / float(period_days)))
    return Decimal(float(amount) / period_days * days)
