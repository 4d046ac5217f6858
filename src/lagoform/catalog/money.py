"""Money and exact decimals: `99.00 USD` <-> cents, `0.0000025` <-> "0.0000025".

Everything is ``Decimal``; a float is refused at the door because it has already lost digits.
Currency codes are the ISO 4217 codes Lago accepts; the minor-unit exponent decides what a
"cent" is (JPY has none, KWD has three).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, model_validator

from lagoform.catalog.numbers import cents_problem, extent_problem


def _words(text: str) -> list[str]:
    return text.split()


# ISO 4217 codes accepted by Lago as amount currencies (checked against Lago's spec in tests).
CURRENCIES: frozenset[str] = frozenset(
    _words(
        """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BIF BMD BND BOB BRL BSD BWP BYN BZD
    CAD CDF CHF CLF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR ISK JMD JPY KES KGS KHR KMF KRW KYD KZT
    LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRO MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK
    NPR NZD PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SEK SGD SHP SLL SOS SRD
    STD SZL THB TJS TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VND VUV WST XAF XCD XOF XPF YER ZAR
    ZMW
    """
    )
)

# Minor units that are not 2 (ISO 4217); Lago's amount_cents counts these minor units.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_words("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"), 0),
    **dict.fromkeys(_words("BHD IQD JOD KWD LYD OMR TND"), 3),
    "CLF": 4,
    "MGA": 1,
    "MRO": 1,
}

_MONEY_TEXT = re.compile(r"^\s*([-+]?[0-9][0-9_,]*(?:\.[0-9]+)?|[-+]?\.[0-9]+)\s+([A-Za-z]{3})\s*$")


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


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
    if code not in CURRENCIES:
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


def sub_unit_error(amount: Decimal, currency: str) -> str | None:
    """Why ``amount`` cannot be sent as whole minor units of ``currency`` (None if it can)."""
    exp = exponent(currency)
    scaled = amount.scaleb(exp)
    if scaled != scaled.to_integral_value():
        smallest = Decimal(1).scaleb(-exp)
        return (
            f"{decimal_text(amount)} {currency} is not a whole number of "
            f"{'cents' if exp == 2 else 'minor units'} (smallest step {decimal_text(smallest)})"
        )
    return None


def to_cents(amount: Decimal, currency: str) -> int:
    """Exact conversion to Lago's ``*_cents`` integers; raises ValueError on sub-cent amounts."""
    error = sub_unit_error(amount, currency)
    if error:
        raise ValueError(error)
    return int(amount.scaleb(exponent(currency)))


def from_cents(cents: int, currency: str) -> Decimal:
    """Lago's integer minor units back to a Decimal with the currency's usual decimals."""
    exp = exponent(currency)
    quantum = Decimal(1).scaleb(-exp)
    return (Decimal(int(cents)).scaleb(-exp)).quantize(quantum)
