"""The comparison form of each kind of Lago object: one normalizer per kind.

Fed Lago-shaped dicts from either side — the catalog's request bodies (desired state) or Lago's
response objects (live state) — so a field compares equal exactly when Lago would treat it as
the same:

- only fields lagoform manages are kept (``lago_id``, ``created_at``, counters are dropped);
- charges are keyed by charge code, charge filters by ``filters.filter_key`` of their values
  map, tiers stay lists (position is their identity);
- defaults Lago fills in (``invoiceable: true``, ``min_amount_cents: 0`` ...) are filled in on
  both sides so an omitted default never shows as a change.

Pure; the engine's ``live`` and ``desired`` call in, its ``diff`` compares the results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lagoform.model.filters import filter_key, filter_values, key_of_values
from lagoform.model.properties import properties
from lagoform.model.values import Normal, boolean, clean, codes, dec, num, text, timestamp

__all__ = [
    "NORMALIZERS",
    "PROJECTED_KINDS",
    "add_on",
    "billable_metric",
    "billing_plan",
    "charge",
    "charge_code",
    "charge_filter",
    "coupon",
    "customer",
    "plan_overrides",
    "project",
    "subscription",
    "tax",
    "wallet",
]


def charge_filter(model: str | None, body: Mapping[str, Any]) -> Normal:
    return clean(
        {
            "values": filter_values(body.get("values") or {}),
            "invoice_display_name": text(body.get("invoice_display_name")),
            "properties": properties(model, body.get("properties")),
        }
    )


def charge(body: Mapping[str, Any]) -> Normal:
    model = body.get("charge_model")
    filters: dict[str, Normal] = {}
    for item in body.get("filters") or []:
        normal = charge_filter(model, item)
        filters[key_of_values(normal["values"])] = normal
    return clean(
        {
            "billable_metric_code": text(body.get("billable_metric_code")),
            "charge_model": model,
            "invoice_display_name": text(body.get("invoice_display_name")),
            "pay_in_advance": boolean(body.get("pay_in_advance"), False),
            "prorated": boolean(body.get("prorated"), False),
            "invoiceable": boolean(body.get("invoiceable"), True),
            "regroup_paid_fees": text(body.get("regroup_paid_fees")),
            "min_amount_cents": num(body.get("min_amount_cents")) or 0,
            "tax_codes": codes(body),
            "properties": properties(model, body.get("properties")),
            "filters": filters,
        }
    )


def charge_code(body: Mapping[str, Any]) -> str:
    """A charge's identity in its plan; Lago defaults it to the metric code."""
    return str(body.get("code") or body.get("billable_metric_code") or "")


_RECURRING_SPLIT_INTERVALS = ("yearly", "semiannual")


# -- kinds -----------------------------------------------------------------------------------


def tax(body: Mapping[str, Any]) -> Normal:
    return clean(
        {
            "name": text(body.get("name")),
            "rate": num(body.get("rate")),
            "description": text(body.get("description")),
            "applied_to_organization": boolean(body.get("applied_to_organization"), False),
        }
    )


def billable_metric(body: Mapping[str, Any]) -> Normal:
    aggregation = body.get("aggregation_type")
    filters = {
        str(f["key"]): sorted(str(v) for v in f.get("values") or [])
        for f in body.get("filters") or []
    }
    return clean(
        {
            "name": text(body.get("name")),
            "description": text(body.get("description")),
            "aggregation_type": aggregation,
            # Lago forces field_name to null for count_agg (API_NOTES §3.2)
            "field_name": None if aggregation == "count_agg" else text(body.get("field_name")),
            "recurring": boolean(body.get("recurring"), False),
            "weighted_interval": text(body.get("weighted_interval")),
            "rounding_function": text(body.get("rounding_function")),
            "rounding_precision": num(body.get("rounding_precision")),
            "expression": text(body.get("expression")),
            "filters": dict(sorted(filters.items())),
        }
    )


def add_on(body: Mapping[str, Any]) -> Normal:
    return clean(
        {
            "name": text(body.get("name")),
            "invoice_display_name": text(body.get("invoice_display_name")),
            "amount_cents": num(body.get("amount_cents")),
            "amount_currency": text(body.get("amount_currency")),
            "description": text(body.get("description")),
            "tax_codes": codes(body),
        }
    )


def _commitment(body: Mapping[str, Any] | None) -> Normal | None:
    if not body:
        return None
    return clean(
        {
            "amount_cents": num(body.get("amount_cents")),
            "invoice_display_name": text(body.get("invoice_display_name")),
            "tax_codes": codes(body),
        }
    )


def _thresholds(items: Iterable[Mapping[str, Any]] | None) -> list[Normal] | None:
    out = [
        clean(
            {
                "amount_cents": num(t.get("amount_cents")),
                "threshold_display_name": text(t.get("threshold_display_name")),
                "recurring": boolean(t.get("recurring"), False),
            }
        )
        for t in items or []
    ]
    out.sort(key=lambda t: (t["recurring"], t.get("amount_cents") or 0))
    return out or None


def billing_plan(body: Mapping[str, Any]) -> Normal:
    interval = text(body.get("interval"))
    split = interval in _RECURRING_SPLIT_INTERVALS
    charges = {charge_code(c): charge(c) for c in body.get("charges") or []}
    metadata = body.get("metadata")
    return clean(
        {
            "name": text(body.get("name")),
            "invoice_display_name": text(body.get("invoice_display_name")),
            "description": text(body.get("description")),
            "interval": interval,
            "amount_cents": num(body.get("amount_cents")),
            "amount_currency": text(body.get("amount_currency")),
            "trial_period": num(body.get("trial_period")) or 0,
            "pay_in_advance": boolean(body.get("pay_in_advance"), False),
            # Lago stores these only for yearly/semiannual plans (API_NOTES §4.2)
            "bill_charges_monthly": True if split and body.get("bill_charges_monthly") else None,
            "tax_codes": codes(body),
            "minimum_commitment": _commitment(body.get("minimum_commitment")),
            "usage_thresholds": _thresholds(body.get("usage_thresholds")),
            "metadata": {str(k): v for k, v in metadata.items()} if metadata else None,
            "charges": dict(sorted(charges.items())),
        }
    )


def coupon(body: Mapping[str, Any]) -> Normal:
    kind = text(body.get("coupon_type"))
    frequency = text(body.get("frequency"))
    applies = body.get("applies_to") or {}
    plan_codes = applies.get("plan_codes") if applies else body.get("plan_codes")
    metric_codes = (
        applies.get("billable_metric_codes") if applies else body.get("billable_metric_codes")
    )
    expiration_at = timestamp(body.get("expiration_at"))
    return clean(
        {
            "name": text(body.get("name")),
            "description": text(body.get("description")),
            "coupon_type": kind,
            "amount_cents": num(body.get("amount_cents")) if kind == "fixed_amount" else None,
            "amount_currency": text(body.get("amount_currency"))
            if kind == "fixed_amount"
            else None,
            "percentage_rate": num(body.get("percentage_rate")) if kind == "percentage" else None,
            "frequency": frequency,
            "frequency_duration": (
                num(body.get("frequency_duration")) if frequency == "recurring" else None
            ),
            "expiration": text(body.get("expiration"))
            or ("time_limit" if expiration_at else "no_expiration"),
            "expiration_at": expiration_at,
            "reusable": boolean(body.get("reusable"), True),
            "plan_codes": sorted(plan_codes) if plan_codes else None,
            "billable_metric_codes": sorted(metric_codes) if metric_codes else None,
        }
    )


_CUSTOMER_TEXT = (
    "name", "firstname", "lastname", "email", "phone", "url", "legal_name", "legal_number",
    "tax_identification_number", "address_line1", "address_line2", "city", "state", "zipcode",
    "currency", "timezone", "customer_type",
)  # fmt: skip


def customer(body: Mapping[str, Any]) -> Normal:
    out: Normal = {field: text(body.get(field)) for field in _CUSTOMER_TEXT}
    country = text(body.get("country"))
    out["country"] = country.upper() if country else None
    out["net_payment_term"] = num(body.get("net_payment_term"))
    if "tax_codes" in body or "taxes" in body:
        out["tax_codes"] = codes(body)
    metadata = body.get("metadata")
    if isinstance(metadata, list):
        out["metadata"] = {str(m["key"]): m.get("value") for m in metadata} or None
    elif isinstance(metadata, Mapping):
        out["metadata"] = {str(k): v for k, v in metadata.items()} or None
    return clean(out)


def _override_charge(body: Mapping[str, Any], model: str | None) -> Normal:
    out: Normal = {}
    if "properties" in body:
        out["properties"] = properties(model, body.get("properties"))
    if "filters" in body:
        out["filters"] = {
            filter_key(f.get("values") or {}): charge_filter(model, f)
            for f in body.get("filters") or []
        }
    if "min_amount_cents" in body:
        out["min_amount_cents"] = num(body.get("min_amount_cents")) or 0
    if "invoice_display_name" in body:
        out["invoice_display_name"] = text(body.get("invoice_display_name"))
    if "tax_codes" in body or "taxes" in body:
        out["tax_codes"] = codes(body)
    return clean(out)


def plan_overrides(body: Mapping[str, Any], models: Mapping[str, str | None]) -> Normal:
    """A subscription's overrides. ``body.charges`` items carry the charge ``code``;
    ``models`` gives each charge code's model (properties are sliced per model)."""
    out: Normal = {}
    for field in ("name", "invoice_display_name", "description"):
        if field in body:
            out[field] = text(body.get(field))
    if "amount_cents" in body:
        out["amount_cents"] = num(body.get("amount_cents"))
    if "trial_period" in body:
        out["trial_period"] = num(body.get("trial_period")) or 0
    if "amount_currency" in body:
        out["amount_currency"] = text(body.get("amount_currency"))
    if "tax_codes" in body or "taxes" in body:
        out["tax_codes"] = codes(body)
    if body.get("charges"):
        out["charges"] = {
            charge_code(c): _override_charge(c, c.get("charge_model") or models.get(charge_code(c)))
            for c in body["charges"]
        }
    return clean(out)


def subscription(body: Mapping[str, Any]) -> Normal:
    # A downgrade is pending until period end: the subscription already "is" on the next plan.
    plan_code = text(body.get("next_plan_code")) or text(body.get("plan_code"))
    # After an upgrade Lago's record for this external_id is a new one, started at the change;
    # live.py passes the first record's start as ``original_subscription_at``.
    started = body.get("original_subscription_at") or body.get("subscription_at")
    return clean(
        {
            "external_customer_id": text(body.get("external_customer_id")),
            "plan_code": plan_code,
            "name": text(body.get("name")),
            "billing_time": text(body.get("billing_time")) or "calendar",
            "subscription_at": timestamp(started),
            "ending_at": timestamp(body.get("ending_at")),
        }
    )


def wallet(body: Mapping[str, Any]) -> Normal:
    return clean(
        {
            "external_customer_id": text(body.get("external_customer_id")),
            "name": text(body.get("name")),
            "code": text(body.get("code")),
            "currency": text(body.get("currency")),
            "rate_amount": dec(body.get("rate_amount")),
            "priority": num(body.get("priority")),
            "expiration_at": timestamp(body.get("expiration_at")),
            "invoice_requires_successful_payment": body.get("invoice_requires_successful_payment"),
            # Credits ever put into the wallet, per kind: the YAML's figures, or on the live side
            # the totals of the wallet's inbound transactions (live.py), so consumption and
            # voided credits never look like a change.
            "paid_credits": dec(body.get("paid_credits")),
            "granted_credits": dec(body.get("granted_credits")),
        }
    )


NORMALIZERS: dict[str, Callable[[Mapping[str, Any]], Normal]] = {
    "tax": tax,
    "billable_metric": billable_metric,
    "add_on": add_on,
    "plan": billing_plan,
    "coupon": coupon,
    "customer": customer,
    "subscription": subscription,
    "wallet": wallet,
}

# Kinds where Lago fills in many fields the YAML may not mention: only the fields the desired
# side states are compared (an omitted field is "not managed", never "clear it").
PROJECTED_KINDS = frozenset({"customer", "subscription", "wallet"})


def project(live: Normal, desired: Normal) -> Normal:
    """``live`` restricted to the fields ``desired`` states (kinds where an omitted field means
    "not managed"). A subscription's prices are compared by ``pricing.py``, not here."""
    return {key: live[key] for key in desired if key in live}
