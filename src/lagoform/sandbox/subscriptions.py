"""Subscriptions: create (same-plan no-op, upgrade/downgrade by yearly amount, §5.2), overrides
through child plans, list filters (§5.7), show, and the lazy activation of pending subscriptions
as the clock passes their start. Update and terminate live in ``subscription_updates``.
"""

from __future__ import annotations

from lagoform.model.intervals import yearly_cents
from lagoform.model.periods import current_period
from lagoform.sandbox import customers, overrides, plans
from lagoform.sandbox.api_errors import FieldErrors, feature_unavailable, invalid, not_found
from lagoform.sandbox.fields import identifier, purchase_order_number
from lagoform.sandbox.request import Org, Request
from lagoform.sandbox.state import Record, State, iso, iso_date, new_id, paginate, parse_iso

STATUSES = ("pending", "active", "terminated", "canceled", "incomplete")


def serialize(
    state: State,
    sub: Record,
    now: float,
    *,
    with_plan: bool = False,
    customer: Record | None = None,
) -> Record:
    """``customer``: for a subscription that is not stored (an invoice preview's proposal)."""
    plan = state.plans[sub["plan_id"]]
    customer = customer or state.customers[sub["customer_id"]]
    previous = state.subscriptions.get(sub["previous_id"] or "")
    following = state.subscriptions.get(sub["next_id"] or "")
    following = following if following and following["status"] != "canceled" else None
    start, end = billing_period(state, sub, now)
    trial_end = None
    if plan["trial_period"] and sub["started_at"] is not None:
        trial_end = sub["started_at"] + plan["trial_period"] * 86400
    out: Record = {
        "lago_id": sub["lago_id"],
        "external_id": sub["external_id"],
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": customer["external_id"],
        "billing_entity_code": "default",
        "name": sub["name"],
        "plan_code": plan["code"],
        "plan_amount_cents": plan["amount_cents"],
        "plan_amount_currency": plan["amount_currency"],
        "status": sub["status"],
        "billing_time": sub["billing_time"],
        "subscription_at": iso(sub["subscription_at"]),
        "started_at": iso(sub["started_at"]),
        "trial_ended_at": iso(trial_end),
        "ending_at": iso(sub["ending_at"]),
        "terminated_at": iso(sub["terminated_at"]),
        "canceled_at": iso(sub["canceled_at"]),
        "created_at": iso(sub["created_at"]),
        "previous_plan_code": state.plans[previous["plan_id"]]["code"] if previous else None,
        "next_plan_code": state.plans[following["plan_id"]]["code"] if following else None,
        # the last day of the current period (the pending plan starts right after it)
        "downgrade_plan_date": iso_date(following["subscription_at"] - 1) if following else None,
        "current_billing_period_started_at": iso(start) if sub["status"] == "active" else None,
        "current_billing_period_ending_at": iso(end) if sub["status"] == "active" else None,
        "on_termination_credit_note": sub["on_termination_credit_note"],
        "on_termination_invoice": sub["on_termination_invoice"],
        "progressive_billing_disabled": sub["progressive_billing_disabled"],
        "consolidate_invoice": sub["consolidate_invoice"],
        "purchase_order_number": sub["purchase_order_number"],
        "cancellation_reason": None,
        "activated_at": iso(sub["started_at"]),
        "payment_method": {"payment_method_type": "provider", "payment_method_id": None},
        "activation_rules": [],
    }
    if with_plan:
        out["plan"] = plans.serialize(state, plan)
        out["entitlements"] = []
        out["applicable_usage_thresholds"] = []
        out["applied_invoice_custom_sections"] = []
    return out


def billing_period(state: State, sub: Record, now: float) -> tuple[float, float]:
    plan = state.plans[sub["plan_id"]]
    anchor = sub["started_at"] if sub["started_at"] is not None else sub["subscription_at"]
    start, end = current_period(plan["interval"], sub["billing_time"], anchor, now)
    return max(start, anchor), end


def find(state: State, external_id: str, status: str | None = None) -> Record:
    wanted = status or "active"
    matches = [
        s for s in state.with_external_id("subscriptions", external_id) if s["status"] == wanted
    ]
    if not matches:
        raise not_found("subscription")
    return max(matches, key=lambda s: int(s["_seq"]))


def _new_subscription(org: Org, customer: Record, plan: Record, body: Record, at: float) -> Record:
    status = "active" if at <= org.now else "pending"
    return {
        "lago_id": new_id(),
        "_seq": org.state.next_seq(),
        "created_at": org.now,
        "external_id": body["external_id"],
        "customer_id": customer["lago_id"],
        "plan_id": plan["lago_id"],
        "name": body.get("name"),
        "status": status,
        "billing_time": body.get("billing_time") or "calendar",
        "subscription_at": at,
        "started_at": at if status == "active" else None,
        "ending_at": parse_iso(body.get("ending_at")),
        "terminated_at": None,
        "canceled_at": None,
        "previous_id": None,
        "next_id": None,
        "on_termination_credit_note": None,
        "on_termination_invoice": "generate",
        "progressive_billing_disabled": bool(body.get("progressive_billing_disabled", False)),
        "consolidate_invoice": bool(body.get("consolidate_invoice", True)),
        "purchase_order_number": body.get("purchase_order_number"),
    }


def _validate_create(body: Record, now: float) -> float:
    errors = FieldErrors()
    # Usage producers send numbers: Lago stores them as text, trimmed (create_service.rb:17-20).
    for key in ("external_customer_id", "external_id", "name"):
        if key in body:
            body[key] = identifier(body[key])
    if body.get("name") == "":
        body["name"] = None
    body["purchase_order_number"] = purchase_order_number(body.get("purchase_order_number"), errors)
    for key in ("external_customer_id", "external_id"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            errors.add(key, "value_is_mandatory")
    if body.get("billing_time") not in (None, "calendar", "anniversary"):
        errors.add("billing_time", "value_is_invalid")
    at = now
    if body.get("subscription_at") is not None:
        parsed = parse_iso(body["subscription_at"])
        if parsed is None:
            errors.add("subscription_at", "invalid_date")
        else:
            at = parsed
    if body.get("ending_at") is not None:
        ending = parse_iso(body["ending_at"])
        if ending is None or ending <= now or ending <= at:
            errors.add("ending_at", "invalid_date")
    errors.raise_if_any()
    return at


def create(req: Request) -> Record:
    state, org = req.state, req.org
    body = req.root("subscription")
    at = _validate_create(body, req.now)
    plan = state.parent_plan_by_code(str(body.get("plan_code")))
    if plan is None:
        raise not_found("plan")
    if "plan_overrides" in body and not org.premium:
        raise feature_unavailable()
    external_id = body["external_id"]
    customer = customers.find_or_create(org, body["external_customer_id"])
    live = [
        s
        for s in state.subscriptions.values()
        if s["external_id"] == external_id and s["status"] in ("active", "pending", "incomplete")
    ]
    if any(s["customer_id"] != customer["lago_id"] for s in live):
        raise invalid("external_id", "value_already_exist")
    current = next((s for s in live if s["status"] == "active"), None)
    if current is None and live:
        # Not started yet: its plan is swapped, and its name too when one is given
        # (plan_upgrade_service.rb:77-81, plan_downgrade_service.rb:80-88).
        pending = live[0]
        if pending["plan_id"] != plan["lago_id"]:
            pending["plan_id"] = plan["lago_id"]
            if body.get("name"):
                pending["name"] = body["name"]
        plan["ever_subscribed"] = True
        return {"subscription": serialize(state, pending, org.now, with_plan=True)}
    if current is not None:
        return _change_plan(org, current, plan, body)
    target = _target_plan(org, plan, body)
    sub = _new_subscription(org, customer, target, body, at)
    state.subscriptions[sub["lago_id"]] = sub
    if not customer["currency"]:
        customer["currency"] = target["amount_currency"]
    return {"subscription": serialize(state, sub, req.now, with_plan=True)}


def _target_plan(org: Org, plan: Record, body: Record) -> Record:
    target = (
        overrides.apply_overrides(org, plan, body["plan_overrides"])
        if ("plan_overrides" in body)
        else plan
    )
    target["ever_subscribed"] = True
    return target


def _change_plan(org: Org, current: Record, plan: Record, body: Record) -> Record:
    state = org.state
    current_plan = state.plans[current["plan_id"]]
    if current_plan["lago_id"] == plan["lago_id"]:
        return {"subscription": serialize(state, current, org.now, with_plan=True)}
    old_yearly = yearly_cents(current_plan["amount_cents"], current_plan["interval"]) or 0
    new_yearly = yearly_cents(plan["amount_cents"], plan["interval"]) or 0
    cancel_next(state, current, org.now)
    customer = state.customers[current["customer_id"]]
    params = {**body, "billing_time": current["billing_time"]}
    if new_yearly >= old_yearly:
        target = _target_plan(org, plan, body)
        current["status"], current["terminated_at"] = "terminated", org.now
        upgraded = _new_subscription(org, customer, target, params, org.now)
        upgraded["previous_id"] = current["lago_id"]
        upgraded["name"] = body.get("name", current["name"])
        state.subscriptions[upgraded["lago_id"]] = upgraded
        return {"subscription": serialize(state, upgraded, org.now, with_plan=True)}
    target = _target_plan(org, plan, body)
    _, period_end = billing_period(state, current, org.now)
    downgrade = _new_subscription(org, customer, target, params, period_end + 1)
    downgrade["previous_id"] = current["lago_id"]
    state.subscriptions[downgrade["lago_id"]] = downgrade
    current["next_id"] = downgrade["lago_id"]
    return {"subscription": serialize(state, current, org.now, with_plan=True)}


def cancel_next(state: State, sub: Record, now: float) -> None:
    following = state.subscriptions.get(sub["next_id"] or "")
    if following is not None and following["status"] == "pending":
        following["status"], following["canceled_at"] = "canceled", now
    sub["next_id"] = None


def index(req: Request) -> Record:
    state = req.state
    subs = list(state.subscriptions.values())
    statuses = req.args("status")
    if not statuses:
        statuses = ["active"]
    if all(s in STATUSES for s in statuses):
        subs = [s for s in subs if s["status"] in statuses]
    if "external_customer_id" in req.params:  # /customers/{id}/subscriptions
        customers.find(state, req.params["external_customer_id"])
    customer_id = req.params.get("external_customer_id") or req.arg("external_customer_id")
    if customer_id is not None:
        subs = [s for s in subs if state.customers[s["customer_id"]]["external_id"] == customer_id]
    if (plan_code := req.arg("plan_code")) is not None:
        subs = [s for s in subs if state.plans[s["plan_id"]]["code"] == plan_code]
    if (external_id := req.arg("external_id")) is not None:
        subs = [s for s in subs if s["external_id"] == external_id]
    if (currency := req.arg("currency")) is not None:
        subs = [s for s in subs if state.plans[s["plan_id"]]["amount_currency"] == currency]
    overridden = req.flag("overridden")
    if overridden is None:
        overridden = req.flag("overriden")  # legacy spelling Lago still accepts
    if overridden is not None:
        subs = [
            s for s in subs if (state.plans[s["plan_id"]]["parent_id"] is not None) == overridden
        ]
    subs.sort(key=lambda s: (-s["subscription_at"], -int(s["_seq"])))
    items, meta = paginate(subs, req.query)
    return {"subscriptions": [serialize(state, s, req.now) for s in items], "meta": meta}


def show(req: Request) -> Record:
    sub = find(req.state, req.params["external_id"], req.arg("status"))
    return {"subscription": serialize(req.state, sub, req.now, with_plan=True)}


def activate_due(state: State, now: float) -> None:
    """Pending subscriptions whose start passed become active; a downgrade ends its predecessor.
    Skipped while the earliest pending start is known and still ahead (``State.next_start``)."""
    if state.next_start_known and (state.next_start is None or now < state.next_start):
        return
    for sub in list(state.subscriptions.values()):
        if sub["status"] != "pending" or sub["subscription_at"] > now:
            continue
        previous = state.subscriptions.get(sub["previous_id"] or "")
        if previous is not None and previous["status"] == "active":
            previous["status"], previous["terminated_at"] = "terminated", sub["subscription_at"]
            previous["next_id"] = None
        sub["status"], sub["started_at"] = "active", sub["subscription_at"]
        state.dirty = True
    pending = [
        s["subscription_at"] for s in state.subscriptions.values() if s["status"] == "pending"
    ]
    state.next_start, state.next_start_known = min(pending, default=None), True
