"""Catalog models back to the YAML a person would write (for ``lagoform import``).

Defaults are left out, money is written `99.00 USD`, single filter values as scalars, and the
charge model is not repeated inside properties. ``load`` of the output gives equal models.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from lagoform.catalog.models_charge import Charge, ChargeFilter
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_tenant import Tenant
from lagoform.catalog.money import Money, decimal_text


def _value(value: Any, exact: bool = False) -> Any:
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, BaseModel):
        return to_yaml(value, exact=exact)
    if isinstance(value, tuple | list):
        return [_value(v, exact) for v in value]
    if isinstance(value, dict):
        return {k: _value(v, exact) for k, v in value.items()}
    if isinstance(value, Decimal):
        return value if exact else decimal_text(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def to_yaml(model: BaseModel, *, exact: bool = False) -> dict[str, Any]:
    """Plain YAML data (str, int, bool, None, list, dict) for one catalog model; ``exact``
    keeps numbers as ``Decimal`` (for a writer that prints them as numbers, exactly)."""
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
            props = to_yaml(value, exact=exact)
            if props:
                out[key] = props
        else:
            out[key] = _value(value, exact)
    return out


def tenant_to_yaml(tenant: Tenant) -> dict[str, Any]:
    """An overrides/<tenant>.yaml document (the file name carries the tenant id)."""
    data = to_yaml(tenant)
    data.pop("external_id", None)
    customer = data.get("customer", {})
    if customer.get("external_id") == tenant.external_id:
        customer.pop("external_id")
    return data


# -- plan variants --------------------------------------------------------------------------

# "A plan that equals another plus a few top-level fields" is written as a variant of it.
MAX_VARIANT_FIELDS = 6
_INTERVAL_ORDER = ("weekly", "monthly", "quarterly", "semiannual", "yearly")
_NOT_COMPARED = ("code", "extends")


def field_yaml(model: BaseModel, name: str, *, exact: bool = False) -> Any:
    """One field's value as YAML, stated even when it is the default (a variant must say a
    value that differs from its parent's)."""
    return _value(getattr(model, name), exact)


def variant_fields(plan: BillingPlan, parent: BillingPlan) -> list[str]:
    """The top-level fields (by name) in which ``plan`` differs from ``parent`` (charges by
    what they bill: order and units do not make them differ)."""
    from lagoform.catalog.lago_overrides import same_charges

    return [
        name
        for name in type(plan).model_fields
        if name not in _NOT_COMPARED
        and getattr(plan, name) != getattr(parent, name)
        and not (name == "charges" and same_charges(plan, parent))
    ]


def find_parent(plan: BillingPlan, roots: list[BillingPlan]) -> BillingPlan | None:
    """The plan ``plan`` is a variant of: same charges (at least one), at most a few other
    top-level fields different; the closest one first, then the first root."""
    from lagoform.catalog.lago_overrides import same_charges

    best: tuple[int, int] | None = None
    found = None
    for rank, root in enumerate(roots):
        if root.code == plan.code or not plan.charges or not same_charges(plan, root):
            continue
        differ = len(variant_fields(plan, root))
        if differ <= MAX_VARIANT_FIELDS and (best is None or (differ, rank) < best):
            best, found = (differ, rank), root
    return found


def plans_to_yaml(
    plans: list[BillingPlan], roots: Sequence[BillingPlan] = (), *, exact: bool = False
) -> list[dict[str, Any]]:
    """Plans as YAML, each one that equals another plan plus a few fields written as its
    variant (``extends: parent`` with only the keys that differ). ``roots``: plans already
    written that new plans may extend. Plans on the shortest interval become roots first."""
    known = list(roots)
    out: dict[str, dict[str, Any]] = {}
    order = sorted(plans, key=lambda p: (_INTERVAL_ORDER.index(p.interval), p.code))
    for plan in order:
        parent = find_parent(plan, known)
        if parent is None:
            known.append(plan)
            out[plan.code] = to_yaml(plan, exact=exact)
            continue
        data: dict[str, Any] = {"code": plan.code, "extends": parent.code}
        for name in variant_fields(plan, parent):
            field = type(plan).model_fields[name]
            data[field.alias or name] = field_yaml(plan, name, exact=exact)
        out[plan.code] = data
    return [out[p.code] for p in plans]
