"""Taxes and billable metrics as written in catalog YAML (shape only; rules live in checks)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from lagoform.catalog.models_base import CatalogModel, Code, Text
from lagoform.catalog.money import ExactDecimal
from lagoform.catalog.numbers import Int32
from lagoform.catalog.yamlsrc import copy_mapping

Aggregation = Literal["count", "sum", "max", "unique_count", "weighted_sum", "latest", "custom"]
AGGREGATIONS: tuple[str, ...] = (
    "count",
    "sum",
    "max",
    "unique_count",
    "weighted_sum",
    "latest",
    "custom",
)


class Tax(CatalogModel):
    """A Lago tax, applied by code to plans, charges, add-ons or customers."""

    code: Code = Field(
        description="Identity of the tax in Lago (unique); referenced from tax_codes.",
        examples=["vat_standard"],
    )
    name: Text = Field(description="Name shown on invoices.", examples=["VAT 20%"])
    rate: ExactDecimal = Field(description="Rate in percent: 20 means 20%.", examples=["20"])
    description: Text | None = Field(default=None, description="Internal description.")
    applied_to_organization: bool = Field(
        default=False, description="Apply this tax to every customer of the organization."
    )


class Rounding(CatalogModel):
    """How Lago rounds the aggregated value before pricing it."""

    function: Literal["round", "ceil", "floor"] = Field(
        description="Rounding function: round, ceil or floor."
    )
    precision: Int32 | None = Field(
        default=None,
        description="Number of decimal places to round to.",
        examples=[2],
    )


class BillableMetric(CatalogModel):
    """WHAT is measured: how Lago aggregates the events sent for this code."""

    code: Code = Field(
        description="Identity of the metric (unique); events carry it. Never rename a live one.",
        examples=["token_usage"],
    )
    name: Text = Field(description="Name shown on invoices.", examples=["Tokens"])
    description: Text | None = Field(default=None, description="Internal description.")
    aggregation: Aggregation = Field(
        description="How events are aggregated: count, sum, max, unique_count, weighted_sum, "
        "latest or custom."
    )
    field_name: Text | None = Field(
        default=None,
        description="Event property that is aggregated (required except for count and custom).",
        examples=["tokens"],
    )
    recurring: bool = Field(
        default=False,
        description="The value carries over to the next period (not with count, max, latest).",
    )
    weighted_interval: Literal["seconds"] | None = Field(
        default=None, description="weighted_sum only: the weighting interval (seconds)."
    )
    rounding: Rounding | None = Field(
        default=None, description="Round the aggregated value: {function, precision}."
    )
    expression: Text | None = Field(
        default=None,
        description="Expression computing the aggregated field from event properties.",
        examples=["round(tokens / 1000)"],
    )
    filters: dict[Text, tuple[Text, ...]] = Field(
        default_factory=dict,
        description="Filter key -> the values events may carry; charges price per value.",
        examples=[{"type": ["input", "output"]}],
    )

    @field_validator("filters", mode="before")
    @classmethod
    def _scalar_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            out = copy_mapping(value)
            for key, values in value.items():
                if isinstance(values, str | int) and not isinstance(values, bool):
                    out[key] = [values]
            return out
        return value

    @field_validator("filters", mode="after")
    @classmethod
    def _sorted(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        # Lago keeps filter values as a set (listed sorted); a canonical order makes equal equal.
        return {key: tuple(sorted(values)) for key, values in value.items()}
