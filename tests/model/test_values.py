"""``model.values.finite``: the one reading of "a number, or None" that renders, policies, the
schedule and currencies share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lagoform.model.values import finite


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0000025", Decimal("0.0000025")),
        (" 12 ", Decimal(12)),
        (7, Decimal(7)),
        (Decimal("1.50"), Decimal("1.50")),
        ("12345678901234567890.000000000000001", Decimal("12345678901234567890.000000000000001")),
    ],
)
def test_numbers_are_read_exactly(value: object, expected: Decimal) -> None:
    number = finite(value)
    assert number == expected and str(number) == str(expected)


@pytest.mark.parametrize("value", [None, True, False, "", "abc", "Infinity", "-inf", "NaN", [1]])
def test_what_is_no_finite_number_is_none(value: object) -> None:
    assert finite(value) is None
