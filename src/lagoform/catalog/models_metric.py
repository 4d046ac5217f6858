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
    code: Code
    name: Text
    rate: ExactDecimal = Field(description="percent, e.g. 20 for 20%")
    description: Text | None = None
    applied_to_organization: bool = False


class Rounding(CatalogModel):
    function: Literal["round", "ceil", "floor"]
    precision: Int32 | None = None


class BillableMetric(CatalogModel):
    code: Code
    name: Text
    description: Text | None = None
    aggregation: Aggregation
    field_name: Text | None = None
    recurring: bool = False
    weighted_interval: Literal["seconds"] | None = None
    rounding: Rounding | None = None
    expression: Text | None = None
    filters: dict[Text, tuple[Text, ...]] = Field(
        default_factory=dict, description="filter key -> allowed values"
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
