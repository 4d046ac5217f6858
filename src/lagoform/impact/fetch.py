"""The reads revenue impact needs from Lago, concurrent and paced (the only I/O of the package).

Through the async client, so every request takes its token from the client's pacing buckets
(usage endpoints have their own budget, API_NOTES §2.4) and is retried by its policy; at most
``concurrency`` requests are in flight. Per-subscription failures come back as a reason string
for that subscription instead of failing the whole analysis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lagoform.errors import LagoformError
from lagoform.impact.forms import charge_ids
from lagoform.impact.proposed import LiveParents, LiveSubscription
from lagoform.impact.usage import PeriodUsage, parse_usage
from lagoform.lago import AsyncLagoClient
from lagoform.lago.transport import MAX_PAGES, seg
from lagoform.model import forms
from lagoform.model.values import Normal

__all__ = [
    "Copy",
    "Referee",
    "bounded",
    "list_all",
    "period_labels",
    "read_effective_plans",
    "read_live",
    "read_previews",
    "read_usage",
]

T = TypeVar("T")
K = TypeVar("K")


Gate = asyncio.Semaphore | int
"""A limit on requests in flight: a number, or a semaphore shared by several reads."""


def gate_of(limit: Gate) -> asyncio.Semaphore:
    return limit if isinstance(limit, asyncio.Semaphore) else asyncio.Semaphore(max(1, limit))


async def bounded(
    keys: Sequence[K], work: Callable[[K], Awaitable[T]], concurrency: Gate
) -> dict[K, T | str]:
    """Run ``work`` for every key with at most ``concurrency`` in flight; an expected error
    (``LagoformError``) becomes its message, so one customer cannot sink the analysis."""
    gate = gate_of(concurrency)

    async def one(key: K) -> T | str:
        async with gate:
            try:
                return await work(key)
            except LagoformError as err:
                return str(err) or type(err).__name__

    results = await asyncio.gather(*(one(k) for k in keys))
    return dict(zip(keys, results, strict=True))


async def list_all(
    client: AsyncLagoClient,
    path: str,
    root_key: str,
    params: Mapping[str, Any] | None = None,
    concurrency: Gate = 4,
) -> list[dict[str, Any]]:
    """A whole Lago list: the first page says how many there are (``meta.total_pages``), the
    others are read concurrently — 1,000 subscriptions cost one round trip plus one, not ten."""
    core = client.core
    first = await client.get(path, core.page_params(params, 1))
    items, nxt = core.page_items(first, root_key, 1, path)
    meta = first.get("meta")
    total = meta.get("total_pages") if isinstance(meta, Mapping) else None
    out = list(items)
    if nxt is None:
        return out
    if not isinstance(total, int) or total > MAX_PAGES:  # no page count: one page after another
        while nxt is not None:
            data = await client.get(path, core.page_params(params, nxt))
            items, nxt = core.page_items(data, root_key, nxt, path)
            out.extend(items)
        return out

    async def page(number: int) -> list[dict[str, Any]]:
        data = await client.get(path, core.page_params(params, number))
        return core.page_items(data, root_key, number, path)[0]

    rest = await bounded(list(range(2, total + 1)), page, concurrency)
    for number in range(2, total + 1):
        got = rest[number]
        if isinstance(got, str):
            raise LagoformError(f"GET {path} page {number}: {got}")
        out.extend(got)
    return out


async def read_live(
    client: AsyncLagoClient, concurrency: Gate = 4
) -> tuple[LiveParents, list[LiveSubscription]]:
    """Parent plans by code and the active subscriptions (which of them are overridden)."""
    active = {"status[]": ["active"]}
    plans, subscriptions, overridden = await asyncio.gather(
        list_all(client, "/plans", "plans", None, concurrency),
        list_all(client, "/subscriptions", "subscriptions", active, concurrency),
        list_all(
            client, "/subscriptions", "subscriptions", {**active, "overridden": "true"}, concurrency
        ),
    )
    on_child = {str(s.get("external_id")) for s in overridden}
    parents = LiveParents(
        forms={str(p["code"]): forms.billing_plan(p) for p in plans if p.get("code")},
        ids={str(p["code"]): charge_ids(p) for p in plans if p.get("code")},
    )
    subs = [
        LiveSubscription(
            external_id=str(s["external_id"]),
            external_customer_id=str(s.get("external_customer_id") or ""),
            plan_code=str(s.get("plan_code") or ""),
            overridden=str(s["external_id"]) in on_child,
        )
        for s in subscriptions
        if s.get("external_id")
    ]
    return parents, subs


@dataclass(frozen=True)
class Copy:
    """A subscription's effective plan (comparison form) and its charge ids."""

    form: Normal
    ids: dict[str, str | None]


async def read_effective_plans(
    client: AsyncLagoClient, external_ids: Sequence[str], concurrency: Gate
) -> dict[str, Copy | str]:
    """``GET /subscriptions/{id}``: the effective plan (the child plan when overridden)."""

    async def one(external_id: str) -> Copy:
        data = await client.get(f"/subscriptions/{seg(external_id)}")
        sub = data.get("subscription")
        plan = sub.get("plan") if isinstance(sub, dict) else None
        if not isinstance(plan, dict):
            raise LagoformError(f"Lago returned subscription {external_id} without its plan")
        return Copy(forms.billing_plan(plan), charge_ids(plan))

    return await bounded(external_ids, one, concurrency)


def period_labels(past_periods: int) -> tuple[str, ...]:
    return ("current", *(f"past-{i}" for i in range(1, past_periods + 1)))


async def _usage_of(
    client: AsyncLagoClient, sub: LiveSubscription, past_periods: int
) -> list[PeriodUsage]:
    base = f"/customers/{seg(sub.external_customer_id)}"
    params: dict[str, Any] = {"external_subscription_id": sub.external_id}
    data = await client.get(f"{base}/current_usage", params)
    raw = data.get("customer_usage")
    out = [parse_usage(raw if isinstance(raw, dict) else data, "current")]
    if past_periods > 0:
        items = await client.list_all(
            f"{base}/past_usage", "usage_periods", {**params, "periods_count": past_periods}
        )
        # Most recent first, whatever order the server lists them in.
        items.sort(key=lambda p: str(p.get("from_datetime") or ""), reverse=True)
        out.extend(parse_usage(p, f"past-{i}") for i, p in enumerate(items[:past_periods], 1))
    return out


UsageRead = list[PeriodUsage] | str  # the periods read, or why they could not be


class UsageReads:
    """Usage already read in this run, by subscription and number of past periods.

    A subscription's usage does not depend on the catalog, so every analysis of one plan (its
    revenue section, and the what-if in which its migrations happen now) reads it once: usage
    reads are the floor of a large analysis (200 a second on Lago Cloud). A read that failed
    stays failed for the run, as it would have been said once anyway."""

    def __init__(self) -> None:
        self._read: dict[tuple[str, int], UsageRead] = {}

    def get(self, external_id: str, past_periods: int) -> UsageRead | None:
        return self._read.get((external_id, past_periods))

    def put(self, read: Mapping[str, UsageRead], past_periods: int) -> None:
        for external_id, periods in read.items():
            self._read[(external_id, past_periods)] = periods


async def read_usage(
    client: AsyncLagoClient,
    subscriptions: Sequence[LiveSubscription],
    past_periods: int,
    concurrency: Gate,
    reads: UsageReads | None = None,
) -> dict[str, UsageRead]:
    """Current usage (and the last ``past_periods`` closed periods) of each subscription;
    those already in ``reads`` are not read again, and what is read is added to it."""
    by_id = {s.external_id: s for s in subscriptions}
    known = {}
    if reads is not None:
        known = {i: r for i in by_id if (r := reads.get(i, past_periods)) is not None}

    async def one(external_id: str) -> list[PeriodUsage]:
        return await _usage_of(client, by_id[external_id], past_periods)

    fresh = await bounded([i for i in by_id if i not in known], one, concurrency)
    if reads is not None:
        reads.put(fresh, past_periods)
    return {**known, **fresh}


@dataclass(frozen=True)
class Referee:
    """What Lago says of one subscription for ``--verify``: the subscription object, and the
    preview of its next invoice (or why Lago gave none)."""

    subscription: dict[str, Any]
    invoice: dict[str, Any] | str


async def read_previews(
    client: AsyncLagoClient, subscriptions: Sequence[LiveSubscription], concurrency: Gate
) -> dict[str, Referee | str]:
    """``GET /subscriptions/{id}`` and ``POST /invoices/preview`` (nothing is created) of each."""
    by_id = {s.external_id: s for s in subscriptions}

    async def one(external_id: str) -> Referee:
        sub = by_id[external_id]
        data = await client.get(f"/subscriptions/{seg(external_id)}")
        raw = data.get("subscription")
        if not isinstance(raw, dict):
            raise LagoformError(f"Lago returned no subscription {external_id}")
        body = {
            "customer": {"external_id": sub.external_customer_id},
            "subscriptions": {"external_ids": [external_id]},
        }
        try:
            answer = await client.request("POST", "/invoices/preview", json=body, idempotent=True)
        except LagoformError as err:
            return Referee(raw, str(err))
        invoice = answer.get("invoice")
        return Referee(raw, invoice if isinstance(invoice, dict) else "Lago returned no invoice")

    return await bounded(list(by_id), one, concurrency)
