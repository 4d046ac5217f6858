"""Granular charge endpoints under ``/plans/{code}/charges`` and their filters (§4.7).

Each write works on a copy of the plan and swaps it in only on success (Lago runs each in one
DB transaction). ``cascade_updates`` inside the envelope reaches child plans like a plan PUT.
"""

from __future__ import annotations

import copy

from lagoform.sandbox import charges, overrides, plans
from lagoform.sandbox.api_errors import invalid, not_found
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, paginate


def _charge_on(plan: Record, code: str) -> Record:
    for charge in plan["charges"]:
        if charge["code"] == code:
            found: Record = charge
            return found
    raise not_found("charge")


def _filter_on(charge: Record, filter_id: str) -> Record:
    for charge_filter in charge["filters"]:
        if charge_filter["lago_id"] == filter_id:
            found: Record = charge_filter
            return found
    raise not_found("charge_filter")


def _commit(req: Request, old: Record, new: Record, cascade: bool) -> None:
    req.state.plans[new["lago_id"]] = new
    if cascade:
        overrides.cascade_to_children(req.org, old, new)


def index(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    items, meta = paginate(plan["charges"], req.query)
    return {"charges": [charges.serialize(req.state, c) for c in items], "meta": meta}


def show(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    charge = _charge_on(plan, req.params["charge_code"])
    return {"charge": charges.serialize(req.state, charge)}


def create(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    body = req.root("charge")
    updated = copy.deepcopy(plan)
    charge = charges.create_from_item(
        req.state,
        updated,
        body,
        now=req.now,
        premium=req.org.premium,
        generate=False,
        wallet_targets=req.org.enabled("events_targeting_wallets"),
    )
    updated["charges"].append(charge)
    _commit(req, plan, updated, body.get("cascade_updates") is True)
    return {"charge": charges.serialize(req.state, charge)}


def update(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    body = req.root("charge")
    updated = copy.deepcopy(plan)
    charge = _charge_on(updated, req.params["charge_code"])
    charges.update_from_item(
        req.state,
        updated,
        charge,
        body,
        attached=bool(plan["ever_subscribed"]),
        premium=req.org.premium,
        wallet_targets=req.org.enabled("events_targeting_wallets"),
    )
    _commit(req, plan, updated, body.get("cascade_updates") is True)
    return {"charge": charges.serialize(req.state, charge)}


def delete(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    charge = _charge_on(plan, req.params["charge_code"])
    updated = copy.deepcopy(plan)
    updated["charges"] = [c for c in updated["charges"] if c["lago_id"] != charge["lago_id"]]
    cascade = req.optional_root("charge").get("cascade_updates") is True
    _commit(req, plan, updated, cascade)
    return {"charge": charges.serialize(req.state, charge)}


def filters_index(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    charge = _charge_on(plan, req.params["charge_code"])
    items, meta = paginate(charge["filters"], req.query)
    return {"filters": [charges.serialize_filter_full(charge, f) for f in items], "meta": meta}


def filter_show(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    charge = _charge_on(plan, req.params["charge_code"])
    charge_filter = _filter_on(charge, req.params["filter_id"])
    return {"filter": charges.serialize_filter_full(charge, charge_filter)}


def filter_create(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    body = req.root("filter")
    updated = copy.deepcopy(plan)
    charge = _charge_on(updated, req.params["charge_code"])
    metric = req.state.metrics[charge["billable_metric_id"]]
    values = charges.check_filter_values(metric, body.get("values"))
    key = charges.values_key(values)
    if any(charges.values_key(f["values"]) == key for f in charge["filters"]):
        raise invalid("values", "value_already_exist")
    charge_filter = charges.new_filter(req.state, values)
    charge_filter["invoice_display_name"] = body.get("invoice_display_name")
    charge_filter["properties"] = charges.check_filter_properties(
        charge, metric, body.get("properties"), req.org.premium
    )
    charge["filters"].append(charge_filter)
    _commit(req, plan, updated, body.get("cascade_updates") is True)
    return {"filter": charges.serialize_filter_full(charge, charge_filter)}


def filter_update(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    body = req.root("filter")
    updated = copy.deepcopy(plan)
    charge = _charge_on(updated, req.params["charge_code"])
    charge_filter = _filter_on(charge, req.params["filter_id"])
    metric = req.state.metrics[charge["billable_metric_id"]]
    if "values" in body:
        values = charges.check_filter_values(metric, body["values"])
        key = charges.values_key(values)
        if any(
            charges.values_key(f["values"]) == key and f is not charge_filter
            for f in charge["filters"]
        ):
            raise invalid("values", "value_already_exist")
        charge_filter["values"] = values
    if "invoice_display_name" in body:
        charge_filter["invoice_display_name"] = body["invoice_display_name"]
    if "properties" in body:
        charge_filter["properties"] = charges.check_filter_properties(
            charge, metric, body["properties"], req.org.premium
        )
    _commit(req, plan, updated, body.get("cascade_updates") is True)
    return {"filter": charges.serialize_filter_full(charge, charge_filter)}


def filter_delete(req: Request) -> Record:
    plan = plans.find_parent(req.state, req.params["code"])
    updated = copy.deepcopy(plan)
    charge = _charge_on(updated, req.params["charge_code"])
    charge_filter = _filter_on(charge, req.params["filter_id"])
    charge["filters"] = [f for f in charge["filters"] if f is not charge_filter]
    cascade = req.optional_root("filter").get("cascade_updates") is True
    _commit(req, plan, updated, cascade)
    return {"filter": charges.serialize_filter_full(charge, charge_filter)}
