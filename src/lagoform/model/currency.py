"""The one currency table: which codes Lago accepts and what one of their "cents" is worth.

Lago stores every amount as an integer of the currency's minor units (``amount_cents``), with
the minor unit the Ruby ``money`` gem (7.0) defines: ``subunit_to_unit`` minor units make one
unit (100 for USD, 1 for JPY, 1,000 for KWD, 10,000 for CLF, 5 for MRO). A fee is rounded to
the currency's ``exponent`` decimals, half up, then multiplied by ``subunit_to_unit``
(lago-api ``app/services/fees/charge_service.rb``). The accepted codes are the server's
``Currencies::ACCEPTED_CURRENCIES`` (``app/models/concerns/currencies.rb``); Lago's OpenAPI
spec lists four fewer (BHD, IRR, JOD, KWD), which the server takes all the same.

Everything that reads or writes money in lagoform — the catalog's ``99.00 USD``, the
calculator's rounding, the sandbox's validation, every renderer — calls this module. Pure.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lagoform.model.values import finite

__all__ = [
    "ACCEPTED",
    "exponent",
    "from_cents",
    "is_accepted",
    "money",
    "round_to_cents",
    "signed_money",
    "sub_unit_error",
    "subunit_to_unit",
    "to_cents",
]

# fmt: off
ACCEPTED: frozenset[str] = frozenset((
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHF", "CLF", "CLP", "CNY", "COP", "CRC", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
    "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD",
    "HNL", "HRK", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "ISK", "JMD", "JOD", "JPY", "KES",
    "KGS", "KHR", "KMF", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD",
    "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRO", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN",
    "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
    "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLL", "SOS",
    "SRD", "STD", "SZL", "THB", "TJS", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD",
    "UYU", "UZS", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
))

# ``subunit_to_unit`` where it is not 100 (the money gem 7.0.2's currency_iso.json, and its
# backwards-compatible table for MRO).
_SUBUNITS: dict[str, int] = {
    "BIF": 1, "CLP": 1, "DJF": 1, "GNF": 1, "HUF": 1, "ISK": 1, "JPY": 1, "KMF": 1,
    "KRW": 1, "MGA": 1, "PYG": 1, "RWF": 1, "UGX": 1, "VND": 1, "VUV": 1, "XAF": 1,
    "XOF": 1, "XPF": 1,
    "BHD": 1000, "JOD": 1000, "KWD": 1000, "CLF": 10_000, "MRO": 5,
}
# fmt: on


def is_accepted(code: str) -> bool:
    return code in ACCEPTED


def subunit_to_unit(code: str | None) -> int:
    """Minor units in one unit of ``code`` (100 when unknown or not given)."""
    return _SUBUNITS.get((code or "").upper(), 100)


def exponent(code: str | None) -> int:
    """Decimals Lago rounds ``code`` to: ``round(log10(subunit_to_unit))`` (the gem's rule)."""
    return round(math.log10(subunit_to_unit(code)))


def sub_unit_error(amount: Decimal, code: str) -> str | None:
    """Why ``amount`` is not a whole number of ``code``'s minor units (None if it is)."""
    scaled = amount * subunit_to_unit(code)
    if scaled == scaled.to_integral_value():
        return None
    step = Decimal(1) / subunit_to_unit(code)
    noun = "cents" if subunit_to_unit(code) == 100 else "minor units"
    return f"{_plain(amount)} {code} is not a whole number of {noun} (smallest step {_plain(step)})"


def to_cents(amount: Decimal, code: str) -> int:
    """An exact amount as Lago's ``*_cents`` integer; ValueError when it is not whole minor
    units (a price written in YAML is never rounded silently)."""
    error = sub_unit_error(amount, code)
    if error:
        raise ValueError(error)
    return int(amount * subunit_to_unit(code))


def round_to_cents(amount: Decimal, code: str | None) -> int:
    """A precise amount (a fee) as Lago rounds it: to ``exponent`` decimals half up (halves
    away from zero, Ruby's ``BigDecimal#round``), times ``subunit_to_unit``."""
    quantum = Decimal(1).scaleb(-exponent(code))
    # Whole for every currency but MRO (5 minor units a unit), where Lago's integer column
    # truncates the product, as ``int`` does here.
    return int(amount.quantize(quantum, rounding=ROUND_HALF_UP) * subunit_to_unit(code))


def from_cents(cents: int | Decimal, code: str | None) -> Decimal:
    """Minor units back to an amount with the currency's usual decimals (12345 CLF cents →
    ``1.2345``)."""
    quantum = Decimal(1).scaleb(-exponent(code))
    return (Decimal(cents) / subunit_to_unit(code)).quantize(quantum)


def money(cents: Any, code: str | None) -> str:
    """Minor units as people read them: ``money(123456, "USD") == "1,234.56 USD"``.

    Without a currency the figure is shown with its unit (``(cents)``); a value that is not a
    number is shown as it is."""
    number = finite(cents)
    if number is None:
        return str(cents)
    if not code:
        return f"{_grouped(number)} (cents)"
    return f"{_grouped(from_cents(number, code))} {code}"


def signed_money(cents: int, code: str | None) -> str:
    """A change, always with its sign: ``+12.00 USD``, ``-3.50 USD``, ``±0.00 USD``."""
    if cents == 0:
        return "±" + money(0, code)
    return ("+" if cents > 0 else "") + money(cents, code)


def _grouped(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    whole, _, fraction = format(abs(value), "f").partition(".")
    return f"{sign}{int(whole):,}" + (f".{fraction}" if fraction else "")


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text
