"""Add-ons (§6.3): CRUD by code, amounts in cents, taxes. Coupons live in ``coupons``."""

from __future__ import annotations

from lagoform.model.currency import ACCEPTED
from lagoform.sandbox import taxes
from lagoform.sandbox.api_errors import FieldErrors, not_found
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate

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
