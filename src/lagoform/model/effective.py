"""What a subscription pays: its base plan, overrides laid over it, and Lago's cascade.

Forms are plans in the comparison form (``forms.billing_plan``); every function returns new
data and never edits its arguments.

- ``pricing``: the part of a plan a subscription's overrides can change (plus each charge's
  model), the form in which a catalog plan and a subscription's own copy compare.
- ``overlay``: base plan + overrides: a field an override sets replaces the base's
  (``properties`` whole), and an override's ``filters`` name only the filters it negotiates
  (by their values map): those replace the base's, every other filter of the charge stays the
  catalog's. (Lago replaces a charge's whole filter list on its override endpoint, API_NOTES
  §5.5: apply sends it the merged list, ``overlay``'s.)
- ``cascade``: a subscription's own copy after an edit of its parent plan with
  ``cascade_updates: true`` (§4.6; lago-api ``Plans::UpdateService``, ``Charges::UpdateService``
  in cascade mode, ``ChargeFilters::CascadeDispatcher`` / ``CascadeService``): what reaches the
  copy and what the copy keeps because it was customised.
- ``copy_goal``: what lagoform's apply sets an overridden subscription's copy to when its YAML
  states ``overrides:`` (base + overrides, on the charges the copy has), and what Lago's
  overrides cannot do (add or drop a charge of the copy).
- ``copy_after``: the copy as Lago holds it once that apply ran.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lagoform.model.filters import ALL_FILTER_VALUES
from lagoform.model.properties import GROUPING_KEYS
from lagoform.model.values import Normal, clean

__all__ = [
    "CHARGE_FIELDS",
    "FIRST_ONLY",
    "PLAN_FIELDS",
    "Cascaded",
    "CopyGoal",
    "cascade",
    "copy_after",
    "copy_goal",
    "fee_follows",
    "filter_follows",
    "overlay",
    "price_follows",
    "pricing",
    "within_metrics",
]

# What an override may set (API_NOTES §5.4, §5.5), in the comparison form.
PLAN_FIELDS = ("amount_cents", "name", "invoice_display_name", "description", "tax_codes")
# Lago takes these only when it creates a subscription's copy of the plan (the first override).
FIRST_ONLY = ("amount_currency", "trial_period")
CHARGE_FIELDS = ("properties", "filters", "min_amount_cents", "invoice_display_name", "tax_codes")


def pricing(plan: Normal) -> Normal:
    """The part of a plan (``billing_plan`` form) a subscription's overrides can change, plus
    each charge's model (never overridable, but a copy whose model differs cannot be repriced).
    Both a catalog plan and a subscription's effective plan go through this, so they compare."""
    charges = {
        code: clean({"charge_model": c.get("charge_model")})
        | {f: c[f] for f in CHARGE_FIELDS if f in c}
        for code, c in (plan.get("charges") or {}).items()
    }
    out = {f: plan[f] for f in (*PLAN_FIELDS, *FIRST_ONLY) if f in plan}
    out["charges"] = charges
    return out


def overlay(base: Normal, overrides: Normal) -> Normal:
    """Base plan + overrides: a field the override sets replaces the base's (``properties``
    whole); its ``filters`` replace the base's filters with the same values map and leave the
    others (a filter the base charge lacks is not added: validate refuses it); an override of
    a charge the base lacks changes nothing."""
    out = copy.deepcopy(base)
    for name in (*PLAN_FIELDS, *FIRST_ONLY):
        if name in overrides:
            out[name] = copy.deepcopy(overrides[name])
    charges = out.setdefault("charges", {})
    for code, item in (overrides.get("charges") or {}).items():
        if code not in charges:
            continue
        mine = charges[code]
        for name, value in item.items():
            if name == "filters":
                filters = mine.setdefault("filters", {})
                filters.update({k: copy.deepcopy(v) for k, v in value.items() if k in filters})
            else:
                mine[name] = copy.deepcopy(value)
    return out


# -- cascade_updates -----------------------------------------------------------------------------
# Lago's three tests of "was this part customised?" (the sandbox calls them on its own records).


def fee_follows(child: Any, old: Any, new: Any) -> bool:
    """A copy's subscription fee takes the parent's new one only when it still equals the old
    (``Plans::UpdateService#cascade_subscription_fee_update``)."""
    return bool(old != new and child == old)


def price_follows(mine: Normal, old: Normal) -> bool:
    """A copy's charge takes the parent's new properties only when its model and properties
    equal the old parent charge's (``Charge#equal_properties?``; grouping keys included)."""
    same_model = mine.get("charge_model") == old.get("charge_model")
    return same_model and (mine.get("properties") or {}) == (old.get("properties") or {})


def filter_follows(own: Normal, old: Normal) -> bool:
    """A copy's filter takes the parent's new properties and display name only when its
    properties equal the old parent filter's (``ChargeFilters::CascadeService``)."""
    return (own.get("properties") or {}) == (old.get("properties") or {})


@dataclass(frozen=True)
class Cascaded:
    """A copy after Lago cascaded a parent edit, and the parts of the edit it did not get."""

    plan: Normal
    kept: tuple[str, ...] = ()


def cascade(child: Normal, old_parent: Normal, new_parent: Normal) -> Cascaded:
    """``child`` (a subscription's copy) after its parent went from ``old_parent`` to
    ``new_parent`` with ``cascade_updates: true``.

    Lago's rules: the subscription fee follows only when the copy's equals the old parent's;
    charges added to or removed from the parent are added to or removed from the copy; an
    edited charge takes the parent's new properties only when the copy's equal the old parent's
    (same model), but its grouping keys always; filters follow one by one (a removed filter is
    removed, an added one added when the copy lacks it, an edited one takes the new properties
    and display name only when the copy's properties equal the old parent's); a charge's
    display name, minimum and taxes, the plan's other fields and its minimum commitment are
    never cascaded.
    """
    out = copy.deepcopy(child)
    kept: list[str] = []
    old_fee, new_fee = old_parent.get("amount_cents"), new_parent.get("amount_cents")
    if fee_follows(child.get("amount_cents"), old_fee, new_fee):
        out["amount_cents"] = new_fee
    elif old_fee != new_fee:
        kept.append("subscription fee (its own)")
    if old_parent.get("minimum_commitment") != new_parent.get("minimum_commitment"):
        kept.append("minimum commitment (Lago does not cascade it)")
    old_charges = old_parent.get("charges") or {}
    new_charges = new_parent.get("charges") or {}
    charges: dict[str, Normal] = {}
    for code, mine in (child.get("charges") or {}).items():
        if code in old_charges and code not in new_charges:
            continue  # removed from the parent: removed from every copy
        before, after = old_charges.get(code), new_charges.get(code)
        if before is None or after is None or before == after:
            charges[code] = copy.deepcopy(mine)
            continue
        charges[code], not_reached = _cascade_charge(code, before, after, mine)
        kept.extend(not_reached)
    for code, parent in new_charges.items():
        if code not in old_charges and code not in charges:
            charges[code] = copy.deepcopy(parent)
    out["charges"] = dict(sorted(charges.items()))
    return Cascaded(out, tuple(kept))


def _cascade_charge(code: str, old: Normal, new: Normal, mine: Normal) -> tuple[Normal, list[str]]:
    out = copy.deepcopy(mine)
    kept: list[str] = []
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    if old_props != new_props:
        if price_follows(mine, old):
            out["properties"] = copy.deepcopy(new_props)
        else:
            kept.append(f"charge {code} price (its own)")
        out["properties"] = _grouping(out.get("properties") or {}, new_props)
    old_filters, new_filters = old.get("filters") or {}, new.get("filters") or {}
    if old_filters != new_filters:
        filters, not_reached = _cascade_filters(code, old_filters, new_filters, mine)
        out["filters"] = filters
        kept.extend(not_reached)
    for name, what in (
        ("min_amount_cents", "minimum"),
        ("invoice_display_name", "display name"),
        ("tax_codes", "taxes"),
    ):
        if old.get(name) != new.get(name):
            kept.append(f"charge {code} {what} (Lago does not cascade it)")
    return out, kept


def _grouping(properties: Normal, parent: Normal) -> Normal:
    out = dict(properties)
    for key in GROUPING_KEYS:
        if key in parent:
            out[key] = copy.deepcopy(parent[key])
        else:
            out.pop(key, None)
    return out


def _cascade_filters(code: str, old: Normal, new: Normal, mine: Normal) -> tuple[Normal, list[str]]:
    filters = copy.deepcopy(mine.get("filters") or {})
    kept: list[str] = []
    for key in set(old) - set(new):
        filters.pop(key, None)
    for key, parent in new.items():
        before = old.get(key)
        own = filters.get(key)
        if before is None:
            if own is None:
                filters[key] = copy.deepcopy(parent)
            continue
        if own is None or before == parent:
            continue
        if filter_follows(own, before):
            updated = {**own, "properties": copy.deepcopy(parent.get("properties") or {})}
            updated.pop("invoice_display_name", None)
            filters[key] = clean({**updated, **_display(parent)})
        else:
            parent_props = parent.get("properties") or {}
            own["properties"] = _grouping(own.get("properties") or {}, parent_props)
            kept.append(f"charge {code} filter {key} (its own price)")
    return dict(sorted(filters.items())), kept


def _display(item: Normal) -> dict[str, Any]:
    name = item.get("invoice_display_name")
    return {"invoice_display_name": name} if name is not None else {}


# -- a copy lagoform manages ---------------------------------------------------------------------


@dataclass(frozen=True)
class CopyGoal:
    """What apply sets a subscription's own copy to (``goal``) against what the copy holds once
    Lago ran this apply's plan update (``now``: the copy after Lago's cascade when the plan has
    ``cascade_updates``), both ``pricing`` forms over the charges the comparison covers; the
    charges Lago's cascade adds to or removes from the copy; and those no override can add or
    drop."""

    goal: Normal
    now: Normal
    cascaded: Normal  # the copy after the plan update (``billing_plan`` form)
    added_by_lago: tuple[str, ...] = ()
    dropped_by_lago: tuple[str, ...] = ()
    cannot_add: tuple[str, ...] = ()
    cannot_drop: tuple[str, ...] = ()


def copy_goal(
    base: Normal,
    overrides: Normal,
    current: Normal,
    *,
    cascade_updates: bool,
    parent: Normal | None,
    frozen: bool = False,
    metric_values: Mapping[str, Mapping[str, list[str]]] | None = None,
) -> CopyGoal:
    """The copy ``current`` (a subscription's effective plan) against base + ``overrides``.

    ``base`` is the catalog plan after this apply, ``parent`` the plan as Lago has it before
    (None when Lago lacks it). With ``cascade_updates`` Lago first carries the plan's change to
    the copy (``cascade``: a new charge arrives, a removed one leaves, an uncustomised price
    follows — a negotiated price equal to the old catalog one included), so apply compares the
    goal with that. Lago takes a first-override-only field (currency, trial) only when the YAML
    states it (and then only on the first override: the caller blocks it).
    """
    cascaded = current
    if cascade_updates and parent is not None:
        cascaded = cascade(current, parent, base).plan
    start = within_metrics(current, metric_values or {}) if frozen else base
    goal = _restrict(pricing(overlay(start, overrides)), overrides)
    now = _restrict(pricing(cascaded), overrides)
    before, after = set(current.get("charges") or {}), set(cascaded.get("charges") or {})
    return CopyGoal(
        goal,
        now,
        cascaded,
        added_by_lago=tuple(sorted(after - before)),
        dropped_by_lago=tuple(sorted(before - after)),
        cannot_add=tuple(sorted(set(goal["charges"]) - set(now["charges"]))),
        cannot_drop=tuple(sorted(set(now["charges"]) - set(goal["charges"]))),
    )


def within_metrics(form: Normal, metric_values: Mapping[str, Mapping[str, list[str]]]) -> Normal:
    """``form`` without the charge filters naming a value their metric no longer has
    (``metric_values``: charge code → its metric's filter values; a charge not named keeps
    all). Lago trims such values from every charge on the metric, copies included, and keeps
    what is left of the filter (API_NOTES §3.4): a filter wider than the one negotiated,
    billing at its old price. A copy that must keep its prices (frozen) keeps everything but
    those filters."""
    out = copy.deepcopy(form)
    for code, charge in (out.get("charges") or {}).items():
        allowed = metric_values.get(code)
        if allowed is None or not charge.get("filters"):
            continue
        charge["filters"] = {
            key: item
            for key, item in charge["filters"].items()
            if _allowed(item.get("values") or {}, allowed)
        }
    return out


def _allowed(values: Mapping[str, list[str]], allowed: Mapping[str, list[str]]) -> bool:
    return all(
        key in allowed and (chosen == [ALL_FILTER_VALUES] or set(chosen) <= set(allowed[key]))
        for key, chosen in values.items()
    )


def _restrict(form: Normal, overrides: Normal) -> Normal:
    out = copy.deepcopy(form)
    for name in FIRST_ONLY:
        if name not in overrides:
            out.pop(name, None)
    out.setdefault("charges", {})
    return out


def copy_after(found: CopyGoal) -> Normal:
    """The copy (a ``billing_plan`` form) once apply set it to ``found.goal``: what no
    override can change keeps the value the plan update left (a first-override-only field, a
    charge no override can drop, a charge's model), a charge no override can add stays
    missing."""
    out = copy.deepcopy(found.cascaded)
    for name in PLAN_FIELDS:
        if name in found.goal:
            out[name] = copy.deepcopy(found.goal[name])
        else:
            out.pop(name, None)
    charges = out.get("charges") or {}
    for code, fields in found.goal["charges"].items():
        if code not in charges or fields.get("charge_model") != charges[code].get("charge_model"):
            continue  # the caller blocks a model change; nothing is set
        for name in CHARGE_FIELDS:
            if name in fields:
                charges[code][name] = copy.deepcopy(fields[name])
            else:
                charges[code].pop(name, None)
    out["charges"] = dict(sorted(charges.items()))
    return out
