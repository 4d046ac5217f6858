"""Charges: typed properties per charge model, tiers, and charge filters.

A charge's ``properties`` are a union discriminated by the charge's ``model``; the charge
copies its model into its properties (and its filters' properties) before validation, so each
model's keys are checked and typos are reported against the right set of names.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, field_validator, model_validator

from lagoform.catalog.models_base import CatalogModel, Code, Text
from lagoform.catalog.money import ExactDecimal
from lagoform.catalog.numbers import Int64
from lagoform.catalog.yamlsrc import copy_mapping, copy_sequence

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
LAGO_WILDCARD = "__ALL_FILTER_VALUES__"


class Tier(CatalogModel):
    """A graduated or volume range; ``from`` defaults to the previous ``to`` + 1 (0 first)."""

    from_: Int64 = Field(alias="from")
    to: Int64 | None = None
    per_unit: ExactDecimal = Decimal(0)
    flat: ExactDecimal = Decimal(0)


class PercentageTier(CatalogModel):
    """A graduated_percentage range."""

    from_: Int64 = Field(alias="from")
    to: Int64 | None = None
    rate: ExactDecimal
    flat: ExactDecimal = Decimal(0)


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
    pricing_group_keys: tuple[Text, ...] = ()


class _Tiered(_Properties):
    @field_validator("tiers", mode="before", check_fields=False)
    @classmethod
    def _starts(cls, value: Any) -> Any:
        return _fill_tier_starts(value)


class StandardProperties(_Properties):
    model: Literal["standard"] = "standard"
    amount: ExactDecimal = Decimal(0)


class GraduatedProperties(_Tiered):
    model: Literal["graduated"] = "graduated"
    tiers: tuple[Tier, ...] = Field(min_length=1)


class VolumeProperties(_Tiered):
    model: Literal["volume"] = "volume"
    tiers: tuple[Tier, ...] = Field(min_length=1)


class GraduatedPercentageProperties(_Tiered):
    model: Literal["graduated_percentage"] = "graduated_percentage"
    tiers: tuple[PercentageTier, ...] = Field(min_length=1)


class PackageProperties(_Properties):
    model: Literal["package"] = "package"
    amount: ExactDecimal
    package_size: Int64
    free_units: Int64 = 0


class PercentageProperties(_Properties):
    model: Literal["percentage"] = "percentage"
    rate: ExactDecimal
    fixed_amount: ExactDecimal | None = None
    free_units_per_events: Int64 | None = None
    free_units_per_total_aggregation: ExactDecimal | None = None
    per_transaction_min_amount: ExactDecimal | None = None
    per_transaction_max_amount: ExactDecimal | None = None


class DynamicProperties(_Properties):
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


class ChargeFilter(CatalogModel):
    """Prices for events whose properties match ``values`` (a list, a value, or ``*`` = any)."""

    values: dict[Text, tuple[Text, ...]] = Field(min_length=1)
    invoice_display_name: Text | None = None
    properties: ChargeProperties

    @field_validator("values", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _values_as_lists(value)

    @field_validator("values", mode="after")
    @classmethod
    def _sorted(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        # Lago matches filters by their values as sets; a canonical order makes equal equal.
        return {key: tuple(sorted(values)) for key, values in sorted(value.items())}


def _with_filter_models(filters: Any, model: Any) -> Any:
    if not isinstance(filters, list):
        return filters
    items = []
    for item in filters:
        if isinstance(item, dict):
            item = copy_mapping(item)
            item["properties"] = with_model(item.get("properties"), model)
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
    return out


class Charge(CatalogModel):
    """A usage charge of a plan, on one billable metric (by code)."""

    code: Code
    metric: Code
    model: ChargeModel = "standard"
    invoice_display_name: Text | None = None
    pay_in_advance: bool = False
    prorated: bool = False
    invoiceable: bool = True
    min_amount: ExactDecimal = Decimal(0)
    tax_codes: tuple[Code, ...] = ()
    properties: ChargeProperties
    filters: tuple[ChargeFilter, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, value: Any) -> Any:
        return prepare_charge(value)
