"""Catalog extras: add-ons (§6.3), coupons and applied coupons (§6.4).

Coupon rule kept from Lago: once applied to any customer only name, description, expiration
and expiration_at change (the rest is silently ignored)."""

from __future__ import annotations

from typing import Any

from lagoform.model.currency import ACCEPTED
from lagoform.sandbox import customers, taxes
from lagoform.sandbox.api_errors import FieldErrors, invalid, not_allowed, not_found
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate, parse_iso

# ---------------------------------------------------------------- add-ons


def serialize_add_on(state: State, add_on: Record) -> Record:
    return {
        "lago_id": add_on["lago_id"],
        "name": add_on["name"],
        "invoice_display_name": add_on["invoice_display_name"],
        "code": add_on["code"],
        "amount_cents": add_on["amount_cents"],
        "amount_currency": add_on["amount_currency"],
        "description": add_on["description"],
        "created_at": iso(add_on["created_at"]),
        "taxes": taxes.serialize_ids(state, add_on["tax_ids"]),
    }


def _add_on(state: State, code: str) -> Record:
    for add_on in state.add_ons.values():
        if add_on["code"] == code:
            return add_on
    raise not_found("add_on")


def _check_add_on(state: State, add_on: Record) -> None:
    errors = FieldErrors()
    for key in ("name", "code"):
        if not isinstance(add_on[key], str) or not add_on[key].strip():
            errors.add(key, "value_is_mandatory")
    if any(a["code"] == add_on["code"] and a is not add_on for a in state.add_ons.values()):
        errors.add("code", "value_already_exist")
    amount = add_on["amount_cents"]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        errors.add("amount_cents", "value_is_invalid")
    if add_on["amount_currency"] not in ACCEPTED:
        errors.add("amount_currency", "value_is_invalid")
    errors.raise_if_any()


ADD_ON_FIELDS = (
    "name",
    "invoice_display_name",
    "code",
    "amount_cents",
    "amount_currency",
    "description",
)


def add_on_create(req: Request) -> Record:
    body = req.root("add_on")
    add_on: Record = {k: body.get(k) for k in ADD_ON_FIELDS}
    add_on.update(lago_id=new_id(), _seq=req.state.next_seq(), created_at=req.now, tax_ids=[])
    _check_add_on(req.state, add_on)
    if "tax_codes" in body:
        add_on["tax_ids"] = taxes.resolve_codes(req.state, body["tax_codes"])
    req.state.add_ons[add_on["lago_id"]] = add_on
    return {"add_on": serialize_add_on(req.state, add_on)}


def add_on_update(req: Request) -> Record:
    current = _add_on(req.state, req.params["code"])
    body = req.root("add_on")
    add_on = {**current, **{k: body[k] for k in ADD_ON_FIELDS if k in body}}
    req.state.add_ons[add_on["lago_id"]] = add_on
    try:
        _check_add_on(req.state, add_on)
        if "tax_codes" in body:
            add_on["tax_ids"] = taxes.resolve_codes(req.state, body["tax_codes"])
    except Exception:
        req.state.add_ons[current["lago_id"]] = current
        raise
    return {"add_on": serialize_add_on(req.state, add_on)}


def add_on_show(req: Request) -> Record:
    return {"add_on": serialize_add_on(req.state, _add_on(req.state, req.params["code"]))}


def add_ons_index(req: Request) -> Record:
    items, meta = paginate(newest_first(list(req.state.add_ons.values())), req.query)
    return {"add_ons": [serialize_add_on(req.state, a) for a in items], "meta": meta}


def add_on_delete(req: Request) -> Record:
    add_on = _add_on(req.state, req.params["code"])
    del req.state.add_ons[add_on["lago_id"]]
    return {"add_on": serialize_add_on(req.state, add_on)}


# ---------------------------------------------------------------- coupons

COUPON_FIELDS = (
    "name",
    "code",
    "description",
    "coupon_type",
    "amount_cents",
    "amount_currency",
    "percentage_rate",
    "frequency",
    "frequency_duration",
    "expiration",
    "reusable",
)
EDITABLE_WHEN_APPLIED = ("name", "description", "expiration", "expiration_at")


def serialize_coupon(state: State, coupon: Record) -> Record:
    return {
        "lago_id": coupon["lago_id"],
        "name": coupon["name"],
        "code": coupon["code"],
        "description": coupon["description"],
        "coupon_type": coupon["coupon_type"],
        "amount_cents": coupon["amount_cents"],
        "amount_currency": coupon["amount_currency"],
        "reusable": coupon["reusable"],
        "limited_plans": bool(coupon["plan_codes"]),
        "plan_codes": coupon["plan_codes"],
        "limited_billable_metrics": bool(coupon["billable_metric_codes"]),
        "billable_metric_codes": coupon["billable_metric_codes"],
        "percentage_rate": coupon["percentage_rate"],
        "frequency": coupon["frequency"],
        "frequency_duration": coupon["frequency_duration"],
        "expiration": coupon["expiration"],
        "expiration_at": iso(coupon["expiration_at"]),
        "created_at": iso(coupon["created_at"]),
        "terminated_at": iso(coupon["terminated_at"]),
    }


def _coupon(state: State, code: str) -> Record:
    for coupon in state.coupons.values():
        if coupon["code"] == code and coupon["terminated_at"] is None:
            return coupon
    raise not_found("coupon")


def _applies_to(state: State, coupon: Record, raw: Any) -> None:
    if not isinstance(raw, dict):
        return
    plan_codes = raw.get("plan_codes") or []
    metric_codes = raw.get("billable_metric_codes") or []
    if plan_codes and metric_codes:
        raise not_allowed("only_one_limitation_type_per_coupon_allowed")
    if any(state.parent_plan_by_code(str(c)) is None for c in plan_codes):
        raise not_found("plans")
    if any(state.metric_by_code(str(c)) is None for c in metric_codes):
        raise not_found("billable_metrics")
    coupon["plan_codes"] = [str(c) for c in plan_codes]
    coupon["billable_metric_codes"] = [str(c) for c in metric_codes]


def _check_coupon(state: State, coupon: Record) -> None:
    errors = FieldErrors()
    for key in ("name", "code"):
        if not isinstance(coupon[key], str) or not coupon[key].strip():
            errors.add(key, "value_is_mandatory")
    if any(
        c["code"] == coupon["code"] and c is not coupon and c["terminated_at"] is None
        for c in state.coupons.values()
    ):
        errors.add("code", "value_already_exist")
    if coupon["coupon_type"] not in ("fixed_amount", "percentage"):
        errors.add("coupon_type", "value_is_invalid")
    elif coupon["coupon_type"] == "fixed_amount":
        amount = coupon["amount_cents"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            errors.add("amount_cents", "value_is_invalid")
        if coupon["amount_currency"] not in ACCEPTED:
            errors.add("amount_currency", "value_is_invalid")
    elif coupon["percentage_rate"] is None:
        errors.add("percentage_rate", "value_is_mandatory")
    if coupon["frequency"] not in ("once", "recurring", "forever"):
        errors.add("frequency", "value_is_invalid")
    elif coupon["frequency"] == "recurring":
        duration = coupon["frequency_duration"]
        if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
            errors.add("frequency_duration", "value_is_invalid")
    if coupon["expiration"] not in ("no_expiration", "time_limit"):
        errors.add("expiration", "value_is_invalid")
    elif coupon["expiration"] == "time_limit" and coupon["expiration_at"] is None:
        errors.add("expiration_at", "invalid_date")
    errors.raise_if_any()
    if coupon["percentage_rate"] is not None:
        coupon["percentage_rate"] = str(coupon["percentage_rate"])


def coupon_create(req: Request) -> Record:
    body = req.root("coupon")
    coupon: Record = {k: body.get(k) for k in COUPON_FIELDS}
    coupon.update(
        lago_id=new_id(),
        _seq=req.state.next_seq(),
        created_at=req.now,
        terminated_at=None,
        expiration_at=parse_iso(body.get("expiration_at")),
        plan_codes=[],
        billable_metric_codes=[],
    )
    if coupon["reusable"] is None:
        coupon["reusable"] = True
    _applies_to(req.state, coupon, body.get("applies_to"))
    _check_coupon(req.state, coupon)
    req.state.coupons[coupon["lago_id"]] = coupon
    return {"coupon": serialize_coupon(req.state, coupon)}


def coupon_update(req: Request) -> Record:
    current = _coupon(req.state, req.params["code"])
    body = req.root("coupon")
    applied = any(a["coupon_id"] == current["lago_id"] for a in req.state.applied_coupons.values())
    keys = EDITABLE_WHEN_APPLIED if applied else (*COUPON_FIELDS, "expiration_at")
    coupon = dict(current)
    for key in keys:
        if key in body:
            coupon[key] = parse_iso(body[key]) if key == "expiration_at" else body[key]
    if not applied and "applies_to" in body:
        _applies_to(req.state, coupon, body["applies_to"])
    req.state.coupons[coupon["lago_id"]] = coupon
    try:
        _check_coupon(req.state, coupon)
    except Exception:
        req.state.coupons[current["lago_id"]] = current
        raise
    return {"coupon": serialize_coupon(req.state, coupon)}


def coupon_show(req: Request) -> Record:
    return {"coupon": serialize_coupon(req.state, _coupon(req.state, req.params["code"]))}


def coupons_index(req: Request) -> Record:
    live = [c for c in req.state.coupons.values() if c["terminated_at"] is None]
    items, meta = paginate(newest_first(live), req.query)
    return {"coupons": [serialize_coupon(req.state, c) for c in items], "meta": meta}


def coupon_delete(req: Request) -> Record:
    coupon = _coupon(req.state, req.params["code"])
    coupon["terminated_at"] = req.now
    for applied in req.state.applied_coupons.values():
        if applied["coupon_id"] == coupon["lago_id"] and applied["status"] == "active":
            applied["status"], applied["terminated_at"] = "terminated", req.now
    return {"coupon": serialize_coupon(req.state, coupon)}


# ---------------------------------------------------------------- applied coupons


def serialize_applied(state: State, applied: Record) -> Record:
    coupon = state.coupons[applied["coupon_id"]]
    customer = state.customers[applied["customer_id"]]
    return {
        "lago_id": applied["lago_id"],
        "lago_coupon_id": coupon["lago_id"],
        "coupon_code": coupon["code"],
        "coupon_name": coupon["name"],
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": customer["external_id"],
        "status": applied["status"],
        "amount_cents": applied["amount_cents"],
        "amount_cents_remaining": applied["amount_cents"],
        "amount_currency": applied["amount_currency"],
        "percentage_rate": applied["percentage_rate"],
        "frequency": applied["frequency"],
        "frequency_duration": applied["frequency_duration"],
        "frequency_duration_remaining": applied["frequency_duration"],
        "expiration_at": iso(coupon["expiration_at"]),
        "created_at": iso(applied["created_at"]),
        "terminated_at": iso(applied["terminated_at"]),
        "credits": [],  # the sandbox issues no invoices, hence no coupon credits
    }


def applied_coupon_create(req: Request) -> Record:
    body = req.root("applied_coupon")
    customer = customers.find(req.state, str(body.get("external_customer_id")))
    coupon = _coupon(req.state, str(body.get("coupon_code")))
    already = [
        a
        for a in req.state.applied_coupons.values()
        if a["coupon_id"] == coupon["lago_id"]
        and a["customer_id"] == customer["lago_id"]
        and a["status"] == "active"
    ]
    if already and not coupon["reusable"]:
        raise invalid("coupon", "coupon_is_not_reusable")
    if already:
        raise invalid("coupon", "coupon_already_applied")
    applied: Record = {
        "lago_id": new_id(),
        "_seq": req.state.next_seq(),
        "created_at": req.now,
        "terminated_at": None,
        "coupon_id": coupon["lago_id"],
        "customer_id": customer["lago_id"],
        "status": "active",
        "amount_cents": body.get("amount_cents", coupon["amount_cents"]),
        "amount_currency": body.get("amount_currency", coupon["amount_currency"]),
        "percentage_rate": body.get("percentage_rate", coupon["percentage_rate"]),
        "frequency": body.get("frequency", coupon["frequency"]),
        "frequency_duration": body.get("frequency_duration", coupon["frequency_duration"]),
    }
    req.state.applied_coupons[applied["lago_id"]] = applied
    return {"applied_coupon": serialize_applied(req.state, applied)}


def applied_coupons_index(req: Request) -> Record:
    applied = list(req.state.applied_coupons.values())
    external_id = req.params.get("external_customer_id") or req.arg("external_customer_id")
    if external_id is not None:
        customer = customers.find(req.state, external_id)
        applied = [a for a in applied if a["customer_id"] == customer["lago_id"]]
    if (status := req.arg("status")) is not None:
        applied = [a for a in applied if a["status"] == status]
    if codes := req.args("coupon_code"):
        applied = [a for a in applied if req.state.coupons[a["coupon_id"]]["code"] in codes]
    items, meta = paginate(newest_first(applied), req.query)
    return {"applied_coupons": [serialize_applied(req.state, a) for a in items], "meta": meta}


def applied_coupon_delete(req: Request) -> Record:
    customer = customers.find(req.state, req.params["external_customer_id"])
    applied = req.state.applied_coupons.get(req.params["applied_coupon_id"])
    if applied is None or applied["customer_id"] != customer["lago_id"]:
        raise not_found("applied_coupon")
    applied["status"], applied["terminated_at"] = "terminated", req.now
    return {"applied_coupon": serialize_applied(req.state, applied)}
