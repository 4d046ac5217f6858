"""The prices the policies compare, read from the comparison form of plans and overrides.

``figures`` names each number of a price (``amount``, ``tier 2 per unit``…) so two prices of
one shape compare figure by figure; ``unit_rate`` is what one unit bills at beyond any free
allowance (the margin rule's price). ``moves`` lists every price a plan changes on something
that exists — a billing plan's prices (Lago's plan, by ``engine.render.rows.plan_sides``) and an
existing subscription's negotiated ones (``SubscriptionPricing`` lines) — each with the YAML
line that writes the new price. Decimal throughout.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lagoform.catalog.project import Project
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.engine.render.rows import plan_sides
from lagoform.model.filters import label
from lagoform.model.values import finite
from lagoform.policies.locate import Locator, Spot

__all__ = ["PriceMove", "figures", "moves", "unit_rate"]

_TIERS = ("graduated_ranges", "volume_ranges")


def figures(field: str, value: Any) -> dict[str, Decimal]:
    """Each number of a price by name: ``amount_cents`` → ``{"amount": cents}``; charge
    properties → ``amount`` (standard, package: per package), or each tier's ``per unit``
    and ``flat`` amounts. Empty for shapes the policies do not compare (percentage, dynamic)."""
    if field != "properties":
        number = finite(value)
        return {"amount": number} if number is not None else {}
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, Decimal] = {}
    for name in _TIERS:
        ranges = value.get(name)
        if isinstance(ranges, list):
            for index, tier in enumerate(ranges, 1):
                for part, label in (("per_unit_amount", "per unit"), ("flat_amount", "flat")):
                    number = finite(tier.get(part) if isinstance(tier, Mapping) else None)
                    if number is not None:
                        out[f"tier {index} {label}"] = number
            return out
    number = finite(value.get("amount"))
    if number is not None and "rate" not in value:
        size = finite(value.get("package_size"))
        out["amount"] = number
        if size:
            out["package size"] = size
    return out


def unit_rate(props: Any) -> Decimal | None:
    """What one unit bills at once past any free allowance: the standard amount, a package's
    amount ÷ its size, the lowest non-zero tier rate (0 when every tier is free); None for
    shapes without a unit price."""
    if not isinstance(props, Mapping):
        return None
    for name in _TIERS:
        ranges = props.get(name)
        if isinstance(ranges, list):
            rates = [
                r
                for t in ranges
                if isinstance(t, Mapping) and (r := finite(t.get("per_unit_amount")))
            ]
            positive = [r for r in rates if r > 0]
            return min(positive) if positive else Decimal(0)
    amount = finite(props.get("amount"))
    if amount is None or "rate" in props:
        return None
    size = finite(props.get("package_size"))
    return amount / size if size else amount


@dataclass(frozen=True)
class PriceMove:
    """One price a plan changes on a billing plan or subscription that exists."""

    kind: str  # plan | subscription
    key: str  # plan code | subscription external id
    plan: str  # the billing plan it prices (the subscription's plan)
    charge: str | None
    filter: str | None  # the filter's key; None: the charge's own price (or the plan's field)
    field: str  # amount_cents | properties
    old: dict[str, Decimal]
    new: dict[str, Decimal]
    spot: Spot

    @property
    def rises(self) -> bool:
        return any(v > self.old.get(k, v) for k, v in self.new.items())

    @property
    def percent(self) -> Decimal | None:
        """The largest relative move of one figure, in percent (either way); None when a
        figure moves away from 0 (a move no percentage bounds)."""
        largest = Decimal(0)
        for name, new in self.new.items():
            old = self.old.get(name)
            if old is None or old == new:
                continue
            if old == 0:
                return None
            largest = max(largest, abs(new - old) * 100 / old)
        return largest

    @property
    def what(self) -> str:
        where = self.charge or ("base fee" if self.field == "amount_cents" else self.field)
        return f"{where} [{label(self.filter)}]" if self.filter else where


def moves(plan: Plan, project: Project, locator: Locator | None = None) -> list[PriceMove]:
    """Every price ``plan`` changes on an existing billing plan or subscription."""
    at = locator or Locator(project)
    out: list[PriceMove] = []
    for change in plan.pending():
        if change.action not in ("update", "blocked"):
            continue
        if change.kind == "plan":
            out += _plan_moves(change, at)
        elif change.kind == "subscription":
            out += _subscription_moves(change, at)
    return out


def _plan_moves(change: ObjectChange, at: Locator) -> Iterator[PriceMove]:
    old, new = plan_sides(change)
    if not old or not new:
        return
    code = change.key

    def move(charge: str | None, key: str | None, field: str, a: Any, b: Any) -> PriceMove | None:
        before, after = figures(field, a), figures(field, b)
        if not before or not after or before == after:
            return None
        spot = at.plan(code, charge, key, field)
        return PriceMove("plan", code, code, charge, key, field, before, after, spot)

    found = [move(None, None, "amount_cents", old.get("amount_cents"), new.get("amount_cents"))]
    olds, news = old.get("charges") or {}, new.get("charges") or {}
    for charge in sorted(set(olds) & set(news)):
        a, b = olds[charge] or {}, news[charge] or {}
        found.append(move(charge, None, "properties", a.get("properties"), b.get("properties")))
        fa, fb = a.get("filters") or {}, b.get("filters") or {}
        for key in sorted(set(fa) & set(fb)):
            pa, pb = (fa[key] or {}).get("properties"), (fb[key] or {}).get("properties")
            found.append(move(charge, key, "properties", pa, pb))
    yield from (m for m in found if m is not None)


def _subscription_moves(change: ObjectChange, at: Locator) -> Iterator[PriceMove]:
    pricing = change.pricing
    if pricing is None or not pricing.exists:
        return
    for line in pricing.lines:
        if line.field not in ("amount_cents", "properties"):
            continue
        before, after = figures(line.field, line.current), figures(line.field, line.new)
        if not before or not after or before == after:
            continue
        spot = at.subscription(change.key, line.charge, line.filter, line.field)
        yield PriceMove(
            "subscription",
            change.key,
            pricing.plan_code,
            line.charge,
            line.filter,
            line.field,
            before,
            after,
            spot,
        )
