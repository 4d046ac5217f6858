"""Amounts in minor units shown as people read them: ``123456, "USD"`` → ``1,234.56 USD``."""

from __future__ import annotations

from lagoform.pricing.rounding import currency_exponent

__all__ = ["money", "signed_money"]


def money(cents: int, currency: str | None) -> str:
    exponent = currency_exponent(currency)
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 10**exponent)
    text = f"{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "")
    return f"{sign}{text} {currency}".rstrip() if currency else f"{sign}{text}"


def signed_money(cents: int, currency: str | None) -> str:
    """A change: always with its sign (``+12.00 USD``, ``-3.50 USD``, ``±0.00 USD``)."""
    if cents == 0:
        return "±" + money(0, currency)
    return ("+" if cents > 0 else "") + money(cents, currency)
