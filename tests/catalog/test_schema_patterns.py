"""The editor schema's patterns and the models agree: what the editor passes, the models accept,
and what people write that the models accept, the editor does not underline.

Driven by hypothesis on both sides: strings generated *from each pattern* must validate in the
model, and values generated *as people write them* must match the pattern.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from lagoform.catalog import AddOn, Subscription, Tax, UsageMapping, Wallet
from lagoform.catalog.numbers import extent_problem
from lagoform.catalog.schema import (
    CURRENCY_PATTERN,
    DATE_PATTERN,
    DECIMAL_PATTERN,
    MONEY_PATTERN,
    RECORD_PATH_PATTERN,
)
from lagoform.model.currency import ACCEPTED as CURRENCIES


def _accepts(model: Any, data: dict[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except ValidationError:
        return False
    return True


def _rate(value: Any) -> bool:
    return _accepts(Tax, {"code": "t", "name": "T", "rate": value})


def _start(value: Any) -> bool:
    return _accepts(Subscription, {"external_id": "s", "plan": "p", "start_date": value})


def _price(value: Any) -> bool:
    return _accepts(AddOn, {"code": "a", "name": "A", "amount": value})


def _path(value: Any) -> bool:
    events = [{"key": "k", "metric": "m"}]
    return _accepts(UsageMapping, {"record_type": "r", "tenant": value, "events": events})


def _matches(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


def _within_extent(text: str) -> bool:
    # The pattern checks how a number is written; how big it may be (40 digits, exponents
    # within ±40: lagoform.catalog.numbers) is for validate, like Lago's column ranges.
    return extent_problem(Decimal(text.strip().replace("_", ""))) is None


@given(st.from_regex(DECIMAL_PATTERN, fullmatch=True))
def test_decimal_text_the_editor_passes_is_a_number(text: str) -> None:
    assume("\n" not in text)  # `$` also matches before a final newline in Python
    assume(_within_extent(text))
    assert _rate(text)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_numbers_as_written_are_not_underlined(value: Decimal) -> None:
    assume(abs(value.adjusted()) < 10**6)  # the pattern's exponent has at most 6 digits
    for text in (str(value), format(value, "f"), f" {value} "):
        assert _matches(DECIMAL_PATTERN, text), text
        if _within_extent(text):
            assert _rate(text)
        else:  # beyond the extent: the editor lets it through, validate names it
            assert not _rate(text)


def test_words_are_underlined_and_refused() -> None:
    for text in ("fourteen", "abc", "1.2.3", "", "1e", "NaN", "Infinity", "12 USD", "--1"):
        assert not _matches(DECIMAL_PATTERN, text), text
        assert not _rate(text), text


@given(st.from_regex(DATE_PATTERN, fullmatch=True))
def test_dates_the_editor_passes_are_dates(text: str) -> None:
    assume("\n" not in text)
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    try:
        dt.date(year, month, day)
    except ValueError:
        assume(False)  # 2026-02-30: the pattern checks ranges, validate checks the calendar
    assume(year >= 1)
    assert _start(text)


@given(st.datetimes(timezones=st.none() | st.just(dt.UTC)), st.booleans())
def test_dates_as_written_are_not_underlined(moment: dt.datetime, bare: bool) -> None:
    assume(moment.year >= 1000)
    text = moment.date().isoformat() if bare else moment.isoformat()
    assert _matches(DATE_PATTERN, text), text
    assert _start(text)


def test_impossible_dates_are_underlined_and_refused() -> None:
    for text in ("2026-13-45", "2026-00-10", "2026-01-32", "tomorrow", "2026/01/01", "26-01-01"):
        assert not _matches(DATE_PATTERN, text), text
        assert not _start(text), text


@given(st.decimals(min_value=0, max_value=10**9, places=2), st.sampled_from(sorted(CURRENCIES)))
def test_money_as_written_is_not_underlined(amount: Decimal, currency: str) -> None:
    text = f"{amount} {currency}"
    assert _matches(MONEY_PATTERN, text)
    assert _matches(CURRENCY_PATTERN, currency)
    if currency in ("USD", "EUR", "GBP"):
        assert _price(text)


@given(st.sampled_from(["USD", "EUR", "GBP", "CHF"]), st.data())
def test_money_the_editor_passes_is_money(currency: str, data: st.DataObject) -> None:
    amount = data.draw(st.from_regex(r"\A[0-9]{1,7}(\.[0-9]{1,2})?\Z"))
    text = f"{amount} {currency}"
    assert _matches(MONEY_PATTERN, text) and _price(text)


def test_money_without_a_currency_is_underlined_and_refused() -> None:
    for text in ("99 dollars", "99", "USD 99", "99.00USD", "abc USD"):
        assert not _matches(MONEY_PATTERN, text), text
        assert not _price(text), text


@given(st.from_regex(RECORD_PATH_PATTERN, fullmatch=True))
def test_record_paths_the_editor_passes_parse(text: str) -> None:
    assume("\n" not in text)
    assert _path(text)


def test_malformed_record_paths_are_underlined_and_refused() -> None:
    for text in ("tenant", "$", "$a..b", "$a.", "$a b"):
        assert not _matches(RECORD_PATH_PATTERN, text), text
        assert not _path(text), text


def test_every_currency_lago_accepts_matches() -> None:
    for code in CURRENCIES:
        assert _matches(CURRENCY_PATTERN, code)
        assert _accepts(Wallet, {"code": "w", "currency": code})
