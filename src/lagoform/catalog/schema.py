"""JSON Schemas of catalog and overrides files, for editors (yaml-language-server).

Generated from the models — descriptions and examples come from their ``Field``s — then
adjusted to what a person writes and what an editor can check:
- every decimal (prices, rates, quantities) is a YAML number or a decimal text, every date a
  date or date-time text, every currency three letters, money ``99.00 USD`` or
  ``{amount, currency}``, record paths ``$a.b``: a typo such as ``trial_days: fourteen``,
  ``per_unit: abc`` or ``start_date: 2026-13-45`` is underlined where it is written;
- charge properties are a plain choice of shapes (the charge's ``model`` picks one), and a plan
  variant with ``extends`` needs only its code.
Cross-file rules (codes that must exist, tier bounds…) stay in ``lagoform validate``. The
generated schemas are committed in the package (``lagoform/schemas/``, ``make schemas``); a test
keeps them equal to what this module generates, and checks the patterns against the models.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from lagoform import __version__
from lagoform.catalog.models_base import CatalogModel, Code
from lagoform.catalog.models_metric import BillableMetric, Tax
from lagoform.catalog.models_plan import AddOn, BillingPlan, Coupon, Removal
from lagoform.catalog.models_policy import PoliciesFile
from lagoform.catalog.models_table import PriceTable, allow_table_uses
from lagoform.catalog.models_tenant import Customer, Subscription, Wallet
from lagoform.catalog.models_usage import UsageMapping
from lagoform.catalog.versions import allow_versions

SchemaKind = Literal["catalog", "overrides", "policies"]
SCHEMA_KINDS: tuple[SchemaKind, ...] = ("catalog", "overrides", "policies")
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Where the released schemas can be fetched, by version (the $id of each schema).
SCHEMA_BASE_URL = "https://raw.githubusercontent.com/lagoform/lagoform"
# The committed, shipped copies: lagoform/schemas/<kind>.schema.json.
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "schemas"


class CatalogFile(CatalogModel):
    """Any file under catalog/: each key is optional and may appear in any file."""

    taxes: list[Tax] = Field(default_factory=list, description="Taxes, by code.")
    billable_metrics: list[BillableMetric] = Field(
        default_factory=list, description="Billable metrics: what is measured, by code."
    )
    add_ons: list[AddOn] = Field(default_factory=list, description="One-off fees, by code.")
    plans: list[BillingPlan] = Field(
        default_factory=list, description="Plans: base fee and usage charges, by code."
    )
    coupons: list[Coupon] = Field(default_factory=list, description="Discounts, by code.")
    price_tables: list[PriceTable] = Field(
        default_factory=list,
        description="Shared price tables (filter prices or tiers) that plans' charges use.",
    )
    usage_mappings: list[UsageMapping] = Field(
        default_factory=list, description="How usage records become Lago events."
    )
    remove: Removal | None = Field(
        default=None, description="Codes to delete from Lago (nothing else is ever deleted)."
    )


class OverridesFile(CatalogModel):
    """overrides/<tenant>.yaml: the file name is the tenant (Lago customer external_id)."""

    customer: Customer = Field(description="The tenant as a Lago customer.")
    tags: list[Code] = Field(
        default_factory=list,
        description="Labels that plan migrations select tenants by (`who: {tags: [...]}`).",
    )
    subscriptions: list[Subscription] = Field(
        default_factory=list, description="The tenant's subscriptions, by external_id."
    )
    wallets: list[Wallet] = Field(
        default_factory=list, description="The tenant's prepaid wallets, by code."
    )


# JSON Schema patterns for what the models parse from text. [0-9], not \\d: Python's \\d also
# matches other scripts' digits, which the models refuse (editors use ECMA-262, ASCII \\d).
# An exponent of up to 6 digits: Decimal refuses 1E1000000000000000000 (past its range).
DECIMAL_PATTERN = r"^\s*[-+]?([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9][0-9_]*)([eE][-+]?[0-9]{1,6})?\s*$"
DATE_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?)?$"
)
CURRENCY_PATTERN = r"^\s*[A-Za-z]{3}\s*$"
MONEY_PATTERN = r"^\s*([-+]?[0-9][0-9_,]*(\.[0-9]+)?|[-+]?\.[0-9]+)\s+[A-Za-z]{3}\s*$"
RECORD_PATH_PATTERN = r"^\$[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"

_DECIMAL_TEXT = {"type": "string", "pattern": DECIMAL_PATTERN}
_RECORD_PATH = {"type": "string", "pattern": RECORD_PATH_PATTERN}
_CURRENCY = {"type": "string", "pattern": CURRENCY_PATTERN}
_MONEY_TEXT = {
    "type": "string",
    "pattern": MONEY_PATTERN,
    "description": "An amount and an ISO 4217 currency.",
    "examples": ["99.00 USD"],
}
_MONEY_PARTS = {
    "amount": {
        "anyOf": [{"type": "number"}, _DECIMAL_TEXT],
        "description": "The amount, in whole minor units of the currency (cents for USD).",
        "examples": ["99.00"],
    },
    "currency": {**_CURRENCY, "description": "ISO 4217 currency code.", "examples": ["USD"]},
}
# Plain text in the models (a validator reads them), typed here for the editor.
_TYPED_TEXT: dict[tuple[str, str], dict[str, Any]] = {
    ("Customer", "currency"): _CURRENCY,
    ("Wallet", "currency"): _CURRENCY,
    ("UsageMapping", "subscription"): _RECORD_PATH,
    ("UsageMapping", "tenant"): _RECORD_PATH,
    ("UsageEventMapping", "quantity"): {
        "anyOf": [_RECORD_PATH, {"type": "number"}, _DECIMAL_TEXT, {"type": "null"}]
    },
    ("UsageEventMapping", "repeat"): {
        "anyOf": [_RECORD_PATH, {"type": "integer"}, {"type": "null"}]
    },
}


class _EditorJsonSchema(GenerateJsonSchema):
    """Decimals and date-times as an editor should check them."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        # pydantic: number or any string; here the string must read as a number.
        return {"anyOf": [{"type": "number"}, dict(_DECIMAL_TEXT)]}

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        # "format: date-time" would refuse a bare date (2026-01-01), which the models accept.
        return {"type": "string", "pattern": DATE_PATTERN}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _model_of(definition_name: str) -> str:
    """``GraduatedPercentageProperties`` -> ``graduated_percentage``."""
    words = re.findall(r"[A-Z][a-z]*", definition_name.removesuffix("Properties"))
    return "_".join(w.lower() for w in words)


def _any_model(defs: dict[str, Any], shapes: list[str]) -> dict[str, Any]:
    """Every key of every charge model, typed (tiers of either kind): for overrides, whose
    model is the base plan's (another file), so only `lagoform validate` can pick the shape."""
    merged: dict[str, Any] = {}
    for shape in shapes:
        for key, sub in defs[shape]["properties"].items():
            merged.setdefault(key, sub)
    tier = copy.deepcopy(defs["Tier"])
    for key, sub in defs.get("PercentageTier", {}).get("properties", {}).items():
        tier["properties"].setdefault(key, sub)
    tier["required"] = []
    tier["description"] = "A range of a graduated, volume or graduated_percentage charge."
    defs["AnyTier"] = tier
    merged["tiers"] = {**merged["tiers"], "items": _ref("AnyTier")}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": merged,
        "description": "Prices in the base charge's model (lagoform validate checks which).",
    }


def _charge_shapes(defs: dict[str, Any]) -> None:
    """A charge's properties (and its filters') take the shape its ``model`` names; an
    override's, any charge model's keys."""
    shapes = [n for n in defs if n.endswith("Properties") and n != "AnyChargeProperties"]
    if not shapes:
        return  # a file without prices (policies.yaml)
    for name in shapes:
        defs[name]["properties"].pop("model", None)  # written by the charge, not in properties
    defs["AnyChargeProperties"] = _any_model(defs, shapes)
    loose = {"type": "object"}
    for holder in ("Charge", "ChargeFilter", "ChargeOverride"):
        if holder in defs:
            prop = defs[holder]["properties"]["properties"]
            kept = {k: prop[k] for k in ("description", "title", "default") if k in prop}
            shape = _ref("AnyChargeProperties") if holder == "ChargeOverride" else loose
            defs[holder]["properties"]["properties"] = {**shape, **kept}
    if "OverrideFilter" in defs:
        prop = defs["OverrideFilter"]["properties"]["properties"]
        kept = {k: prop[k] for k in ("description", "title", "default") if k in prop}
        defs["OverrideFilter"]["properties"]["properties"] = {
            "anyOf": [_ref("AnyChargeProperties"), {"type": "null"}],
            **kept,
        }
    if "Charge" in defs:
        defs["Charge"]["allOf"] = [
            {
                # No model is standard; another model must be written.
                "if": {"properties": {"model": {"const": _model_of(name)}}}
                if _model_of(name) == "standard"
                else {"properties": {"model": {"const": _model_of(name)}}, "required": ["model"]},
                "then": {
                    "properties": {
                        "properties": _ref(name),
                        "filters": {"items": {"properties": {"properties": _ref(name)}}},
                    }
                },
            }
            for name in shapes
        ]


def _adjust(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    defs: dict[str, Any] = out.get("$defs", {})
    if "Money" in defs:
        money = defs["Money"]
        for name, part in _MONEY_PARTS.items():
            money["properties"][name] = copy.deepcopy(part)
        defs["Money"] = {
            "anyOf": [_MONEY_TEXT, money],
            "title": "Money",
            "description": "An amount in a currency: '99.00 USD' or {amount, currency}.",
        }
    for name, definition in defs.items():
        props = definition.get("properties", {})
        if name == "BillingPlan":
            definition["required"] = ["code"]  # a variant (extends) may give only its code
        if name == "Tier" or name == "PercentageTier":
            definition["required"] = [r for r in definition.get("required", []) if r != "from"]
        if name in ("ChargeFilter", "OverrideFilter", "CostEntry") and "values" in props:
            # One value is written alone; the model turns it into a list.
            props["values"]["additionalProperties"] = {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            }
        if name in ("Charge", "ChargeFilter"):
            required = definition.get("required", [])
            definition["required"] = [r for r in required if r not in ("properties", "code")]
        for prop, typed in props.items():
            if (name, prop) in _TYPED_TEXT:
                kept = {k: typed[k] for k in ("description", "examples", "title") if k in typed}
                props[prop] = {**copy.deepcopy(_TYPED_TEXT[name, prop]), **kept}
    _charge_shapes(defs)
    allow_table_uses(defs)
    allow_versions(defs)
    return out


def schema_id(kind: SchemaKind) -> str:
    """The released schema's address: stable per version, usable in a modeline."""
    return f"{SCHEMA_BASE_URL}/v{__version__}/src/lagoform/schemas/{kind}.schema.json"


def _finish(model: type[CatalogModel], kind: SchemaKind, title: str) -> dict[str, Any]:
    out: dict[str, Any] = {"$schema": SCHEMA_DIALECT, "$id": schema_id(kind)}
    out.update(_adjust(model.model_json_schema(by_alias=True, schema_generator=_EditorJsonSchema)))
    out["title"] = title
    return out


def catalog_schema() -> dict[str, Any]:
    return _finish(CatalogFile, "catalog", "lagoform catalog file")


def overrides_schema() -> dict[str, Any]:
    return _finish(OverridesFile, "overrides", "lagoform tenant overrides file")


def policies_schema() -> dict[str, Any]:
    out = _finish(PoliciesFile, "policies", "lagoform pricing policies file")
    # A rule's shape is picked by its `rule:` tag, as a charge's by its model: an editor then
    # underlines the wrong key of the rule, not the whole rule.
    items = out["properties"]["rules"]["items"]
    mapping: dict[str, str] = items["discriminator"]["mapping"]
    out["properties"]["rules"]["items"] = {
        "type": "object",
        "required": ["rule"],
        "properties": {
            "rule": {"enum": sorted(mapping), "description": "Which rule: its kind."},
        },
        "allOf": [
            {"if": {"properties": {"rule": {"const": tag}}}, "then": {"$ref": ref}}
            for tag, ref in sorted(mapping.items())
        ],
    }
    return out


def editor_schema(kind: SchemaKind) -> dict[str, Any]:
    match kind:
        case "catalog":
            return catalog_schema()
        case "overrides":
            return overrides_schema()
        case "policies":
            return policies_schema()


def schema_text(kind: SchemaKind) -> str:
    """The schema as written to a file (and committed under ``lagoform/schemas/``)."""
    return json.dumps(editor_schema(kind), indent=2, ensure_ascii=False) + "\n"


def shipped_schema_path(kind: SchemaKind) -> Path:
    """The committed copy inside the installed package."""
    return SHIPPED_DIR / f"{kind}.schema.json"
