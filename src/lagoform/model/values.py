"""Scalars of the comparison form: canonical decimals, numbers, text, booleans, instants.

Desired state (the catalog's request bodies) and live state (Lago's responses) meet in one form
so that equal means "Lago would hold the same": money and rates become canonical decimal strings
(``"0.50"`` and ``0.5`` are ``"0.5"``), absent and null are one thing (``clean``), unordered
code lists are sorted. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

__all__ = ["Normal", "boolean", "clean", "codes", "dec", "finite", "num", "text", "timestamp"]

Normal = dict[str, Any]
"""An object in the comparison form (plain JSON data, ``None``-free)."""


def dec(value: Any) -> str | None:
    """Canonical decimal string (``"0.50"`` → ``"0.5"``, ``10`` → ``"10"``); None stays None."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, str | int):
        return _dec_cached(value)
    return _dec(value)


@lru_cache(maxsize=65536)
def _dec_cached(value: str | int) -> str:
    # Catalogs repeat a few hundred distinct prices across thousands of charges and filters.
    return _dec(value)


def _dec(value: Any) -> str:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def finite(value: Any) -> Decimal | None:
    """A number (a Lago or catalog value: int, Decimal or its text) as an exact Decimal; None
    for None, booleans, text that is no number, and infinities or NaN."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(value) if isinstance(value, int | Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def num(value: Any) -> int | str | None:
    """A number as an int when integral, else its canonical decimal string."""
    if value is None or isinstance(value, bool):
        return None
    text = dec(value)
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return int(number) if number == number.to_integral_value() else text


def text(value: Any) -> str | None:
    """Strings where Lago treats empty and null alike."""
    if value is None:
        return None
    out = str(value)
    return out if out != "" else None


def boolean(value: Any, default: bool) -> bool:
    return default if value is None else bool(value)


def timestamp(value: Any) -> str | None:
    """ISO-8601 instant in UTC to the second (``...Z``); a bare date means midnight UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        raw = str(value).strip()
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return raw
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def clean(mapping: Mapping[str, Any]) -> Normal:
    """Drop None values (absent and null are the same thing in the comparison form)."""
    return {k: v for k, v in mapping.items() if v is not None}


def codes(body: Mapping[str, Any], key: str = "tax_codes", objects: str = "taxes") -> list[str]:
    """Sorted codes from either a request's ``tax_codes`` or a response's ``taxes`` objects."""
    if body.get(key) is not None:
        return sorted(str(c) for c in body[key])
    return sorted(str(t["code"]) for t in body.get(objects) or [] if isinstance(t, Mapping))
