"""Plan overrides: hidden child plans (first override vs later ones, §5.4) and the synchronous
stand-in for Lago's asynchronous ``cascade_updates`` jobs (§4.6). No HTTP handlers here.
"""

from __future__ import annotations

import copy
from typing import Any

from lagoform.model.effective import fee_follows, filter_follows, price_follows
from lagoform.model.properties import properties as canonical_properties
from lagoform.sandbox import charges, plans, taxes
from lagoform.sandbox import properties as props_mod
from lagoform.sandbox.api_errors import invalid
from lagoform.sandbox.request import Org
from lagoform.sandbox.state import Record, new_id

PLAN_OVERRIDABLE = (
    "amount_cents",
    "amount_currency",
    "description",
    "invoice_display_name",
    "name",
    "trial_period",
)
CHARGE_OVERRIDABLE = (
    "properties",
    "min_amount_cents",
    "invoice_display_name",
    "filters",
    "tax_codes",
    "applied_pricing_unit",
)
GROUPING_KEYS = ("pricing_group_keys", "presentation_group_keys")


def apply_overrides(org: Org, current: Record, raw: Any) -> Record:
    """Returns the child plan the subscription should point at (stored in state)."""
    if not isinstance(raw, dict):
        raise invalid("plan_overrides", "value_is_invalid")
    overrides = {k: v for k, v in raw.items() if k != "metadata"}  # not permitted by Lago
    if current["parent_id"] is None:
        child = create_child(org, current, overrides)
    else:
        child = copy.deepcopy(current)
        plans.apply_update(org, child, overrides)
    org.state.plans[child["lago_id"]] = child
    return child


def create_child(org: Org, parent: Record, overrides: Record) -> Record:
    """First override: copy the parent and all its charges, then apply the allowed keys."""
    state = org.state
    child = copy.deepcopy(parent)
    child.update(
        lago_id=new_id(),
        _seq=state.next_seq(),
        created_at=org.now,
        parent_id=parent["lago_id"],
        pending_deletion=False,
        deleted_at=None,
        ever_subscribed=False,
        charges=[charges.copy_for_child(state, c, org.now) for c in parent["charges"]],
    )
    for fixed in child["fixed_charges"]:
        fixed["parent_id"], fixed["lago_id"] = fixed["lago_id"], new_id()
    for key in PLAN_OVERRIDABLE:
        if key in overrides:
            child[key] = overrides[key]
    plans.validate(state, child)
    if "tax_codes" in overrides:
        child["tax_ids"] = taxes.resolve_codes(state, overrides["tax_codes"])
    items = overrides.get("charges") or []
    if not isinstance(items, list):
        raise invalid("charges", "value_is_invalid")
    by_parent = {c["parent_id"]: c for c in child["charges"]}
    for item in items:
        target = by_parent.get(item.get("id")) if isinstance(item, dict) else None
        if target is not None:  # unknown ids are ignored on a first override
            patch = {k: item[k] for k in CHARGE_OVERRIDABLE if k in item}
            charges.patch_override(state, target, patch, premium=org.premium)
    fixed_items = overrides.get("fixed_charges") or []
    fixed_by_parent = {f["parent_id"]: f for f in child["fixed_charges"]}
    for item in fixed_items if isinstance(fixed_items, list) else []:
        target = fixed_by_parent.get(item.get("id")) if isinstance(item, dict) else None
        if target is not None:
            for key in ("units", "invoice_display_name"):
                if key in item:
                    target[key] = item[key]
            if "properties" in item:
                target["properties"] = props_mod.normalize(
                    target["charge_model"], item["properties"]
                )
    relations: Record = {
        k: overrides[k] for k in ("minimum_commitment", "usage_thresholds") if k in overrides
    }
    plans.apply_relations(org, child, relations, attached=False)
    return child


def cascade_to_children(org: Org, old: Record, new: Record) -> None:
    """Parent edits reach uncustomised parts of children with active/pending subscriptions."""
    state = org.state
    live_plan_ids = {
        s["plan_id"] for s in state.subscriptions.values() if s["status"] in ("active", "pending")
    }
    old_charges = {c["lago_id"]: c for c in old["charges"]}
    new_charges = {c["lago_id"]: c for c in new["charges"]}
    for child in state.live_plans():
        if child["parent_id"] != new["lago_id"] or child["lago_id"] not in live_plan_ids:
            continue
        if fee_follows(child["amount_cents"], old["amount_cents"], new["amount_cents"]):
            child["amount_cents"] = new["amount_cents"]
        child["charges"] = [
            c
            for c in child["charges"]
            if c["parent_id"] not in old_charges or c["parent_id"] in new_charges
        ]
        by_parent = {c["parent_id"]: c for c in child["charges"] if c["parent_id"]}
        for parent_id, parent_charge in new_charges.items():
            mine = by_parent.get(parent_id)
            if parent_id not in old_charges:
                if mine is None:
                    child["charges"].append(charges.copy_for_child(state, parent_charge, org.now))
            elif mine is not None and mine["charge_model"] == parent_charge["charge_model"]:
                _cascade_charge(org, old_charges[parent_id], parent_charge, mine)
            # a copy whose model differs from its parent's takes nothing (Lago skips it)
        child["charges"].sort(key=lambda c: int(c["_seq"]))


def _form(charge: Record, properties: Record | None = None) -> Record:
    """A charge's (or filter's) properties in the model's comparison form, where Lago's
    "customised?" tests compare them."""
    model = charge["charge_model"]
    raw = charge["properties"] if properties is None else properties
    return {"charge_model": model, "properties": canonical_properties(model, raw)}


def _cascade_charge(org: Org, old: Record, new: Record, mine: Record) -> None:
    if price_follows(_form(mine), _form(old)):
        mine["properties"] = copy.deepcopy(new["properties"])
    for key in GROUPING_KEYS:
        if key in new["properties"]:
            mine["properties"][key] = copy.deepcopy(new["properties"][key])
        else:
            mine["properties"].pop(key, None)
    old_filters = {charges.values_key(f["values"]): f for f in old["filters"]}
    new_filters = {charges.values_key(f["values"]): f for f in new["filters"]}
    my_filters = {charges.values_key(f["values"]): f for f in mine["filters"]}
    for values, parent_filter in new_filters.items():
        own = my_filters.get(values)
        before = old_filters.get(values)
        if own is None:
            if before is None:
                fresh = charges.new_filter(org.state, copy.deepcopy(parent_filter["values"]))
                fresh["properties"] = copy.deepcopy(parent_filter["properties"])
                fresh["invoice_display_name"] = parent_filter["invoice_display_name"]
                mine["filters"].append(fresh)
        elif before is not None and _filter_changed(before, parent_filter):
            if filter_follows(_form(mine, own["properties"]), _form(mine, before["properties"])):
                own["properties"] = copy.deepcopy(parent_filter["properties"])
                own["invoice_display_name"] = parent_filter["invoice_display_name"]
            else:  # customised: only its grouping keys follow
                for key in GROUPING_KEYS:
                    if key in parent_filter["properties"]:
                        own["properties"][key] = copy.deepcopy(parent_filter["properties"][key])
                    else:
                        own["properties"].pop(key, None)
    removed = set(old_filters) - set(new_filters)
    mine["filters"] = [f for f in mine["filters"] if charges.values_key(f["values"]) not in removed]


def _filter_changed(before: Record, after: Record) -> bool:
    return (before["properties"], before["invoice_display_name"]) != (
        after["properties"],
        after["invoice_display_name"],
    )
