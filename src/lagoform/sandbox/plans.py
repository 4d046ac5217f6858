"""Billing plans: create, list (parents only, pending deletions included), show, the exact
``PUT /plans/{code}`` algorithm (§4.6, also used for later overrides on child plans), and the
asynchronous delete (§4.8). Charge-level endpoints live in ``plan_charges``.
"""

from __future__ import annotations

import copy
from typing import Any

from lagoform.model.currency import ACCEPTED
from lagoform.sandbox import charges, fixed_charges, taxes
from lagoform.sandbox.api_errors import FieldErrors, invalid, not_found
from lagoform.sandbox.request import Org, Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate

INTERVALS = ("weekly", "monthly", "quarterly", "semiannual", "yearly")
ALWAYS_EDITABLE = ("name", "invoice_display_name", "description", "amount_cents")
LOCKED_WHEN_SUBSCRIBED = (
    "code",
    "interval",
    "pay_in_advance",
    "amount_currency",
    "trial_period",
)


def find_parent(state: State, code: str) -> Record:
    plan = state.parent_plan_by_code(code)
    if plan is None:
        raise not_found("plan")
    return plan


def serialize(state: State, plan: Record) -> Record:
    out: Record = {
        "lago_id": plan["lago_id"],
        "name": plan["name"],
        "invoice_display_name": plan["invoice_display_name"],
        "created_at": iso(plan["created_at"]),
        "code": plan["code"],
        "interval": plan["interval"],
        "description": plan["description"],
        "amount_cents": plan["amount_cents"],
        "amount_currency": plan["amount_currency"],
        "trial_period": plan["trial_period"],
        "pay_in_advance": plan["pay_in_advance"],
        "bill_charges_monthly": plan["bill_charges_monthly"],
        "bill_fixed_charges_monthly": plan["bill_fixed_charges_monthly"],
        "customers_count": 0,
        "active_subscriptions_count": 0,
        "draft_invoices_count": 0,
        "parent_id": plan["parent_id"],
        "pending_deletion": plan["pending_deletion"],
        "charges": [charges.serialize(state, c) for c in plan["charges"]],
        "fixed_charges": [fixed_charges.serialize(state, plan, f) for f in plan["fixed_charges"]],
        "entitlements": [],
        "usage_thresholds": [_serialize_threshold(t) for t in plan["usage_thresholds"]],
        "taxes": taxes.serialize_ids(state, plan["tax_ids"]),
    }
    commitment = plan["minimum_commitment"]
    if commitment is not None:
        out["minimum_commitment"] = {
            "lago_id": commitment["lago_id"],
            "plan_code": plan["code"],
            "amount_cents": commitment["amount_cents"],
            "invoice_display_name": commitment["invoice_display_name"],
            "interval": plan["interval"],
            "created_at": iso(commitment["created_at"]),
            "updated_at": iso(commitment["created_at"]),
            "taxes": taxes.serialize_ids(state, commitment["tax_ids"]),
        }
    if plan["metadata"] is not None:
        out["metadata"] = dict(plan["metadata"])
    return out


def _serialize_threshold(threshold: Record) -> Record:
    return {
        "lago_id": threshold["lago_id"],
        "threshold_display_name": threshold["threshold_display_name"],
        "amount_cents": threshold["amount_cents"],
        "recurring": threshold["recurring"],
        "created_at": iso(threshold["created_at"]),
        "updated_at": iso(threshold["created_at"]),
    }


def create(req: Request) -> Record:
    body = req.root("plan")
    plan: Record = {
        "lago_id": new_id(),
        "_seq": req.state.next_seq(),
        "created_at": req.now,
        "name": None,
        "invoice_display_name": None,
        "code": None,
        "interval": None,
        "description": None,
        "amount_cents": None,
        "amount_currency": None,
        "trial_period": None,
        "pay_in_advance": None,
        "bill_charges_monthly": None,
        "bill_fixed_charges_monthly": None,
        "parent_id": None,
        "pending_deletion": False,
        "deleted_at": None,
        "ever_subscribed": False,
        "tax_ids": [],
        "minimum_commitment": None,
        "usage_thresholds": [],
        "metadata": None,
        "charges": [],
        "fixed_charges": [],
    }
    for key in (*ALWAYS_EDITABLE, *LOCKED_WHEN_SUBSCRIBED):
        if key in body:
            plan[key] = body[key]
    _set_monthly_flags(plan, body)
    validate(req.state, plan)
    apply_relations(req.org, plan, body, attached=False)
    req.state.plans[plan["lago_id"]] = plan
    return {"plan": serialize(req.state, plan)}


def _set_monthly_flags(plan: Record, body: Record) -> None:
    # Recomputed from the interval *in the request* on every write (§4.6 gotcha).
    split = body.get("interval") in ("yearly", "semiannual")
    plan["bill_charges_monthly"] = (
        bool(body.get("bill_charges_monthly") or False) if split else None
    )
    plan["bill_fixed_charges_monthly"] = (
        bool(body.get("bill_fixed_charges_monthly") or False) if split else None
    )


def validate(state: State, plan: Record) -> None:
    errors = FieldErrors()
    for key in ("name", "code"):
        if not isinstance(plan[key], str) or not plan[key].strip():
            errors.add(key, "value_is_mandatory")
    if plan["parent_id"] is None and isinstance(plan["code"], str) and plan["code"]:
        clash = state.parent_plan_by_code(plan["code"])
        if clash is not None and clash["lago_id"] != plan["lago_id"]:
            errors.add("code", "value_already_exist")
    if plan["interval"] not in INTERVALS:
        errors.add("interval", "value_is_invalid")
    amount = plan["amount_cents"]
    if amount is None:
        errors.add("amount_cents", "value_is_mandatory")
    elif not isinstance(amount, int) or isinstance(amount, bool):
        errors.add("amount_cents", "value_is_invalid")
    elif amount < 0:
        errors.add("amount_cents", "value_is_out_of_range")
    if plan["amount_currency"] not in ACCEPTED:
        errors.add("amount_currency", "value_is_invalid")
    if not isinstance(plan["pay_in_advance"], bool):
        errors.add("pay_in_advance", "value_is_invalid")
    trial = plan["trial_period"]
    if trial is not None and (
        not isinstance(trial, int | float) or isinstance(trial, bool) or trial < 0
    ):
        errors.add("trial_period", "value_is_invalid")
    elif trial is not None:
        plan["trial_period"] = float(trial)
    errors.raise_if_any()


def apply_relations(org: Org, plan: Record, body: Record, *, attached: bool) -> None:
    """Taxes, commitment, thresholds, metadata, charges and fixed charges, in that order."""
    state = org.state
    if "tax_codes" in body:
        plan["tax_ids"] = taxes.resolve_codes(state, body["tax_codes"])
    if "minimum_commitment" in body and org.premium:
        _apply_commitment(org, plan, body["minimum_commitment"])
    if "usage_thresholds" in body and org.enabled("progressive_billing"):
        plan["usage_thresholds"] = _thresholds(org, body["usage_thresholds"])
    if "metadata" in body:
        plan["metadata"] = _metadata(body["metadata"])
    if "charges" in body:
        replace_charges(org, plan, body["charges"], attached=attached)
    if "fixed_charges" in body:
        fixed_charges.replace_all(org, plan, body["fixed_charges"], attached=attached)


def replace_charges(org: Org, plan: Record, items: Any, *, attached: bool) -> None:
    """§4.6: match by ``id`` among this plan's charges only; create the rest; delete omitted."""
    state = org.state
    if items is None:
        items = []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid("charges", "value_is_invalid")
    by_id = {c["lago_id"]: c for c in plan["charges"]}
    for item in items:
        if item.get("id") not in by_id and str(item.get("billable_metric_id")) not in state.metrics:
            raise not_found("billable_metrics")
    kept: list[Record] = []
    for item in items:
        existing = by_id.get(str(item.get("id")))
        if existing is not None and all(existing is not k for k in kept):
            charges.update_from_item(
                state,
                plan,
                existing,
                item,
                attached=attached,
                premium=org.premium,
                wallet_targets=org.enabled("events_targeting_wallets"),
            )
            kept.append(existing)
        else:
            created = charges.create_from_item(
                state,
                plan,
                item,
                now=org.now,
                premium=org.premium,
                wallet_targets=org.enabled("events_targeting_wallets"),
            )
            # Visible to the next item's code generation, like rows inserted one by one.
            plan["charges"].append(created)
            kept.append(created)
    plan["charges"] = sorted(kept, key=lambda c: int(c["_seq"]))


def _apply_commitment(org: Org, plan: Record, raw: Any) -> None:
    if not isinstance(raw, dict) or not raw:
        plan["minimum_commitment"] = None
        return
    amount = raw.get("amount_cents")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise invalid("amount_cents", "value_is_invalid")
    current = plan["minimum_commitment"] or {
        "lago_id": new_id(),
        "created_at": org.now,
        "tax_ids": [],
        "invoice_display_name": None,
    }
    current["amount_cents"] = amount
    if "invoice_display_name" in raw:
        current["invoice_display_name"] = raw["invoice_display_name"]
    if "tax_codes" in raw:
        current["tax_ids"] = taxes.resolve_codes(org.state, raw["tax_codes"])
    plan["minimum_commitment"] = current


def _thresholds(org: Org, raw: Any) -> list[Record]:
    if not isinstance(raw, list):
        raise invalid("usage_thresholds", "value_is_invalid")
    out: list[Record] = []
    for item in raw:
        amount = item.get("amount_cents") if isinstance(item, dict) else None
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise invalid("amount_cents", "value_is_mandatory")
        out.append(
            {
                "lago_id": new_id(),
                "created_at": org.now,
                "amount_cents": amount,
                "threshold_display_name": item.get("threshold_display_name"),
                "recurring": bool(item.get("recurring", False)),
            }
        )
    if sum(1 for t in out if t["recurring"]) > 1:
        raise invalid("usage_thresholds", "multiple_recurring_thresholds")
    return out


def _metadata(raw: Any) -> dict[str, str | None] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid("metadata", "value_is_invalid")
    for key, value in raw.items():
        if len(key) > 100 or (value is not None and len(str(value)) > 255):
            raise invalid("metadata", "value_is_too_long")
    return {k: (None if v is None else str(v)) for k, v in raw.items()}


def index(req: Request) -> Record:
    parents = [p for p in req.state.live_plans() if p["parent_id"] is None]
    items, meta = paginate(newest_first(parents), req.query)
    return {"plans": [serialize(req.state, p) for p in items], "meta": meta}


def show(req: Request) -> Record:
    return {"plan": serialize(req.state, find_parent(req.state, req.params["code"]))}


def update(req: Request) -> Record:
    from lagoform.sandbox import overrides  # cascade lives with the child-plan logic

    plan = find_parent(req.state, req.params["code"])
    body = req.root("plan")
    updated = copy.deepcopy(plan)
    apply_update(req.org, updated, body)
    req.state.plans[plan["lago_id"]] = updated
    if body.get("cascade_updates") is True:
        overrides.cascade_to_children(req.org, plan, updated)
    return {"plan": serialize(req.state, updated)}


def apply_update(org: Org, plan: Record, body: Record) -> None:
    """Mutates ``plan`` (a copy) per §4.6; raises before the caller commits on any error."""
    attached = bool(plan["ever_subscribed"])
    for key in ALWAYS_EDITABLE:
        if key in body:
            plan[key] = body[key]
    if not attached:
        for key in LOCKED_WHEN_SUBSCRIBED:
            if key in body and not (key == "code" and plan["parent_id"] is not None):
                plan[key] = body[key]
        _set_monthly_flags(plan, body)
    validate(org.state, plan)
    apply_relations(org, plan, body, attached=attached)


def delete(req: Request) -> Record:
    plan = find_parent(req.state, req.params["code"])
    for candidate in req.state.live_plans():
        if candidate["lago_id"] == plan["lago_id"] or candidate["parent_id"] == plan["lago_id"]:
            candidate["pending_deletion"] = True
    req.state.pending_plan_deletions[plan["lago_id"]] = req.now + req.org.plan_delete_delay
    return {"plan": serialize(req.state, plan)}


def complete_due_deletions(state: State, now: float) -> None:
    """The destroy job: children first, then the plan; end their subscriptions (§4.8)."""
    due = [pid for pid, at in state.pending_plan_deletions.items() if at <= now]
    for plan_id in due:
        del state.pending_plan_deletions[plan_id]
        family = [p for p in state.plans.values() if p["parent_id"] == plan_id]
        family.append(state.plans[plan_id])
        for plan in family:
            for sub in state.subscriptions.values():
                if sub["plan_id"] != plan["lago_id"]:
                    continue
                if sub["status"] == "active":
                    sub["status"] = "terminated"
                    sub["terminated_at"] = now
                elif sub["status"] == "pending":
                    sub["status"] = "canceled"
                    sub["canceled_at"] = now
            plan["deleted_at"] = now
        state.dirty = True
