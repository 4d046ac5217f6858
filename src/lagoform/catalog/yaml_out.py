"""Catalog models back to the YAML a person would write (for ``lagoform import``).

Defaults are left out, money is written `99.00 USD`, single filter values as scalars, and the
charge model is not repeated inside properties. ``load`` of the output gives equal models.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from lagoform.catalog.models_charge import Charge, ChargeFilter
from lagoform.catalog.models_tenant import Tenant
from lagoform.catalog.money import Money, decimal_text


def _value(value: Any) -> Any:
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, BaseModel):
        return to_yaml(value)
    if isinstance(value, tuple | list):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def to_yaml(model: BaseModel) -> dict[str, Any]:
    """Plain YAML data (str, int, bool, None, list, dict) for one catalog model."""
    out: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if name == "model" and not isinstance(model, Charge):
            continue  # properties repeat their charge's model; YAML does not
        if not field.is_required() and value == field.get_default(call_default_factory=True):
            continue
        if isinstance(model, Charge) and name == "code" and value == model.metric:
            continue
        key = field.alias or name
        if isinstance(model, ChargeFilter) and name == "values":
            out[key] = {k: v[0] if len(v) == 1 else list(v) for k, v in value.items()}
        elif name == "properties" and isinstance(value, BaseModel):
            props = to_yaml(value)
            if props:
                out[key] = props
        else:
            out[key] = _value(value)
    return out


def tenant_to_yaml(tenant: Tenant) -> dict[str, Any]:
    """An overrides/<tenant>.yaml document (the file name carries the tenant id)."""
    data = to_yaml(tenant)
    data.pop("external_id", None)
    customer = data.get("customer", {})
    if customer.get("external_id") == tenant.external_id:
        customer.pop("external_id")
    return data
