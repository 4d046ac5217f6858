"""What a finance reviewer reads first, in ten seconds: the verdict, the money line, the largest
movers by name, the distribution of per-customer change, the negotiated deals a change touches.

Pure, and it computes no money: every amount comes from the review's ``RevenueImpact`` (on its
monthly run-rate basis) and is formatted by ``lagoform.model.currency``; only the percentages
people compare customers by (change ÷ bill before) are worked out here. ``markdown`` lays the
parts out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from lagoform.engine.diff import FieldChange
from lagoform.engine.plan import Plan
from lagoform.impact.model import Mover, PeriodTotal, RevenueImpact
from lagoform.model.currency import money, signed_money
from lagoform.review.build import wanted
from lagoform.review.model import Review

__all__ = [
    "CHART_MIN_CUSTOMERS",
    "Bucket",
    "Outcome",
    "TenantPriceChange",
    "distribution",
    "money_line",
    "negotiated_price_changes",
    "outcome_of",
    "percent",
    "unestimated_line",
    "verdict",
]

Outcome = Literal["invalid", "error", "blocked", "changes-pending", "no-changes"]
# At this many priced customers the comment charts the distribution of their change.
CHART_MIN_CUSTOMERS = 10
_DONE = {"create": "created", "update": "updated", "delete": "deleted", "blocked": "blocked"}


def outcome_of(plan: Plan) -> Outcome:
    if plan.blocked() or plan.open_findings():
        return "blocked"
    return "changes-pending" if plan.has_changes else "no-changes"


def verdict(
    outcome: Outcome,
    *,
    target: str,
    plan: Plan | None = None,
    problems: int = 0,
    files: Sequence[str] = (),
    when: str = "`lagoform apply` makes them",
) -> str:
    """The first line of every comment and summary: what the check concluded, for which target.
    ``when``: what makes pending changes happen (on GitHub: merging the pull request)."""
    where = f" for `{target}`" if target else ""
    match outcome:
        case "invalid":
            found = f"{problems} problem{'s' if problems != 1 else ''}"
            if files:
                shown = ", ".join(f"`{f}`" for f in files[:3])
                found += f" in {shown}" + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            return f"❌ **Invalid configuration**{where} — {found}; nothing was planned."
        case "error":
            return (
                f"❌ **Plan failed**{where} — lagoform could not build a plan (below); nothing "
                "will be applied."
            )
        case "blocked":
            blocked = len(plan.blocked()) if plan is not None else 0
            if blocked or plan is None:
                return (
                    f"⛔ **Blocked changes**{where} — {blocked} change(s) Lago would silently "
                    "ignore; apply refuses this plan until the YAML is fixed (see below)."
                )
            count = len(plan.open_findings())
            rules = sum(1 for f in plan.open_findings() if f.rule is not None)
            if rules == count:
                return (
                    f"⛔ **Policy violations**{where} — {count} error(s) against "
                    "`policies.yaml`; apply refuses this plan until they are fixed, approved "
                    "or acknowledged (see below)."
                )
            return (
                f"⛔ **Findings**{where} — {count} price(s) nobody asked for; apply refuses this "
                "plan until they are fixed or acknowledged (see below)."
            )
        case "changes-pending":
            what = _what(plan) if plan is not None else "changes"
            return f"📝 **Changes pending**{where} — {what}; {when}."
        case "no-changes":
            return f"✅ **No changes**{where} — Lago already matches this configuration."


def _what(plan: Plan) -> str:
    pending = plan.pending()
    counts: dict[str, int] = {}
    for change in pending:
        counts[change.action] = counts.get(change.action, 0) + 1
    split = ", ".join(f"{n} {_DONE[a]}" for a, n in counts.items())
    n = len(pending)
    return f"{n} object{'s' if n != 1 else ''} change ({split})"


# -- the money line ---------------------------------------------------------------------------


def money_line(review: Review) -> str:
    """``+1,234.00 USD/month (+4.2 %) across 121 customers; 98 pay more, 3 less``: the first
    period's change on the monthly run-rate basis, one clause per currency."""
    impact, plan = review.revenue, review.plan
    if not plan.has_changes:
        return "**No bill changes.**"
    if impact is None:
        if wanted(plan):
            return "**Bills: not estimated** (the plan was made without its revenue section)."
        return "**No customer's bill changes**: nothing this plan changes is billed to anyone yet."
    if impact.unavailable is not None:
        return f"**Bills: not estimated** — {impact.unavailable}"
    first = impact.periods[0] if impact.periods else "current"
    totals = [t for t in impact.totals if t.period == first]
    skipped = _unestimated(impact)
    if not totals:
        if impact.unreliable:
            return f"**Bills: no reliable estimate**{skipped or ''} (see below)."
        return "**No customer's bill changes.**"
    line = " · ".join(_total_clause(t) for t in totals)
    return f"**{line}**" + (f" · {skipped.strip(' ;')}" if skipped else "")


def unestimated_line(reason: str) -> str:
    """The money line where there is no plan at all (invalid YAML, a plan that failed)."""
    return f"**Bills: not estimated** — {reason}"


def _total_clause(total: PeriodTotal) -> str:
    more, less, same = total.customers_more, total.customers_less, total.customers_same
    customers = total.customers
    return (
        f"{signed_money(total.delta_cents, total.currency)}/month "
        f"({percent(total.old_cents, total.new_cents)}) across {customers} "
        f"customer{'s' if customers != 1 else ''}; {more} pay{'s' if more == 1 else ''} more, "
        f"{less} less" + (f", {same} unchanged" if same else "")
    )


def _unestimated(impact: RevenueImpact) -> str:
    n = len(impact.unreliable)
    return f" ; {n} subscription{'s' if n != 1 else ''} not estimated" if n else ""


def percent(old_cents: int, new_cents: int) -> str:
    """The change as people compare it: ``+4.2 %``, ``-0.5 %``, ``+<0.1 %``; ``new`` from 0."""
    if old_cents == 0:
        return "±0 %" if new_cents == 0 else "new"
    value = Decimal(new_cents - old_cents) * 100 / abs(Decimal(old_cents))
    shown = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if shown == 0 and value != 0:
        return "+<0.1 %" if value > 0 else "-<0.1 %"
    return "±0 %" if shown == 0 else f"{shown:+} %"


def mover_cells(mover: Mover) -> tuple[str, str, str]:
    """Before, after and change (with its percentage) of one customer, per month."""
    return (
        money(mover.old_cents, mover.currency),
        money(mover.new_cents, mover.currency),
        f"{signed_money(mover.delta_cents, mover.currency)} "
        f"({percent(mover.old_cents, mover.new_cents)})",
    )


# -- the distribution of per-customer change --------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    label: str  # "+5 to +10 %", "no change", "new bill"
    customers: int


def distribution(customers: Sequence[Mover]) -> list[Bucket]:
    """How many customers' monthly bill changes by how much, in equal steps of a round size
    (at most ~10 bars), with "no change" and "new bill" (nothing before) apart."""
    changes = [
        Decimal(m.delta_cents) * 100 / abs(Decimal(m.old_cents))
        for m in customers
        if m.old_cents and m.delta_cents
    ]
    same = sum(1 for m in customers if not m.delta_cents)
    fresh = sum(1 for m in customers if not m.old_cents and m.delta_cents)
    buckets: list[Bucket] = []
    if changes:
        step = _step(min(changes), max(changes))
        low, high = _index(min(changes), step), _index(max(changes), step)
        counts = dict.fromkeys(range(low, high + 1), 0)
        for value in changes:
            counts[_index(value, step)] += 1
        for index, count in counts.items():
            if index == 0 and same:
                buckets.append(Bucket("no change", same))
            buckets.append(Bucket(_label(index, step), count))
        if same and high < 0:
            buckets.append(Bucket("no change", same))
        if same and low > 0:
            buckets.insert(0, Bucket("no change", same))
    elif same:
        buckets.append(Bucket("no change", same))
    if fresh:
        buckets.append(Bucket("new bill", fresh))
    return buckets


def _index(value: Decimal, step: Decimal) -> int:
    """Negative changes fall in [k·step, (k+1)·step), positive ones in (k·step, (k+1)·step]."""
    ratio = value / step
    index = math.floor(ratio)
    return index - 1 if value > 0 and ratio == index else index


def _step(low: Decimal, high: Decimal) -> Decimal:
    for exponent in range(-2, 8):
        for mantissa in (1, 2, 5):
            step = Decimal(mantissa) * Decimal(10) ** exponent
            if _index(high, step) - _index(low, step) + 1 <= 10:
                return step
    return Decimal(10) ** 8


def _label(index: int, step: Decimal) -> str:
    low, high = index * step, (index + 1) * step
    return f"{_pct(low)} to {_pct(high)} %"


def _pct(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value else "0"
    return text if value <= 0 else f"+{text}"


# -- negotiated prices ------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantPriceChange:
    """A tenant whose negotiated (overridden) prices this plan changes, and how."""

    tenant: str
    subscriptions: tuple[str, ...]
    why: str


def negotiated_price_changes(plan: Plan) -> list[TenantPriceChange]:
    """Tenants whose negotiated prices change: their own overrides are edited, or a plan or
    metric change reaches their overridden subscriptions."""
    found: dict[str, TenantPriceChange] = {}

    def add(tenant: str, subscriptions: Iterable[str], why: str) -> None:
        old = found.get(tenant)
        subs = tuple(sorted({*(old.subscriptions if old else ()), *subscriptions}))
        reasons = f"{old.why}; {why}" if old and why not in old.why else (old.why if old else why)
        found[tenant] = TenantPriceChange(tenant, subs, reasons)

    for change in plan.pending():
        if change.kind == "subscription" and _touches_overrides(change.changes):
            body = change.body or {}
            tenant = str(body.get("external_customer_id") or "") or _new_value(
                change.changes, "external_customer_id"
            )
            if tenant:
                add(tenant, [change.key], f"overrides on `{change.key}` {_verb(change.action)}")
        if change.blast is None:
            continue
        for impact in change.blast.tenants:
            if impact.overridden and impact.reached:
                add(
                    impact.external_customer_id,
                    impact.subscriptions,
                    f"gets the {change.kind.replace('_', ' ')} `{change.key}` change",
                )
    return [found[t] for t in sorted(found)]


def _touches_overrides(changes: Iterable[FieldChange]) -> bool:
    # A subscription's negotiated prices live under "overrides" in the engine's comparison form.
    return any(change.path[:1] == ("overrides",) for change in changes)


def _new_value(changes: Iterable[FieldChange], field: str) -> str:
    for change in changes:
        if change.path == (field,):
            return str(change.new or "")
    return ""


def _verb(action: str) -> str:
    return {"create": "set", "delete": "removed", "blocked": "blocked"}.get(action, "changed")
