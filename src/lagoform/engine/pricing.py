"""A subscription compared with its YAML: its own fields, its plan (``moves.py``) and its prices.

What a subscription pays is its *effective* plan (API_NOTES §5.6): the base plan, or Lago's copy
of it once the subscription has overrides. The YAML says base plan + overrides. So:

- a subscription Lago has on its own copy, whose YAML states ``overrides:``, is compared in
  full: every override-able field of the copy against the catalog plan with the YAML's
  overrides laid over it. A negotiated price edited in Lago, or a charge the copy kept at an
  old catalog price, shows per charge and filter, and apply sets it back;
- one still on its base plan is compared on the fields the YAML overrides (the rest *is* the
  base plan, compared as the plan);
- one on its own copy whose YAML has no ``overrides:`` is *blocked* when its prices differ from
  the catalog: Lago cannot take a subscription back to its plan, so the plan says what to do;
- what Lago cannot do through overrides (add or drop a charge of the copy, change a charge's
  model, or a trial or currency after the first override) is blocked with the way out.

Pure: reads desired and live state, returns field changes, blocked parts and the finance view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lagoform.engine.diff import FieldChange, diff
from lagoform.engine.locks import Blocked
from lagoform.engine.moves import plan_move
from lagoform.engine.pricing_model import PlanMove, SubscriptionPricing
from lagoform.engine.pricing_parts import (
    cannot_add,
    cannot_drop,
    first_only,
    model_differs,
    price_lines,
)
from lagoform.model.effective import CHARGE_FIELDS, FIRST_ONLY, copy_goal, overlay, pricing
from lagoform.model.forms import project
from lagoform.model.reach import metric_values
from lagoform.model.state import DesiredObject, DesiredState, LiveObject, LiveState
from lagoform.model.values import Normal

Status = Literal["active", "pending"]
PREMIUM_NOTE = (
    "Per-tenant overrides use Lago's plan overrides, a premium feature: a Lago without a premium "
    "licence refuses them (403 feature_unavailable) and apply stops at this subscription."
)
_LIVE_ONLY = ("plan", "pending_plan")


@dataclass
class SubscriptionComparison:
    changes: list[FieldChange] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    pricing: SubscriptionPricing | None = None
    move: PlanMove | None = None
    notes: list[str] = field(default_factory=list)


def compare_subscription(
    key: str, desired: DesiredState, live: LiveState, *, now: str | None = None
) -> SubscriptionComparison:
    """Everything apply must do (or refuse) for subscription ``key`` (module doc)."""
    want = desired.objects["subscription"][key]
    have = live.get("subscription", key)
    plan_code = str(want.normal.get("plan_code") or "")
    base_obj = desired.get("plan", plan_code) or live.get("plan", plan_code)
    base = pricing(base_obj.normal) if base_obj is not None else None
    yaml: Normal = want.normal.get("overrides") or {}
    # a frozen subscription needs its own copy even when it negotiates no price
    own = bool(yaml) or bool(want.meta.get("frozen"))
    out = SubscriptionComparison()
    if have is None:
        out.changes = diff(None, want.normal)
        if base is not None and own:
            future = _after(want.normal.get("subscription_at"), now)
            out.pricing = _fresh(want, base, yaml, "pending" if future else "active", post=True)
        return _noted(out)
    fields = {k: v for k, v in want.normal.items() if k != "overrides"}
    current = project({k: v for k, v in have.normal.items() if k not in _LIVE_ONLY}, fields)
    out.changes = diff(current, fields)
    out.move = plan_move(have, plan_code, desired, live, overrides=bool(yaml))
    if base is None:
        return out
    if out.move is not None and out.move.kind != "cancel_downgrade":
        if own:
            status: Status = "active" if out.move.kind == "upgrade" else "pending"
            post = out.move.kind != "swap"  # Lago applies no overrides when it swaps a plan
            out.pricing = _fresh(want, base, yaml, status, post=post)
            out.changes += _prefixed(diff(_project(base, yaml), yaml))
        return _noted(out)
    record, overridden, status = _record(have, out.move)
    if overridden and record is not None:
        if "plan_overrides" in want.body:  # the YAML states `overrides:` (maybe no prices)
            _full(out, key, want, base, record, status, desired, live)
        else:
            _unstated(out, key, want, base, record, status)
    elif own:
        parent = live.get("plan", plan_code)  # the record is on this plan itself
        now_form = pricing(parent.normal) if parent is not None else base
        _projected(out, want, base, now_form, yaml, status)
    return _noted(out)


def _noted(out: SubscriptionComparison) -> SubscriptionComparison:
    if out.pricing is not None and out.pricing.target:
        out.notes.append(PREMIUM_NOTE)
    return out


def _after(start: Any, now: str | None) -> bool:
    return isinstance(start, str) and now is not None and start > now


def _record(have: LiveObject, move: PlanMove | None) -> tuple[Normal | None, bool, Status]:
    """The Lago record the YAML's overrides concern: (its pricing form when it is on its own
    copy, is it, which status addresses it)."""
    raw, norm, ids = have.raw, have.normal, have.ids
    scheduled = bool(raw.get("next_plan_code"))
    if scheduled and move is None:  # the pending subscription of a scheduled downgrade
        return _priced(norm.get("pending_plan")), bool(ids.get("pending_overridden")), "pending"
    status: Status = "pending" if raw.get("status") == "pending" else "active"
    return _priced(norm.get("plan")), bool(ids.get("overridden")), status


def _priced(plan: Normal | None) -> Normal | None:
    return pricing(plan) if plan is not None else None


# -- the three comparisons ---------------------------------------------------------------------


def _fresh(
    want: DesiredObject, base: Normal, yaml: Normal, status: Status, *, post: bool
) -> SubscriptionPricing:
    """A subscription record Lago is about to create (or to move to another plan): it starts on
    its base plan, so the overrides are whatever the YAML sets to a value other than the base's.
    ``post``: the creating call carries the plan-level overrides (``plan_overrides``)."""
    changed = _prefixed(diff(_project(base, yaml), yaml))
    target = _freeze(want, base, _target(changed, overlay(base, yaml)), changed)
    if post and target.get("charges") and not target.get("plan"):
        # Lago then creates the subscription on its own copy in that one call: refused
        # whole without premium, and a base fee paid in advance is invoiced as negotiated.
        target["plan"] = {"amount_cents": base.get("amount_cents", 0)}
    return _pricing(want, base, None, overlay(base, yaml), yaml, changed, status, target)


def _projected(
    out: SubscriptionComparison,
    want: DesiredObject,
    base: Normal,
    now_form: Normal,
    yaml: Normal,
    status: Status,
) -> None:
    """Still on its base plan: only what the YAML overrides can differ from it. What apply must
    set is what the YAML sets to a value other than the plan's *after* this apply (``base``): a
    negotiated value equal to today's catalog price needs an override as soon as the catalog
    moves away from it, and one the catalog now reaches needs none."""
    changed = _prefixed(diff(_project(base, yaml), yaml))
    target = _freeze(want, base, _target(changed, overlay(base, yaml)), changed)
    out.changes += changed
    out.pricing = _pricing(
        want, base, now_form, overlay(base, yaml), yaml, changed, status, target, exists=True
    )


def _full(
    out: SubscriptionComparison,
    key: str,
    want: DesiredObject,
    base: Normal,
    record: Normal,
    status: Status,
    desired: DesiredState,
    live: LiveState,
) -> None:
    """On its own copy, overrides stated: the whole copy against base + overrides."""
    yaml: Normal = want.normal.get("overrides") or {}
    plan_code = str(want.normal.get("plan_code"))
    plan_obj = desired.get("plan", plan_code)
    live_plan = live.get("plan", plan_code)
    found = copy_goal(
        base, yaml, record,
        cascade_updates=plan_obj.cascade_updates if plan_obj is not None else False,
        parent=pricing(live_plan.normal) if live_plan is not None else None,
        frozen=bool(want.meta.get("frozen")),
        metric_values=metric_values(desired, live, plan_code),
    )  # fmt: skip
    goal, now = found.goal, found.now
    for code in found.added_by_lago:
        out.notes.append(f"charge {code!r} reaches it through cascade_updates (Lago copies it)")
    for code in found.dropped_by_lago:
        out.notes.append(f"charge {code!r} leaves it through cascade_updates (Lago deletes it)")
    out.blocked += [cannot_add(key, plan_code, code) for code in found.cannot_add]
    out.blocked += [cannot_drop(key, plan_code, code) for code in found.cannot_drop]
    for code in sorted(set(goal["charges"]) & set(now["charges"])):
        a, b = (
            now["charges"][code].pop("charge_model", None),
            goal["charges"][code].pop("charge_model", None),
        )
        if a != b:
            out.blocked.append(model_differs(key, code, a, b))
    changed = _prefixed(diff(now, goal))
    out.changes += changed
    for change in changed:
        if change.path[1] in FIRST_ONLY:
            out.blocked.append(first_only(key, change.path[1]))
    target = _target([c for c in changed if c.path[1] != "charges" or len(c.path) > 3], goal)
    out.pricing = _pricing(
        want, base, record, overlay(base, yaml), yaml, changed, status, target,
        exists=True, overridden=True,
    )  # fmt: skip


def _unstated(
    out: SubscriptionComparison,
    key: str,
    want: DesiredObject,
    base: Normal,
    record: Normal,
    status: Status,
) -> None:
    """On its own copy, no ``overrides:`` in YAML: blocked when it prices unlike the catalog."""
    now, goal = _without_first_only(record), _without_first_only(base)
    for form in (now, goal):
        for charge in form["charges"].values():
            charge.pop("charge_model", None)
    changed = _prefixed(diff(now, goal))
    if not changed:
        return
    out.changes += changed
    plan_code = str(want.normal.get("plan_code"))
    out.blocked.append(
        Blocked(
            path=("overrides",),
            reason=(
                f"subscription {key!r} is on its own copy of plan {plan_code!r} in Lago (it was "
                "overridden) and prices unlike the catalog, but its YAML has no `overrides:`; "
                "Lago has no API to put a subscription back on its plan (an override can be "
                "changed, never removed)"
            ),
            way_out=(
                "to keep these prices, state them under `overrides:` with a reason and approval "
                "(`lagoform import` writes them out); to bill the catalog's prices, add "
                "`overrides:` with a reason and approval and no prices (lagoform then sets each "
                "price of the copy back to the catalog's), or end this subscription (end_date) "
                "and subscribe the tenant again under a new external_id"
            ),
        )
    )
    out.pricing = _pricing(
        want, base, record, base, {}, changed, status, {}, exists=True, overridden=True
    )


# -- forms ----------------------------------------------------------------------------------


def _freeze(
    want: DesiredObject, base: Normal, target: dict[str, Any], changed: list[FieldChange]
) -> dict[str, Any]:
    """A frozen subscription needs its own copy now, so later catalog changes stop reaching
    it: an override of its fee at the plan's fee makes Lago create the copy (API_NOTES §5.4)."""
    if want.meta.get("frozen") and not target.get("plan"):
        target = {**target, "plan": {"amount_cents": base.get("amount_cents", 0)}}
        changed.append(FieldChange(path=("overrides", "frozen"), old=None, new=True))
    return target


def _without_first_only(form: Normal) -> Normal:
    return {k: v for k, v in form.items() if k not in FIRST_ONLY}


def _project(form: Normal, yaml: Normal) -> Normal:
    """``form`` narrowed to the fields ``yaml`` (an override form) sets: a charge's filters
    to the ones it negotiates (the others stay the catalog's)."""
    out = {k: form[k] for k in yaml if k != "charges" and k in form}
    if "charges" in yaml:
        charges = form.get("charges") or {}
        out["charges"] = {
            code: {f: _narrow(f, charges[code][f], fields[f]) for f in fields if f in charges[code]}
            for code, fields in yaml["charges"].items()
            if code in charges
        }
    return out


def _narrow(name: str, value: Any, negotiated: Any) -> Any:
    if name == "filters" and isinstance(value, dict) and isinstance(negotiated, dict):
        return {k: v for k, v in value.items() if k in negotiated}
    return value


def _prefixed(changes: list[FieldChange]) -> list[FieldChange]:
    return [c.model_copy(update={"path": ("overrides", *c.path)}) for c in changes]


def _target(changes: list[FieldChange], goal: Normal) -> dict[str, Any]:
    """The override values apply sets: each changed field's whole new value."""
    plan: dict[str, Any] = {}
    charges: dict[str, dict[str, Any]] = {}
    for change in changes:
        path = change.path[1:]
        if path and path[0] != "charges" and path[0] in goal:
            plan[path[0]] = goal[path[0]]
        elif len(path) >= 3 and path[1] in goal.get("charges", {}):
            fields = goal["charges"][path[1]]
            if path[2] in fields:
                charges.setdefault(path[1], {})[path[2]] = fields[path[2]]
        elif len(path) == 2 and path[1] in goal.get("charges", {}):  # a whole charge's override
            charges[path[1]] = {
                f: v for f, v in goal["charges"][path[1]].items() if f in CHARGE_FIELDS
            }
    target: dict[str, Any] = {}
    if plan:
        target["plan"] = plan
    if charges:
        target["charges"] = charges
    return target


# -- the finance view -------------------------------------------------------------------------


def _pricing(
    want: DesiredObject,
    base: Normal,
    now: Normal | None,
    new: Normal,
    yaml: Normal,
    changed: list[FieldChange],
    status: Status,
    target: dict[str, Any],
    *,
    exists: bool = False,
    overridden: bool = False,
) -> SubscriptionPricing:
    return SubscriptionPricing(
        plan_code=str(want.normal.get("plan_code")),
        currency=str(base.get("amount_currency") or ""),
        reason=want.meta.get("reason"),
        approval=want.meta.get("approval"),
        rules=tuple(want.meta.get("rules") or ()),
        exists=exists,
        overridden=overridden,
        status=status,
        lines=tuple(price_lines(base, now, new, yaml, changed)),
        target=target,
    )
