"""Exact conversion of catalog models to Lago's API request bodies (and back, re-exported).

Bodies use API_NOTES field names, without the root envelope key. Money becomes integer
``*_cents`` in the currency's minor unit; prices and rates become decimal strings. Charges carry
``billable_metric_code`` (Lago wants ``billable_metric_id``: the engine resolves it) and plan
override charges carry ``code`` (the engine resolves the charge ``id``). Filter values and tax
codes are sorted so two bodies describing the same thing compare equal.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lagoform.catalog.lago_parse import (
    add_on_from_lago,
    billable_metric_from_lago,
    charge_from_lago,
    coupon_from_lago,
    customer_from_lago,
    overrides_from_plans,
    plan_from_lago,
    properties_from_lago,
    subscription_from_lago,
    tax_from_lago,
    wallet_from_lago,
)
from lagoform.catalog.models_charge import (
    WILDCARD,
    Charge,
    ChargeFilter,
    ChargeProperties,
    DynamicProperties,
    GraduatedPercentageProperties,
    GraduatedProperties,
    PackageProperties,
    PercentageProperties,
    StandardProperties,
    VolumeProperties,
    discounted,
    unit_of,
)
from lagoform.catalog.models_metric import BillableMetric, Tax
from lagoform.catalog.models_plan import AddOn, BillingPlan, Coupon
from lagoform.catalog.models_tenant import (
    ChargeOverride,
    OverrideFilter,
    PlanOverrides,
    Subscription,
    Tenant,
    Wallet,
)
from lagoform.catalog.money import decimal_text, to_cents
from lagoform.model.filters import ALL_FILTER_VALUES, filter_key
from lagoform.model.units import Unit

__all__ = [
    "add_on_body",
    "add_on_from_lago",
    "billable_metric_body",
    "billable_metric_from_lago",
    "charge_body",
    "charge_from_lago",
    "charge_override_body",
    "charge_units",
    "coupon_body",
    "coupon_from_lago",
    "customer_body",
    "customer_from_lago",
    "filter_body",
    "lago_datetime",
    "negotiated_filters",
    "overrides_from_plans",
    "plan_body",
    "plan_from_lago",
    "plan_overrides_body",
    "price_rules",
    "properties_body",
    "properties_from_lago",
    "subscription_body",
    "subscription_from_lago",
    "tax_body",
    "tax_from_lago",
    "wallet_body",
    "wallet_from_lago",
]

_BILL_MONTHLY_INTERVALS = ("yearly", "semiannual")


def _d(value: Decimal) -> str:
    return decimal_text(value)


def _opt_d(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def _number(value: Decimal | None) -> int | float | None:
    # For day counts (trial_period), which Lago reads as a JSON number; never used for money.
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def lago_datetime(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as Lago writes it."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tax_body(tax: Tax) -> dict[str, Any]:
    return {
        "code": tax.code,
        "name": tax.name,
        "rate": _d(tax.rate),
        "description": tax.description,
        "applied_to_organization": tax.applied_to_organization,
    }


def billable_metric_body(metric: BillableMetric) -> dict[str, Any]:
    aggregation = metric.aggregation
    return {
        "code": metric.code,
        "name": metric.name,
        "description": metric.description,
        "aggregation_type": f"{aggregation}_agg",
        # Lago forces field_name to null for count; send what it will store.
        "field_name": None if aggregation == "count" else metric.field_name,
        "recurring": metric.recurring,
        "weighted_interval": "seconds" if aggregation == "weighted_sum" else None,
        "rounding_function": metric.rounding.function if metric.rounding else None,
        "rounding_precision": metric.rounding.precision if metric.rounding else None,
        "expression": metric.expression,
        "filters": [
            {"key": key, "values": sorted(values)} for key, values in sorted(metric.filters.items())
        ],
    }


def _ranges(tiers: Any, amount_key: str, per: Unit | None = None) -> list[dict[str, Any]]:
    return [
        {
            "from_value": tier.from_,
            "to_value": tier.to,
            amount_key: _d(tier.rate) if amount_key == "rate" else _unit(tier.per_unit, per),
            "flat_amount": _d(tier.flat),
        }
        for tier in tiers
    ]


def _unit(price: Decimal, per: Unit | None) -> str:
    """A unit price as Lago holds it: per single unit (``per:`` divided out, exactly; the
    catalog checks refuse a price that does not divide exactly, ``Unit.problem``)."""
    return _d(per.per_unit(price) if per is not None else price)


def properties_body(properties: ChargeProperties, per: Unit | None = None) -> dict[str, Any]:
    """A charge's (or filter's) ``properties`` in Lago's shape, keys sliced to its model;
    ``per`` is what its unit prices are written per (``per: 1M tokens``)."""
    out: dict[str, Any]
    match properties:
        case StandardProperties():
            out = {"amount": _unit(properties.amount, per)}
        case GraduatedProperties():
            out = {"graduated_ranges": _ranges(properties.tiers, "per_unit_amount", per)}
        case VolumeProperties():
            out = {"volume_ranges": _ranges(properties.tiers, "per_unit_amount", per)}
        case GraduatedPercentageProperties():
            out = {"graduated_percentage_ranges": _ranges(properties.tiers, "rate")}
        case PackageProperties():
            out = {
                "amount": _d(properties.amount),
                "package_size": properties.package_size,
                "free_units": properties.free_units,
            }
        case PercentageProperties():
            out = {"rate": _d(properties.rate)}
            optional = {
                "fixed_amount": _opt_d(properties.fixed_amount),
                "free_units_per_events": properties.free_units_per_events,
                "free_units_per_total_aggregation": _opt_d(
                    properties.free_units_per_total_aggregation
                ),
                "per_transaction_min_amount": _opt_d(properties.per_transaction_min_amount),
                "per_transaction_max_amount": _opt_d(properties.per_transaction_max_amount),
            }
            out.update({k: v for k, v in optional.items() if v is not None})
        case DynamicProperties():
            out = {}
    if properties.pricing_group_keys:
        out["pricing_group_keys"] = list(properties.pricing_group_keys)
    return out


def filter_values_body(values: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {
        key: [ALL_FILTER_VALUES] if WILDCARD in vals else sorted(vals)
        for key, vals in sorted(values.items())
    }


def filter_body(charge_filter: ChargeFilter, per: Unit | None = None) -> dict[str, Any]:
    """A charge filter; ``per``: the unit its prices are written per when it names none."""
    own = unit_of(charge_filter.per) or per
    return {
        "invoice_display_name": charge_filter.invoice_display_name,
        "properties": properties_body(charge_filter.properties, own),
        "values": filter_values_body(charge_filter.values),
    }


def charge_units(charge: Charge) -> dict[str, str]:
    """What each price of a charge is written per, for renders: ``""`` the charge's own,
    else a filter's key (``model.filters.filter_key``); only units other than one unit."""
    out: dict[str, str] = {}
    if charge.per is not None:
        out[""] = charge.per
    for charge_filter in charge.filters:
        per = charge_filter.per or charge.per
        if per is not None:
            out[filter_key(filter_values_body(charge_filter.values))] = per
    return out


def charge_body(charge: Charge, currency: str) -> dict[str, Any]:
    return {
        "code": charge.code,
        "billable_metric_code": charge.metric,
        "charge_model": charge.model,
        "invoice_display_name": charge.invoice_display_name,
        "pay_in_advance": charge.pay_in_advance,
        "prorated": charge.prorated,
        "invoiceable": charge.invoiceable,
        "min_amount_cents": to_cents(charge.min_amount, currency),
        "properties": properties_body(charge.properties, unit_of(charge.per)),
        "filters": [filter_body(f, unit_of(charge.per)) for f in charge.filters],
        "tax_codes": sorted(charge.tax_codes),
    }


def plan_body(plan: BillingPlan, *, update: bool = False) -> dict[str, Any]:
    """``POST /plans`` body; ``update=True`` adds what a full ``PUT /plans/{code}`` needs."""
    currency = plan.currency
    body: dict[str, Any] = {
        "code": plan.code,
        "name": plan.name,
        "invoice_display_name": plan.invoice_display_name,
        "description": plan.description,
        "interval": plan.interval,
        "amount_cents": plan.amount.cents,
        "amount_currency": currency,
        "pay_in_advance": plan.pay_in_advance,
        "trial_period": _number(plan.trial_days),
        "bill_charges_monthly": (
            plan.bill_charges_monthly if plan.interval in _BILL_MONTHLY_INTERVALS else None
        ),
        "tax_codes": sorted(plan.tax_codes),
        "usage_thresholds": [
            {
                "amount_cents": t.amount.cents,
                "threshold_display_name": t.name,
                "recurring": t.recurring,
            }
            for t in plan.usage_thresholds
        ],
        "metadata": dict(plan.metadata),
        "charges": [charge_body(c, currency) for c in plan.charges],
    }
    if plan.minimum_commitment is not None:
        commitment = plan.minimum_commitment
        body["minimum_commitment"] = {
            "amount_cents": commitment.amount.cents,
            "invoice_display_name": commitment.invoice_display_name,
            "tax_codes": sorted(commitment.tax_codes),
        }
    elif update:
        body["minimum_commitment"] = {}  # present and empty deletes a commitment
    if update:
        body["cascade_updates"] = plan.cascade_updates
    return body


def add_on_body(add_on: AddOn) -> dict[str, Any]:
    return {
        "code": add_on.code,
        "name": add_on.name,
        "invoice_display_name": add_on.invoice_display_name,
        "description": add_on.description,
        "amount_cents": add_on.amount.cents,
        "amount_currency": add_on.amount.currency,
        "tax_codes": sorted(add_on.tax_codes),
    }


def coupon_body(coupon: Coupon) -> dict[str, Any]:
    applies_to: dict[str, list[str]] | None = None
    if coupon.applies_to and coupon.applies_to.plans:
        applies_to = {"plan_codes": list(coupon.applies_to.plans)}
    elif coupon.applies_to and coupon.applies_to.metrics:
        applies_to = {"billable_metric_codes": list(coupon.applies_to.metrics)}
    return {
        "code": coupon.code,
        "name": coupon.name,
        "description": coupon.description,
        "coupon_type": coupon.type,
        "amount_cents": coupon.amount.cents if coupon.amount else None,
        "amount_currency": coupon.amount.currency if coupon.amount else None,
        "percentage_rate": _opt_d(coupon.percentage_rate),
        "frequency": coupon.frequency,
        "frequency_duration": coupon.frequency_duration,
        "expiration": "time_limit" if coupon.expiration_at else "no_expiration",
        "expiration_at": lago_datetime(coupon.expiration_at),
        "reusable": coupon.reusable,
        "applies_to": applies_to,
    }


def customer_body(tenant: Tenant) -> dict[str, Any]:
    """``POST /customers`` (an upsert by external_id). Keys not written in YAML are not sent."""
    customer = tenant.customer
    fields = customer.model_dump(
        exclude={"external_id", "address", "metadata", "tax_codes"}, exclude_none=True
    )
    body: dict[str, Any] = {"external_id": tenant.external_id, **fields}
    if customer.address is not None:
        address = customer.address
        parts = {
            "address_line1": address.line1,
            "address_line2": address.line2,
            "city": address.city,
            "zipcode": address.zipcode,
            "state": address.state,
            "country": address.country,
        }
        body.update({k: v for k, v in parts.items() if v is not None})
    body["tax_codes"] = sorted(customer.tax_codes)
    body["metadata"] = [
        {"key": key, "value": value, "display_in_invoice": False}
        for key, value in customer.metadata.items()
    ]
    return body


def subscription_body(tenant_id: str, subscription: Subscription) -> dict[str, Any]:
    """``POST /subscriptions`` without overrides (see ``plan_overrides_body``)."""
    return {
        "external_customer_id": tenant_id,
        "plan_code": subscription.plan,
        "external_id": subscription.external_id,
        "name": subscription.name,
        "billing_time": subscription.billing_time,
        "subscription_at": lago_datetime(subscription.start_date),
        "ending_at": lago_datetime(subscription.end_date),
    }


def charge_override_body(
    override: ChargeOverride, currency: str, base: Charge | None = None
) -> dict[str, Any]:
    """``PUT /subscriptions/{id}/charges/{code}`` body: only the keys the override sets. Its
    prices are written in the units of the base plan's ``base`` charge and filters; a discount
    is taken off the base's prices here (so it follows the catalog), and ``filters`` lists only
    the filters the override prices (``negotiated_filters``; the engine merges the others)."""
    body: dict[str, Any] = {}
    per = unit_of(base.per) if base is not None else None
    if override.invoice_display_name is not None:
        body["invoice_display_name"] = override.invoice_display_name
    if override.min_amount is not None:
        body["min_amount_cents"] = to_cents(override.min_amount, currency)
    if override.properties is not None:
        body["properties"] = properties_body(override.properties, per)
    elif override.discount is not None and base is not None:
        body["properties"] = properties_body(discounted(base.properties, override.discount), per)
    if override.filters is not None or (override.discount is not None and base is not None):
        body["filters"] = [
            filter_body(f, unit_of(f.per) or per) for f in negotiated_filters(override, base)
        ]
    if override.tax_codes is not None:
        body["tax_codes"] = sorted(override.tax_codes)
    return body


def negotiated_filters(override: ChargeOverride, base: Charge | None) -> list[ChargeFilter]:
    """The base charge's filters this override prices, each at its negotiated price: an exact
    price for its values, else the most specific discount covering it, else the charge-wide
    discount; a filter none of them reaches is not listed (it keeps the catalog's price)."""
    entries = override.filters or ()
    if base is None:
        return [
            ChargeFilter(values=e.values, invoice_display_name=e.invoice_display_name,
                         per=e.per, properties=e.properties)
            for e in entries if e.properties is not None
        ]  # fmt: skip
    out: list[ChargeFilter] = []
    for listed in base.filters:
        exact = next((e for e in entries if e.values == listed.values), None)
        covering = [e for e in entries if e.discount is not None and e.covers(listed.values)]
        best = max(covering, key=_specificity) if covering else None
        properties = listed.properties
        if exact is not None and exact.properties is not None:
            properties = exact.properties
        elif best is not None and best.discount is not None:
            properties = discounted(listed.properties, best.discount)
        elif override.discount is not None:
            properties = discounted(listed.properties, override.discount)
        elif exact is None:
            continue  # not negotiated: it follows the catalog
        name = exact.invoice_display_name if exact is not None else None
        out.append(
            listed.model_copy(
                update={
                    "properties": properties,
                    "per": (exact.per if exact is not None else None) or listed.per,
                    "invoice_display_name": name or listed.invoice_display_name,
                }
            )
        )
    return out


def price_rules(overrides: PlanOverrides) -> list[str]:
    """The derived prices of an override, in words, for reviewers: ``tokens: 15% off list``,
    ``tokens [model=gpt-5]: 20% off list``."""
    out: list[str] = ["frozen: keeps the prices its own copy has"] if overrides.frozen else []
    for code, override in overrides.charges.items():
        if override.discount is not None:
            out.append(f"{code}: {decimal_text(override.discount)}% off list")
        for entry in override.filters or ():
            if entry.discount is not None:
                where = ", ".join(f"{k}={'/'.join(v)}" for k, v in sorted(entry.values.items()))
                out.append(f"{code} [{where}]: {decimal_text(entry.discount)}% off list")
    return out


def _specificity(entry: OverrideFilter) -> tuple[int, float]:
    width = sum(
        float("inf") if WILDCARD in values else len(values) for values in entry.values.values()
    )
    return (len(entry.values), -width)


def plan_overrides_body(overrides: PlanOverrides, base_plan: BillingPlan) -> dict[str, Any]:
    """``plan_overrides`` for a subscription; each charge carries its ``code`` (engine -> id)."""
    body: dict[str, Any] = {}
    if overrides.amount is not None:
        body["amount_cents"] = overrides.amount.cents
        body["amount_currency"] = overrides.amount.currency
    for key in ("name", "invoice_display_name", "description"):
        value = getattr(overrides, key)
        if value is not None:
            body[key] = value
    if overrides.trial_days is not None:
        body["trial_period"] = _number(overrides.trial_days)
    if overrides.tax_codes is not None:
        body["tax_codes"] = sorted(overrides.tax_codes)
    charges = []
    for code, override in overrides.charges.items():
        body_ = charge_override_body(override, base_plan.currency, base_plan.charge(code))
        charges.append({"code": code, **body_})
    if charges:
        body["charges"] = charges
    return body


def wallet_body(tenant_id: str, wallet: Wallet) -> dict[str, Any]:
    return {
        "external_customer_id": tenant_id,
        "code": wallet.code,
        "name": wallet.name,
        "currency": wallet.currency,
        "rate_amount": _d(wallet.rate_amount),
        "paid_credits": _opt_d(wallet.paid_credits),
        "granted_credits": _opt_d(wallet.granted_credits),
        "priority": wallet.priority,
        "expiration_at": lago_datetime(wallet.expiration_at),
        "invoice_requires_successful_payment": wallet.invoice_requires_successful_payment,
    }
