"""Fixed charges (add-on based) on plans: replace-by-id like usage charges, standard /
graduated / volume properties, serialization. Kept small: lagoform only round-trips them."""

from __future__ import annotations

from typing import Any

from lagoform.sandbox import charges, taxes
from lagoform.sandbox import properties as props_mod
from lagoform.sandbox.api_errors import FieldErrors, invalid, not_found
from lagoform.sandbox.request import Org
from lagoform.sandbox.state import Record, State, iso, new_id

FIXED_MODELS = ("standard", "graduated", "volume")


def serialize(state: State, plan: Record, fixed: Record) -> Record:
    add_on = state.add_ons.get(fixed["add_on_id"])
    return {
        "lago_id": fixed["lago_id"],
        "lago_add_on_id": fixed["add_on_id"],
        "code": fixed["code"],
        "invoice_display_name": fixed["invoice_display_name"],
        "add_on_code": add_on["code"] if add_on else None,
        "created_at": iso(fixed["created_at"]),
        "charge_model": fixed["charge_model"],
        "pay_in_advance": fixed["pay_in_advance"],
        "prorated": fixed["prorated"],
        "properties": fixed["properties"],
        "units": fixed["units"],
        "lago_parent_id": fixed["parent_id"],
        "taxes": taxes.serialize_ids(state, fixed["tax_ids"]),
    }


def _add_on_for(state: State, item: Record) -> Record:
    add_on = state.add_ons.get(str(item.get("add_on_id")))
    if add_on is None and isinstance(item.get("add_on_code"), str):
        add_on = next((a for a in state.add_ons.values() if a["code"] == item["add_on_code"]), None)
    if add_on is None:  # plans/chargeables_validation_service.rb:49-64
        raise not_found("add_ons")
    return add_on


def replace_all(org: Org, plan: Record, items: Any, *, attached: bool) -> None:
    state = org.state
    if items is None:
        items = []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid("fixed_charges", "value_is_invalid")
    by_id = {f["lago_id"]: f for f in plan["fixed_charges"]}
    kept: list[Record] = []
    for item in items:
        fixed = by_id.get(str(item.get("id")))
        if fixed is None:
            add_on = _add_on_for(state, item)
            fixed = {
                "lago_id": new_id(),
                "_seq": state.next_seq(),
                "created_at": org.now,
                "add_on_id": add_on["lago_id"],
                "code": None,
                "invoice_display_name": None,
                "charge_model": item.get("charge_model"),
                "pay_in_advance": bool(item.get("pay_in_advance", False)),
                "prorated": bool(item.get("prorated", False)),
                "properties": {},
                "units": 0,
                "parent_id": None,
                "tax_ids": [],
            }
            taken = {f["code"] for f in plan["fixed_charges"]}
            code = item.get("code")
            if isinstance(code, str) and code:
                if code in taken:
                    raise invalid("code", "value_already_exist")
                fixed["code"] = code
            else:
                fixed["code"] = charges.generate_code(taken, add_on["code"])
            plan["fixed_charges"].append(fixed)
        elif not attached:
            fixed["charge_model"] = item.get("charge_model", fixed["charge_model"])
            for key in ("pay_in_advance", "prorated"):
                if key in item:
                    fixed[key] = bool(item[key])
        _assign_common(state, fixed, item)
        kept.append(fixed)
    plan["fixed_charges"] = sorted(kept, key=lambda f: int(f["_seq"]))


def _assign_common(state: State, fixed: Record, item: Record) -> None:
    if "invoice_display_name" in item:
        fixed["invoice_display_name"] = item["invoice_display_name"]
    if "units" in item:
        fixed["units"] = item["units"]
    fixed["properties"] = props_mod.normalize(fixed["charge_model"], item.get("properties"))
    if "tax_codes" in item:
        fixed["tax_ids"] = taxes.resolve_codes(state, item["tax_codes"])
    errors = FieldErrors()
    if fixed["charge_model"] not in FIXED_MODELS:
        errors.add("charge_model", "value_is_invalid")
    else:
        for code in props_mod.validate(
            fixed["charge_model"], fixed["properties"], premium=True, metric_agg=None
        ):
            errors.add("properties", code)
    units = fixed["units"]
    if isinstance(units, str):
        units = props_mod.valid_amount(units) and float(units)
    if not isinstance(units, int | float) or isinstance(units, bool) or units < 0:
        errors.add("units", "value_is_invalid")
    errors.raise_if_any()
