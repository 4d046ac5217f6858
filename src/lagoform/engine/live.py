"""Live state: read Lago with list endpoints and turn it into the comparison form.

``fetch_live`` is the only I/O here. It reads whole collections with Lago's list endpoints
(a plan's list entry already holds its charges and filters), never one GET per object, plus:
every subscription in any status (for locks and blast radius) and the overridden ones, applied
coupons (coupon locks), the transactions of managed wallets (their credited totals), and —
only for managed subscriptions Lago has on their own copy of a plan — the effective plan, which
Lago's subscription list does not include (API_NOTES §5.6); a subscription still on its base
plan prices exactly like that plan, already read.
``live_state`` is the pure half, fed the raw lists, so tests can build a ``LiveState`` from
Lago-shaped dicts without a server.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from lagoform.engine.plan import ReadHints
from lagoform.engine.target_day import server_time
from lagoform.lago.client import LagoClient
from lagoform.model import forms
from lagoform.model.forms import charge_code
from lagoform.model.state import (
    Kind,
    LiveObject,
    LiveState,
    SubscriptionFact,
    fingerprint,
)
from lagoform.model.values import Normal

Raw = dict[str, Any]
# The list endpoint returns only active subscriptions unless asked (§5.7). `incomplete` is
# left out: the spec's enum lacks it and one unknown status makes Lago drop the whole filter.
ALL_STATUSES = ("pending", "active", "terminated", "canceled")
# Subscriptions that exist as far as the catalog is concerned (terminated ones are history).
CURRENT_STATUSES = frozenset({"pending", "active"})


@dataclass
class LiveRead:
    """What ``fetch_live`` read, before normalization (raw Lago objects)."""

    taxes: list[Raw] = field(default_factory=list)
    billable_metrics: list[Raw] = field(default_factory=list)
    add_ons: list[Raw] = field(default_factory=list)
    plans: list[Raw] = field(default_factory=list)
    coupons: list[Raw] = field(default_factory=list)
    customers: list[Raw] = field(default_factory=list)
    subscriptions: list[Raw] = field(default_factory=list)  # every status
    overridden: set[str] = field(default_factory=set)  # lago_ids of subscriptions on child plans
    wallets: list[Raw] = field(default_factory=list)
    applied_coupons: list[Raw] = field(default_factory=list)
    # external_id -> the effective (child) plan of its overridden active record, or of its
    # pending record when it has not started
    effective_plans: dict[str, Raw] = field(default_factory=dict)
    # external_id -> the effective plan of the pending record of a scheduled downgrade
    pending_plans: dict[str, Raw] = field(default_factory=dict)
    # plan lago_id -> its comparison form, when already computed as its page arrived
    plan_forms: dict[str, Normal] = field(default_factory=dict)


def fetch_live(client: LagoClient, hints: ReadHints | None = None) -> LiveState:
    """Read everything ``build_plan`` needs from Lago (list endpoints only, see module doc).

    ``hints`` (from ``plan.hints_for(desired)``) names the few extra reads: wallets of managed
    customers, effective plans of subscriptions with overrides, applied coupons.
    """
    with _collector_paused():
        state = live_state(read_live(client, hints or ReadHints()))
    return replace(state, now=server_time(client.core.server_date))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Run without Python's cyclic garbage collector. Reading a large organisation allocates
    millions of small dicts and lists that all stay alive (nothing here makes cycles), and each
    collection walks them again: on 2,000 plans × 10 charges the collector was half the
    client's CPU (2.2 s of CPU with it, 0.9 s without; benchmarks/plan_scale.py). Reference
    counting still frees everything as usual. Before the collector is re-enabled (unless
    something else had turned it off), what was read goes straight to its oldest generation
    (``gc.freeze`` then ``gc.unfreeze``): otherwise its first young collections walk all of it
    at once in the diff that follows (0.6–1.5 s on 3,000 plans). Nothing is left frozen, so
    a long-running caller's garbage is still collected; a caller that froze its heap itself
    keeps it frozen."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            frozen_before = gc.get_freeze_count()
            gc.freeze()
            if not frozen_before:  # the caller froze nothing: leave nothing frozen behind
                gc.unfreeze()
            gc.enable()


# The collections are independent reads: a few at once (each list also reads its own pages
# concurrently, and every request is paced), so a plan waits for the longest, not the sum.
LIST_CONCURRENCY = 4


def read_live(client: LagoClient, hints: ReadHints) -> LiveRead:
    plan_forms: dict[str, Normal] = {}

    def normalize(plans: list[Raw]) -> None:
        # the costly part of a large catalog's live state, done while other pages are read
        for plan in plans:
            if plan.get("lago_id"):
                plan_forms[str(plan["lago_id"])] = forms.billing_plan(plan)

    reads: dict[str, Callable[[], list[Raw]]] = {
        "taxes": client.list_taxes,
        "billable_metrics": client.list_billable_metrics,
        "add_ons": client.list_add_ons,
        "plans": lambda: client.list_plans(on_page=normalize),
        "coupons": client.list_coupons,
        "customers": client.list_customers,
        "subscriptions": lambda: client.list_subscriptions(status=ALL_STATUSES),
        "overridden": lambda: client.list_subscriptions(status=ALL_STATUSES, overridden=True),
    }
    with ThreadPoolExecutor(LIST_CONCURRENCY, thread_name_prefix="lagoform-live") as pool:
        futures = {name: pool.submit(read) for name, read in reads.items()}
        lists = {name: future.result() for name, future in futures.items()}
    read = LiveRead(
        taxes=lists["taxes"],
        billable_metrics=lists["billable_metrics"],
        add_ons=lists["add_ons"],
        plans=lists["plans"],
        coupons=lists["coupons"],
        customers=lists["customers"],
        subscriptions=lists["subscriptions"],
        overridden={str(s["lago_id"]) for s in lists["overridden"] if s.get("lago_id")},
        plan_forms=plan_forms,
    )
    if read.coupons and hints.applied_coupons:
        read.applied_coupons = client.list_applied_coupons()
    existing = {str(c.get("external_id")) for c in read.customers}
    for tenant in sorted(set(hints.tenants) & existing):
        for wallet in client.list_wallets(tenant):
            if wallet.get("status", "active") == "active" and wallet.get("lago_id"):
                totals = credited(client.list_wallet_transactions(str(wallet["lago_id"])))
                wallet = {**wallet, **totals}
            read.wallets.append(wallet)
    records = current_records(read.subscriptions)
    managed = set(hints.effective_plans) | set(hints.subscriptions)
    for external_id in sorted(managed & set(records)):
        active, pending = records[external_id]
        first = active or pending
        if first is not None and str(first.get("lago_id")) in read.overridden:
            status = None if active is not None else "pending"
            plan = _effective_plan(client, external_id, status)
            if plan is not None:
                read.effective_plans[external_id] = plan
        scheduled = active is not None and pending is not None
        if scheduled and str(pending.get("lago_id")) in read.overridden:  # type: ignore[union-attr]
            plan = _effective_plan(client, external_id, "pending")
            if plan is not None:
                read.pending_plans[external_id] = plan
    return read


def _effective_plan(client: LagoClient, external_id: str, status: str | None) -> Raw | None:
    sub = client.get_subscription(external_id, status=status)
    plan = sub.get("plan") if sub is not None else None
    return plan if isinstance(plan, dict) else None


def current_records(subscriptions: Iterable[Raw]) -> dict[str, tuple[Raw | None, Raw | None]]:
    """external_id -> (its active record, its pending record): a scheduled downgrade has both,
    a subscription that has not started only the pending one."""
    out: dict[str, tuple[Raw | None, Raw | None]] = {}
    for sub in subscriptions:
        status, ext = sub.get("status"), sub.get("external_id")
        if status not in CURRENT_STATUSES or not ext:
            continue
        active, pending = out.get(str(ext), (None, None))
        if status == "active":
            active = sub
        else:
            pending = sub
        out[str(ext)] = (active, pending)
    return out


# Transactions that put credits in (``inbound``), per kind; failed ones never did.
_CREDIT_KINDS = {"purchased": "paid_credits", "granted": "granted_credits"}


def credited(transactions: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Credits ever put into a wallet, per kind (``paid_credits``, ``granted_credits``): the sum
    of its inbound purchased / granted transactions, pending or settled. Consumption and voided
    credits are outbound and do not count, so they never look like drift against the YAML."""
    totals = {name: Decimal(0) for name in _CREDIT_KINDS.values()}
    for txn in transactions:
        name = _CREDIT_KINDS.get(str(txn.get("transaction_status")))
        if name is None or txn.get("transaction_type", "inbound") != "inbound":
            continue
        if txn.get("status") == "failed":
            continue
        try:
            totals[name] += Decimal(str(txn.get("credit_amount") or "0"))
        except InvalidOperation:
            continue
    return {name: format(value.normalize(), "f") for name, value in totals.items()}


# -- pure half -------------------------------------------------------------------------------


def live_state(read: LiveRead) -> LiveState:
    facts = tuple(_fact(s, read.overridden) for s in read.subscriptions if s.get("external_id"))
    attached = frozenset(
        str(c.get("billable_metric_code"))
        for plan in [*read.plans, *read.effective_plans.values()]
        for c in plan.get("charges") or []
        if c.get("billable_metric_code")
    )
    applied = frozenset(
        str(a.get("coupon_code"))
        for a in read.applied_coupons
        if a.get("coupon_code") and a.get("status", "active") != "terminated"
    )
    subscribed = {f.plan_code for f in facts if not f.overridden}
    objects: dict[Kind, dict[str, LiveObject]] = {
        "tax": _by_code("tax", read.taxes, forms.tax),
        "billable_metric": _by_code(
            "billable_metric", read.billable_metrics, forms.billable_metric, attached
        ),
        "add_on": _by_code("add_on", read.add_ons, forms.add_on),
        "plan": {
            p["code"]: _plan(p, p["code"] in subscribed, read.plan_forms.get(str(p.get("lago_id"))))
            for p in read.plans
            if p.get("code")
        },
        "coupon": _by_code("coupon", read.coupons, forms.coupon, applied),
        "customer": {
            str(c["external_id"]): _customer(c) for c in read.customers if c.get("external_id")
        },
        "subscription": {
            ext: subscription_object(
                active or pending,  # type: ignore[arg-type]
                read.subscriptions,
                read.effective_plans.get(ext),
                read.pending_plans.get(ext),
                overridden=read.overridden,
            )
            for ext, (active, pending) in current_records(read.subscriptions).items()
        },
        "wallet": {
            wallet_key(w): _simple("wallet", wallet_key(w), w, forms.wallet(w))
            for w in read.wallets
            if w.get("status", "active") == "active"
        },
    }
    return LiveState(
        objects=objects,
        subscriptions=facts,
        attached_metrics=attached,
        applied_coupons=applied,
    )


def wallet_key(body: Mapping[str, Any]) -> str:
    """A wallet's identity: its customer and its code (its lago_id when Lago has no code,
    which is also the code ``import`` writes for it)."""
    return f"{body.get('external_customer_id')}/{body.get('code') or body.get('lago_id') or ''}"


def _fact(sub: Mapping[str, Any], overridden: set[str]) -> SubscriptionFact:
    return SubscriptionFact(
        external_id=str(sub["external_id"]),
        external_customer_id=str(sub.get("external_customer_id") or ""),
        plan_code=str(sub.get("plan_code") or ""),
        status=str(sub.get("status") or "active"),
        overridden=str(sub.get("lago_id")) in overridden,
    )


def _simple(kind: Kind, key: str, raw: Raw, norm: Normal, *extra: Any) -> LiveObject:
    ids = {"lago_id": raw.get("lago_id")}
    return LiveObject(
        kind=kind,
        key=key,
        normal=norm,
        ids=ids,
        raw=raw,
        fingerprint=fingerprint([norm, ids, *extra]),
    )


def _by_code(
    kind: Kind,
    items: Iterable[Raw],
    normalize: Any,
    in_use: frozenset[str] = frozenset(),
) -> dict[str, LiveObject]:
    return {
        str(o["code"]): _simple(kind, str(o["code"]), o, normalize(o), str(o["code"]) in in_use)
        for o in items
        if o.get("code")
    }


def plan_ids(plan: Mapping[str, Any]) -> dict[str, Any]:
    """lago_ids apply refers to: the plan's and its charges' by charge code. (Filters need no
    id: Lago matches them by their values map.)"""
    charges = {charge_code(c): c.get("lago_id") for c in plan.get("charges") or []}
    return {"lago_id": plan.get("lago_id"), "charges": charges}


def _plan(raw: Raw, subscribed: bool, norm: Normal | None = None) -> LiveObject:
    norm = forms.billing_plan(raw) if norm is None else norm
    ids = plan_ids(raw)
    return LiveObject(
        kind="plan",
        key=str(raw["code"]),
        normal=norm,
        ids=ids,
        raw=raw,
        fingerprint=fingerprint([norm, ids, subscribed]),
        pending_deletion=bool(raw.get("pending_deletion")),
    )


def _customer(raw: Raw) -> LiveObject:
    norm = forms.customer(raw)
    ids = {
        "lago_id": raw.get("lago_id"),
        "metadata": {
            str(m.get("key")): m.get("lago_id") or m.get("id")
            for m in raw.get("metadata") or []
            if isinstance(m, Mapping)
        },
    }
    return LiveObject(
        kind="customer",
        key=str(raw["external_id"]),
        normal=norm,
        ids=ids,
        raw=raw,
        fingerprint=fingerprint([norm, ids]),
    )


def original_start(current: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> Any:
    """When the subscription began: an upgrade replaces Lago's record (new lago_id, same
    external_id, started at the change), so follow ``previous_plan_code`` back through the
    terminated records of the same external_id and customer."""
    start, previous = current.get("subscription_at"), current.get("previous_plan_code")
    seen = {current.get("lago_id")}
    while previous:
        earlier = next(
            (
                h
                for h in history
                if h.get("external_id") == current.get("external_id")
                and h.get("external_customer_id") == current.get("external_customer_id")
                and h.get("plan_code") == previous
                and h.get("status") == "terminated"
                and h.get("lago_id") not in seen
            ),
            None,
        )
        if earlier is None:
            break
        seen.add(earlier.get("lago_id"))
        start, previous = earlier.get("subscription_at"), earlier.get("previous_plan_code")
    return start


def subscription_object(
    raw: Raw,
    history: Sequence[Mapping[str, Any]],
    effective_plan: Raw | None,
    pending_plan: Raw | None = None,
    *,
    overridden: set[str] | None = None,
) -> LiveObject:
    """A current subscription as live state holds it: ``raw`` its active record (or its
    pending one when it has not started); ``history`` every record Lago lists, any status, for
    the original start; ``effective_plan`` / ``pending_plan`` the child plans read for it.

    The normal form carries ``plan`` / ``pending_plan`` (``forms.billing_plan`` of those
    plans) beside the subscription's own fields; ``ids`` say which record is overridden."""
    norm = forms.subscription({**raw, "original_subscription_at": original_start(raw, history)})
    extra: Raw = dict(raw)
    ids: Raw = {"lago_id": raw.get("lago_id")}
    if effective_plan is not None:
        norm["plan"] = forms.billing_plan(effective_plan)
        extra["plan"] = effective_plan
        ids.update(
            plan_lago_id=effective_plan.get("lago_id"),
            parent_id=effective_plan.get("parent_id"),
            overridden=bool(effective_plan.get("parent_id")),
        )
    if pending_plan is not None:
        norm["pending_plan"] = forms.billing_plan(pending_plan)
        extra["pending_plan"] = pending_plan
        ids["pending_overridden"] = bool(pending_plan.get("parent_id"))
    if overridden is not None and "overridden" not in ids:
        ids["overridden"] = str(raw.get("lago_id")) in overridden
    return LiveObject(
        kind="subscription",
        key=str(raw["external_id"]),
        normal=norm,
        ids=ids,
        raw=extra,
        fingerprint=fingerprint([norm, ids]),
    )


def subscriptions_on(facts: Sequence[SubscriptionFact], plan_code: str) -> list[SubscriptionFact]:
    return [f for f in facts if f.plan_code == plan_code]
