"""Blast radius: who a plan or metric change re-prices, and how. Pure, read from live state.

Counted: every *current* subscription on the plan, active or pending (a subscription that has
not started, or the pending one of a scheduled downgrade, will bill at the new prices when it
starts). What the change does to each is ``lagoform.model.reach``'s verdict — the same one the
revenue section prices — grouped per tenant: it follows (bills the plan itself), is re-priced
by lagoform's apply (its own copy, at the catalog's prices with its negotiated values laid
over them), follows through Lago's ``cascade_updates``, or keeps its own copy; with the parts of
the change it does not get (a negotiated or customised value).
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from lagoform.model.reach import How, plan_change, reach, subscriber, wanted
from lagoform.model.state import DesiredState, Kind, LiveState

__all__ = ["BlastRadius", "TenantImpact", "blast_for", "metric_blast", "plan_blast"]

CURRENT = ("active", "pending")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenantImpact(_Frozen):
    """One tenant's subscriptions that a change concerns alike."""

    external_customer_id: str
    subscriptions: tuple[str, ...]
    overridden: bool  # on its own copy of the plan in Lago
    how: How  # model.reach's verdict
    reached: bool  # does any part of the change reach them?
    pending: bool = False  # not started yet, or a scheduled downgrade: they start on it later
    kept: tuple[str, ...] = ()  # parts of the change they do not get, and why


class BlastRadius(_Frozen):
    """Who a plan or metric change re-prices (current subscriptions: active and pending)."""

    active_subscriptions: int  # on the plan itself: re-priced as soon as apply runs
    overridden_follow: int  # overridden subscriptions the change reaches
    overridden_not_follow: int  # overridden subscriptions that keep their copy
    tenants: tuple[TenantImpact, ...] = ()
    via_plans: tuple[str, ...] = ()  # for a metric: the plans whose charges use it
    # on the plan itself but not started (or a scheduled downgrade): priced so when they start
    pending_subscriptions: int = 0


def blast_for(kind: Kind, key: str, desired: DesiredState, live: LiveState) -> BlastRadius | None:
    if kind == "plan":
        return plan_blast([key], live, desired=desired)
    if kind == "billable_metric":
        return metric_blast(key, desired, live)
    return None


def plan_blast(
    plan_codes: list[str],
    live: LiveState,
    *,
    desired: DesiredState | None = None,
    everyone: bool = False,
) -> BlastRadius:
    """``everyone``: the change reaches every subscription on the plans, own copies included
    (a metric's change reaches every charge using it; a deletion terminates them all)."""
    codes = set(plan_codes)
    current = [s for s in live.subscriptions if s.plan_code in codes and s.status in CURRENT]
    groups: dict[tuple[str, bool, bool, How, bool, tuple[str, ...]], list[str]] = {}
    for fact in current:
        if everyone or desired is None:
            how: How = "follows" if everyone or not fact.overridden else "unreached"
            reached, kept = how != "unreached", tuple[str, ...]()
        else:
            change = plan_change(desired, live, fact.plan_code)
            found = reach(subscriber(fact, live), wanted(desired, fact.external_id), change)
            how, reached, kept = found.how, found.reached(change), found.kept
        key = (fact.external_customer_id, fact.overridden, fact.status == "pending", how,
               reached, kept)  # fmt: skip
        groups.setdefault(key, []).append(fact.external_id)
    tenants = tuple(
        TenantImpact(
            external_customer_id=tenant,
            subscriptions=tuple(sorted(set(subs))),
            overridden=overridden,
            pending=pending,
            how=how,
            reached=reached,
            kept=kept,
        )
        for (tenant, overridden, pending, how, reached, kept), subs in sorted(groups.items())
    )
    plain = [s for s in current if not s.overridden]
    overridden_subs = [t for t in tenants if t.overridden]
    return BlastRadius(
        active_subscriptions=sum(1 for s in plain if s.status == "active"),
        pending_subscriptions=sum(1 for s in plain if s.status == "pending"),
        overridden_follow=sum(len(t.subscriptions) for t in overridden_subs if t.reached),
        overridden_not_follow=sum(len(t.subscriptions) for t in overridden_subs if not t.reached),
        tenants=tenants,
    )


def metric_blast(code: str, desired: DesiredState | None, live: LiveState) -> BlastRadius:
    plans = sorted(set(_plans_using(code, desired, live)))
    # Metric edits reach every plan using it, child plans included: overridden ones follow.
    radius = plan_blast(plans, live, everyone=True)
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
