"""``/subscriptions/{external_id}/charges`` — effective charges of a subscription and the
premium per-charge override endpoint (§5.5) with its filter sub-resources."""

from __future__ import annotations

import copy

from lagoform.sandbox import charges, overrides, subscriptions
from lagoform.sandbox.api_errors import feature_unavailable, invalid, not_found
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, paginate

OVERRIDE_KEYS = (
    "invoice_display_name",
    "min_amount_cents",
    "properties",
    "filters",
    "tax_codes",
    "applied_pricing_unit",
)


def _subscription(req: Request) -> Record:
    status = req.arg("subscription_status") or req.arg("status")
    return subscriptions.find(req.state, req.params["external_id"], status)


def _charge_on(plan: Record, code: str) -> Record:
    for charge in plan["charges"]:
        if charge["code"] == code:
            found: Record = charge
            return found
    raise not_found("charge")


def _working_child(req: Request, sub: Record) -> Record:
    """A copy to edit: the existing child plan, or a new one (§5.5); committed only on success."""
    plan = req.state.plans[sub["plan_id"]]
    if plan["parent_id"] is None:
        return overrides.create_child(req.org, plan, {})
    return copy.deepcopy(plan)


def _commit_child(req: Request, sub: Record, child: Record) -> None:
    child["ever_subscribed"] = True
    req.state.plans[child["lago_id"]] = child
    sub["plan_id"] = child["lago_id"]


def index(req: Request) -> Record:
    sub = _subscription(req)
    plan = req.state.plans[sub["plan_id"]]
    items, meta = paginate(plan["charges"], req.query)
    return {"charges": [charges.serialize(req.state, c) for c in items], "meta": meta}


def show(req: Request) -> Record:
    sub = _subscription(req)
    charge = _charge_on(req.state.plans[sub["plan_id"]], req.params["charge_code"])
    return {"charge": charges.serialize(req.state, charge)}


def update(req: Request) -> Record:
    if not req.org.premium:
        raise feature_unavailable()
    sub = _subscription(req)
    body = req.root("charge")
    plan = req.state.plans[sub["plan_id"]]
    _charge_on(plan, req.params["charge_code"])  # 404 before creating anything
    child = _working_child(req, sub)
    charge = _charge_on(child, req.params["charge_code"])
    patch = {k: body[k] for k in OVERRIDE_KEYS if k in body}
    charges.patch_override(req.state, charge, patch, premium=req.org.premium)
    _commit_child(req, sub, child)
    return {"charge": charges.serialize(req.state, charge)}


def filters_index(req: Request) -> Record:
    sub = _subscription(req)
    charge = _charge_on(req.state.plans[sub["plan_id"]], req.params["charge_code"])
    items, meta = paginate(charge["filters"], req.query)
    return {"filters": [charges.serialize_filter_full(charge, f) for f in items], "meta": meta}


def filter_show(req: Request) -> Record:
    sub = _subscription(req)
    charge = _charge_on(req.state.plans[sub["plan_id"]], req.params["charge_code"])
    for charge_filter in charge["filters"]:
        if charge_filter["lago_id"] == req.params["filter_id"]:
            return {"filter": charges.serialize_filter_full(charge, charge_filter)}
    raise not_found("charge_filter")


def filter_create(req: Request) -> Record:
    if not req.org.premium:
        raise feature_unavailable()
    sub = _subscription(req)
    body = req.root("filter")
    _charge_on(req.state.plans[sub["plan_id"]], req.params["charge_code"])
    child = _working_child(req, sub)
    charge = _charge_on(child, req.params["charge_code"])
    metric = req.state.metrics[charge["billable_metric_id"]]
    values = charges.check_filter_values(metric, body.get("values"))
    if any(
        charges.values_key(f["values"]) == charges.values_key(values) for f in charge["filters"]
    ):
        raise invalid("values", "value_already_exist")
    charge_filter = charges.new_filter(req.state, values)
    charge_filter["invoice_display_name"] = body.get("invoice_display_name")
    charge_filter["properties"] = charges.check_filter_properties(
        charge, metric, body.get("properties"), req.org.premium
    )
    charge["filters"].append(charge_filter)
    _commit_child(req, sub, child)
    return {"filter": charges.serialize_filter_full(charge, charge_filter)}


def filter_update(req: Request) -> Record:
    if not req.org.premium:
        raise feature_unavailable()
    sub = _subscription(req)
    body = req.root("filter")
    plan = req.state.plans[sub["plan_id"]]
    charge = _charge_on(plan, req.params["charge_code"])
    index_of = next(
        (i for i, f in enumerate(charge["filters"]) if f["lago_id"] == req.params["filter_id"]),
        None,
    )
    if index_of is None:
        raise not_found("charge_filter")
    child = _working_child(req, sub)
    charge = _charge_on(child, req.params["charge_code"])
    charge_filter = charge["filters"][index_of]
    metric = req.state.metrics[charge["billable_metric_id"]]
    if "invoice_display_name" in body:
        charge_filter["invoice_display_name"] = body["invoice_display_name"]
    if "properties" in body:
        charge_filter["properties"] = charges.check_filter_properties(
            charge, metric, body["properties"], req.org.premium
        )
    _commit_child(req, sub, child)
    return {"filter": charges.serialize_filter_full(charge, charge_filter)}


def filter_delete(req: Request) -> Record:
    if not req.org.premium:
        raise feature_unavailable()
    sub = _subscription(req)
    plan = req.state.plans[sub["plan_id"]]
    charge = _charge_on(plan, req.params["charge_code"])
    index_of = next(
        (i for i, f in enumerate(charge["filters"]) if f["lago_id"] == req.params["filter_id"]),
        None,
    )
    if index_of is None:
        raise not_found("charge_filter")
    child = _working_child(req, sub)
    charge = _charge_on(child, req.params["charge_code"])
    removed = charge["filters"].pop(index_of)
    _commit_child(req, sub, child)
    return {"filter": charges.serialize_filter_full(charge, removed)}
