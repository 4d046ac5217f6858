"""Shared building blocks of the catalog models: the frozen base class and text/code types.

YAML writes `code: 2024` or `name: 1.5` without quotes; text fields accept such numbers and
keep their written form, so users are not punished for YAML's typing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

from lagoform.catalog.money import decimal_text


class CatalogModel(BaseModel):
    """Every catalog value: immutable, and unknown keys are errors (typos never pass silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return value  # let pydantic say "expected text"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _code(value: Any) -> Any:
    value = _text(value)
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a non-empty code")
        if value != value.strip() or any(ch.isspace() for ch in value):
            raise ValueError(f"expected a code without spaces, got '{value}'")
    return value


def _fan_out_key(value: Any) -> Any:
    # The dispatch worker's transaction ids are "<record id>:<key>", and "#<n>" numbers
    # `repeat` events: a key holding either could give two different events one id.
    value = _text(value)
    if isinstance(value, str) and not value.strip():
        raise ValueError("fan-out key must not be empty (it is part of every transaction id)")
    if isinstance(value, str) and (":" in value or "#" in value):
        raise ValueError(
            f"fan-out key '{value}' must not contain ':' or '#' (transaction ids are "
            "<record id>:<key>, and #<n> numbers repeated events)"
        )
    return value


def _datetime(value: Any) -> Any:
    # A bare date (2027-01-01) means midnight UTC that day.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value


DateTime = Annotated[dt.datetime, BeforeValidator(_datetime)]
Text = Annotated[str, BeforeValidator(_text)]
Code = Annotated[str, BeforeValidator(_code)]
# The pattern sits before the validator so that it reaches the JSON Schema (editors).
FanOutKey = Annotated[str, StringConstraints(pattern=r"^[^:#]+$"), BeforeValidator(_fan_out_key)]
