"""Findings: prices a plan would leave that cost money nobody asked to lose. Pure.

For every current subscription that bills on its own copy of a plan (or gets one from this
apply), ``model.reach`` gives the plan it bills on after apply. Two things there are an
error-level finding, each with the way out, and ``apply`` refuses the plan unless the finding is
acknowledged (``lagoform apply --acknowledge ID``, or ``acknowledge: [ID]`` in the tenant's
``overrides:``):

- ``fallback``: the catalog prices a filter (a model, say) that the subscription's copy does not
  have — its events would bill at the charge's fallback price (usually 0);
- ``below-list``: a filter of the copy bills less than both the catalog's price and the
  negotiated one (an old price a copy lagoform does not manage kept; a frozen copy keeps its
  prices because its YAML says so, and is not reported).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from lagoform.model.filters import label
from lagoform.model.reach import Wanted, plan_change, reach, subscriber, wanted
from lagoform.model.state import DesiredState, LiveState, SubscriptionFact
from lagoform.model.values import Normal

__all__ = ["Finding", "acknowledged_ids", "find"]

CURRENT = ("active", "pending")


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str  # stable: "fallback:<subscription>:<charge>:<filter key>"
    severity: Literal["error", "warning"] = "error"
    subject: str  # "subscription globex-main"
    message: str
    way_out: str
    acknowledged: bool = False
    # A pricing policy's finding (``lagoform.policies``): the rule's id, the YAML line that
    # breaks it (``catalog/plans.yaml:42``), the kind of approval that lets it through and
    # who gives it, and the approval given ("finance FIN-123"), if any.
    rule: str | None = None
    where: str | None = None
    approval: str | None = None
    reviewers: tuple[str, ...] = ()  # who gives that approval
    approved: str | None = None


def find(desired: DesiredState, live: LiveState) -> list[Finding]:
    """Every finding of making Lago match ``desired``, acknowledged ones marked."""
    out: list[Finding] = []
    seen: set[str] = set()
    for fact in live.subscriptions:
        if fact.status not in CURRENT or fact.external_id in seen:
            continue
        want = wanted(desired, fact.external_id)
        if not fact.overridden and (want is None or not want.stated):
            continue  # bills the plan itself: the catalog's prices, all of them
        seen.add(fact.external_id)
        out.extend(_for(fact, want, desired, live))
    acknowledged = acknowledged_ids(desired)
    return [f.model_copy(update={"acknowledged": True}) if f.id in acknowledged else f for f in out]


def acknowledged_ids(desired: DesiredState) -> set[str]:
    """The finding ids the tenants' ``acknowledge:`` lists accept."""
    out: set[str] = set()
    for obj in desired.objects.get("subscription", {}).values():
        out.update(str(i) for i in obj.meta.get("acknowledge") or ())
    return out


def _for(
    fact: SubscriptionFact, want: Wanted | None, desired: DesiredState, live: LiveState
) -> Iterator[Finding]:
    change = plan_change(desired, live, fact.plan_code)
    found = reach(subscriber(fact, live), want, change)
    after, new = found.after, change.new
    if after is None or new is None:
        return
    sub = fact.external_id
    negotiated = (want.overrides if want is not None else {}).get("charges") or {}
    why = _WHY.get(found.how, "")
    for code, charge in sorted((new.get("charges") or {}).items()):
        mine = (after.get("charges") or {}).get(code)
        if mine is None:
            continue  # a charge its copy lacks is blocked by the plan already
        catalog, own = charge.get("filters") or {}, mine.get("filters") or {}
        for key in sorted(set(catalog) - set(own)):
            yield Finding(
                id=f"fallback:{sub}:{code}:{key}",
                subject=f"subscription {sub}",
                message=(
                    f"charge {code} [{label(key)}] would bill subscription {sub} at the charge's "
                    f"fallback price ({_price(mine)}): its own copy of plan {fact.plan_code} has "
                    f"no such filter{why}"
                ),
                way_out=_WAY_OUT.get(found.how, _WAY_OUT["repriced"]),
            )
        if found.how == "frozen":
            continue  # a frozen copy keeps older prices because its YAML asks it to
        deal = (negotiated.get(code) or {}).get("filters") or {}
        for key in sorted(set(catalog) & set(own)):
            price, listed = own[key].get("properties"), catalog[key].get("properties")
            mine_deal = (deal.get(key) or {}).get("properties")
            if _cheaper(price, listed) and (mine_deal is None or _cheaper(price, mine_deal)):
                yield Finding(
                    id=f"below-list:{sub}:{code}:{key}",
                    subject=f"subscription {sub}",
                    message=(
                        f"charge {code} [{label(key)}] would bill subscription {sub} less than "
                        f"the catalog{' and its negotiated price' if mine_deal else ''}{why}"
                    ),
                    way_out=_WAY_OUT.get(found.how, _WAY_OUT["repriced"]),
                )


_WHY = {
    "frozen": " (it is frozen in its YAML)",
    "unreached": " (a copy lagoform does not manage; cascade_updates is off)",
    "cascade": " (a copy lagoform does not manage)",
}
_WAY_OUT = {
    "frozen": (
        "price it in the tenant's overrides, or remove `frozen: true` so its copy follows the "
        "catalog, or acknowledge this finding"
    ),
    "unreached": (
        "state the tenant's `overrides:` in its file so lagoform keeps the copy at the catalog's "
        "prices, set cascade_updates: true on the plan, or acknowledge this finding"
    ),
    "cascade": (
        "state the tenant's `overrides:` in its file so lagoform keeps the copy at the catalog's "
        "prices, or acknowledge this finding"
    ),
    "repriced": "price it in the tenant's overrides, or acknowledge this finding",
}


def _price(charge: Normal) -> str:
    props = charge.get("properties") or {}
    amount = props.get("amount")
    return f"{amount} per unit" if amount is not None else "its own properties"


def _amounts(props: Any) -> list[Decimal] | None:
    """The prices of a standard or tiered price, in order; None for other shapes."""
    if not isinstance(props, dict):
        return None
    try:
        if "amount" in props and len(props) == 1:
            return [Decimal(str(props["amount"]))]
        for key in ("graduated_ranges", "volume_ranges"):
            if isinstance(props.get(key), list):
                return [
                    Decimal(str(t.get(name) or 0))
                    for t in props[key]
                    for name in ("per_unit_amount", "flat_amount")
                ]
    except InvalidOperation:
        return None
    return None


def _cheaper(price: Any, than: Any) -> bool:
    """Is ``price`` below ``than`` (every figure at most, one below; same shape)?"""
    a, b = _amounts(price), _amounts(than)
    if a is None or b is None or len(a) != len(b):
        return False
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b
