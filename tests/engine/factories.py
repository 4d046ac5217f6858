"""Lago-shaped dicts for engine tests: request bodies (desired) and response objects (live)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from lagoform.engine.desired import desired_state
from lagoform.engine.live import LiveRead, live_state
from lagoform.model.state import DesiredState, Kind, LiveState


def lago_id(*parts: Any) -> str:
    """Deterministic ids (golden files hold fingerprints that include ids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(str(p) for p in parts)))


def metric(code: str, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": code.replace("_", " ").title(),
        "aggregation_type": "sum_agg",
        "field_name": "value",
        "recurring": False,
        "filters": [],
    }
    body.update(kw)
    return body


def charge(code: str, metric_code: str, amount: str = "1", **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "billable_metric_code": metric_code,
        "charge_model": "standard",
        "pay_in_advance": False,
        "invoiceable": True,
        "prorated": False,
        "min_amount_cents": 0,
        "properties": {"amount": amount},
        "filters": [],
        "tax_codes": [],
    }
    body.update(kw)
    return body


def plan(code: str, charges: Iterable[Mapping[str, Any]] = (), **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": code.replace("_", " ").title(),
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "USD",
        "pay_in_advance": False,
        "tax_codes": [],
        "charges": [dict(c) for c in charges],
    }
    body.update(kw)
    return body


def as_live(kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
    """A request body turned into the response Lago would give (ids, server fields)."""
    key = body.get("code") or body.get("external_id")
    out: dict[str, Any] = {
        "lago_id": lago_id(kind, key),
        "created_at": "2026-01-01T00:00:00Z",
        **body,
    }
    if kind == "plan":
        out.update({"active_subscriptions_count": 0, "pending_deletion": False, "parent_id": None})
        out["taxes"] = [{"code": c} for c in out.pop("tax_codes", [])]
        out["charges"] = [
            {
                "lago_id": lago_id(kind, key, c["code"]),
                "lago_billable_metric_id": "m-" + c["billable_metric_code"],
                "created_at": "2026-01-01T00:00:00Z",
                "regroup_paid_fees": None,
                **{k: v for k, v in c.items() if k != "tax_codes"},
                "taxes": [{"code": t} for t in c.get("tax_codes", [])],
                "filters": [
                    {"lago_id": lago_id(kind, key, c["code"], sorted(f["values"].items())), **f}
                    for f in c.get("filters", [])
                ],
            }
            for c in body.get("charges", [])
        ]
    if kind == "billable_metric":
        out.update({"active_subscriptions_count": 0, "plans_count": 0})
    return out


def desired(
    remove: Mapping[str, list[str]] | None = None,
    meta: Mapping[str, Mapping[str, Any]] | None = None,
    **bodies: list[Any],
) -> DesiredState:
    return desired_state({k: v for k, v in bodies.items()}, remove, meta)  # type: ignore[misc]


def child_plan(parent: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A subscription's own copy of ``parent`` (request-shaped) as Lago returns it: same code,
    ``parent_id`` set, charges carrying ``lago_parent_id``; ``changes`` replace fields."""
    out = as_live("plan", {**parent, **changes})
    out["lago_id"] = lago_id("child", parent["code"], sorted(changes))
    out["parent_id"] = lago_id("plan", parent["code"])
    for charge in out["charges"]:
        charge["lago_parent_id"], charge["lago_id"] = charge["lago_id"], lago_id("c", charge)
    return out


def subscription(
    external_id: str, plan_code: str, customer: str = "acme", status: str = "active", **kw: Any
) -> dict[str, Any]:
    return {
        "lago_id": lago_id("subscription", external_id, status),
        "external_id": external_id,
        "external_customer_id": customer,
        "plan_code": plan_code,
        "status": status,
        "billing_time": "calendar",
        **kw,
    }


def live(
    *,
    overridden: Iterable[str] = (),
    subscriptions: Iterable[dict[str, Any]] = (),
    effective: Mapping[str, dict[str, Any]] | None = None,
    **bodies: list[Any],
) -> LiveState:
    """Live state from request-shaped bodies (converted with ``as_live``) per kind;
    ``effective``: subscription external_id -> its child plan (``child_plan``)."""
    names = {
        "tax": "taxes",
        "billable_metric": "billable_metrics",
        "add_on": "add_ons",
        "plan": "plans",
        "coupon": "coupons",
        "customer": "customers",
        "wallet": "wallets",
    }
    read = LiveRead()
    for kind, items in bodies.items():
        getattr(read, names[kind]).extend(as_live(kind, b) for b in items)  # type: ignore[index]
    subs = list(subscriptions)
    read.subscriptions = subs
    over = set(overridden)
    read.overridden = {s["lago_id"] for s in subs if s["external_id"] in over}
    read.effective_plans = dict(effective or {})
    return live_state(read)
