"""Taxes: CRUD by code, and resolving ``tax_codes`` lists used by plans, charges and add-ons."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from lagoform.sandbox.api_errors import FieldErrors, invalid, not_found
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate


def serialize(tax: Record) -> Record:
    return {
        "lago_id": tax["lago_id"],
        "name": tax["name"],
        "code": tax["code"],
        "rate": tax["rate"],
        "description": tax["description"],
        "applied_to_organization": tax["applied_to_organization"],
        "add_ons_count": 0,
        "customers_count": 0,
        "plans_count": 0,
        "charges_count": 0,
        "created_at": iso(tax["created_at"]),
    }


def serialize_ids(state: State, tax_ids: list[str]) -> list[Record]:
    return [serialize(state.taxes[i]) for i in tax_ids if i in state.taxes]


def resolve_codes(state: State, codes: Any) -> list[str]:
    """``tax_codes`` → tax lago_ids; replace semantics are the caller's; unknown → 404."""
    if codes is None:
        return []
    if not isinstance(codes, list):
        raise invalid("tax_codes", "value_is_invalid")
    ids: list[str] = []
    for code in codes:
        tax = state.tax_by_code(str(code))
        if tax is None:
            raise not_found("tax")
        if tax["lago_id"] not in ids:
            ids.append(tax["lago_id"])
    return ids


def find(state: State, code: str) -> Record:
    tax = state.tax_by_code(code)
    if tax is None:
        raise not_found("tax")
    return tax


def create(req: Request) -> Record:
    body = req.root("tax")
    tax: Record = {
        "lago_id": new_id(),
        "_seq": req.state.next_seq(),
        "created_at": req.now,
        "name": body.get("name"),
        "code": body.get("code"),
        "rate": body.get("rate"),
        "description": body.get("description"),
        "applied_to_organization": bool(body.get("applied_to_organization", False)),
    }
    _validate(req.state, tax, None)
    req.state.taxes[tax["lago_id"]] = tax
    return {"tax": serialize(tax)}


def update(req: Request) -> Record:
    tax = find(req.state, req.params["code"])
    body = req.root("tax")
    candidate = dict(tax)
    for key in ("name", "code", "rate", "description", "applied_to_organization"):
        if key in body:
            candidate[key] = body[key]
    _validate(req.state, candidate, tax["lago_id"])
    tax.update(candidate)
    return {"tax": serialize(tax)}


def show(req: Request) -> Record:
    return {"tax": serialize(find(req.state, req.params["code"]))}


def index(req: Request) -> Record:
    items, meta = paginate(newest_first(list(req.state.taxes.values())), req.query)
    return {"taxes": [serialize(t) for t in items], "meta": meta}


def delete(req: Request) -> Record:
    tax = find(req.state, req.params["code"])
    for plan in req.state.plans.values():
        plan["tax_ids"] = [i for i in plan["tax_ids"] if i != tax["lago_id"]]
        for charge in plan["charges"]:
            charge["tax_ids"] = [i for i in charge["tax_ids"] if i != tax["lago_id"]]
    for add_on in req.state.add_ons.values():
        add_on["tax_ids"] = [i for i in add_on["tax_ids"] if i != tax["lago_id"]]
    del req.state.taxes[tax["lago_id"]]
    return {"tax": serialize(tax)}


def _validate(state: State, tax: Record, own_id: str | None) -> None:
    errors = FieldErrors()
    for key in ("name", "code"):
        if not isinstance(tax[key], str) or not tax[key].strip():
            errors.add(key, "value_is_mandatory")
    if isinstance(tax["code"], str) and tax["code"]:
        clash = state.tax_by_code(tax["code"])
        if clash is not None and clash["lago_id"] != own_id:
            errors.add("code", "value_already_exist")
    rate = tax["rate"]
    if rate is None or rate == "":
        errors.add("rate", "value_is_mandatory")
    else:
        try:
            number = Decimal(str(rate))
        except InvalidOperation:
            number = Decimal(-1)
        if isinstance(rate, bool) or not number.is_finite() or number < 0:
            errors.add("rate", "value_is_invalid")
        else:
            tax["rate"] = float(number)
    errors.raise_if_any()
