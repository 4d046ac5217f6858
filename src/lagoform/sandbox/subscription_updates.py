"""``PUT`` and ``DELETE /subscriptions/{external_id}`` (API_NOTES §5.3, §5.8).

Which record: with several under one ``external_id`` the ``status`` parameter picks (active by
default); with only one, that one whatever its status — so a subscription that has not started
is found without ``?status=pending`` (subscriptions_controller.rb#update). Termination choices
follow Lago: ``on_termination_credit_note`` is one of credit/skip/refund/offset and is kept only
for a pay-in-advance plan, where terminating defaults it to ``credit``; ``on_termination_invoice``
is generate/skip (subscriptions/validate_service.rb, terminate_service.rb).
"""

from __future__ import annotations

from typing import Any

from lagoform.sandbox import overrides
from lagoform.sandbox.api_errors import FieldErrors, feature_unavailable, not_allowed, not_found
from lagoform.sandbox.fields import identifier, purchase_order_number
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, parse_iso
from lagoform.sandbox.subscriptions import cancel_next, find, serialize

CREDIT_NOTE_CHOICES = ("credit", "skip", "refund", "offset")
INVOICE_CHOICES = ("generate", "skip")
PLAIN_FIELDS = ("progressive_billing_disabled", "consolidate_invoice")


def _for_update(state: State, external_id: str, status: str | None) -> Record:
    same = [s for s in state.subscriptions.values() if s["external_id"] == external_id]
    if len(same) > 1:
        wanted = status if status in ("pending", "incomplete") else "active"
        same = [s for s in same if s["status"] == wanted]
    if not same:
        raise not_found("subscription")
    return max(same, key=lambda s: (s["subscription_at"], int(s["_seq"])))


def _check_choices(errors: FieldErrors, credit_note: Any, invoice: Any) -> None:
    if credit_note not in (None, "") and credit_note not in CREDIT_NOTE_CHOICES:
        errors.add("on_termination_credit_note", "invalid_value")
    if invoice not in (None, "") and invoice not in INVOICE_CHOICES:
        errors.add("on_termination_invoice", "invalid_value")


def _pay_in_advance(state: State, sub: Record) -> bool:
    return bool(state.plans[sub["plan_id"]]["pay_in_advance"])


def _starting_in_the_future(sub: Record) -> bool:
    return sub["status"] == "pending" and sub["previous_id"] is None


def update(req: Request) -> Record:
    state, org = req.state, req.org
    sub = _for_update(state, req.params["external_id"], req.arg("status"))
    body = req.root("subscription")
    if sub["status"] == "incomplete":
        raise not_allowed("subscription_incomplete")
    errors = FieldErrors()
    if "purchase_order_number" in body:
        number = purchase_order_number(body["purchase_order_number"], errors)
        if number != sub["purchase_order_number"] and sub["status"] not in ("pending", "active"):
            raise not_allowed("purchase_order_number_not_editable")
        body["purchase_order_number"] = number
    if "ending_at" in body:
        ending = parse_iso(body["ending_at"]) if body["ending_at"] is not None else None
        if body["ending_at"] is not None and (ending is None or ending <= req.now):
            errors.add("ending_at", "invalid_date")
    if "subscription_at" in body and parse_iso(body["subscription_at"]) is None:
        errors.add("subscription_at", "invalid_date")
    _check_choices(
        errors, body.get("on_termination_credit_note"), body.get("on_termination_invoice")
    )
    if "usage_thresholds" in body and "usage_thresholds" in (body.get("plan_overrides") or {}):
        errors.add("usage_thresholds", "incompatible_params")
        errors.add("plan_overrides.usage_thresholds", "incompatible_params")
    errors.raise_if_any()
    if "plan_overrides" in body and not org.premium:
        raise feature_unavailable()
    if "plan_overrides" in body:
        child = overrides.apply_overrides(org, state.plans[sub["plan_id"]], body["plan_overrides"])
        child["ever_subscribed"] = True
        sub["plan_id"] = child["lago_id"]
    if "name" in body:
        sub["name"] = identifier(body["name"])
    for key in (*PLAIN_FIELDS, "purchase_order_number", "on_termination_invoice"):
        if key in body:
            sub[key] = body[key]
    if "on_termination_credit_note" in body and _pay_in_advance(state, sub):
        sub["on_termination_credit_note"] = body["on_termination_credit_note"]
    if "ending_at" in body:
        sub["ending_at"] = parse_iso(body["ending_at"]) if body["ending_at"] is not None else None
    if "subscription_at" in body and _starting_in_the_future(sub):
        sub["subscription_at"] = parse_iso(body["subscription_at"])
        if sub["subscription_at"] <= req.now:  # moved to the past: it starts now, backdated
            sub["status"], sub["started_at"] = "active", sub["subscription_at"]
    return {"subscription": serialize(state, sub, req.now, with_plan=True)}


def delete(req: Request) -> Record:
    state = req.state
    wanted = "pending" if req.arg("status") == "pending" else "active"
    sub = find(state, req.params["external_id"], wanted)
    if wanted == "pending":
        sub["status"], sub["canceled_at"] = "canceled", req.now
        return {"subscription": serialize(state, sub, req.now, with_plan=True)}
    credit_note = req.arg("on_termination_credit_note") or sub["on_termination_credit_note"]
    invoice = req.arg("on_termination_invoice") or sub["on_termination_invoice"]
    errors = FieldErrors()
    # The credit-note choice is only read (and checked) for a plan paid in advance.
    pay_in_advance = _pay_in_advance(state, sub)
    _check_choices(errors, credit_note if pay_in_advance else None, invoice)
    errors.raise_if_any()
    sub["status"], sub["terminated_at"] = "terminated", req.now
    cancel_next(state, sub, req.now)
    if pay_in_advance:
        sub["on_termination_credit_note"] = credit_note or "credit"
    sub["on_termination_invoice"] = invoice or "generate"
    return {"subscription": serialize(state, sub, req.now, with_plan=True)}
