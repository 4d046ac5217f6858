"""Which subscriptions' effective pricing a catalog change moves, and to what.

For every live subscription, ``propose`` asks ``lagoform.model.reach`` what its effective plan
is after apply — the verdict the plan's blast radius and subscription changes show, so the
revenue section prices exactly what apply makes Lago bill:

- it bills its plan itself: the catalog's plan (cause ``plan``), or the plan its YAML moves it
  to (``plan_switch``);
- its YAML negotiates prices: lagoform's apply keeps its own copy at the catalog's prices with
  the negotiated values laid over them (``repriced``), whatever ``cascade_updates`` says;
- Lago has it on its own copy and lagoform does not manage it: the plan's change reaches it
  through ``cascade_updates`` (``cascade``), or not at all.

Pure: the catalog side is the engine's ``DesiredState``; the live side Lago's plans and
subscriptions (from the engine's live read, or ``fetch.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lagoform.impact.forms import PricedPlan, priced, pricing_differences
from lagoform.model.reach import PlanChange, Subscriber, reach, wanted
from lagoform.model.state import DesiredState
from lagoform.model.values import Normal

__all__ = ["LiveParents", "LiveSubscription", "Proposal", "needs_effective_plan", "propose"]

_CAUSE = {
    "follows": "plan",
    "repriced": "repriced",
    "frozen": "frozen",
    "cascade": "cascade",
    "unreached": "",
}


@dataclass(frozen=True)
class LiveSubscription:
    external_id: str
    external_customer_id: str
    plan_code: str
    overridden: bool
    status: str = "active"
    # Its own copy as ``GET /subscriptions/{id}`` shows it (comparison form) and that copy's
    # charge ids; None = not read (a subscription on its plan prices like the plan).
    effective: Normal | None = None
    effective_ids: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveParents:
    """Lago's parent plans (comparison form) and their charge ids, by plan code."""

    forms: Mapping[str, Normal]
    ids: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    subscription: LiveSubscription
    current: PricedPlan
    proposed: PricedPlan
    causes: tuple[str, ...] = ()  # plan | repriced | cascade | plan_switch
    differences: tuple[str, ...] = ()  # what prices differently, in words
    # Parts of a change to its plan that do not reach it, and why.
    not_reached: tuple[str, ...] = ()
    not_reached_reason: str | None = None
    # Set when its new pricing cannot be stated (e.g. its plan is deleted).
    blocked: str | None = None


def _target(sub: LiveSubscription, desired: DesiredState) -> str:
    want = wanted(desired, sub.external_id)
    return want.plan_code if want is not None and want.plan_code else sub.plan_code


def _change(code: str, parents: LiveParents, desired: DesiredState) -> PlanChange:
    want = desired.get("plan", code)
    return PlanChange(
        old=parents.forms.get(code),
        new=want.normal if want is not None else None,
        cascade_updates=want.cascade_updates if want is not None else False,
    )


def needs_effective_plan(
    sub: LiveSubscription, parents: LiveParents, desired: DesiredState
) -> bool:
    """Whether ``propose`` needs this overridden subscription's own copy read."""
    if not sub.overridden or sub.effective is not None:
        return False
    target = _target(sub, desired)
    want = wanted(desired, sub.external_id)
    if target != sub.plan_code or (want is not None and want.stated):
        return True
    change = _change(target, parents, desired)
    return change.new is not None and change.old != change.new


def propose(sub: LiveSubscription, parents: LiveParents, desired: DesiredState) -> Proposal | None:
    """The subscription's pricing now and after apply; None when its current pricing is
    unknown (an overridden subscription whose copy was not read, or a plan Lago lacks)."""
    now = sub.effective if sub.overridden else parents.forms.get(sub.plan_code)
    if now is None:
        return None
    ids = sub.effective_ids if sub.overridden else parents.ids.get(sub.plan_code, {})
    current = priced(now, sub.plan_code, ids)
    target = _target(sub, desired)
    if target in desired.remove.get("plan", frozenset()) and desired.get("plan", target) is None:
        gone = f"plan {target} is removed in the catalog: Lago terminates this subscription"
        return Proposal(sub, current, current, blocked=gone)
    change = _change(target, parents, desired)
    if change.new is None and change.old is None:
        return Proposal(sub, current, current, blocked=f"plan {target} is unknown")
    moves = target != sub.plan_code
    found = reach(
        Subscriber(sub.external_id, sub.external_customer_id, sub.plan_code, sub.status,
                   sub.overridden, sub.effective),
        wanted(desired, sub.external_id),
        change,
        moves=moves,
    )  # fmt: skip
    if found.after is None:
        return None
    proposed = priced(found.after, target)
    differences = pricing_differences(current, proposed)
    cause = "plan_switch" if moves else _CAUSE[found.how]
    kept = found.kept if change.old is not None and change.old != change.new else ()
    return Proposal(
        subscription=sub,
        current=current,
        proposed=proposed,
        causes=(cause,) if differences and cause else (),
        differences=tuple(differences),
        not_reached=kept,
        not_reached_reason=found.reason if kept else None,
    )
