"""Money and exact decimals: cents per currency, no float anywhere, errors on sub-cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from lagoform.catalog.money import (
    Money,
    decimal_text,
    from_cents,
    to_cents,
    to_decimal,
)


def test_person_written_money_becomes_exact_cents() -> None:
    assert Money.model_validate("99.00 USD").cents == 9900
    assert Money.model_validate("2,500.50 EUR").cents == 250050
    assert Money.model_validate({"amount": "0.10", "currency": "usd"}).cents == 10
    assert Money.model_validate("1000 JPY").cents == 1000
    assert Money.model_validate("1.2345 CLF").cents == 12345
    assert Money.model_validate("1.234 KWD").cents == 1234  # Lago's server accepts KWD and BHD
    assert Money.model_validate("0.5 BHD").cents == 500


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("99.001 USD", "99.001 USD is not a whole number of cents (smallest step 0.01)"),
        ("10.5 JPY", "not a whole number of minor units (smallest step 1)"),
        ("99 usdx", "expected an amount and a currency like '99.00 USD'"),
        ("99 ABC", "expected an ISO 4217 currency code Lago accepts, got 'ABC'"),
        ("-5 USD", "expected an amount of 0 or more"),
    ],
)
def test_bad_money_is_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Money.model_validate(text)
    assert fragment in str(caught.value)


def test_a_bare_number_needs_its_currency() -> None:
    with pytest.raises(ValidationError, match="like '99 USD'"):
        Money.model_validate(99)


def test_floats_are_refused_and_text_is_exact() -> None:
    with pytest.raises(ValueError, match="binary float"):
        to_decimal(0.1)
    assert to_decimal("0.0000025") == Decimal("0.0000025")
    assert decimal_text(Decimal("0.0000025")) == "0.0000025"
    assert decimal_text(Decimal("2.5E-7")) == "0.00000025"
    assert decimal_text(Decimal("1E+3")) == "1000"
    assert decimal_text(Decimal("-0")) == "0"


def test_cents_round_trip() -> None:
    assert to_cents(Decimal("99.00"), "USD") == 9900
    assert from_cents(9900, "USD") == Decimal("99.00")
    assert str(from_cents(5, "USD")) == "0.05"
    assert str(Money.from_cents(123, "JPY")) == "123 JPY"
    with pytest.raises(ValueError, match="not a whole number of cents"):
        to_cents(Decimal("0.001"), "USD")
