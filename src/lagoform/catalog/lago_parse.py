"""Lago objects (API responses, or our own request bodies) back into catalog models.

Used by ``lagoform import`` and by the engine to read live state in catalog terms. Accepts both
response shapes (``taxes: [{code}]``, ``lago_id``...) and request shapes (``tax_codes``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lagoform.catalog.lago_overrides import override_gaps, overrides_from_plans
from lagoform.catalog.models_charge import (
    WILDCARD,
    Charge,
)
from lagoform.catalog.models_metric import BillableMetric, Tax
from lagoform.catalog.models_plan import AddOn, BillingPlan, Coupon
from lagoform.catalog.models_tenant import (
    Customer,
    PlanOverrides,
    Subscription,
    Wallet,
)
from lagoform.catalog.money import Money, from_cents
from lagoform.model.filters import ALL_FILTER_VALUES

__all__ = [
    "add_on_from_lago",
    "billable_metric_from_lago",
    "charge_from_lago",
    "coupon_from_lago",
    "customer_from_lago",
    "override_gaps",
    "overrides_from_plans",
    "plan_from_lago",
    "properties_from_lago",
    "subscription_from_lago",
    "tax_from_lago",
    "wallet_from_lago",
]


def _dec(value: Any) -> Decimal | None:
    """A Lago number: strings exactly; JSON floats (rates, days) by their shortest repr."""
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _tax_codes(obj: dict[str, Any]) -> tuple[str, ...]:
    if obj.get("tax_codes") is not None:
        return tuple(sorted(obj["tax_codes"]))
    return tuple(sorted(t["code"] for t in obj.get("taxes") or []))


def tax_from_lago(obj: dict[str, Any]) -> Tax:
    return Tax(
        code=obj["code"],
        name=obj["name"],
        rate=_dec(obj["rate"]),
        description=obj.get("description"),
        applied_to_organization=bool(obj.get("applied_to_organization", False)),
    )


def billable_metric_from_lago(obj: dict[str, Any]) -> BillableMetric:
    aggregation = str(obj["aggregation_type"]).removesuffix("_agg")
    rounding = None
    if obj.get("rounding_function"):
        rounding = {
            "function": obj["rounding_function"],
            "precision": obj.get("rounding_precision"),
        }
    return BillableMetric.model_validate(
        {
            "code": obj["code"],
            "name": obj["name"],
            "description": obj.get("description"),
            "aggregation": aggregation,
            "field_name": obj.get("field_name"),
            "recurring": bool(obj.get("recurring", False)),
            "weighted_interval": obj.get("weighted_interval")
            if aggregation == "weighted_sum"
            else None,
            "rounding": rounding,
            "expression": obj.get("expression") or None,
            "filters": {f["key"]: list(f["values"]) for f in obj.get("filters") or []},
        }
    )


def _tiers(ranges: list[dict[str, Any]], amount_key: str, our_key: str) -> list[dict[str, Any]]:
    return [
        {
            "from": r["from_value"],
            "to": r.get("to_value"),
            our_key: _dec(r.get(amount_key, "0")),
            "flat": _dec(r.get("flat_amount", "0")),
        }
        for r in ranges
    ]


def properties_from_lago(model: str, props: dict[str, Any] | None) -> dict[str, Any]:
    """Lago ``properties`` -> our raw properties dict (with ``model`` written in)."""
    props = props or {}
    out: dict[str, Any] = {"model": model}
    if model == "standard":
        out["amount"] = _dec(props.get("amount", "0"))
    elif model in ("graduated", "volume"):
        key = "graduated_ranges" if model == "graduated" else "volume_ranges"
        out["tiers"] = _tiers(props.get(key) or [], "per_unit_amount", "per_unit")
    elif model == "graduated_percentage":
        out["tiers"] = _tiers(props.get("graduated_percentage_ranges") or [], "rate", "rate")
    elif model == "package":
        out["amount"] = _dec(props.get("amount", "0"))
        out["package_size"] = props.get("package_size")
        out["free_units"] = props.get("free_units") or 0
    elif model == "percentage":
        out["rate"] = _dec(props.get("rate", "0"))
        for key in (
            "fixed_amount",
            "free_units_per_total_aggregation",
            "per_transaction_min_amount",
            "per_transaction_max_amount",
        ):
            if props.get(key) is not None:
                out[key] = _dec(props[key])
        if props.get("free_units_per_events") is not None:
            out["free_units_per_events"] = props["free_units_per_events"]
    groups = props.get("pricing_group_keys") or props.get("grouped_by") or []
    if groups:
        out["pricing_group_keys"] = list(groups)
    return out


def _filter_values(values: dict[str, list[str]]) -> dict[str, list[str]]:
    return {
        key: [WILDCARD] if list(vals) == [ALL_FILTER_VALUES] else list(vals)
        for key, vals in values.items()
    }


def _filters_from_lago(model: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "values": _filter_values(f.get("values") or {}),
            "invoice_display_name": f.get("invoice_display_name"),
            "properties": properties_from_lago(model, f.get("properties")),
        }
        for f in filters
    ]


def charge_from_lago(obj: dict[str, Any], currency: str) -> Charge:
    model = obj["charge_model"]
    return Charge.model_validate(
        {
            "code": obj.get("code") or obj["billable_metric_code"],
            "metric": obj["billable_metric_code"],
            "model": model,
            "invoice_display_name": obj.get("invoice_display_name"),
            "pay_in_advance": bool(obj.get("pay_in_advance", False)),
            "prorated": bool(obj.get("prorated", False)),
            "invoiceable": obj.get("invoiceable") is not False,
            "min_amount": from_cents(obj.get("min_amount_cents") or 0, currency),
            "tax_codes": _tax_codes(obj),
            "properties": properties_from_lago(model, obj.get("properties")),
            "filters": _filters_from_lago(model, obj.get("filters") or []),
        }
    )


def plan_from_lago(obj: dict[str, Any]) -> BillingPlan:
    currency = obj["amount_currency"]
    commitment = obj.get("minimum_commitment") or None
    interval = obj["interval"]
    return BillingPlan.model_validate(
        {
            "code": obj["code"],
            "name": obj["name"],
            "invoice_display_name": obj.get("invoice_display_name"),
            "description": obj.get("description"),
            "interval": interval,
            "amount": Money.from_cents(obj["amount_cents"], currency),
            "pay_in_advance": bool(obj.get("pay_in_advance", False)),
            "trial_days": _dec(obj.get("trial_period")) or None,
            "bill_charges_monthly": (
                obj.get("bill_charges_monthly") if interval in ("yearly", "semiannual") else None
            ),
            "tax_codes": _tax_codes(obj),
            "minimum_commitment": (
                {
                    "amount": Money.from_cents(commitment["amount_cents"], currency),
                    "invoice_display_name": commitment.get("invoice_display_name"),
                    "tax_codes": _tax_codes(commitment),
                }
                if commitment
                else None
            ),
            "usage_thresholds": [
                {
                    "amount": Money.from_cents(t["amount_cents"], currency),
                    "name": t.get("threshold_display_name"),
                    "recurring": bool(t.get("recurring", False)),
                }
                for t in obj.get("usage_thresholds") or []
            ],
            "metadata": dict(obj.get("metadata") or {}),
            "cascade_updates": bool(obj.get("cascade_updates", False)),
            "charges": [charge_from_lago(c, currency) for c in obj.get("charges") or []],
        }
    )


def add_on_from_lago(obj: dict[str, Any]) -> AddOn:
    return AddOn(
        code=obj["code"],
        name=obj["name"],
        amount=Money.from_cents(obj["amount_cents"], obj["amount_currency"]),
        invoice_display_name=obj.get("invoice_display_name"),
        description=obj.get("description"),
        tax_codes=_tax_codes(obj),
    )


def coupon_from_lago(obj: dict[str, Any]) -> Coupon:
    amount = None
    if obj.get("coupon_type") == "fixed_amount" and obj.get("amount_cents") is not None:
        amount = Money.from_cents(obj["amount_cents"], obj["amount_currency"])
    applies = obj.get("applies_to") or {}
    plans = applies.get("plan_codes") or obj.get("plan_codes") or []
    metrics = applies.get("billable_metric_codes") or obj.get("billable_metric_codes") or []
    scope = {"plans": plans, "metrics": metrics} if plans or metrics else None
    expiration_at = obj.get("expiration_at") if obj.get("expiration") != "no_expiration" else None
    return Coupon.model_validate(
        {
            "code": obj["code"],
            "name": obj["name"],
            "description": obj.get("description"),
            "type": obj["coupon_type"],
            "percentage_rate": _dec(obj.get("percentage_rate")),
            "amount": amount,
            "frequency": obj.get("frequency", "once"),
            "frequency_duration": obj.get("frequency_duration"),
            "expiration_at": expiration_at,
            "reusable": obj.get("reusable") is not False,
            "applies_to": scope,
        }
    )


_CUSTOMER_KEYS = (
    "name",
    "firstname",
    "lastname",
    "currency",
    "email",
    "phone",
    "url",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "timezone",
    "net_payment_term",
)
_ADDRESS_KEYS = {
    "address_line1": "line1",
    "address_line2": "line2",
    "city": "city",
    "zipcode": "zipcode",
    "state": "state",
    "country": "country",
}


def customer_from_lago(obj: dict[str, Any]) -> Customer:
    data: dict[str, Any] = {k: obj[k] for k in _CUSTOMER_KEYS if obj.get(k) is not None}
    data.setdefault("name", obj.get("name") or obj["external_id"])
    address = {ours: obj[theirs] for theirs, ours in _ADDRESS_KEYS.items() if obj.get(theirs)}
    if address:
        data["address"] = address
    data["tax_codes"] = _tax_codes(obj)
    data["metadata"] = {m["key"]: m["value"] for m in obj.get("metadata") or []}
    data["external_id"] = obj["external_id"]
    return Customer.model_validate(data)


def subscription_from_lago(
    obj: dict[str, Any], overrides: PlanOverrides | None = None
) -> Subscription:
    return Subscription.model_validate(
        {
            "external_id": obj["external_id"],
            "plan": obj["plan_code"],
            "name": obj.get("name") or None,
            "billing_time": obj.get("billing_time") or "calendar",
            "start_date": obj.get("subscription_at"),
            "end_date": obj.get("ending_at"),
            "overrides": overrides,
        }
    )


def wallet_from_lago(obj: dict[str, Any]) -> Wallet:
    return Wallet.model_validate(
        {
            "code": obj.get("code") or obj["lago_id"],
            "name": obj.get("name"),
            "currency": obj["currency"],
            "rate_amount": _dec(obj.get("rate_amount", "1")),
            "paid_credits": _dec(obj.get("paid_credits")),
            "granted_credits": _dec(obj.get("granted_credits")),
            "priority": obj.get("priority"),
            "expiration_at": obj.get("expiration_at"),
            "invoice_requires_successful_payment": obj.get("invoice_requires_successful_payment"),
        }
    )
