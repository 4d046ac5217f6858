"""The one currency table: Lago's accepted codes and the money gem's minor units."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
import yaml

from lagoform.model.currency import (
    ACCEPTED,
    exponent,
    from_cents,
    money,
    round_to_cents,
    signed_money,
    sub_unit_error,
    subunit_to_unit,
    to_cents,
)
from tests.lago.contract_check import SPEC_ENV, spec_path


def test_the_server_accepts_four_codes_the_spec_does_not_list() -> None:
    path = spec_path()
    if not path.is_file():
        pytest.skip(f"Lago's OpenAPI spec not found at {path} (set {SPEC_ENV})")
    enum = set(
        yaml.safe_load(path.read_text(encoding="utf-8"))["components"]["schemas"]["Currency"][
            "enum"
        ]
    )
    # lago-api app/models/concerns/currencies.rb lists these too; the spec drifts behind it
    assert ACCEPTED - enum == {"BHD", "IRR", "JOD", "KWD"}
    assert enum <= ACCEPTED
    assert len(ACCEPTED) == 142


@pytest.mark.parametrize(
    ("code", "subunit", "decimals"),
    [
        ("USD", 100, 2),
        ("EUR", 100, 2),
        ("JPY", 1, 0),
        ("HUF", 1, 0),  # the money gem 7 has no filler for HUF
        ("MGA", 1, 0),
        ("KWD", 1000, 3),
        ("BHD", 1000, 3),
        ("JOD", 1000, 3),
        ("CLF", 10_000, 4),
        ("MRO", 5, 1),
        ("IRR", 100, 2),
    ],
)
def test_minor_units(code: str, subunit: int, decimals: int) -> None:
    assert code in ACCEPTED
    assert (subunit_to_unit(code), exponent(code)) == (subunit, decimals)


@pytest.mark.parametrize(
    ("cents", "code", "text"),
    [
        (123456, "USD", "1,234.56 USD"),
        (-5, "USD", "-0.05 USD"),
        (1234, "JPY", "1,234 JPY"),
        (1234, "KWD", "1.234 KWD"),
        (12345, "CLF", "1.2345 CLF"),
        (7, "MRO", "1.4 MRO"),
        (500, None, "500 (cents)"),
    ],
)
def test_money_text(cents: int, code: str | None, text: str) -> None:
    assert money(cents, code) == text


def test_signed_money() -> None:
    assert (signed_money(250, "EUR"), signed_money(0, "EUR")) == ("+2.50 EUR", "±0.00 EUR")
    assert signed_money(-1, "KWD") == "-0.001 KWD"


def test_exact_amounts_to_cents_and_back() -> None:
    assert to_cents(D("1.2345"), "CLF") == 12345
    assert to_cents(D("99.00"), "USD") == 9900
    assert to_cents(D("1.4"), "MRO") == 7
    assert from_cents(12345, "CLF") == D("1.2345")
    assert sub_unit_error(D("0.001"), "USD") == (
        "0.001 USD is not a whole number of cents (smallest step 0.01)"
    )
    with pytest.raises(ValueError, match="not a whole number of minor units"):
        to_cents(D("1.5"), "JPY")


@pytest.mark.parametrize(
    ("amount", "code", "cents"),
    [
        ("0.175", "USD", 18),  # half up, not to even
        ("-0.175", "USD", -18),  # away from zero, like Ruby's BigDecimal#round
        ("199.5", "JPY", 200),
        ("1.2345", "KWD", 1235),
        ("0.00005", "CLF", 1),
        ("1.25", "MRO", 6),  # rounded to 1.3, times 5 = 6.5, truncated by Lago's integer column
    ],
)
def test_fee_rounding(amount: str, code: str, cents: int) -> None:
    assert round_to_cents(D(amount), code) == cents


@pytest.mark.parametrize("code", sorted(ACCEPTED))
def test_every_currency_round_trips(code: str) -> None:
    one = D(1) / subunit_to_unit(code)
    assert to_cents(from_cents(12345, code), code) == 12345
    assert to_cents(one, code) == 1
    assert money(12345, code).endswith(f" {code}")
