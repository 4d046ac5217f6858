"""Blast radius: who a plan or metric change re-prices. Pure, read from live state.

Counted: every *current* subscription on the plan, active or pending (a subscription that has
not started, or the pending one of a scheduled downgrade, will bill at the new prices when it
starts). A subscription on its own copy of the plan (overridden) follows a change only if Lago
cascades it (``cascade_updates`` and an uncustomised charge) — or, when its tenant's YAML states
``overrides:``, because lagoform keeps the copy at base plan + overrides (``pricing.py``), so
its non-negotiated charges follow in its own subscription change.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from lagoform.engine.diff import FieldChange
from lagoform.engine.state import DesiredState, Kind, LiveState, SubscriptionFact

CURRENT = ("active", "pending")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenantImpact(_Frozen):
    external_customer_id: str
    subscriptions: tuple[str, ...]
    overridden: bool
    follows: bool  # does the change reach these subscriptions?
    pending: bool = False  # not started yet, or a scheduled downgrade: they start on it later
    managed: bool = False  # overridden, and lagoform re-prices them to base plan + overrides


class BlastRadius(_Frozen):
    """Who a plan or metric change re-prices (current subscriptions: active and pending)."""

    active_subscriptions: int  # on the plan itself: re-priced as soon as apply runs
    overridden_follow: int  # overridden subscriptions the change reaches
    overridden_not_follow: int  # overridden subscriptions that keep their copy
    tenants: tuple[TenantImpact, ...] = ()
    via_plans: tuple[str, ...] = ()  # for a metric: the plans whose charges use it
    # on the plan itself but not started (or a scheduled downgrade): priced so when they start
    pending_subscriptions: int = 0


def blast_for(
    kind: Kind,
    key: str,
    desired: DesiredState,
    live: LiveState,
    cascade: bool,
    changes: list[FieldChange],
) -> BlastRadius | None:
    if kind == "plan":
        keeps = customised(key, changes, desired)
        return plan_blast([key], live, cascade=cascade, keeps_copy=keeps, desired=desired)
    if kind == "billable_metric":
        return metric_blast(key, desired, live)
    return None


def plan_blast(
    plan_codes: list[str],
    live: LiveState,
    *,
    cascade: bool,
    keeps_copy: frozenset[str] = frozenset(),
    desired: DesiredState | None = None,
) -> BlastRadius:
    """``keeps_copy``: subscriptions whose own prices on a changed charge stop it (Lago only
    cascades into a child charge equal to the parent's; lagoform keeps a negotiated price)."""
    codes = set(plan_codes)
    current = [s for s in live.subscriptions if s.plan_code in codes and s.status in CURRENT]
    managed = _managed(desired)

    def follows(sub: SubscriptionFact) -> bool:
        if not sub.overridden:
            return True
        if sub.external_id in keeps_copy:
            return False
        return cascade or sub.external_id in managed

    groups: dict[tuple[str, bool, bool, bool, bool], list[str]] = {}
    for sub in current:
        group = (
            sub.external_customer_id,
            sub.overridden,
            follows(sub),
            sub.status == "pending",
            sub.overridden and sub.external_id in managed,
        )
        groups.setdefault(group, []).append(sub.external_id)
    tenants = tuple(
        TenantImpact(
            external_customer_id=tenant,
            subscriptions=tuple(sorted(set(subs))),
            overridden=overridden,
            follows=follow,
            pending=pending,
            managed=by_lagoform,
        )
        for (tenant, overridden, follow, pending, by_lagoform), subs in sorted(groups.items())
    )
    plain = [s for s in current if not s.overridden]
    overridden = [s for s in current if s.overridden]
    return BlastRadius(
        active_subscriptions=sum(1 for s in plain if s.status == "active"),
        pending_subscriptions=sum(1 for s in plain if s.status == "pending"),
        overridden_follow=sum(1 for s in overridden if follows(s)),
        overridden_not_follow=sum(1 for s in overridden if not follows(s)),
        tenants=tenants,
    )


def _managed(desired: DesiredState | None) -> frozenset[str]:
    """Subscriptions whose YAML states ``overrides:``: lagoform keeps them at base + overrides."""
    if desired is None:
        return frozenset()
    return frozenset(
        key
        for key, obj in desired.objects.get("subscription", {}).items()
        if "plan_overrides" in obj.body
    )


def customised(code: str, changes: list[FieldChange], desired: DesiredState) -> frozenset[str]:
    """Subscriptions on plan ``code`` whose YAML overrides a charge this change touches."""
    touched = {c.path[1] for c in changes if len(c.path) > 1 and c.path[0] == "charges"}
    out = set()
    for key, obj in desired.objects.get("subscription", {}).items():
        overrides = obj.normal.get("overrides") or {}
        if obj.normal.get("plan_code") == code and touched & set(overrides.get("charges") or {}):
            out.add(key)
    return frozenset(out)


def metric_blast(code: str, desired: DesiredState | None, live: LiveState) -> BlastRadius:
    plans = sorted(set(_plans_using(code, desired, live)))
    # Metric edits reach every plan using it, child plans included: overridden ones follow.
    radius = plan_blast(plans, live, cascade=True)
    return radius.model_copy(update={"via_plans": tuple(plans)})


def _plans_using(code: str, desired: DesiredState | None, live: LiveState) -> Iterator[str]:
    sources = [live.objects.get("plan", {})]
    if desired is not None:
        sources.append(desired.objects.get("plan", {}))  # type: ignore[arg-type]
    for source in sources:
        for plan_code, obj in source.items():
            charges = obj.normal.get("charges", {})
            if any(c.get("billable_metric_code") == code for c in charges.values()):
                yield plan_code
