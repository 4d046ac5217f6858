"""``POST /events/estimate_fees``: the fees one event would add to pay-in-advance charges.

Checked like Lago checks an event it is about to bill (events/validate_creation_service.rb): an
``external_subscription_id`` of a subscription started and not terminated (404
``subscription_not_found``), a numeric ``timestamp`` if any, a known metric code (404
``billable_metric_not_found``), a numeric field value for sum/max/latest metrics (422
``value_is_not_valid_number``), then at least one pay-in-advance charge of the plan on that metric
(422 ``does_not_match_an_instant_charge``). Each such charge yields one fee priced by
``pricing.price_pay_in_advance`` from the period's events of the fee the event falls in (the
filter ``pricing.match_filter`` picks, same ``pricing_group_keys`` values); nothing is stored.
Charges lagoform.pricing does not model (prorated, free units on a percentage's totals path)
answer 501 ``not_supported_by_sandbox`` with the reason — never a guessed amount.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lagoform import pricing
from lagoform.sandbox import aggregation, events, fees, usage
from lagoform.sandbox.api_errors import ApiError, invalid, not_found, validation
from lagoform.sandbox.numbers import lenient_decimal, scalar_text
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import E_CODE, E_PROPS, E_TS, Record, State, StoredEvent, new_id

NUMERIC_FIELD_AGGREGATIONS = ("sum_agg", "max_agg", "latest_agg")


def not_supported(reason: str) -> ApiError:
    """The sandbox cannot compute what Lago would: say so instead of answering a guess."""
    body = {
        "status": 501,
        "error": "Not Implemented",
        "code": "not_supported_by_sandbox",
        "message": reason,
    }
    return ApiError(501, body)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _billed_subscription(state: State, external_id: str, now: float) -> Record:
    live = [
        s
        for s in state.subscriptions.values()
        if s["external_id"] == external_id
        and s["started_at"] is not None
        and int(s["started_at"]) <= int(now)
        and (s["terminated_at"] is None or int(s["terminated_at"]) >= int(now))
    ]
    if not live:
        raise not_found("subscription")
    # terminated_at DESC NULLS FIRST, started_at DESC (fees/estimate_pay_in_advance_service.rb)
    return max(
        live, key=lambda s: (s["terminated_at"] is None, s["terminated_at"] or 0, s["started_at"])
    )


def _bucket(
    charge: Record,
    metric: Record,
    properties: dict[str, Any],
    pool: list[StoredEvent],
) -> tuple[int | None, Record, list[StoredEvent]]:
    """The fee the event falls in (filter index or None), its properties, and the period's
    events already counted in it."""
    router = pricing.FilterRouter(charge["filters"], metric_filters=metric["filters"])
    key = router.pick(properties) if charge["filters"] else None
    model = charge["filters"][key] if key is not None else charge
    chosen = [e for e in pool if not charge["filters"] or key in router.groups(e[E_PROPS])]
    group_keys = model["properties"].get("pricing_group_keys") or []
    wanted = [aggregation.group_value(properties.get(k)) for k in group_keys]
    chosen = [
        e
        for e in chosen
        if [aggregation.group_value(e[E_PROPS].get(k)) for k in group_keys] == wanted
    ]
    return key, model["properties"], chosen


def _event_value(metric: Record, properties: dict[str, Any], before: list[StoredEvent]) -> Decimal:
    """What the event adds to the fee's units (billable_metrics/aggregations/*#pay_in_advance)."""
    agg, field = metric["aggregation_type"], metric["field_name"]
    if agg == "count_agg":
        return Decimal(1)
    if agg == "unique_count_agg":
        seen = {str(e[E_PROPS].get(field)) for e in before if field in e[E_PROPS]}
        return Decimal(field in properties and str(properties[field]) not in seen)
    return aggregation.number(properties.get(field)) or Decimal(0)


def _estimate(
    req: Request,
    sub: Record,
    charge: Record,
    metric: Record,
    body: Record,
    properties: dict[str, Any],
) -> fees.Fee:
    state = req.state
    plan = state.plans[sub["plan_id"]]
    customer = state.customers[sub["customer_id"]]
    if charge["prorated"]:
        raise not_supported("prorated pay-in-advance charges are not modelled by lagoform.pricing")
    start, end = usage.charges_period(state, sub, req.now)
    since = (sub["started_at"] or start) if metric["recurring"] else start
    pool = [
        e
        for e in state.events_by_sub.get(sub["external_id"], [])
        if e[E_CODE] == metric["code"] and since <= e[E_TS] <= min(end, req.now)
    ]
    key, props, before = _bucket(charge, metric, properties, pool)
    value = _event_value(metric, properties, before)
    group = pricing.GroupUsage(
        aggregation.aggregate(metric, before, start, end),
        len(before),
        tuple(aggregation.transactions(charge, metric, before)),
    )
    try:
        amount = pricing.price_pay_in_advance(
            charge["charge_model"],
            props,
            group,
            value,
            precise_total_amount_cents=lenient_decimal(body.get("precise_total_amount_cents") or 0),
            premium=req.org.premium,
            count_aggregation=metric["aggregation_type"] in pricing.COUNTED_AGGREGATIONS,
            currency=plan["amount_currency"],
        )
    except pricing.PricingError as err:
        raise not_supported(str(err)) from err
    charge_filter = charge["filters"][key] if key is not None else None
    return fees.charge_fee(
        state,
        sub,
        customer,
        charge,
        charge_filter,
        amount_cents=pricing.to_cents(amount, currency=plan["amount_currency"]),
        units=value,
        events_count=1,
        window=(start, end),
        precise_amount=amount,
        invoiceable=bool(charge["invoiceable"]),
        pay_in_advance=True,
        event_transaction_id=new_id(),
    )


def estimate_fees(req: Request) -> Record:
    body = req.root("event")
    state = req.state
    external_id = body.get("external_subscription_id")
    if external_id in (None, ""):
        raise not_found("subscription")
    sub = _billed_subscription(state, str(scalar_text(external_id)), req.now)
    stamp = body.get("timestamp")
    if stamp not in (None, "") and not _is_number(stamp):
        raise invalid("timestamp", "invalid_format")
    metric = state.metric_by_code(str(scalar_text(body.get("code"))))
    if metric is None:
        raise not_found("billable_metric")
    raw = body.get("properties")
    properties: Record = raw if isinstance(raw, dict) else {}
    value = properties.get(metric["field_name"]) if metric["field_name"] else None
    numeric = metric["aggregation_type"] in NUMERIC_FIELD_AGGREGATIONS
    if numeric and value is not None and not _is_number(value):
        raise invalid("properties", "value_is_not_valid_number")
    plan = state.plans[sub["plan_id"]]
    charges = [
        c
        for c in plan["charges"]
        if c["pay_in_advance"] and c["billable_metric_id"] == metric["lago_id"]
    ]
    if not charges:
        raise invalid("code", "does_not_match_an_instant_charge")
    computed = events.expression_result(state, metric, properties, req.now)
    if isinstance(computed, str):
        raise validation(computed)
    return {"fees": [fees.render(_estimate(req, sub, c, metric, body, computed)) for c in charges]}
