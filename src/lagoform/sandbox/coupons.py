"""Coupons and applied coupons (§6.4), checked the way Lago checks them.

A coupon is checked first for its ``expiration_at`` (a parseable date in the future; alone,
coupons/validate_service.rb), then its plan or metric limitations (404 for unknown codes, then
405 for both kinds), then every record rule at once with Lago's codes (models/coupon.rb) — a
recurring coupon without ``frequency_duration`` gets ``value_is_mandatory`` and Rails' own
"is not a number". Once applied to any customer only name, description, expiration and
expiration_at change (the rest is silently ignored).
"""

from __future__ import annotations

from typing import Any

from lagoform.model.currency import ACCEPTED
from lagoform.sandbox import customers
from lagoform.sandbox.api_errors import FieldErrors, invalid, not_allowed, not_found
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate, parse_iso

NOT_A_NUMBER = "is not a number"  # Rails' own message: Lago's locale does not map it
APPLIED_STATUSES = ("active", "terminated")

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
    plan_codes = [str(c) for c in raw.get("plan_codes") or []]
    metric_codes = [str(c) for c in raw.get("billable_metric_codes") or []]
    if any(state.parent_plan_by_code(c) is None for c in plan_codes):
        raise not_found("plans")
    if any(state.metric_by_code(c) is None for c in metric_codes):
        raise not_found("billable_metrics")
    if plan_codes and metric_codes:
        raise not_allowed("only_one_limitation_type_per_coupon_allowed")
    coupon["plan_codes"] = plan_codes
    coupon["billable_metric_codes"] = metric_codes


def _check_expiration_at(raw: Any, now: float) -> None:
    """coupons/validate_service.rb: a given ``expiration_at`` parses and lies in the future."""
    if raw in (None, ""):
        return
    parsed = parse_iso(raw)
    if parsed is None or parsed <= now:
        raise invalid("expiration_at", "invalid_date")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _positive(errors: FieldErrors, key: str, value: Any) -> None:
    """Rails' ``numericality: {greater_than: 0}``."""
    if not _is_number(value):
        errors.add(key, NOT_A_NUMBER)
    elif float(value) <= 0:
        errors.add(key, "value_is_out_of_range")


def _check_coupon(state: State, coupon: Record) -> None:
    """models/coupon.rb: every record rule, reported together."""
    errors = FieldErrors()
    for key in ("name", "code"):
        if not isinstance(coupon[key], str) or not coupon[key].strip():
            errors.add(key, "value_is_mandatory")
    if any(
        c["code"] == coupon["code"] and c is not coupon and c["terminated_at"] is None
        for c in state.coupons.values()
    ):
        errors.add("code", "value_already_exist")
    fixed = coupon["coupon_type"] == "fixed_amount"
    if coupon["amount_cents"] is None:
        if fixed:
            errors.add("amount_cents", "value_is_mandatory")
    else:
        _positive(errors, "amount_cents", coupon["amount_cents"])
    if coupon["amount_currency"] is None:
        if fixed:
            errors.add("amount_currency", "value_is_mandatory")
    elif coupon["amount_currency"] not in ACCEPTED:
        errors.add("amount_currency", "value_is_invalid")
    if coupon["coupon_type"] == "percentage" and coupon["percentage_rate"] in (None, ""):
        errors.add("percentage_rate", "value_is_mandatory")
    if coupon["frequency"] == "recurring":
        if coupon["frequency_duration"] in (None, ""):
            errors.add("frequency_duration", "value_is_mandatory")
        _positive(errors, "frequency_duration", coupon["frequency_duration"])
    if coupon["reusable"] is None:
        errors.add("reusable", "value_is_reserved")
    for key, allowed in (
        ("expiration", ("no_expiration", "time_limit")),
        ("coupon_type", ("fixed_amount", "percentage")),
        ("frequency", ("once", "recurring", "forever")),
    ):
        if coupon[key] not in allowed:
            errors.add(key, "value_is_invalid")
    errors.raise_if_any()
    if coupon["percentage_rate"] is not None:
        coupon["percentage_rate"] = str(coupon["percentage_rate"])


def coupon_create(req: Request) -> Record:
    body = req.root("coupon")
    _check_expiration_at(body.get("expiration_at"), req.now)
    coupon: Record = {k: body.get(k) for k in COUPON_FIELDS}
    coupon.update(
        lago_id=new_id(),
        _seq=req.state.next_seq(),
        created_at=req.now,
        terminated_at=None,
        expiration_at=parse_iso(body.get("expiration_at")),
        plan_codes=[],
        billable_metric_codes=[],
        reusable=body.get("reusable", True),
    )
    _applies_to(req.state, coupon, body.get("applies_to"))
    _check_coupon(req.state, coupon)
    req.state.coupons[coupon["lago_id"]] = coupon
    return {"coupon": serialize_coupon(req.state, coupon)}


def coupon_update(req: Request) -> Record:
    current = _coupon(req.state, req.params["code"])
    body = req.root("coupon")
    _check_expiration_at(body.get("expiration_at"), req.now)
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
    """serializers/v1/applied_coupon_serializer.rb: no remaining amount for a recurring,
    forever or percentage coupon; the sandbox issues no invoices, hence no credits."""
    coupon = state.coupons[applied["coupon_id"]]
    customer = state.customers[applied["customer_id"]]
    fixed_once = applied["frequency"] == "once" and coupon["coupon_type"] == "fixed_amount"
    return {
        "lago_id": applied["lago_id"],
        "lago_coupon_id": coupon["lago_id"],
        "coupon_code": coupon["code"],
        "coupon_name": coupon["name"],
        "coupon_description": coupon["description"],
        "coupon_status": "terminated" if coupon["terminated_at"] else "active",
        "coupon_deleted_at": iso(coupon["terminated_at"]),
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": customer["external_id"],
        "status": applied["status"],
        "amount_cents": applied["amount_cents"],
        "amount_cents_remaining": applied["amount_cents"] if fixed_once else None,
        "amount_currency": applied["amount_currency"],
        "percentage_rate": applied["percentage_rate"],
        "frequency": applied["frequency"],
        "frequency_duration": applied["frequency_duration"],
        "frequency_duration_remaining": applied["frequency_duration"],
        "expiration_at": iso(coupon["expiration_at"]),
        "created_at": iso(applied["created_at"]),
        "terminated_at": iso(applied["terminated_at"]),
        "credits": [],
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
    """A customer's route answers 404 for an unknown customer (customers/base_controller.rb);
    ``GET /applied_coupons?external_customer_id=`` only filters, so an unknown id lists nothing
    (applied_coupons_query.rb). An unknown ``status`` is ignored, not matched."""
    applied = [
        a
        for a in req.state.applied_coupons.values()
        if req.state.customers[a["customer_id"]]["deleted_at"] is None
    ]
    if "external_customer_id" in req.params:
        customers.find(req.state, req.params["external_customer_id"])
    external_id = req.params.get("external_customer_id") or req.arg("external_customer_id")
    if external_id is not None:
        applied = [
            a
            for a in applied
            if req.state.customers[a["customer_id"]]["external_id"] == external_id
        ]
    if (status := req.arg("status")) in APPLIED_STATUSES:
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
