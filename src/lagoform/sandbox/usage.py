"""Customer usage (current and past periods) computed from stored events.

Units and amounts come from ``aggregation`` (lagoform.pricing, the calculator the engine uses).
Approximations (documented in docs/sandbox.md): recurring metrics aggregate every event since
the subscription started; past usage is recomputed from events (the sandbox issues no
invoices).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from lagoform import pricing
from lagoform.model.periods import current_period
from lagoform.sandbox import aggregation, customers, fees, subscriptions
from lagoform.sandbox.api_errors import not_found
from lagoform.sandbox.numbers import decimal_text
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import (
    E_CODE,
    E_TS,
    Record,
    State,
    StoredEvent,
    iso,
    iso_date,
    paginate,
)

ZERO = Decimal(0)


def _filter_lines(
    charge: Record, usage: pricing.ChargeUsage, fees: pricing.ChargeFees
) -> list[Record]:
    """One line per charge filter plus the default bucket (``values`` null), as Lago lists fees."""
    if not charge["filters"]:
        return []
    lines: list[Record] = []
    for key in [*range(len(charge["filters"])), None]:
        group = usage.groups.get(key, pricing.GroupUsage(ZERO, 0))
        charge_filter = charge["filters"][key] if key is not None else None
        lines.append(
            {
                "units": decimal_text(group.units),
                "total_aggregated_units": decimal_text(group.units),
                "amount_cents": fees.by_group.get(key, 0),
                "events_count": group.events_count or 0,
                "invoice_display_name": charge_filter["invoice_display_name"]
                if charge_filter
                else None,
                "values": dict(charge_filter["values"]) if charge_filter else None,
            }
        )
    return lines


def _charge_usage(
    state: State,
    plan: Record,
    charge: Record,
    events: Sequence[StoredEvent],
    window: tuple[float, float],
    premium: bool,
) -> Record:
    metric = state.metrics[charge["billable_metric_id"]]
    total_units = aggregation.aggregate(metric, events, *window)
    priced = aggregation.price_charge(plan, charge, metric, events, window, premium)
    out: Record = {
        "units": decimal_text(total_units),
        "total_aggregated_units": decimal_text(total_units),
        "events_count": len(events),
        "amount_cents": priced.amount_cents,
        "amount_currency": plan["amount_currency"],
        "charge": {
            "lago_id": charge["lago_id"],
            "charge_model": charge["charge_model"],
            "invoice_display_name": charge["invoice_display_name"],
        },
        "billable_metric": {
            "lago_id": metric["lago_id"],
            "name": metric["name"],
            "code": metric["code"],
            "aggregation_type": metric["aggregation_type"],
        },
        "filters": [],
        "grouped_usage": [],
    }
    for group in priced.groups:
        lines = _filter_lines(charge, group.usage, group.fees)
        if group.grouped_by is None:
            out["filters"] = lines
            continue
        # pricing_group_keys: each combination of values is priced on its own (tiers restart)
        out["grouped_usage"].append(
            {
                "amount_cents": group.fees.amount_cents,
                "events_count": len(group.events),
                "units": decimal_text(group.units),
                "total_aggregated_units": decimal_text(group.units),
                "grouped_by": group.grouped_by,
                "filters": lines,
            }
        )
    return out


def usage_for_period(
    req: Request, sub: Record, start: float, end: float, apply_taxes: bool = True
) -> Record:
    state = req.state
    plan = state.plans[sub["plan_id"]]
    customer = state.customers[sub["customer_id"]]
    pool = state.events_by_sub.get(sub["external_id"], [])
    charge_code, metric_code = req.arg("charge_code"), req.arg("billable_metric_code")
    charges_usage: list[Record] = []
    taxed: list[pricing.TaxedLine] = []
    for charge in plan["charges"]:
        metric = state.metrics.get(charge["billable_metric_id"])
        if metric is None:
            continue
        if (charge_code and charge["code"] != charge_code) or (
            metric_code and metric["code"] != metric_code
        ):
            continue
        since = (sub["started_at"] or start) if metric["recurring"] else start
        chosen = [e for e in pool if e[E_CODE] == metric["code"] and since <= e[E_TS] <= end]
        line = _charge_usage(state, plan, charge, chosen, (start, end), req.org.premium)
        charges_usage.append(line)
        if apply_taxes:
            own = fees.applicable_taxes(state, customer, plan, charge["tax_ids"])
            taxed.append(fees.taxed_line(line["amount_cents"], own))
    amount = sum(int(c["amount_cents"]) for c in charges_usage)
    tax_cents, _ = pricing.taxes_cents(taxed)
    return {
        "from_datetime": iso(start),
        "to_datetime": iso(end),
        "issuing_date": iso_date(end + 1),
        "lago_invoice_id": None,
        "currency": plan["amount_currency"],
        "amount_cents": amount,
        "taxes_amount_cents": tax_cents,
        "total_amount_cents": amount + tax_cents,
        "charges_usage": charges_usage,
    }


def _subscription_for(req: Request) -> Record:
    customer = customers.find(req.state, req.params["external_customer_id"])
    external_id = req.arg("external_subscription_id")
    if not external_id:
        raise not_found("subscription")
    sub = subscriptions.find(req.state, external_id)
    if sub["customer_id"] != customer["lago_id"]:
        raise not_found("subscription")
    return sub


def charges_period(state: State, sub: Record, now: float) -> tuple[float, float]:
    """The charges period containing ``now`` (monthly when a yearly plan bills charges monthly),
    starting no earlier than the subscription."""
    plan = state.plans[sub["plan_id"]]
    if plan["bill_charges_monthly"]:
        anchor = sub["started_at"] or sub["subscription_at"]
        start, end = current_period("monthly", sub["billing_time"], anchor, now)
        return max(start, anchor), end
    return subscriptions.billing_period(state, sub, now)


def current_usage(req: Request) -> Record:
    sub = _subscription_for(req)
    start, end = charges_period(req.state, sub, req.now)
    apply_taxes = req.flag("apply_taxes")
    usage = usage_for_period(req, sub, start, end, apply_taxes is not False)
    return {"customer_usage": usage}


def past_usage(req: Request) -> Record:
    sub = _subscription_for(req)
    anchor = sub["started_at"] or sub["subscription_at"]
    start, _ = charges_period(req.state, sub, req.now)
    periods: list[tuple[float, float]] = []
    limit = int(req.arg("periods_count") or 0)
    cursor = start
    while cursor > anchor and (not limit or len(periods) < limit) and len(periods) < 240:
        previous_end = cursor - 1
        period_start, period_end = _charges_period_at(req.state, sub, previous_end)
        periods.append((max(period_start, anchor), period_end))
        cursor = max(period_start, anchor)
    items, meta = paginate(periods, req.query)
    return {"usage_periods": [usage_for_period(req, sub, s, e) for s, e in items], "meta": meta}


def _charges_period_at(state: State, sub: Record, at: float) -> tuple[float, float]:
    plan = state.plans[sub["plan_id"]]
    anchor = sub["started_at"] or sub["subscription_at"]
    interval = "monthly" if plan["bill_charges_monthly"] else plan["interval"]
    return current_period(interval, sub["billing_time"], anchor, at)
