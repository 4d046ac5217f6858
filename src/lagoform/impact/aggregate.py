"""Add up per-subscription estimates into the plan's revenue section (``RevenueImpact``).

Totals, customer counts and per-charge contributions are per period and per currency, on the
monthly run-rate basis, and count only reliably priced subscriptions; movers are customers (all
their subscriptions) ranked by the size of their monthly change in the first period, and
``customers`` is every one of them (unchanged included), for the distribution of change. Pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from lagoform.impact.estimate import PeriodEstimate
from lagoform.impact.model import (
    ChargeDelta,
    Contribution,
    Mover,
    NotFollowing,
    PeriodTotal,
    RevenueImpact,
    SubscriptionImpact,
    SubscriptionPeriod,
    Unreliable,
)
from lagoform.impact.proposed import LiveSubscription, Proposal
from lagoform.model.intervals import monthly_cents

__all__ = ["LIMITS", "Estimated", "summarize"]

LIMITS = (
    "Each period is billed as if it closed with its usage so far: charge fees, minimum "
    "true-ups, the subscription fee and the minimum-commitment top-up; no proration, taxes, "
    "coupons, credits, wallets or pay-in-advance per-event fees.",
    "Lago reports totals per charge and per filter, not events: percentage charges with "
    "per-transaction bounds, free events or a fixed fee with free units, and dynamic charges, "
    "are estimated only while their price does not change.",
    "Changes to billable metrics (aggregation, rounding, filters) are not priced.",
)


@dataclass(frozen=True)
class Estimated:
    """A subscription whose pricing changes, priced over the periods read (or why not)."""

    proposal: Proposal
    periods: tuple[PeriodEstimate, ...] = ()
    failure: str | None = None  # its usage could not be read or parsed


def _ident(sub: LiveSubscription, plan_code: str) -> dict[str, str]:
    return {
        "external_id": sub.external_id,
        "external_customer_id": sub.external_customer_id,
        "plan_code": plan_code,
    }


def _period(estimate: PeriodEstimate) -> SubscriptionPeriod:
    return SubscriptionPeriod(
        period=estimate.period,
        from_datetime=estimate.from_datetime,
        to_datetime=estimate.to_datetime,
        currency=estimate.currency,
        interval=estimate.interval,
        old_cents=estimate.old_cents,
        new_cents=estimate.new_cents,
        delta_cents=estimate.new_cents - estimate.old_cents,
        monthly_old_cents=estimate.monthly_old_cents,
        monthly_new_cents=estimate.monthly_new_cents,
        monthly_delta_cents=estimate.monthly_new_cents - estimate.monthly_old_cents,
        charges=tuple(
            ChargeDelta(
                charge=line.charge,
                old_cents=line.old_cents,
                new_cents=line.new_cents,
                delta_cents=line.new_cents - line.old_cents,
            )
            for line in estimate.lines
        ),
    )


def _unreliable(item: Estimated) -> Unreliable | None:
    proposal = item.proposal
    ident = _ident(proposal.subscription, proposal.proposed.code)
    if proposal.blocked or item.failure:
        return Unreliable(**ident, reasons=(proposal.blocked or item.failure or "",))
    bad = [p for p in item.periods if not p.reliable]
    if not bad:
        return None
    every = len(bad) == len(item.periods)
    reasons = list(dict.fromkeys(r for p in bad for r in p.problems))
    return Unreliable(
        **ident, periods=() if every else tuple(p.period for p in bad), reasons=tuple(reasons)
    )


def summarize(
    estimated: Sequence[Estimated],
    *,
    periods: Sequence[str] = ("current",),
    not_following: Sequence[Proposal] = (),
    unknown: Sequence[tuple[LiveSubscription, str]] = (),
    top: int = 10,
) -> RevenueImpact:
    """``unknown``: subscriptions whose current pricing could not be read, with the reason."""
    subscriptions: list[SubscriptionImpact] = []
    unreliable: list[Unreliable] = []
    # (period, currency) -> customer -> [old, new]; and the contributions
    by_customer: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    contributions: dict[tuple[str, str, str, str], list[int]] = {}
    mover_subs: dict[tuple[str, str], list[str]] = defaultdict(list)
    first = periods[0] if periods else "current"
    for item in sorted(estimated, key=lambda e: e.proposal.subscription.external_id):
        proposal, sub = item.proposal, item.proposal.subscription
        problem = _unreliable(item)
        if problem is not None:
            unreliable.append(problem)
        if proposal.blocked or item.failure:
            continue
        good = [_period(p) for p in item.periods if p.reliable]
        if not good:
            continue  # listed as unreliable only
        subscriptions.append(
            SubscriptionImpact(
                **_ident(sub, proposal.proposed.code),
                causes=proposal.causes,
                changes=proposal.differences,
                periods=tuple(good),
                notes=tuple(dict.fromkeys(n for p in item.periods for n in p.notes)),
            )
        )
        for period in good:
            key = (period.period, period.currency)
            counts[key] += 1
            amounts = by_customer[key].setdefault(sub.external_customer_id, [0, 0])
            amounts[0] += period.monthly_old_cents
            amounts[1] += period.monthly_new_cents
            if period.period == first:
                mover_subs[(sub.external_customer_id, period.currency)].append(sub.external_id)
            for line in period.charges:
                if line.delta_cents:
                    slot = contributions.setdefault(
                        (period.period, period.currency, proposal.proposed.code, line.charge),
                        [0, 0],
                    )
                    slot[0] += monthly_cents(line.delta_cents, period.interval)
                    slot[1] += 1
    unreliable.extend(
        Unreliable(**_ident(sub, sub.plan_code), reasons=(reason,)) for sub, reason in unknown
    )
    order = {name: i for i, name in enumerate(periods)}
    totals = [
        PeriodTotal(
            period=period,
            currency=currency,
            subscriptions=counts[(period, currency)],
            customers=len(customers),
            old_cents=sum(a[0] for a in customers.values()),
            new_cents=sum(a[1] for a in customers.values()),
            delta_cents=sum(a[1] - a[0] for a in customers.values()),
            customers_more=sum(1 for a in customers.values() if a[1] > a[0]),
            customers_less=sum(1 for a in customers.values() if a[1] < a[0]),
            customers_same=sum(1 for a in customers.values() if a[1] == a[0]),
        )
        for (period, currency), customers in by_customer.items()
    ]
    totals.sort(key=lambda t: (order.get(t.period, len(order)), t.currency))
    everyone = [
        Mover(
            external_customer_id=customer,
            currency=currency,
            old_cents=amounts[0],
            new_cents=amounts[1],
            delta_cents=amounts[1] - amounts[0],
            subscriptions=tuple(sorted(mover_subs[(customer, currency)])),
        )
        for (period, currency), customers in by_customer.items()
        if period == first
        for customer, amounts in customers.items()
    ]
    everyone.sort(key=lambda m: (-abs(m.delta_cents), m.external_customer_id, m.currency))
    movers = [m for m in everyone if m.delta_cents]
    parts = [
        Contribution(
            period=p,
            currency=c,
            plan_code=plan,
            charge=charge,
            delta_cents=v[0],
            subscriptions=v[1],
        )
        for (p, c, plan, charge), v in contributions.items()
    ]
    parts.sort(key=lambda x: (order.get(x.period, len(order)), -abs(x.delta_cents), x.charge))
    return RevenueImpact(
        periods=tuple(periods),
        affected_subscriptions=len(estimated),
        totals=tuple(totals),
        movers=tuple(movers[: max(top, 0)]),
        customers=tuple(everyone),
        contributions=tuple(parts),
        subscriptions=tuple(subscriptions),
        unreliable=tuple(unreliable),
        not_following=tuple(
            NotFollowing(
                **_ident(p.subscription, p.proposed.code),
                reason=p.not_reached_reason or "",
                not_reached=p.not_reached,
            )
            for p in sorted(not_following, key=lambda p: p.subscription.external_id)
        ),
        limits=LIMITS,
    )
