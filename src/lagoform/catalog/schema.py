"""JSON Schemas of catalog and overrides files, for editors (yaml-language-server).

Generated from the models, then adjusted to what a person writes: money may be `99.00 USD`,
charge properties are a plain choice of shapes (the charge's `model` picks one), and a plan
variant with `extends` needs only its code.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field

from lagoform.catalog.models_base import CatalogModel
from lagoform.catalog.models_metric import BillableMetric, Tax
from lagoform.catalog.models_plan import AddOn, BillingPlan, Coupon, Removal
from lagoform.catalog.models_tenant import Customer, Subscription, Wallet
from lagoform.catalog.models_usage import UsageMapping

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class CatalogFile(CatalogModel):
    """Any file under catalog/: each key is optional and may appear in any file."""

    taxes: list[Tax] = Field(default_factory=list)
    billable_metrics: list[BillableMetric] = Field(default_factory=list)
    add_ons: list[AddOn] = Field(default_factory=list)
    plans: list[BillingPlan] = Field(default_factory=list)
    coupons: list[Coupon] = Field(default_factory=list)
    usage_mappings: list[UsageMapping] = Field(default_factory=list)
    remove: Removal | None = None


class OverridesFile(CatalogModel):
    """overrides/<tenant>.yaml: the file name is the tenant (Lago customer external_id)."""

    customer: Customer
    subscriptions: list[Subscription] = Field(default_factory=list)
    wallets: list[Wallet] = Field(default_factory=list)


_MONEY_TEXT = {
    "type": "string",
    "pattern": r"^\s*[-+]?[0-9][0-9_,]*(\.[0-9]+)?\s+[A-Za-z]{3}\s*$",
    "description": "an amount and an ISO currency, e.g. '99.00 USD'",
}
_NUMBER = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^[-+]?[0-9.]+$"}]}


def _adjust(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    defs: dict[str, Any] = out.get("$defs", {})
    if "Money" in defs:
        money = defs["Money"]
        defs["Money"] = {"anyOf": [_MONEY_TEXT, money], "title": "Money"}
    for name, definition in defs.items():
        props = definition.get("properties", {})
        if name.endswith("Properties") and "model" in props:
            del props["model"]  # written by the charge, not inside properties
        if name == "BillingPlan":
            definition["required"] = ["code"]  # a variant (extends) may give only its code
        if name == "Tier" or name == "PercentageTier":
            definition["required"] = [r for r in definition.get("required", []) if r != "from"]
        if name == "ChargeFilter" and "values" in props:
            props["values"] = {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
                },
                "description": "filter key -> a value, a list of values, or '*' for any",
            }
        if name in ("Charge", "ChargeFilter"):
            required = definition.get("required", [])
            definition["required"] = [r for r in required if r not in ("properties", "code")]
    _walk(out)
    return out


def _walk(node: Any) -> None:
    # Charge properties are chosen by the charge's `model`, not by a key inside them.
    if isinstance(node, dict):
        if "oneOf" in node and "discriminator" in node:
            node["anyOf"] = node.pop("oneOf")
            node.pop("discriminator")
        if node.get("format") == "date-time":
            node.pop("format")  # a bare date (2026-01-01) is accepted too
        for value in node.values():
            _walk(value)
    elif isinstance(node, list):
        for value in node:
            _walk(value)


def catalog_schema() -> dict[str, Any]:
    schema = _adjust(CatalogFile.model_json_schema(by_alias=True))
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = "lagoform catalog file"
    return schema


def overrides_schema() -> dict[str, Any]:
    schema = _adjust(OverridesFile.model_json_schema(by_alias=True))
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = "lagoform tenant overrides file"
    return schema
