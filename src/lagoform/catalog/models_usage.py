"""Usage mappings: how a usage record becomes Lago events (read by the dispatch worker).

Values starting with ``$`` are record paths (``$usage.input.text``); ``$$`` escapes a literal
dollar. ``parse_record_path`` is the one parser both validation and dispatch use.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from lagoform.catalog.models_base import CatalogModel, Code, FanOutKey, Text
from lagoform.catalog.money import decimal_text, to_decimal

_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]+$")


def is_record_path(value: object) -> bool:
    return isinstance(value, str) and value.startswith("$") and not value.startswith("$$")


def parse_record_path(value: str) -> tuple[str, ...]:
    """``$a.b.0`` -> ("a", "b", "0"); raises ValueError when malformed."""
    if not is_record_path(value):
        raise ValueError(f"expected a record path starting with $, got '{value}'")
    body = value[1:]
    segments = tuple(body.split("."))
    if not body or not all(_SEGMENT.match(s) for s in segments):
        raise ValueError(
            f"malformed record path '{value}': expected $name or $name.sub.path "
            "(letters, digits, _ and - separated by dots)"
        )
    return segments


def literal_value(value: Any) -> Any:
    """A constant as the worker sends it: ``$$x`` -> ``$x``, Decimals as exact text."""
    if isinstance(value, str) and value.startswith("$$"):
        return value[1:]
    if isinstance(value, Decimal):
        return decimal_text(value)
    return value


def _path(value: Any) -> Any:
    if isinstance(value, str):
        parse_record_path(value)
    return value


def _path_or_number(value: Any) -> Any:
    if is_record_path(value):
        parse_record_path(value)
        return value
    return to_decimal(value)


def _path_or_int(value: Any) -> Any:
    if is_record_path(value):
        parse_record_path(value)
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected a record path ($field) or a whole number")
    return value


def _property_value(value: Any) -> Any:
    if is_record_path(value):
        parse_record_path(value)
        return value
    if isinstance(value, bool | int | Decimal | str):
        return value
    raise ValueError("expected a constant (text, number, true/false) or a record path ($field)")


def _constant(value: Any) -> Any:
    if is_record_path(value):
        raise ValueError(
            f"expected a constant, got the record path '{value}' (write $$ for a literal $)"
        )
    if isinstance(value, bool | int | Decimal | str):
        return value
    raise ValueError("expected a constant (text, number, true/false)")


RecordPath = Annotated[str, BeforeValidator(_path)]
PathOrNumber = Annotated[str | Decimal, BeforeValidator(_path_or_number)]
PathOrInt = Annotated[str | int, BeforeValidator(_path_or_int)]
PropertyValue = Annotated[str | int | Decimal | bool, BeforeValidator(_property_value)]
Constant = Annotated[str | int | Decimal | bool, BeforeValidator(_constant)]
DEFAULTS_DESCRIPTION = (
    "Property name -> the constant sent when the record lacks the value (missing or null) of a "
    "property read from the record; a filter property's default must be one of its values."
)


class UsageEventMapping(CatalogModel):
    """One event (or ``repeat`` events) emitted per record."""

    key: FanOutKey = Field(
        description="Fan-out key, unique within the mapping, without ':' or '#'; part of the "
        "event's transaction_id.",
        examples=["tokens.input.text"],
    )
    metric: Code = Field(
        description="Code of the billable metric the event is for.", examples=["token_usage"]
    )
    quantity: PathOrNumber | None = Field(
        default=None,
        description="Record path or number written into properties[<metric field_name>]; zero "
        "or missing sends no event.",
        examples=["$usage.input.text"],
    )
    repeat: PathOrInt | None = Field(
        default=None,
        description="Record path or whole number: emit that many events (count metrics).",
        examples=["$images"],
    )
    properties: dict[Text, PropertyValue] = Field(
        default_factory=dict,
        description="Event properties: constants, or $paths into the record ($$ = a literal $).",
        examples=[{"model": "$model", "type": "input"}],
    )
    defaults: dict[Text, Constant] = Field(
        default_factory=dict,
        description=DEFAULTS_DESCRIPTION + " Wins over the mapping's defaults.",
        examples=[{"context": "standard"}],
    )


class UsageMapping(CatalogModel):
    """How usage records of one type become Lago events (read by the dispatch worker)."""

    record_type: Text = Field(
        description="The records' `type` this mapping handles (unique).",
        examples=["llm.generation_completed"],
    )
    subscription: RecordPath | None = Field(
        default=None,
        description="Record path to the subscription external_id.",
        examples=["$subscription_id"],
    )
    tenant: RecordPath | None = Field(
        default=None,
        description="Record path to the tenant (overrides/<tenant>.yaml); its usage target "
        "subscription is used.",
        examples=["$tenant"],
    )
    defaults: dict[Text, Constant] = Field(
        default_factory=dict,
        description=DEFAULTS_DESCRIPTION + " Applies to every event that reads the property.",
        examples=[{"context": "standard"}],
    )
    events: tuple[UsageEventMapping, ...] = Field(
        min_length=1, description="The events each record fans out to."
    )

    def defaults_for(self, event: UsageEventMapping) -> dict[str, Any]:
        """The defaults of ``event``'s properties read from the record (its own win over the
        mapping's), as the worker sends them (``literal_value``)."""
        read = {name for name, value in event.properties.items() if is_record_path(value)}
        merged = {k: v for k, v in self.defaults.items() if k in read} | event.defaults
        return {name: literal_value(value) for name, value in merged.items()}
