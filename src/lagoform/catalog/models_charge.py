"""Charges: typed properties per charge model, tiers, and charge filters.

A charge's ``properties`` are a union discriminated by the charge's ``model``; the charge
copies its model into its properties (and its filters' properties) before validation, so each
model's keys are checked and typos are reported against the right set of names.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from lagoform.catalog.diagnose import describe
from lagoform.catalog.models_base import CatalogModel, Code, Text
from lagoform.catalog.models_schedule import ScheduledEntry
from lagoform.catalog.money import ExactDecimal, decimal_text, to_decimal
from lagoform.catalog.numbers import Int64
from lagoform.catalog.yamlsrc import copy_mapping, copy_sequence
from lagoform.model.units import UNIT_PATTERN, Unit, parse_unit

ChargeModel = Literal[
    "standard", "graduated", "graduated_percentage", "package", "percentage", "volume", "dynamic"
]
CHARGE_MODELS: tuple[str, ...] = (
    "standard",
    "graduated",
    "graduated_percentage",
    "package",
    "percentage",
    "volume",
    "dynamic",
)
WILDCARD = "*"


def _unit(text: str) -> str:
    parse_unit(text)  # raises ValueError saying what is expected
    return text


# ``per: 1M tokens``: what a charge's (or filter's) unit prices are per. The pattern is for the
# JSON Schema (editors); the validator says in words what is expected.
UnitText = Annotated[
    str,
    AfterValidator(_unit),
    Field(
        json_schema_extra={"pattern": UNIT_PATTERN},
        description="What the unit prices are per: '1M tokens', '1K images', '100 calls' "
        "(K, M, B or a whole number, then a label). Lago gets the exact price per single unit.",
        examples=["1M tokens"],
    ),
]


# A range's bounds and flat fee mean the same in both kinds of tiers.
RangeFrom = Annotated[
    Int64,
    Field(
        alias="from",
        description="First unit of the range; defaults to the previous `to` + 1 (0 first).",
        examples=[0],
    ),
]
RangeTo = Annotated[
    Int64 | None, Field(description="Last unit of the range; omit on the last (open) range.")
]
RangeFlat = Annotated[
    ExactDecimal,
    Field(
        description="Flat fee for reaching this range, in the plan's currency.",
        examples=["10"],
    ),
]


class Tier(CatalogModel):
    """A graduated or volume range; ``from`` defaults to the previous ``to`` + 1 (0 first)."""

    from_: RangeFrom
    to: RangeTo = None
    per_unit: ExactDecimal = Field(
        default=Decimal(0),
        description="Price per unit in this range, in the plan's currency.",
        examples=["0.002"],
    )
    flat: RangeFlat = Decimal(0)


class PercentageTier(CatalogModel):
    """A graduated_percentage range."""

    from_: RangeFrom
    to: RangeTo = None
    rate: ExactDecimal = Field(
        description="Percentage of the amount in this range: 1.5 means 1.5%.", examples=["1.5"]
    )
    flat: RangeFlat = Decimal(0)


def _fill_tier_starts(value: Any) -> Any:
    """Lago's convention: first range starts at 0, each next one at the previous end + 1."""
    if not isinstance(value, list):
        return value
    previous_to: Any = None
    filled = []
    for index, tier in enumerate(value):
        if isinstance(tier, dict) and "from" not in tier and "from_" not in tier:
            tier = copy_mapping(tier)
            if index == 0:
                tier["from"] = 0
            elif isinstance(previous_to, int) and not isinstance(previous_to, bool):
                tier["from"] = previous_to + 1
        filled.append(tier)
        previous_to = tier.get("to") if isinstance(tier, dict) else None
    return copy_sequence(value, filled)


class _Properties(CatalogModel):
    pricing_group_keys: tuple[Text, ...] = Field(
        default=(),
        description="Event properties that split the charge into one fee per distinct value.",
        examples=[["region"]],
    )


class _Tiered(_Properties):
    @field_validator("tiers", mode="before", check_fields=False)
    @classmethod
    def _starts(cls, value: Any) -> Any:
        return _fill_tier_starts(value)


class StandardProperties(_Properties):
    """standard: one price per unit."""

    model: Literal["standard"] = "standard"
    amount: ExactDecimal = Field(
        default=Decimal(0),
        description="Price per unit, in the plan's currency (exact: 0.000002 stays 0.000002).",
        examples=["0.000002"],
    )


class GraduatedProperties(_Tiered):
    """graduated: each unit is priced by the range it falls in."""

    model: Literal["graduated"] = "graduated"
    tiers: tuple[Tier, ...] = Field(
        min_length=1, description="The ranges, in order; units in each range pay its prices."
    )


class VolumeProperties(_Tiered):
    """volume: every unit is priced by the range the total falls in."""

    model: Literal["volume"] = "volume"
    tiers: tuple[Tier, ...] = Field(
        min_length=1, description="The ranges, in order; the total's range prices every unit."
    )


class GraduatedPercentageProperties(_Tiered):
    """graduated_percentage: a percentage of the amount, by range."""

    model: Literal["graduated_percentage"] = "graduated_percentage"
    tiers: tuple[PercentageTier, ...] = Field(
        min_length=1, description="The ranges, in order, each with its rate and flat fee."
    )


class PackageProperties(_Properties):
    """package: a price per started package of units."""

    model: Literal["package"] = "package"
    amount: ExactDecimal = Field(
        description="Price per package, in the plan's currency.", examples=["5"]
    )
    package_size: Int64 = Field(description="Units per package (> 0).", examples=[1000])
    free_units: Int64 = Field(default=0, description="Units free of charge before packages count.")


class PercentageProperties(_Properties):
    """percentage: a share of each transaction's amount, plus an optional fixed fee."""

    model: Literal["percentage"] = "percentage"
    rate: ExactDecimal = Field(
        description="Percentage of the amount: 2.9 means 2.9%.", examples=["2.9"]
    )
    fixed_amount: ExactDecimal | None = Field(
        default=None,
        description="Fixed fee per transaction, in the plan's currency.",
        examples=["0.30"],
    )
    free_units_per_events: Int64 | None = Field(
        default=None, description="Number of first transactions free of charge."
    )
    free_units_per_total_aggregation: ExactDecimal | None = Field(
        default=None, description="Amount free of charge before the rate applies."
    )
    per_transaction_min_amount: ExactDecimal | None = Field(
        default=None, description="Least fee per transaction, in the plan's currency."
    )
    per_transaction_max_amount: ExactDecimal | None = Field(
        default=None, description="Greatest fee per transaction, in the plan's currency."
    )


class DynamicProperties(_Properties):
    """dynamic: the price comes with each event (needs a sum metric)."""

    model: Literal["dynamic"] = "dynamic"


ChargeProperties = Annotated[
    StandardProperties
    | GraduatedProperties
    | VolumeProperties
    | GraduatedPercentageProperties
    | PackageProperties
    | PercentageProperties
    | DynamicProperties,
    Discriminator("model"),
]


def with_model(properties: Any, model: Any) -> Any:
    """Raw properties with the charge model written in, so the union can pick its class."""
    if model not in CHARGE_MODELS:
        return properties
    if properties is None:
        return {"model": model}
    if isinstance(properties, dict):
        out = copy_mapping(properties)
        out["model"] = model
        return out
    return properties


def _values_as_lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = copy_mapping(value)
    for key, values in value.items():
        if isinstance(values, str | int) and not isinstance(values, bool):
            out[key] = [values]
    return out


class ScheduledFilterPrice(ScheduledEntry):
    """A filter's next prices (``scheduled:`` on a charge filter)."""

    properties: ChargeProperties = Field(
        description="The filter's prices from `effective` on, in the charge's model."
    )


class ScheduledPrice(ScheduledEntry):
    """A charge's next prices (``scheduled:`` on a charge): its properties, its minimum, or
    both."""

    properties: ChargeProperties | None = Field(
        default=None, description="The charge's prices from `effective` on, in its model."
    )
    min_amount: ExactDecimal | None = Field(
        default=None,
        description="The charge's minimum per period from `effective` on (plan currency).",
    )

    @model_validator(mode="after")
    def _says_a_price(self) -> ScheduledPrice:
        if self.properties is None and self.min_amount is None:
            raise ValueError("a scheduled charge price needs properties, min_amount or both")
        return self


def _with_scheduled_models(entries: Any, model: Any) -> Any:
    """Scheduled prices typed by the charge model, like the prices they replace."""
    if not isinstance(entries, list):
        return entries
    items = []
    for item in entries:
        if isinstance(item, dict) and "properties" in item:
            item = copy_mapping(item)
            item["properties"] = with_model(item.get("properties"), model)
        items.append(item)
    return copy_sequence(entries, items)


class FilterValues(CatalogModel):
    """A filter's ``values``: metric filter key -> values (a value alone is a list of one)."""

    values: dict[Text, tuple[Text, ...]] = Field(
        min_length=1,
        description="Metric filter key -> a value, a list of values, or '*' for any value.",
        examples=[{"type": "input", "modality": ["text", "audio"]}],
    )

    @field_validator("values", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _values_as_lists(value)

    @field_validator("values", mode="after")
    @classmethod
    def _sorted(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        # Lago matches filters by their values as sets; a canonical order makes equal equal.
        return {key: tuple(sorted(values)) for key, values in sorted(value.items())}

    def covers(self, other: dict[str, tuple[str, ...]]) -> bool:
        """Does every key of these values allow every value ``other`` has for it? (``model:
        gpt-5`` covers ``{model: gpt-5, type: input}``; ``*`` covers any value.)"""
        for key, allowed in self.values.items():
            theirs = other.get(key)
            if theirs is None:
                return False
            if WILDCARD not in allowed and not set(theirs) <= set(allowed):
                return False
        return True


class ChargeFilter(FilterValues):
    """Prices for events whose properties match ``values`` (a list, a value, or ``*`` = any)."""

    invoice_display_name: Text | None = Field(
        default=None, description="Name of this filter's fee on invoices."
    )
    per: UnitText | None = Field(
        default=None, description="What this filter's unit prices are per (default: the charge's)."
    )
    properties: ChargeProperties = Field(
        description="Prices for matching events, in the charge's model (default: its zero)."
    )
    scheduled: tuple[ScheduledFilterPrice, ...] = Field(
        default=(), description="This filter's next prices, each from its `effective` date on."
    )


def _with_filter_models(filters: Any, model: Any) -> Any:
    if not isinstance(filters, list):
        return filters
    items = []
    for item in filters:
        if isinstance(item, dict):
            item = copy_mapping(item)
            item["properties"] = with_model(item.get("properties"), model)
            if "scheduled" in item:
                item["scheduled"] = _with_scheduled_models(item["scheduled"], model)
        items.append(item)
    return copy_sequence(filters, items)


def prepare_charge(raw: Any) -> Any:
    """Default the charge code to the metric code and type properties by the charge model."""
    if not isinstance(raw, dict):
        return raw
    out = copy_mapping(raw)
    if "code" not in out and isinstance(out.get("metric"), str):
        out["code"] = out["metric"]
    model = out.get("model", "standard")
    out["properties"] = with_model(out.get("properties"), model)
    if "filters" in out:
        out["filters"] = _with_filter_models(out["filters"], model)
    if "scheduled" in out:
        out["scheduled"] = _with_scheduled_models(out["scheduled"], model)
    return out


class Charge(CatalogModel):
    """A usage charge of a plan, on one billable metric (by code)."""

    code: Code = Field(
        description="Identity of the charge within its plan; defaults to the metric code.",
        examples=["tokens"],
    )
    metric: Code = Field(
        description="Code of the billable metric this charge prices.", examples=["token_usage"]
    )
    model: ChargeModel = Field(
        default="standard",
        description="Charge model: standard, graduated, graduated_percentage, package, "
        "percentage, volume or dynamic; it decides the keys of properties.",
    )
    invoice_display_name: Text | None = Field(
        default=None, description="Name of the fee on invoices."
    )
    pay_in_advance: bool = Field(
        default=False, description="Bill each event when it arrives instead of at period end."
    )
    prorated: bool = Field(
        default=False, description="Prorate the fee by the days used (recurring metrics only)."
    )
    invoiceable: bool = Field(
        default=True, description="Put pay-in-advance fees on an invoice (false: fees only)."
    )
    min_amount: ExactDecimal = Field(
        default=Decimal(0),
        description="Least the charge bills per period, in the plan's currency (whole cents).",
        examples=["10.00"],
    )
    tax_codes: tuple[Code, ...] = Field(
        default=(), description="Codes of the taxes applied to this charge."
    )
    per: UnitText | None = Field(
        default=None,
        description="What the unit prices (amount, per_unit) are per: '1M tokens' (default: one "
        "unit). Its filters use it too unless they say otherwise.",
    )
    properties: ChargeProperties = Field(
        description="Prices, typed by the charge's model (standard: amount; graduated: tiers...)."
    )
    filters: tuple[ChargeFilter, ...] = Field(
        default=(), description="Other prices for events whose properties match given values."
    )
    scheduled: tuple[ScheduledPrice, ...] = Field(
        default=(), description="The charge's next prices, each from its `effective` date on."
    )

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, value: Any) -> Any:
        return prepare_charge(value)


def unit_of(text: str | None) -> Unit | None:
    """A ``per:`` text as a ``Unit`` (None: prices are per single unit)."""
    return parse_unit(text) if text is not None else None


def unit_prices(properties: Any) -> list[tuple[tuple[str | int, ...], Decimal]]:
    """The prices of ``properties`` that are per unit (``per:`` scales them), by their path
    under ``properties``: a standard amount, each tier's per_unit."""
    match properties:
        case StandardProperties():
            return [(("amount",), properties.amount)]
        case GraduatedProperties() | VolumeProperties():
            return [(("tiers", i, "per_unit"), t.per_unit) for i, t in enumerate(properties.tiers)]
    return []


def _percent(value: Any) -> Any:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.endswith("%"):
        text = text[:-1].strip()
    try:
        number = to_decimal(text)
    except ValueError:
        raise ValueError(f"expected a percentage such as 15%, got {describe(value)}") from None
    if not Decimal(0) < number < Decimal(100):
        raise ValueError(f"expected a percentage above 0% and below 100%, got {value}")
    return number


# ``discount: 15%``: a share taken off list prices (the prices that follow the catalog).
Percent = Annotated[
    Decimal,
    BeforeValidator(_percent),
    PlainSerializer(lambda d: f"{decimal_text(d)}%", return_type=str, when_used="json"),
    Field(
        json_schema_extra={"pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%?\s*$"},
        description="A share off the catalog's prices: '15%' (the prices follow the catalog).",
        examples=["15%"],
    ),
]


def discounted(properties: Any, percent: Decimal) -> Any:
    """``properties`` with every price ``percent`` off (exact; the checks refuse what Lago
    cannot hold). A dynamic charge has no price to discount: ValueError."""
    factor = (Decimal(100) - percent) / Decimal(100)

    def off(value: Decimal | None) -> Decimal | None:
        return None if value is None else value * factor

    match properties:
        case StandardProperties() | PackageProperties():
            return properties.model_copy(update={"amount": off(properties.amount)})
        case GraduatedProperties() | VolumeProperties():
            tiers = tuple(
                t.model_copy(update={"per_unit": off(t.per_unit), "flat": off(t.flat)})
                for t in properties.tiers
            )
            return properties.model_copy(update={"tiers": tiers})
        case GraduatedPercentageProperties():
            rates = tuple(
                t.model_copy(update={"rate": off(t.rate), "flat": off(t.flat)})
                for t in properties.tiers
            )
            return properties.model_copy(update={"tiers": rates})
        case PercentageProperties():
            return properties.model_copy(
                update={
                    name: off(getattr(properties, name))
                    for name in ("rate", "fixed_amount", "per_transaction_min_amount",
                                 "per_transaction_max_amount")
                }
            )  # fmt: skip
    raise ValueError("a dynamic charge has no price to discount (each event carries its price)")
