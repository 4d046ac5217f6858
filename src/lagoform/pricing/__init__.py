"""Price usage exactly as Lago bills it: charge models, filters, minimums, rounding.

Pure and dependency-free (stdlib ``Decimal``); works on charges shaped as Lago's API returns them
(``{"charge_model", "properties", "filters": [{"values", "properties"}], "min_amount_cents"}``),
so the sandbox (current-usage amounts) and the engine (revenue impact) share one implementation.
Rules: API_NOTES §4.4, §4.5 and §13 — the server's behaviour where Lago's docs differ.

Public API::

    price_units(charge_model, properties, units, *, transactions=(), events_count=None,
                premium=True, zero_usage_first_tier_flat=True, count_aggregation=False) -> Decimal
        unrounded amount, in currency units, of one fee; 0 for negative units or amounts
        (models.py, percentage.py)
    FilterRouter(filters, *, metric_filters=None).groups(event_properties) -> tuple[GroupKey]
    fee_groups(filters, event_properties, *, metric_filters=None) -> tuple[GroupKey, ...]
        every fee that counts an event: filter indexes, None = the default price; filters that
        overlap without being nested share the event (filters.py)
    match_filter(filters, event_properties, *, metric_filters=None) -> int | None
        the one filter a pay-in-advance event is priced with (filters.py)
    usage_from_events(charge, events, *, metric_filters=None) -> ChargeUsage
        route (properties, value[, precise_total_amount_cents]) events to fees and sum them
        (charges.py)
    price_charge_usage(charge, usage, *, premium=True, zero_usage_first_tier_flat=True,
                       period_fraction=1, period_days=None, currency=None,
                       count_aggregation=False) -> ChargeFees
        fees of one charge per filter group (index, None = default) in cents, plus the
        min_amount_cents true-up (charges.py)
    true_up_cents(charge, used_cents, *, period_fraction=1, period_days=None) -> int
        the min_amount_cents true-up alone, for callers that price fees themselves;
        period_days=(billed, in period) reproduces Lago's floating-point proration
    price_pay_in_advance(charge_model, properties, before, value, *, ...) -> Decimal
        the fee one event adds to a pay-in-advance charge (advance.py)
    to_cents(amount, *, currency=None) -> int
        round once, half-up, to the currency's minor unit (rounding.py)
    days_in_period(interval, period_start) -> int; proration(days_billed, period_days) -> Decimal
    base_fee_cents(amount_cents, period_fraction=1, *, period_days=None) -> int
    invoice_total(base_fee, charges, *, minimum_commitment_cents=None, period_fraction=1,
                  period_days=None) -> InvoiceTotal (base fee + charges + commitment top-up)
    taxes_cents(lines: Iterable[TaxedLine]) -> (total, per tax code) (invoice.py)
    lago_prorated(amount, days, period_days, *, coefficient_first=False) -> Decimal
        Lago's floating-point proration (rounding.py)

``zero_usage_first_tier_flat`` defaults to the current server (lago-api PR #5760, merged
2026-07-16): at zero usage graduated, volume and graduated_percentage bill the first range's flat
amount; pass False to price like an older server. ``PricingError`` (a ``LagoformError``) reports
properties or usage the calculator cannot price.

Where the server's code differs from Lago's docs, the server wins; its quirks are listed in
docs/pricing-server-rules.md. Not modelled: ``pricing_group_keys`` (price each group with
``price_units``/``to_cents``, add them up, then ``true_up_cents``), prorated graduated/volume
charges on recurring metrics (Lago weighs units by days), fixed charges, coupons and credits.
"""

from __future__ import annotations

from lagoform.pricing.advance import price_pay_in_advance
from lagoform.pricing.charges import (
    ChargeFees,
    ChargeUsage,
    GroupUsage,
    UsageEvent,
    price_charge_usage,
    true_up_cents,
    usage_from_events,
)
from lagoform.pricing.filters import FilterRouter, GroupKey, fee_groups, match_filter, refines
from lagoform.pricing.invoice import (
    InvoiceTotal,
    TaxedLine,
    base_fee_cents,
    days_in_period,
    invoice_total,
    proration,
    taxes_cents,
)
from lagoform.pricing.models import CHARGE_MODELS, price_units
from lagoform.pricing.percentage import COUNTED_AGGREGATIONS
from lagoform.pricing.rounding import PricingError, lago_prorated, to_cents, to_decimal

__all__ = [
    "CHARGE_MODELS",
    "COUNTED_AGGREGATIONS",
    "ChargeFees",
    "ChargeUsage",
    "FilterRouter",
    "GroupKey",
    "GroupUsage",
    "InvoiceTotal",
    "PricingError",
    "TaxedLine",
    "UsageEvent",
    "base_fee_cents",
    "days_in_period",
    "fee_groups",
    "invoice_total",
    "lago_prorated",
    "match_filter",
    "price_charge_usage",
    "price_pay_in_advance",
    "price_units",
    "proration",
    "refines",
    "taxes_cents",
    "to_cents",
    "to_decimal",
    "true_up_cents",
    "usage_from_events",
]
