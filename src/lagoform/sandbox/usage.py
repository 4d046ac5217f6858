"""Customer usage (current and past periods) computed from stored events.

Units are aggregated here per the metric's aggregation type; amounts come from
``lagoform.pricing.price_charge_usage`` (the same calculator the engine uses). Approximations
(documented in the package docstring): ``weighted_sum_agg`` weighs each running total by the
seconds it held within the period; recurring metrics aggregate every event since the
subscription started; past usage is recomputed from events (the sandbox issues no invoices).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from lagoform import pricing
from lagoform.sandbox import customers, subscriptions
from lagoform.sandbox.api_errors import not_found
from lagoform.sandbox.periods import current_period
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import (
    E_CODE,
    E_PRECISE,
    E_PROPS,
    E_SEQ,
    E_TS,
    Record,
    State,
    StoredEvent,
    iso,
    iso_date,
    paginate,
)

ZERO = Decimal(0)
# Metrics whose running total Lago reads as 1, 2, … units (percentage free units).
COUNTED = ("count_agg", "unique_count_agg")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _units_text(units: Decimal) -> str:
    text = format(units.normalize(), "f") if units != 0 else "0"
    return text if "." in text else f"{text}.0"


def _aggregate(metric: Record, events: Sequence[StoredEvent], start: float, end: float) -> Decimal:
    agg, field = metric["aggregation_type"], metric["field_name"]
    if agg == "count_agg":
        return Decimal(len(events))
    if agg == "unique_count_agg":
        return Decimal(len({str(e[E_PROPS].get(field)) for e in events if field in e[E_PROPS]}))
    values = [(e, v) for e in events if (v := _number(e[E_PROPS].get(field))) is not None]
    if not values:
        return ZERO
    if agg == "sum_agg":
        return sum((v for _, v in values), ZERO)
    if agg == "max_agg":
        return max(v for _, v in values)
    if agg == "latest_agg":
        return max(values, key=lambda ev: (ev[0][E_TS], ev[0][E_SEQ]))[1]
    if agg == "weighted_sum_agg":
        span = Decimal(str(max(end - start, 1)))
        total, level, cursor = ZERO, ZERO, start
        for event, value in sorted(values, key=lambda ev: ev[0][E_TS]):
            at = min(max(event[E_TS], start), end)
            total += level * Decimal(str(at - cursor))
            level, cursor = level + value, at
        total += level * Decimal(str(end - cursor))
        return total / span
    return ZERO


def _rounded(metric: Record, units: Decimal) -> Decimal:
    function = metric["rounding_function"]
    if function is None:
        return units
    exponent = Decimal(1).scaleb(-int(metric["rounding_precision"] or 0))
    mode = {"ceil": ROUND_CEILING, "floor": ROUND_FLOOR}.get(function, ROUND_HALF_UP)
    return units.quantize(exponent, rounding=mode)


def _priced(
    plan: Record,
    charge: Record,
    metric: Record,
    events: Sequence[StoredEvent],
    start: float,
    end: float,
    premium: bool,
) -> tuple[pricing.ChargeUsage, pricing.ChargeFees]:
    """Route events to the charge's fees (an event may count in several overlapping filters),
    aggregate each, price with lagoform.pricing."""
    groups: dict[int | None, list[StoredEvent]] = {}
    router = (
        pricing.FilterRouter(charge["filters"], metric_filters=metric["filters"])
        if charge["filters"]
        else None
    )
    for event in events:
        for key in router.groups(event[E_PROPS]) if router is not None else (None,):
            groups.setdefault(key, []).append(event)
    usage = pricing.ChargeUsage(
        {
            key: pricing.GroupUsage(
                _rounded(metric, _aggregate(metric, chosen, start, end)),
                len(chosen),
                tuple(_transactions(charge, metric, chosen)),
            )
            for key, chosen in groups.items()
        }
    )
    fees = pricing.price_charge_usage(
        charge,
        usage,
        premium=premium,
        currency=plan["amount_currency"],
        count_aggregation=metric["aggregation_type"] in COUNTED,
    )
    return usage, fees


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
                "units": _units_text(group.units),
                "total_aggregated_units": _units_text(group.units),
                "amount_cents": fees.by_group.get(key, 0),
                "events_count": group.events_count or 0,
                "invoice_display_name": charge_filter["invoice_display_name"]
                if charge_filter
                else None,
                "values": dict(charge_filter["values"]) if charge_filter else None,
            }
        )
    return lines


def _group_value(value: Any) -> str | None:
    return None if value is None else str(value)


def _charge_usage(
    state: State,
    plan: Record,
    charge: Record,
    events: Sequence[StoredEvent],
    start: float,
    end: float,
    premium: bool,
) -> Record:
    metric = state.metrics[charge["billable_metric_id"]]
    total_units = _rounded(metric, _aggregate(metric, events, start, end))
    out: Record = {
        "units": _units_text(total_units),
        "total_aggregated_units": _units_text(total_units),
        "events_count": len(events),
        "amount_cents": 0,
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
    group_keys = charge["properties"].get("pricing_group_keys") or []
    if not group_keys:
        usage, fees = _priced(plan, charge, metric, events, start, end, premium)
        out["amount_cents"] = fees.amount_cents
        out["filters"] = _filter_lines(charge, usage, fees)
        return out
    # pricing_group_keys: each combination of values is priced on its own (tiers restart)
    buckets: dict[tuple[str | None, ...], list[StoredEvent]] = {}
    for event in events:
        values = tuple(_group_value(event[E_PROPS].get(k)) for k in group_keys)
        buckets.setdefault(values, []).append(event)
    for values, chosen in buckets.items():
        usage, fees = _priced(plan, charge, metric, chosen, start, end, premium)
        units = _units_text(_rounded(metric, _aggregate(metric, chosen, start, end)))
        out["grouped_usage"].append(
            {
                "amount_cents": fees.amount_cents,
                "events_count": len(chosen),
                "units": units,
                "total_aggregated_units": units,
                "grouped_by": dict(zip(group_keys, values, strict=True)),
                "filters": _filter_lines(charge, usage, fees),
            }
        )
        out["amount_cents"] += fees.amount_cents
    return out


def _transactions(charge: Record, metric: Record, events: Sequence[StoredEvent]) -> list[Decimal]:
    if charge["charge_model"] == "dynamic":
        return [_number(e[E_PRECISE]) or ZERO for e in events]
    if metric["aggregation_type"] == "count_agg":
        return [Decimal(1)] * len(events)
    field = metric["field_name"]
    return [v for e in events if (v := _number(e[E_PROPS].get(field))) is not None]


def _tax_rate(state: State, customer: Record, plan: Record, charge: Record) -> Decimal:
    ids = charge["tax_ids"] or plan["tax_ids"] or customer["tax_ids"]
    rates = (
        [state.taxes[i]["rate"] for i in ids if i in state.taxes]
        if ids
        else [t["rate"] for t in state.taxes.values() if t["applied_to_organization"]]
    )
    return sum((Decimal(str(r)) for r in rates), ZERO)


def usage_for_period(
    req: Request, sub: Record, start: float, end: float, apply_taxes: bool = True
) -> Record:
    state = req.state
    plan = state.plans[sub["plan_id"]]
    customer = state.customers[sub["customer_id"]]
    pool = state.events_by_sub.get(sub["external_id"], [])
    charge_code, metric_code = req.arg("charge_code"), req.arg("billable_metric_code")
    charges_usage: list[Record] = []
    taxes = ZERO
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
        line = _charge_usage(state, plan, charge, chosen, start, end, req.org.premium)
        charges_usage.append(line)
        if apply_taxes:
            taxes += Decimal(line["amount_cents"]) * _tax_rate(state, customer, plan, charge) / 100
    amount = sum(int(c["amount_cents"]) for c in charges_usage)
    tax_cents = int(taxes.quantize(Decimal(1), rounding=ROUND_HALF_UP))
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


def _charges_period(state: State, sub: Record, now: float) -> tuple[float, float]:
    plan = state.plans[sub["plan_id"]]
    if plan["bill_charges_monthly"]:
        anchor = sub["started_at"] or sub["subscription_at"]
        start, end = current_period("monthly", sub["billing_time"], anchor, now)
        return max(start, anchor), end
    return subscriptions.billing_period(state, sub, now)


def current_usage(req: Request) -> Record:
    sub = _subscription_for(req)
    start, end = _charges_period(req.state, sub, req.now)
    apply_taxes = req.flag("apply_taxes")
    usage = usage_for_period(req, sub, start, end, apply_taxes is not False)
    return {"customer_usage": usage}


def past_usage(req: Request) -> Record:
    sub = _subscription_for(req)
    anchor = sub["started_at"] or sub["subscription_at"]
    start, _ = _charges_period(req.state, sub, req.now)
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
