"""Lago-shaped plans and usage objects for the pure tests (as the API returns them)."""

from __future__ import annotations

from typing import Any

from lagoform.impact.forms import PricedPlan, priced_plan
from lagoform.impact.proposed import LiveSubscription, Proposal


def charge(
    code: str,
    model: str,
    properties: dict[str, Any],
    *,
    metric: str | None = None,
    filters: list[dict[str, Any]] | None = None,
    min_amount_cents: int = 0,
    lago_id: str | None = None,
) -> dict[str, Any]:
    return {
        "lago_id": lago_id or f"id-{code}",
        "code": code,
        "billable_metric_code": metric or code,
        "charge_model": model,
        "properties": properties,
        "filters": filters or [],
        "min_amount_cents": min_amount_cents,
    }


def plan(
    *charges: dict[str, Any],
    code: str = "pro",
    amount_cents: int = 0,
    commitment_cents: int | None = None,
    currency: str = "USD",
    interval: str = "monthly",
    bill_charges_monthly: bool = False,
) -> PricedPlan:
    raw: dict[str, Any] = {
        "code": code,
        "amount_cents": amount_cents,
        "amount_currency": currency,
        "charges": list(charges),
        "interval": interval,
        "bill_charges_monthly": bill_charges_monthly,
    }
    if commitment_cents is not None:
        raw["minimum_commitment"] = {"amount_cents": commitment_cents}
    return priced_plan(raw)


def graduated(*tiers: tuple[int | None, str], flat: str = "0") -> dict[str, Any]:
    ranges, low = [], 0
    for to, price in tiers:
        ranges.append(
            {"from_value": low, "to_value": to, "per_unit_amount": price, "flat_amount": flat}
        )
        low = (to or 0) + 1
    return {"graduated_ranges": ranges}


def report(
    lago_id: str,
    units: str,
    amount_cents: int,
    *,
    events: int = 1,
    metric: str = "m",
    aggregation: str = "sum_agg",
    filters: list[dict[str, Any]] | None = None,
    grouped: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "units": units,
        "events_count": events,
        "amount_cents": amount_cents,
        "amount_currency": "USD",
        "charge": {"lago_id": lago_id, "charge_model": "standard"},
        "billable_metric": {"code": metric, "aggregation_type": aggregation},
        "filters": filters or [],
        "grouped_usage": grouped or [],
    }


def group(
    values: dict[str, list[str]] | None, units: str, amount_cents: int, events: int = 1
) -> dict[str, Any]:
    return {"values": values, "units": units, "amount_cents": amount_cents, "events_count": events}


def usage(*charges: dict[str, Any], currency: str = "USD") -> dict[str, Any]:
    return {
        "from_datetime": "2026-11-01T00:00:00Z",
        "to_datetime": "2026-11-30T23:59:59Z",
        "currency": currency,
        "charges_usage": list(charges),
    }


def proposal(
    current: PricedPlan, proposed: PricedPlan, sub: str = "s1", tenant: str = "t1"
) -> Proposal:
    live = LiveSubscription(sub, tenant, current.code, overridden=False)
    return Proposal(live, current, proposed, causes=("plan",), differences=("x",))
