"""Which subscriptions' effective pricing a catalog change moves, and to what.

For every active subscription, ``propose`` replays what apply and Lago would do to its
effective plan (API_NOTES §5.4–5.6, §4.6):

- not overridden: it bills on the plan itself, so the catalog's plan is its new pricing
  (cause ``plan``);
- overridden (on a child plan): a plan edit reaches it only with ``cascade_updates: true`` and
  only for what the override did not customise (cause ``cascade``); with ``false`` it keeps its
  copy — zero change, reported with the reason;
- its tenant file's overrides are then applied on top (cause ``override``);
- a different ``plan`` in the tenant file moves it to that plan (cause ``plan_switch``).

Pure: the catalog side comes from the engine's ``DesiredState``; the live side from Lago's
plans and subscriptions (read in ``fetch.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lagoform.impact.forms import (
    PricedPlan,
    apply_overrides,
    cascade,
    priced_plan,
    pricing_differences,
)
from lagoform.model.state import DesiredState

__all__ = [
    "Catalog",
    "LiveSubscription",
    "Proposal",
    "WantedSubscription",
    "from_desired",
    "needs_effective_plan",
    "propose",
]


@dataclass(frozen=True)
class WantedSubscription:
    plan_code: str
    overrides: dict[str, Any] | None = None  # the ``plan_overrides`` body (charges by code)


@dataclass(frozen=True)
class Catalog:
    """The proposed configuration, as far as pricing goes."""

    plans: dict[str, PricedPlan]
    subscriptions: dict[str, WantedSubscription]
    removed_plans: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LiveSubscription:
    external_id: str
    external_customer_id: str
    plan_code: str
    overridden: bool
    # Its plan as ``GET /subscriptions/{id}`` shows it; None = not read (then the parent plan
    # is its pricing when it is not overridden).
    effective_plan: PricedPlan | None = None


@dataclass(frozen=True)
class Proposal:
    subscription: LiveSubscription
    current: PricedPlan
    proposed: PricedPlan
    causes: tuple[str, ...] = ()  # plan | cascade | override | plan_switch
    differences: tuple[str, ...] = ()  # what prices differently, in words
    # Parts of a change to its plan that do not reach it, and why (overridden subscriptions).
    not_reached: tuple[str, ...] = ()
    not_reached_reason: str | None = None
    # Set when its new pricing cannot be stated (e.g. its plan is deleted).
    blocked: str | None = None


def from_desired(desired: DesiredState) -> Catalog:
    plans = {code: priced_plan(obj.body) for code, obj in desired.objects.get("plan", {}).items()}
    subscriptions: dict[str, WantedSubscription] = {}
    for key, obj in desired.objects.get("subscription", {}).items():
        overrides = obj.body.get("plan_overrides")
        subscriptions[key] = WantedSubscription(
            plan_code=str(obj.body.get("plan_code") or ""),
            overrides=dict(overrides) if isinstance(overrides, Mapping) and overrides else None,
        )
    return Catalog(plans, subscriptions, desired.remove.get("plan", frozenset()))


def _target(sub: LiveSubscription, catalog: Catalog) -> tuple[str, dict[str, Any] | None]:
    wanted = catalog.subscriptions.get(sub.external_id)
    if wanted is None or not wanted.plan_code:
        return sub.plan_code, wanted.overrides if wanted else None
    return wanted.plan_code, wanted.overrides


def needs_effective_plan(
    sub: LiveSubscription, live_parents: Mapping[str, PricedPlan], catalog: Catalog
) -> bool:
    """Whether ``propose`` needs this overridden subscription's effective plan read."""
    if not sub.overridden or sub.effective_plan is not None:
        return False
    target, overrides = _target(sub, catalog)
    if target != sub.plan_code or overrides:
        return True
    old, new = live_parents.get(sub.plan_code), catalog.plans.get(sub.plan_code)
    return old is not None and new is not None and bool(pricing_differences(old, new))


def propose(
    sub: LiveSubscription, live_parents: Mapping[str, PricedPlan], catalog: Catalog
) -> Proposal | None:
    """The subscription's pricing now and after apply; None when its current pricing is
    unknown (an overridden subscription whose effective plan was not read, or a plan Lago
    does not list)."""
    live_parent = live_parents.get(sub.plan_code)
    current = sub.effective_plan or (None if sub.overridden else live_parent)
    if current is None:
        return None
    target, overrides = _target(sub, catalog)
    if target in catalog.removed_plans and target not in catalog.plans:
        gone = f"plan {target} is removed in the catalog: Lago terminates this subscription"
        return Proposal(sub, current, current, blocked=gone)
    new_parent = catalog.plans.get(target) or live_parents.get(target)
    if new_parent is None:
        return Proposal(sub, current, current, blocked=f"plan {target} is unknown")
    causes: list[str] = []
    not_reached: list[str] = []
    reason: str | None = None
    if target != sub.plan_code:
        base = new_parent
        causes.append("plan_switch")
    elif not sub.overridden:
        base = new_parent
        if pricing_differences(current, new_parent):
            causes.append("plan")
    else:
        base = current
        parent_change = (
            pricing_differences(live_parent, new_parent) if live_parent is not None else []
        )
        if live_parent is not None and parent_change and new_parent.cascade_updates:
            base, not_reached = cascade(current, live_parent, new_parent)
            if base != current:
                causes.append("cascade")
            if not_reached:
                reason = (
                    f"overridden: plan {target}'s cascade_updates reaches only what this "
                    "subscription's override did not customise"
                )
        elif parent_change:
            not_reached = parent_change
            reason = (
                f"overridden (on a child plan) and plan {target} has cascade_updates: false — "
                "the plan change does not reach this subscription"
            )
    proposed = apply_overrides(base, overrides)
    if overrides and proposed != base:
        causes.append("override")
    differences = pricing_differences(current, proposed)
    return Proposal(
        subscription=sub,
        current=current,
        proposed=proposed,
        causes=tuple(causes) if differences else (),
        differences=tuple(differences),
        not_reached=tuple(not_reached),
        not_reached_reason=reason,
    )
