"""Revenue impact of a catalog change: who pays how much more or less, from live usage.

``analyze`` reads what it needs (or reuses the engine's live read), decides whose effective
pricing changes (``proposed.py``), reads those subscriptions' usage concurrently
(``fetch.py``), prices it both ways after checking lagoform's price of the current pricing
against Lago's amounts (``estimate.py``) and adds it up (``aggregate.py``).
``run_analysis`` is the blocking entry point for synchronous callers (the CLI).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from lagoform.impact.aggregate import Estimated, summarize
from lagoform.impact.estimate import estimate_period
from lagoform.impact.fetch import (
    Copy,
    Referee,
    UsageReads,
    period_labels,
    read_effective_plans,
    read_live,
    read_previews,
    read_usage,
)
from lagoform.impact.forms import charge_ids
from lagoform.impact.model import RevenueImpact, Verified
from lagoform.impact.proposed import (
    LiveParents,
    LiveSubscription,
    Proposal,
    needs_effective_plan,
    propose,
)
from lagoform.impact.usage import PeriodUsage
from lagoform.impact.verify import verify_subscription
from lagoform.lago import AsyncLagoClient
from lagoform.model.state import DesiredState, LiveState

__all__ = ["analyze", "live_view", "run_analysis"]

# Requests in flight per budget. Pacing bounds the rate (200 usage reads/s on Lago Cloud); this
# bounds connections: at 50 ms a read, 10 in flight could not quite reach the usage budget.
DEFAULT_CONCURRENCY = 20


def live_view(live: LiveState) -> tuple[LiveParents, list[LiveSubscription]]:
    """Parent plans and active subscriptions from the engine's live read (``fetch_live``),
    with the copies it already read (subscriptions whose YAML lagoform manages)."""
    parents = LiveParents(
        forms={code: obj.normal for code, obj in live.objects.get("plan", {}).items()},
        ids={code: dict(obj.ids.get("charges") or {}) for code, obj in live.objects.get(
            "plan", {}).items()},
    )  # fmt: skip
    subs: list[LiveSubscription] = []
    for fact in live.subscriptions:
        if fact.status != "active":
            continue
        obj = live.get("subscription", fact.external_id)
        raw_plan = obj.raw.get("plan") if obj is not None else None
        effective = obj.normal.get("plan") if obj is not None and fact.overridden else None
        subs.append(
            LiveSubscription(
                external_id=fact.external_id,
                external_customer_id=fact.external_customer_id,
                plan_code=fact.plan_code,
                overridden=fact.overridden,
                effective=effective,
                effective_ids=charge_ids(raw_plan) if isinstance(raw_plan, dict) else {},
            )
        )
    return parents, subs


@dataclass
class _Found:
    """Subscriptions sorted as their proposals come in."""

    proposals: list[Proposal] = field(default_factory=list)
    not_following: list[Proposal] = field(default_factory=list)
    unknown: list[tuple[LiveSubscription, str]] = field(default_factory=list)

    def add(
        self,
        subs: list[LiveSubscription],
        effective: Mapping[str, Copy | str],
        parents: LiveParents,
        desired: DesiredState,
    ) -> list[Proposal]:
        """Propose for ``subs``; returns the new proposals whose pricing moves."""
        moved: list[Proposal] = []
        for sub in subs:
            read = effective.get(sub.external_id)
            if isinstance(read, str):
                self.unknown.append((sub, f"its effective plan could not be read: {read}"))
                continue
            if read is not None:
                sub = replace(sub, effective=read.form, effective_ids=read.ids)
            proposal = propose(sub, parents, desired)
            if proposal is None:
                continue  # overridden and untouched by the change, or on a plan Lago lacks
            if proposal.not_reached:
                self.not_following.append(proposal)
            if proposal.differences or proposal.blocked:
                moved.append(proposal)
        self.proposals.extend(moved)
        return moved


async def analyze(
    desired: DesiredState,
    client: AsyncLagoClient,
    *,
    live: LiveState | None = None,
    past_periods: int = 0,
    concurrency: int = DEFAULT_CONCURRENCY,
    top: int = 10,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
    verify: int = 0,
    reads: UsageReads | None = None,
) -> RevenueImpact:
    """The revenue impact of making Lago match ``desired``.

    ``live``: the engine's live read, when the caller has one (``lagoform plan``); otherwise
    plans and subscriptions are listed here. ``premium`` and ``zero_usage_first_tier_flat``
    describe the Lago server (see ``lagoform.pricing.price_units``). ``verify``: how many of
    the priced subscriptions to check against Lago's own amounts (``impact.verify``).
    ``reads``: usage already read in this run (shared by analyses of one plan), added to.
    """
    # Usage and configuration reads draw on separate Lago budgets (200 and 50 req/s), so each
    # has its own limit in flight: a read waiting for a configuration token never holds a slot
    # a usage read could use (usage reads are the floor of a large analysis).
    gate, usage_gate = (
        asyncio.Semaphore(max(1, concurrency)),
        asyncio.Semaphore(max(1, concurrency)),
    )
    parents, subs = live_view(live) if live is not None else await read_live(client, gate)
    need = {s.external_id for s in subs if needs_effective_plan(s, parents, desired)}
    found = _Found()

    async def usage_of(batch: list[Proposal]) -> dict[str, list[PeriodUsage] | str]:
        priced = [p.subscription for p in batch if not p.blocked]
        return await read_usage(client, priced, past_periods, usage_gate, reads)

    async def overridden() -> dict[str, list[PeriodUsage] | str]:
        later = [s for s in subs if s.external_id in need]
        effective = await read_effective_plans(client, [s.external_id for s in later], gate)
        return await usage_of(found.add(later, effective, parents, desired))

    # Effective-plan reads (config budget) overlap the usage reads (usage budget) of the
    # subscriptions whose pricing is known without them.
    direct = found.add([s for s in subs if s.external_id not in need], {}, parents, desired)
    first, second = await asyncio.gather(usage_of(direct), overridden())
    usage = {**first, **second}
    estimated: list[Estimated] = []
    for proposal in found.proposals:
        periods = usage.get(proposal.subscription.external_id)
        if isinstance(periods, str):
            estimated.append(Estimated(proposal, failure=f"usage could not be read: {periods}"))
            continue
        estimated.append(
            Estimated(
                proposal,
                tuple(
                    estimate_period(
                        proposal,
                        period,
                        premium=premium,
                        zero_usage_first_tier_flat=zero_usage_first_tier_flat,
                    )
                    for period in periods or []
                ),
            )
        )
    impact = summarize(
        estimated,
        periods=period_labels(past_periods),
        not_following=found.not_following,
        unknown=found.unknown,
        top=top,
    )
    if verify > 0:
        checked = await _verify(client, estimated, usage, verify, gate, premium,
                                zero_usage_first_tier_flat)  # fmt: skip
        impact = impact.model_copy(update={"verified": checked})
    failed = [item.failure for item in estimated if item.failure is not None]
    read = [item for item in estimated if not item.proposal.blocked]
    if read and len(failed) == len(read):
        # Not one usage read succeeded (an outage, a key without usage access): there is no
        # estimate at all, and saying so once beats listing every subscription's same error.
        return impact.model_copy(update={"unavailable": _nothing_read(failed)})
    return impact


def _sample(estimated: list[Estimated], size: int) -> list[Estimated]:
    """The subscriptions to check: those lagoform could not price reliably first (the check
    says by how much), then the largest movers."""

    def order(item: Estimated) -> tuple[bool, int, str]:
        current = next((p for p in item.periods if p.period == "current"), None)
        moves = abs(current.monthly_new_cents - current.monthly_old_cents) if current else 0
        reliable = current is not None and current.reliable
        return reliable, -moves, item.proposal.subscription.external_id

    priced = [i for i in estimated if i.failure is None and i.periods]
    return sorted(priced, key=order)[:size]


async def _verify(
    client: AsyncLagoClient,
    estimated: list[Estimated],
    usage: Mapping[str, list[PeriodUsage] | str],
    size: int,
    gate: asyncio.Semaphore,
    premium: bool,
    zero_usage_first_tier_flat: bool,
) -> tuple[Verified, ...]:
    sample = _sample(estimated, size)
    referees = await read_previews(client, [i.proposal.subscription for i in sample], gate)
    out: list[Verified] = []
    for item in sample:
        sub = item.proposal.subscription
        periods = usage.get(sub.external_id)
        listed = periods if isinstance(periods, list) else []
        current = next((p for p in listed if p.period == "current"), None)
        referee = referees.get(sub.external_id)
        if current is None or not isinstance(referee, Referee):
            reason = referee if isinstance(referee, str) else "no current usage was read"
            out.append(
                Verified(
                    external_id=sub.external_id,
                    external_customer_id=sub.external_customer_id,
                    currency=item.proposal.current.currency,
                    notes=(f"not checked: {reason}",),
                )
            )
            continue
        checked = verify_subscription(
            item.proposal.current, current, referee.subscription, referee.invoice,
            premium=premium, zero_usage_first_tier_flat=zero_usage_first_tier_flat,
        )  # fmt: skip
        out.append(checked)
    return tuple(out)


def _nothing_read(failures: list[str]) -> str:
    # The messages differ by customer (the path is in them): one example says enough.
    example = min(failures).removeprefix("usage could not be read: ")
    return (
        f"no usage could be read for the {len(failures)} subscription(s) whose pricing "
        f"changes (for example {example})"
    )


def run_analysis(
    desired: DesiredState,
    make_client: Callable[[], AsyncLagoClient],
    *,
    live: LiveState | None = None,
    past_periods: int = 0,
    concurrency: int = DEFAULT_CONCURRENCY,
    top: int = 10,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
    verify: int = 0,
    reads: UsageReads | None = None,
) -> RevenueImpact:
    """``analyze`` for synchronous callers: runs its own event loop and closes the client
    ``make_client`` returns (e.g. ``target.async_client``)."""

    async def main() -> RevenueImpact:
        client = make_client()
        try:
            return await analyze(
                desired,
                client,
                live=live,
                past_periods=past_periods,
                concurrency=concurrency,
                top=top,
                premium=premium,
                zero_usage_first_tier_flat=zero_usage_first_tier_flat,
                verify=verify,
                reads=reads,
            )
        finally:
            await client.aclose()

    return asyncio.run(main())
