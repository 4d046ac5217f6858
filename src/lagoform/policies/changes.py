"""The rules about what a plan changes (``lagoform plan`` and ``apply``; they need Lago's state).

- ``max_increase``: a customer's bill rises by at most ``percent`` and ``amount`` a month,
  read from the revenue impact (``lagoform.impact``: the first period priced, monthly run-rate
  basis, every subscription of the customer together). The finding points at the first price
  rise on the customer's plans or overrides.
- ``min_notice``: a price rise on a billing plan with current subscribers, or on a current
  subscription's negotiated price, starts to bill at least ``days`` after today: a pending
  rise bills at apply (today) unless it is a scheduled price now due (its notice was judged
  while it was ahead); a scheduled rise still ahead must be dated ``days`` from today or later
  (``notice``).
- ``approval_above``: a price moving by more than ``price_change_percent`` (either way), or
  the monthly revenue of all customers moving by more than ``revenue_change`` (either way, per
  currency), needs an approval of kind ``approval``.

A rule that needs the revenue impact and has none (the estimate failed) says it could not be
checked, at the rule's severity: an unchecked limit is not a kept one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal

from lagoform.catalog.models_policy import ApprovalAbove, MaxIncrease, MinNotice
from lagoform.engine.findings import Finding
from lagoform.engine.plan import ObjectChange
from lagoform.engine.scheduled import Schedule
from lagoform.impact.model import Mover, RevenueImpact
from lagoform.model.currency import money, signed_money, to_cents
from lagoform.model.state import LiveState
from lagoform.policies.context import Context, plain
from lagoform.policies.locate import Spot
from lagoform.policies.notice import effective_date, entry_spot, scheduled_moves, spot_of
from lagoform.policies.prices import PriceMove

__all__ = ["approval_above", "max_increase", "min_notice"]

CURRENT = ("active", "pending")


def _subscribers(live: LiveState, plan: str) -> list[str]:
    """Customers with a current subscription on billing plan ``plan``."""
    found = {
        s.external_customer_id
        for s in live.subscriptions
        if s.plan_code == plan and s.status in CURRENT
    }
    return sorted(found)


def _reach(move: PriceMove, live: LiveState) -> list[str]:
    if move.kind == "plan":
        return _subscribers(live, move.key)
    fact = next((s for s in live.subscriptions if s.external_id == move.key), None)
    return [fact.external_customer_id] if fact is not None and fact.status in CURRENT else []


def min_notice(
    ctx: Context,
    rule: MinNotice,
    moves: Sequence[PriceMove],
    live: LiveState,
    schedule: Schedule | None = None,
) -> Iterator[Finding]:
    earliest = ctx.today + dt.timedelta(days=rule.days)
    late: dict[tuple[str, str], list[tuple[PriceMove, list[str]]]] = {}
    for move in moves:
        if not move.rises or not ctx.in_scope(rule, move.plan):
            continue
        customers = _reach(move, live)
        if not customers or effective_date(move, schedule) is not None:
            continue  # nobody to tell, or a scheduled price now due (judged while ahead)
        late.setdefault((move.kind, move.key), []).append((move, customers))
    for (kind, key), found in late.items():
        move, customers = found[0]
        rises = ", ".join(m.what for m, _ in found)
        yield ctx.finding(
            rule,
            f"{kind}:{key}",
            subject=f"{kind} {key}",
            message=(
                f"{kind} {key} raises {rises}, reaching {len(customers)} current customer(s) "
                f"({_shown(customers)}) at apply (not scheduled): less than {rule.days} days "
                f"of notice (earliest {earliest.isoformat()})"
            ),
            way_out=(
                f"schedule the rise: a `scheduled:` entry beside the price with "
                f"`effective: {earliest.isoformat()}` or later (docs/pricing-changes.md)"
            ),
            spot=move.spot,
            tenant=customers[0] if kind == "subscription" else None,
        )
    for change in schedule.upcoming if schedule is not None else ():
        customers = [n.external_id for n in change.notified]
        if not change.rise or not customers or change.effective >= earliest:
            continue
        if not ctx.in_scope(rule, change.plan):
            continue
        first = change.changes[0].path if change.changes else ()
        spot = entry_spot(change.where) or ctx.locator.plan(change.plan, *spot_of(first))
        yield ctx.finding(
            rule,
            f"plan:{change.plan}:{change.effective.isoformat()}",
            subject=f"plan {change.plan}",
            message=(
                f"plan {change.plan} raises {', '.join(change.prices)} on "
                f"{change.effective.isoformat()}, reaching {len(customers)} current "
                f"customer(s) ({_shown(customers)}): less than {rule.days} days of notice "
                f"(earliest {earliest.isoformat()})"
            ),
            way_out=f"move its `effective:` to {earliest.isoformat()} or later",
            spot=spot,
        )


def _shown(customers: Sequence[str]) -> str:
    more = f" and {len(customers) - 5} more" if len(customers) > 5 else ""
    return ", ".join(customers[:5]) + more


def _first_move(
    ctx: Context, impact: RevenueImpact, customer: str, moves: Sequence[PriceMove]
) -> PriceMove | None:
    subs = [s for s in impact.subscriptions if s.external_customer_id == customer]
    for sub in subs:
        for move in moves:
            if move.rises and (
                (move.kind == "subscription" and move.key == sub.external_id)
                or (move.kind == "plan" and move.key == sub.plan_code)
            ):
                return move
    return next((m for m in moves if m.rises), None)


def _over(rule: MaxIncrease, mover: Mover) -> str | None:
    """Which limit ``mover``'s rise passes, in words (None: within them)."""
    if mover.delta_cents <= 0:
        return None
    amount = rule.amount
    same = amount is not None and amount.currency == mover.currency
    if amount is not None and same and mover.delta_cents > amount.cents:
        return f"more than {amount} a month"
    percent = rule.percent
    if percent is not None and (
        mover.old_cents <= 0 or Decimal(mover.delta_cents) * 100 / mover.old_cents > percent
    ):
        return f"more than {plain(percent)} %"
    return None


def max_increase(
    ctx: Context,
    rule: MaxIncrease,
    moves: Sequence[PriceMove],
    impact: RevenueImpact | None,
    plan_moves: Sequence[ObjectChange] = (),
) -> Iterator[Finding]:
    """``plan_moves``: the subscriptions the plan moves to another plan (an upgrade, a
    migration), whose new bills count as much as a price's."""
    rising = [m for m in moves if m.rises and ctx.in_scope(rule, m.plan)]
    moved = {
        c.key: c
        for c in plan_moves
        if c.move is not None and (ctx.in_scope(rule, c.move.from_plan) or
                                   ctx.in_scope(rule, c.move.to_plan))
    }  # fmt: skip
    if not rising and not moved:
        return
    if impact is None or impact.unavailable is not None:
        spot = rising[0].spot if rising else _move_spot(ctx, next(iter(moved.values())))
        yield _unchecked(ctx, rule, impact, spot, "the limit on each customer's rise")
        return
    plans = {m.plan for m in rising}
    for mover in impact.customers or impact.movers:
        subs = [
            s for s in impact.subscriptions if s.external_customer_id == mover.external_customer_id
        ]
        own_moves = [moved[s.external_id] for s in subs if s.external_id in moved]
        touched = own_moves or any(s.plan_code in plans for s in subs)
        if not touched and (rule.plans is not None or not rising):
            continue
        passed = _over(rule, mover)
        if passed is None:
            continue
        if own_moves:  # the customer changes plan: the move is what raises the bill
            spot = _move_spot(ctx, own_moves[0])
        else:
            move = _first_move(ctx, impact, mover.external_customer_id, rising)
            spot = move.spot if move is not None else rising[0].spot
        pct = (
            f" ({plain(round(Decimal(mover.delta_cents) * 100 / mover.old_cents, 1))} %)"
            if mover.old_cents > 0
            else ""
        )
        yield ctx.finding(
            rule,
            mover.external_customer_id,
            subject=f"customer {mover.external_customer_id}",
            message=(
                f"customer {mover.external_customer_id}'s bill rises "
                f"{signed_money(mover.delta_cents, mover.currency)}{pct} a month, from "
                f"{money(mover.old_cents, mover.currency)} to "
                f"{money(mover.new_cents, mover.currency)}: {passed}"
            ),
            way_out="raise in smaller steps, or keep this customer's price in its overrides",
            spot=spot,
            tenant=mover.external_customer_id,
            approval=rule.approval,
        )


def _move_spot(ctx: Context, change: ObjectChange) -> Spot:
    """Where a plan move is written: the migration that makes it (its plan's ``migrations:``),
    else the subscription in its tenant file."""
    move = change.move
    if move is None or move.migration is None:
        return ctx.locator.subscription(change.key)
    for family in ctx.project.plan_versions.values():
        for migration, loc in zip(family.migrations, family.migration_locs, strict=False):
            if migration.id == move.migration and family.number_of(move.from_plan) is not None:
                return Spot(loc)
    return ctx.locator.subscription(change.key)


def _unchecked(
    ctx: Context,
    rule: MaxIncrease | ApprovalAbove,
    impact: RevenueImpact | None,
    spot: Spot,
    what: str,
) -> Finding:
    """A limit read from the revenue impact when there is none: not checked, so not kept."""
    why = impact.unavailable if impact is not None else "the plan was made without it"
    return ctx.finding(
        rule,
        "unchecked",
        subject="revenue impact",
        message=f"prices change but the revenue impact is not known ({why}): {what} could "
        "not be checked",
        way_out="plan again once usage can be read (`lagoform impact` says why it cannot)",
        spot=spot,
        approval=rule.approval,
    )


def approval_above(
    ctx: Context,
    rule: ApprovalAbove,
    moves: Sequence[PriceMove],
    impact: RevenueImpact | None,
    schedule: Schedule | None = None,
) -> Iterator[Finding]:
    scoped = [m for m in moves if ctx.in_scope(rule, m.plan)]
    if rule.price_change_percent is not None:
        # scheduled prices still ahead are judged now, in the pull request that schedules
        # them, under the id their day will use: an approval given then (`approved:`) holds
        ahead = [m for m in scheduled_moves(ctx, schedule) if ctx.in_scope(rule, m.plan)]
        big: dict[tuple[str, str], list[PriceMove]] = {}
        for move in [*scoped, *ahead]:
            pct = move.percent
            if pct is None or pct > rule.price_change_percent:
                big.setdefault((move.kind, move.key), []).append(move)
        for (kind, key), found in big.items():
            what = ", ".join(
                f"{m.what} ({'from 0' if m.percent is None else plain(round(m.percent, 1)) + ' %'})"
                for m in found
            )
            yield ctx.finding(
                rule,
                f"{kind}:{key}",
                subject=f"{kind} {key}",
                message=f"{kind} {key} moves {what}: more than "
                f"{plain(rule.price_change_percent)} % needs the {rule.approval} approval",
                way_out="change the price by less",
                spot=found[0].spot,
                tenant=_tenant(ctx, key) if kind == "subscription" else None,
                approval=rule.approval,
            )
    limit = rule.revenue_change
    if limit is None or not scoped:
        return
    if impact is None or impact.unavailable is not None:
        yield _unchecked(ctx, rule, impact, scoped[0].spot, "the monthly revenue change")
        return
    first = impact.periods[0] if impact.periods else "current"
    for total in impact.totals:
        if total.period != first or total.currency != limit.currency:
            continue
        if abs(total.delta_cents) > to_cents(limit.amount, limit.currency):
            yield ctx.finding(
                rule,
                f"revenue:{total.currency}",
                subject="monthly revenue",
                message=(
                    f"monthly revenue moves {signed_money(total.delta_cents, total.currency)} "
                    f"across {total.customers} customer(s): more than {limit} needs the "
                    f"{rule.approval} approval"
                ),
                way_out="change prices by less",
                spot=scoped[0].spot,
                approval=rule.approval,
            )


def _tenant(ctx: Context, subscription: str) -> str | None:
    return next(
        (t.external_id for t, s in ctx.project.subscriptions() if s.external_id == subscription),
        None,
    )
