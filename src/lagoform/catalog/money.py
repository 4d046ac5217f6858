"""Money and exact decimals: `99.00 USD` <-> cents, `0.0000025` <-> "0.0000025".

Everything is ``Decimal``; a float is refused at the door because it has already lost digits.
Which currency codes Lago accepts and what a "cent" is (JPY has none, KWD has three) is the one
currency table, ``lagoform.model.currency``: this module only parses and validates YAML.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, model_validator

from lagoform.catalog.numbers import cents_problem, extent_problem
from lagoform.model import currency as currencies
from lagoform.model.currency import from_cents, sub_unit_error, to_cents

__all__ = [
    "Currency",
    "ExactDecimal",
    "Money",
    "decimal_text",
    "from_cents",
    "sub_unit_error",
    "to_cents",
    "to_decimal",
]


_MONEY_TEXT = re.compile(r"^\s*([-+]?[0-9][0-9_,]*(?:\.[0-9]+)?|[-+]?\.[0-9]+)\s+([A-Za-z]{3})\s*$")


def to_decimal(value: Any) -> Decimal:
    """A number from YAML (int, Decimal, or text) as an exact Decimal; refuses floats."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got true/false")
    if isinstance(value, float):
        raise ValueError("expected an exact number (text or Decimal), got a binary float")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"expected a number, got '{value}'") from None
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    problem = extent_problem(result)  # also refuses infinities and NaN
    if problem:
        raise ValueError(problem)
    return result


def decimal_text(value: Decimal) -> str:
    """Exact positional text (never exponent notation): 2.5E-7 -> "0.00000025"."""
    text = format(value, "f")
    return "0" if text in ("-0", "-0.0") else text


def _coerce_decimal(value: Any) -> Decimal:
    return to_decimal(value)


# A decimal written as text or a YAML number; serialised (JSON Schema, dumps) as text.
ExactDecimal = Annotated[
    Decimal,
    BeforeValidator(_coerce_decimal),
    PlainSerializer(decimal_text, return_type=str, when_used="json"),
]


def _coerce_currency(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a currency code such as USD")
    code = value.strip().upper()
    if not currencies.is_accepted(code):
        raise ValueError(f"expected an ISO 4217 currency code Lago accepts, got '{value}'")
    return code


Currency = Annotated[str, BeforeValidator(_coerce_currency)]


class Money(BaseModel):
    """An amount in a currency: written `99.00 USD` or `{amount: "99.00", currency: USD}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: ExactDecimal
    currency: Currency

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _MONEY_TEXT.match(value)
            if not match:
                raise ValueError(
                    f"expected an amount and a currency like '99.00 USD', got '{value}'"
                )
            return {"amount": match.group(1).replace(",", ""), "currency": match.group(2)}
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            raise ValueError(f"expected an amount with its currency, like '{value} USD'")
        return value

    @model_validator(mode="after")
    def _whole_minor_units(self) -> Money:
        if self.amount < 0:
            raise ValueError(f"expected an amount of 0 or more, got {self}")
        error = sub_unit_error(self.amount, self.currency) or cents_problem(self.cents)
        if error:
            raise ValueError(error)
        return self

    @property
    def cents(self) -> int:
        return to_cents(self.amount, self.currency)

    def __str__(self) -> str:
        return f"{decimal_text(self.amount)} {self.currency}"

    @classmethod
    def from_cents(cls, cents: int, currency: str) -> Money:
        return cls(amount=from_cents(cents, currency), currency=currency)
