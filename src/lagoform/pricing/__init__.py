"""Price usage exactly as Lago bills it: charge models, filters, minimums, rounding.

Pure and dependency-free (stdlib ``Decimal``); works on charges shaped as Lago's API returns them
(``{"charge_model", "properties", "filters": [{"values", "properties"}], "min_amount_cents"}``),
so the sandbox (current-usage amounts) and the engine (revenue impact) share one implementation.
Rules: API_NOTES §4.4, §4.5 and §13 — the server's behaviour where Lago's docs differ.

Public API::

    price_units(charge_model, properties, units, *, transactions=(), events_count=None,
                premium=True, zero_usage_first_tier_flat=True) -> Decimal
        unrounded amount, in currency units, of one fee (models.py)
    match_filter(filters, event_properties, *, metric_filters=None) -> int | None
        index of the filter that prices an event; None = the charge's default price (filters.py)
    usage_from_events(charge, events, *, metric_filters=None) -> ChargeUsage
        route (properties, value[, precise_total_amount_cents]) events to filter groups and sum
        them (charges.py)
    price_charge_usage(charge, usage, *, premium=True, zero_usage_first_tier_flat=True,
                       period_fraction=1, currency=None) -> ChargeFees
        fees of one charge per filter group (index, None = default) in cents, plus the
        min_amount_cents true-up (charges.py)
    true_up_cents(charge, used_cents, *, period_fraction=1) -> int
        the min_amount_cents true-up alone, for callers that price fees themselves
    to_cents(amount, *, currency=None) -> int
        round once, half-up, to the currency's minor unit (rounding.py)
    days_in_period(interval, period_start) -> int; proration(days_billed, period_days) -> Decimal
    base_fee_cents(amount_cents, period_fraction=1) -> int
    invoice_total(base_fee, charges, *, minimum_commitment_cents=None, period_fraction=1)
        -> InvoiceTotal (base fee + charges + minimum-commitment top-up) (invoice.py)

``zero_usage_first_tier_flat`` defaults to the current server (lago-api PR #5760, merged
2026-07-16): at zero usage graduated, volume and graduated_percentage bill the first range's flat
amount; pass False to price like an older server. ``PricingError`` (a ``LagoformError``) reports
properties or usage the calculator cannot price.

Not modelled: ``pricing_group_keys`` (price each group with ``price_units``/``to_cents``, add them
up, then ``true_up_cents``), prorated graduated/volume charges on recurring metrics (Lago weighs
units by days), pay-in-advance per-event fees, fixed charges, taxes, coupons and credits.
"""

from __future__ import annotations

from lagoform.pricing.charges import (
    ChargeFees,
    ChargeUsage,
    GroupKey,
    GroupUsage,
    UsageEvent,
    price_charge_usage,
    true_up_cents,
    usage_from_events,
)
from lagoform.pricing.filters import match_filter
from lagoform.pricing.invoice import (
    InvoiceTotal,
    base_fee_cents,
    days_in_period,
    invoice_total,
    proration,
)
from lagoform.pricing.models import CHARGE_MODELS, price_units
from lagoform.pricing.rounding import PricingError, to_cents, to_decimal

__all__ = [
    "CHARGE_MODELS",
    "ChargeFees",
    "ChargeUsage",
    "GroupKey",
    "GroupUsage",
    "InvoiceTotal",
    "PricingError",
    "UsageEvent",
    "base_fee_cents",
    "days_in_period",
    "invoice_total",
    "match_filter",
    "price_charge_usage",
    "price_units",
    "proration",
    "to_cents",
    "to_decimal",
    "true_up_cents",
    "usage_from_events",
]
