"""Decimal amounts as Lago's Rails server reads and writes them.

Lago renders decimal columns (credits, units, precise amounts, expression results) with Ruby's
``BigDecimal#to_s``: plain notation, trailing zeros dropped, at least one decimal (``"3.0"``,
``"2.5"``); it accepts credit and rate amounts only as JSON strings.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["decimal_string", "decimal_text", "lenient_decimal", "scalar_text"]

_LEADING_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def decimal_text(number: Decimal) -> str:
    """``BigDecimal#to_s`` in Rails: ``Decimal("10")`` → ``"10.0"``, ``Decimal("2.50")`` →
    ``"2.5"``."""
    if number == 0:
        return "0.0"
    text = format(number.normalize(), "f")
    return text if "." in text else f"{text}.0"


def decimal_string(value: Any) -> Decimal | None:
    """A decimal sent as a JSON string (Lago refuses numbers for credits); None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def lenient_decimal(value: Any) -> Decimal:
    """How a Rails decimal column casts what it is given: a number, or the leading number of a
    string (``"12abc"`` → 12), and 0 for anything else (``"asdfa"`` → 0)."""
    if isinstance(value, bool):
        return Decimal(0)
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, str):
        found = _LEADING_NUMBER.match(value)
        if found:
            return Decimal(found.group(0).strip())
    return Decimal(0)


def scalar_text(value: Any) -> Any:
    """A JSON scalar stored in a string column: numbers and booleans become their text (an
    ``external_id`` sent as 123 reads back "123"); anything else is returned as is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return value
