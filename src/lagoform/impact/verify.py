"""Lago as the referee: lagoform's "before" amounts checked against Lago's own, to the cent.

``lagoform impact --verify`` takes a sample of the subscriptions it priced and, for each, puts
two of Lago's computations beside lagoform's:

- **current usage** (``GET /customers/{id}/current_usage``): lagoform's calculator prices the
  units Lago reports for every charge and filter; each fee must equal Lago's;
- **invoice preview** (``POST /invoices/preview``): per charge, the fees Lago would put on the
  next invoice — the period's usage and the charge's minimum true-up, prorated over the days the
  subscription billed as Lago prorates them — against lagoform's fee plus ``pricing``'s true-up.
  Pay-in-advance and non-invoiced charges are not on that invoice and are not compared.

A difference is reported with both amounts; what cannot be compared says why (a usage Lago's
totals cannot be re-priced from, a Lago without the preview endpoint or licence). Pure: the
reads are in ``fetch.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lagoform.impact.estimate import attach, price_reported
from lagoform.impact.forms import PricedCharge, PricedPlan
from lagoform.impact.model import Verified, VerifiedAmount
from lagoform.impact.usage import ChargeReport, PeriodUsage
from lagoform.model.filters import label
from lagoform.model.periods import current_period, days
from lagoform.pricing import ChargeFees, true_up_cents

__all__ = ["CURRENT_USAGE", "INVOICE_PREVIEW", "verify_subscription"]

CURRENT_USAGE = "current_usage"
INVOICE_PREVIEW = "invoice_preview"


def verify_subscription(
    plan: PricedPlan,
    usage: PeriodUsage,
    subscription: Mapping[str, Any],
    invoice: Mapping[str, Any] | str,
    *,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
) -> Verified:
    """Check lagoform's amounts for one subscription (``plan``: its current pricing with Lago's
    charge ids; ``usage``: its current period; ``subscription``: Lago's subscription object;
    ``invoice``: Lago's preview of its next invoice, or why there is none)."""
    currency = plan.currency or usage.currency or ""
    external_id = str(subscription.get("external_id") or "")
    reports, problems = attach(plan, usage)
    notes = list(problems)
    differences: list[VerifiedAmount] = []
    compared = 0
    ours: dict[str, ChargeFees] = {}
    for charge in plan.charges:
        report = reports.get(charge.code)
        if report is None:
            continue
        fees = price_reported(
            charge, report, premium=premium,
            zero_usage_first_tier_flat=zero_usage_first_tier_flat, currency=currency,
        )  # fmt: skip
        if isinstance(fees, str):
            notes.append(f"{fees} (not compared)")
            continue
        ours[charge.code] = fees
        found = _usage_differences(charge, report, fees)
        compared += 1 + len(report.groups)
        differences.extend(found)
    if isinstance(invoice, str):
        notes.append(f"invoice preview: {invoice}")
    else:
        more, count, left = _preview_differences(plan, usage, subscription, invoice, ours, reports)
        differences.extend(more)
        compared += count
        notes.extend(left)
    return Verified(
        external_id=external_id,
        external_customer_id=str(subscription.get("external_customer_id") or ""),
        currency=currency,
        compared=compared,
        differences=tuple(differences),
        notes=tuple(notes),
    )


def _amount(source: str, charge: str, where: str | None, ours: int, lago: int) -> VerifiedAmount:
    return VerifiedAmount(
        source=source, charge=charge, filter=where,
        lagoform_cents=ours, lago_cents=lago, difference_cents=ours - lago,
    )  # fmt: skip


def _usage_differences(
    charge: PricedCharge, report: ChargeReport, fees: ChargeFees
) -> list[VerifiedAmount]:
    out = []
    if fees.amount_cents != report.amount_cents:
        lago = report.amount_cents
        out.append(_amount(CURRENT_USAGE, charge.code, None, fees.amount_cents, lago))
    index = {f.key: i for i, f in enumerate(charge.filters)}
    for group in report.groups:
        if group.key is not None and group.key not in index:
            continue  # a filter lagoform does not know: the charge total above covers it
        mine = fees.by_group.get(None if group.key is None else index[group.key], 0)
        if mine != group.amount_cents:
            where = label(group.key) if group.key else "(no filter matched)"
            out.append(_amount(CURRENT_USAGE, charge.code, where, mine, group.amount_cents))
    return out


def _preview_differences(
    plan: PricedPlan,
    usage: PeriodUsage,
    subscription: Mapping[str, Any],
    invoice: Mapping[str, Any],
    ours: Mapping[str, ChargeFees],
    reports: Mapping[str, ChargeReport],
) -> tuple[list[VerifiedAmount], int, list[str]]:
    external_id = subscription.get("external_id")
    lago: dict[str | None, int] = {}
    for fee in invoice.get("fees") or []:
        item = fee.get("item") or {}
        if item.get("type") != "charge" or fee.get("external_subscription_id") != external_id:
            continue
        key = fee.get("lago_charge_id")
        lago[key] = lago.get(key, 0) + int(fee.get("amount_cents") or 0)
    period_days = _period_days(plan, usage, subscription)
    out: list[VerifiedAmount] = []
    notes: list[str] = []
    compared = 0
    for charge in plan.charges:
        if charge.pay_in_advance or not charge.invoiceable:
            lago.pop(charge.lago_id, None)
            continue
        fees = ours.get(charge.code)
        if fees is None and charge.code in reports:
            lago.pop(charge.lago_id, None)
            continue  # not priced (the note says why)
        used = fees.amount_cents if fees is not None else 0
        if period_days is None and charge.min_amount_cents:
            notes.append(f"invoice preview: charge {charge.code}'s minimum cannot be prorated: "
                         "Lago's usage period is unknown")  # fmt: skip
            lago.pop(charge.lago_id, None)
            continue
        mine = used + true_up_cents(charge.lago(), used, period_days=period_days)
        theirs = lago.pop(charge.lago_id, 0)
        compared += 1
        if mine != theirs:
            out.append(_amount(INVOICE_PREVIEW, charge.code, None, mine, theirs))
    for key, cents in lago.items():
        if cents:
            notes.append(
                f"invoice preview: a charge fee lagoform cannot place on the plan (charge id "
                f"{key}), {cents} cents"
            )
    return out, compared, notes


def _period_days(
    plan: PricedPlan, usage: PeriodUsage, subscription: Mapping[str, Any]
) -> tuple[int, int] | None:
    """(days billed, days in the charges period), as Lago prorates a minimum."""
    start, end = _instant(usage.from_datetime), _instant(usage.to_datetime)
    anchor = _instant(subscription.get("started_at")) or _instant(
        subscription.get("subscription_at")
    )
    if start is None or end is None or anchor is None:
        return None
    billing_time = str(subscription.get("billing_time") or "calendar")
    full_start, full_end = current_period(plan.charges_interval, billing_time, anchor, start)
    return days(start, end), days(full_start, full_end)


def _instant(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
