"""Shared price tables as written in catalog YAML (``price_tables:``), and their editor schema.

A price table is a filter price list (``filters:``) or a tier list (``tiers:``) written once
and used by the charges of several plans, in any file. ``lagoform.catalog.tables`` writes a
table's entries into every charge that uses it before validation; this module is the table's
own model (so a mistake in a table is reported once, where it is written, even when no plan uses
it yet) and the JSON Schema additions that let an editor accept ``{table: code}`` where a
charge's filters or tiers are written.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field, field_validator, model_validator

from lagoform.catalog.models_base import CatalogModel, Code, Text
from lagoform.catalog.models_charge import (
    ChargeFilter,
    ChargeModel,
    Tier,
    UnitText,
    _fill_tier_starts,
    with_model,
)
from lagoform.catalog.yamlsrc import copy_mapping, copy_sequence

__all__ = ["TABLE_KEY", "PriceTable", "TableUse", "allow_table_uses"]

# The key that names a table where its entries go: ``filters: {table: llm_list}``.
TABLE_KEY = "table"


class TableUse(CatalogModel):
    """{table: code}: every entry of a price table, in place; a list's own entries win."""

    table: Code = Field(
        description="Code of the price table (under price_tables) whose entries go here.",
        examples=["llm_list"],
    )


class PriceTable(CatalogModel):
    """A filter price list or a tier list, defined once and used by several plans' charges."""

    code: Code = Field(
        description="Identity of the table (unique); charges name it as {table: code}.",
        examples=["llm_list"],
    )
    description: Text | None = Field(default=None, description="Internal description.")
    model: ChargeModel = Field(
        default="standard",
        description="Filter tables: the charge model of their prices (default standard); only "
        "charges of that model can use them. Tier tables fit graduated and volume charges.",
    )
    per: UnitText | None = Field(
        default=None,
        description="What the table's unit prices are per: '1M tokens' (default: the unit of "
        "the charge that uses it). Its filters use it unless they say otherwise.",
    )
    tiers: tuple[Tier, ...] | None = Field(
        default=None,
        min_length=1,
        description="A tier list; graduated and volume charges use it as tiers: {table: code}.",
    )
    filters: tuple[ChargeFilter, ...] | None = Field(
        default=None,
        description="Filter prices: {values, properties}, or {table: code} for another table's "
        "entries; entries written here win over another table's for the same values.",
    )

    @field_validator("tiers", mode="before")
    @classmethod
    def _starts(cls, value: Any) -> Any:
        return _fill_tier_starts(value)

    @model_validator(mode="before")
    @classmethod
    def _typed(cls, value: Any) -> Any:
        """Type each filter's properties by the table's model, as a charge does."""
        if not isinstance(value, dict) or not isinstance(value.get("filters"), list):
            return value
        model = value.get("model", "standard")
        items = []
        for item in value["filters"]:
            if isinstance(item, dict):
                item = copy_mapping(item)
                item["properties"] = with_model(item.get("properties"), model)
            items.append(item)
        out = copy_mapping(value)
        out["filters"] = copy_sequence(value["filters"], items)
        return out


# -- the editor schema: where a table may be named ---------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _or_use(prop: dict[str, Any], *, items: bool) -> dict[str, Any]:
    """``prop`` (a list) that may also be ``{table: code}``, and with ``items`` hold such
    entries among its own."""
    kept: dict[str, Any] = {k: prop[k] for k in ("description", "title", "default") if k in prop}
    shape = {k: v for k, v in prop.items() if k not in kept and k != "anyOf"}
    if "anyOf" in prop:  # an optional list: [list, null]
        shape = next(b for b in prop["anyOf"] if b.get("type") == "array")
    shape = copy.deepcopy(shape)
    if items:
        shape["items"] = {"anyOf": [shape["items"], _ref("TableUse")]}
    branches = [shape, _ref("TableUse")]
    if "anyOf" in prop:
        branches.append({"type": "null"})
    return {"anyOf": branches, **kept}


def allow_table_uses(defs: dict[str, Any]) -> None:
    """In a catalog schema's ``$defs``: a charge's (or a filter table's) ``filters`` and a
    graduated or volume ``tiers`` may name a table; a table's filter prices take its
    ``model``'s shape. A tier table lists its own tiers."""
    if "PriceTable" not in defs:
        return  # the overrides schema: an override lists only what it negotiates
    defs["TableUse"] = TableUse.model_json_schema()
    for holder in ("Charge", "PriceTable"):
        props = defs[holder]["properties"]
        props["filters"] = _or_use(props["filters"], items=True)
    for shape in ("GraduatedProperties", "VolumeProperties"):
        props = defs[shape]["properties"]
        props["tiers"] = _or_use(props["tiers"], items=False)
    # The same choice of shape as a charge's filters (schema._charge_shapes), read off the
    # charge's: a table's `model` picks its filters' price keys.
    defs["PriceTable"]["allOf"] = [
        {
            "if": rule["if"],
            "then": {"properties": {"filters": rule["then"]["properties"]["filters"]}},
        }
        for rule in defs["Charge"].get("allOf", [])
    ]
