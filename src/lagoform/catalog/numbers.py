"""How big a number lagoform reads from YAML, and the ranges of Lago's numeric columns.

Two kinds of bound, both checked offline by ``lagoform validate``:

* a sane extent for *every* number (plain YAML scalars in ``yamlsrc``, numeric text in
  ``money.to_decimal``): at most ``MAX_DIGITS`` digits and an exponent within
  ±``MAX_EXPONENT``. Without it ``1e-999999999`` makes Decimal arithmetic crawl, ``1e999999999``
  expands into a gigabyte of digits, and a 4,301-digit integer trips Python's own limit;
* the range of the column Lago keeps a field in (its ``db/structure.sql``): ``integer`` (32-bit:
  priorities, durations, payment terms, rounding precision), ``bigint`` (``*_cents``, and the
  integers of charge properties, which lagoform fingerprints as 64-bit JSON numbers) and
  ``numeric(30,5)`` (wallet credits and rates: 25 digits before the point, 5 after — Postgres
  rounds anything finer, so the YAML would never match Lago again).

Nothing here knows about YAML or pydantic models beyond the annotated types it offers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator

MAX_DIGITS = 40
MAX_EXPONENT = 40

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
CREDITS_INTEGER_DIGITS = 25
CREDITS_DECIMALS = 5


def extent_problem(value: Decimal) -> str | None:
    """Why ``value`` is beyond what lagoform reads (None when it is fine). Cheap for any input:
    it looks at the digits and the exponent, never expands the number."""
    if not value.is_finite():
        return f"expected a finite number, got {value}"
    if value.is_zero():
        return None
    digits = len(value.as_tuple().digits)
    if digits > MAX_DIGITS:
        return f"a number of {digits} digits is too long (at most {MAX_DIGITS})"
    if abs(value.adjusted()) > MAX_EXPONENT:
        return (
            f"{_short(value)} is out of range: numbers go from 1e-{MAX_EXPONENT} "
            f"to 1e{MAX_EXPONENT}"
        )
    return None


def integer_text_problem(digits: str) -> str | None:
    """The same bound for an integer still written as text (checked before ``int()``)."""
    count = len(digits.lstrip("+-").lstrip("0"))
    if count > MAX_DIGITS:
        return f"an integer of {count} digits is too long (at most {MAX_DIGITS})"
    return None


def _short(value: Decimal) -> str:
    sign, digits, _ = value.as_tuple()
    head = "".join(str(d) for d in digits[:6])
    mantissa = head[0] + ("." + head[1:] if len(head) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{value.adjusted()}"


def _within(limit: int, column: str) -> AfterValidator:
    def check(value: int | None) -> int | None:
        if value is not None and not -limit - 1 <= value <= limit:
            raise ValueError(
                f"{value} is out of range: Lago stores it as {column} "
                f"(from {-limit - 1} to {limit})"
            )
        return value

    return AfterValidator(check)


def _credits(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    if decimals(value) > CREDITS_DECIMALS:
        raise ValueError(
            f"{value} has more than {CREDITS_DECIMALS} decimals: Lago keeps credits as "
            f"numeric(30,{CREDITS_DECIMALS}) and would round it"
        )
    if not value.is_zero() and value.adjusted() >= CREDITS_INTEGER_DIGITS:
        raise ValueError(
            f"{value} is out of range: Lago keeps credits below 1e{CREDITS_INTEGER_DIGITS}"
        )
    return value


def decimals(value: Decimal) -> int:
    """Digits after the point that matter (``1.50`` has 1), without any Decimal arithmetic."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return 0
    trailing = len(digits) - len("".join(str(d) for d in digits).rstrip("0"))
    return max(0, -(exponent + trailing)) if any(digits) else 0


# Annotate a model field with these (``Int32 | None`` works too).
Int32 = Annotated[int, _within(INT32_MAX, "a 32-bit integer")]
Int64 = Annotated[int, _within(INT64_MAX, "a 64-bit integer")]
CreditsBound = AfterValidator(_credits)


def cents_problem(cents: int) -> str | None:
    """Lago's ``*_cents`` columns are ``bigint``."""
    if not -INT64_MAX - 1 <= cents <= INT64_MAX:
        return f"{cents} cents is out of range: Lago stores amounts in cents as a 64-bit integer"
    return None
