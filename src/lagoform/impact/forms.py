"""What a subscription pays for: a billing plan reduced to the fields that set its price.

``priced_plan`` reads either side — a Lago plan object (``GET /plans``, or a subscription's
effective plan, API_NOTES §5.6) or a catalog request body (charges carry
``billable_metric_code``) — into ``PricedPlan``, whose equality means "bills the same usage the
same". Properties go through the engine's normalizers, so ``"0.50"`` and ``0.5`` are one price.
``apply_overrides`` and ``cascade`` replay what apply and Lago will do to an effective plan
(§5.4, §5.5, §4.6 cascade rules). Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from lagoform.model.filters import filter_key, filter_values
from lagoform.model.forms import charge_code
from lagoform.model.properties import properties as model_properties
from lagoform.model.values import Normal, num

__all__ = [
    "GROUPING_KEYS",
    "PricedCharge",
    "PricedFilter",
    "PricedPlan",
    "apply_overrides",
    "cascade",
    "priced_plan",
    "pricing_differences",
]

# Cascaded even onto customised charges (§4.6); not part of "was this charge customised?".
GROUPING_KEYS = ("pricing_group_keys", "presentation_group_keys")


@dataclass(frozen=True)
class PricedFilter:
    key: str  # ``filter_key`` of the values map: a filter's identity
    values: dict[str, list[str]]
    properties: Normal


@dataclass(frozen=True)
class PricedCharge:
    code: str
    metric: str
    model: str
    properties: Normal
    filters: tuple[PricedFilter, ...] = ()
    min_amount_cents: int = 0
    lago_id: str | None = field(default=None, compare=False)

    def lago(self) -> dict[str, Any]:
        """The charge as the pricing calculator reads it (Lago's response shape)."""
        return {
            "charge_model": self.model,
            "properties": self.properties,
            "filters": [{"values": f.values, "properties": f.properties} for f in self.filters],
            "min_amount_cents": self.min_amount_cents,
        }

    def filter(self, key: str) -> PricedFilter | None:
        return next((f for f in self.filters if f.key == key), None)


@dataclass(frozen=True)
class PricedPlan:
    code: str
    currency: str
    amount_cents: int
    commitment_cents: int | None
    charges: tuple[PricedCharge, ...]
    cascade_updates: bool = field(default=False, compare=False)

    def charge(self, code: str) -> PricedCharge | None:
        return next((c for c in self.charges if c.code == code), None)

    def by_lago_id(self, lago_id: str) -> PricedCharge | None:
        return next((c for c in self.charges if c.lago_id and c.lago_id == lago_id), None)


def _int(value: Any) -> int:
    number = num(value)
    return number if isinstance(number, int) else 0


def _filters(model: str, raw: Any) -> tuple[PricedFilter, ...]:
    out: list[PricedFilter] = []
    for item in raw or []:
        if not isinstance(item, Mapping):
            continue
        values = filter_values(item.get("values") or {})
        out.append(
            PricedFilter(
                key=filter_key(values),
                values=values,
                properties=model_properties(model, item.get("properties")),
            )
        )
    return tuple(out)


def _charge(raw: Mapping[str, Any]) -> PricedCharge:
    model = str(raw.get("charge_model") or "")
    lago_id = raw.get("lago_id")
    return PricedCharge(
        code=charge_code(raw),
        metric=str(raw.get("billable_metric_code") or ""),
        model=model,
        properties=model_properties(model, raw.get("properties")),
        filters=_filters(model, raw.get("filters")),
        min_amount_cents=_int(raw.get("min_amount_cents")),
        lago_id=str(lago_id) if lago_id else None,
    )


def priced_plan(raw: Mapping[str, Any]) -> PricedPlan:
    """A Lago plan object or a catalog plan body, reduced to what prices usage."""
    commitment = raw.get("minimum_commitment")
    cents = commitment.get("amount_cents") if isinstance(commitment, Mapping) else None
    return PricedPlan(
        code=str(raw.get("code") or ""),
        currency=str(raw.get("amount_currency") or ""),
        amount_cents=_int(raw.get("amount_cents")),
        commitment_cents=_int(cents) if cents is not None else None,
        charges=tuple(_charge(c) for c in raw.get("charges") or [] if isinstance(c, Mapping)),
        cascade_updates=bool(raw.get("cascade_updates")),
    )


def pricing_differences(old: PricedPlan, new: PricedPlan) -> list[str]:
    """What prices differently between two plans, in words (empty: the same bill)."""
    out: list[str] = []
    if old.currency != new.currency:
        out.append(f"currency {old.currency} → {new.currency}")
    if old.amount_cents != new.amount_cents:
        out.append("subscription fee")
    if old.commitment_cents != new.commitment_cents:
        out.append("minimum commitment")
    old_codes = [c.code for c in old.charges]
    new_codes = [c.code for c in new.charges]
    for code in new_codes:
        before, after = old.charge(code), new.charge(code)
        if before is None:
            out.append(f"charge {code} added")
        elif before != after:
            out.append(f"charge {code}")
    out.extend(f"charge {code} removed" for code in old_codes if code not in new_codes)
    return out


# -- overrides (what apply does to a subscription's effective plan) ---------------------------


def _override_charge(charge: PricedCharge, patch: Mapping[str, Any]) -> PricedCharge:
    # The per-charge override endpoint patches only the keys present (§5.5): properties are
    # replaced wholesale, filters batch-replaced.
    changes: dict[str, Any] = {}
    if "properties" in patch:
        changes["properties"] = model_properties(charge.model, patch.get("properties"))
    if "filters" in patch:
        changes["filters"] = _filters(charge.model, patch.get("filters"))
    if "min_amount_cents" in patch:
        changes["min_amount_cents"] = _int(patch.get("min_amount_cents"))
    return replace(charge, **changes) if changes else charge


def apply_overrides(plan: PricedPlan, overrides: Mapping[str, Any] | None) -> PricedPlan:
    """The effective plan after apply sends a subscription's ``plan_overrides`` body.

    Charges are named by ``code``; an override of a charge the plan lacks changes nothing (Lago
    cannot add charges through overrides on a first override, and apply refuses it).
    """
    if not overrides:
        return plan
    amount = overrides.get("amount_cents")
    patches = {charge_code(c): c for c in overrides.get("charges") or [] if isinstance(c, Mapping)}
    return replace(
        plan,
        amount_cents=_int(amount) if amount is not None else plan.amount_cents,
        charges=tuple(
            _override_charge(c, patches[c.code]) if c.code in patches else c for c in plan.charges
        ),
    )


# -- cascade_updates (what Lago does to child plans after a parent edit) -----------------------


def _without_grouping(properties: Normal) -> Normal:
    return {k: v for k, v in properties.items() if k not in GROUPING_KEYS}


def _cascade_filters(
    old: PricedCharge, new: PricedCharge, mine: PricedCharge
) -> tuple[tuple[PricedFilter, ...], list[str]]:
    old_by = {f.key: f for f in old.filters}
    new_by = {f.key: f for f in new.filters}
    kept: list[str] = []
    out: list[PricedFilter] = []
    for own in mine.filters:
        if own.key in old_by and own.key not in new_by:
            continue  # the parent removed it: removed from every child
        parent = new_by.get(own.key)
        before = old_by.get(own.key)
        if parent is not None and before is not None and parent != before:
            if own.properties == before.properties:
                own = parent
            else:
                kept.append(own.key)
        out.append(own)
    mine_keys = {f.key for f in mine.filters}
    out.extend(f for f in new.filters if f.key not in old_by and f.key not in mine_keys)
    return tuple(out), kept


def _cascade_charge(
    old: PricedCharge, new: PricedCharge, mine: PricedCharge
) -> tuple[PricedCharge, list[str]]:
    """One child charge after the parent charge went from ``old`` to ``new``."""
    kept: list[str] = []
    properties = dict(mine.properties)
    if old.properties != new.properties:
        if _without_grouping(mine.properties) == _without_grouping(old.properties):
            properties = dict(new.properties)
        elif _without_grouping(old.properties) != _without_grouping(new.properties):
            kept.append(f"charge {mine.code} (its price is customised)")
    for key in GROUPING_KEYS:
        if key in new.properties:
            properties[key] = new.properties[key]
        else:
            properties.pop(key, None)
    filters, kept_filters = _cascade_filters(old, new, mine)
    kept.extend(f"filter {key} of charge {mine.code} (customised)" for key in kept_filters)
    if old.min_amount_cents != new.min_amount_cents:
        kept.append(f"min_amount of charge {mine.code} (Lago does not cascade it)")
    return replace(mine, properties=properties, filters=filters), kept


def cascade(
    child: PricedPlan, old_parent: PricedPlan, new_parent: PricedPlan
) -> tuple[PricedPlan, list[str]]:
    """The child plan after Lago cascades a parent edit (``cascade_updates: true``, §4.6).

    Returns the new child and what of the parent's change does *not* reach it (customised
    charges or filters, a customised subscription fee, fields Lago does not cascade).
    """
    kept: list[str] = []
    amount = child.amount_cents
    if old_parent.amount_cents != new_parent.amount_cents:
        if child.amount_cents == old_parent.amount_cents:
            amount = new_parent.amount_cents
        else:
            kept.append("subscription fee (customised)")
    if old_parent.commitment_cents != new_parent.commitment_cents:
        kept.append("minimum commitment (Lago does not cascade it)")
    charges: list[PricedCharge] = []
    for mine in child.charges:
        before, after = old_parent.charge(mine.code), new_parent.charge(mine.code)
        if before is not None and after is None:
            continue  # removed from the parent: removed from the child
        if before is None or after is None or before == after:
            charges.append(mine)
            continue
        if mine.model != after.model:
            kept.append(f"charge {mine.code} (its charge model differs from the plan's)")
            charges.append(mine)
            continue
        updated, not_reached = _cascade_charge(before, after, mine)
        charges.append(updated)
        kept.extend(not_reached)
    have = {c.code for c in child.charges}
    charges.extend(
        c for c in new_parent.charges if old_parent.charge(c.code) is None and c.code not in have
    )
    return replace(child, amount_cents=amount, charges=tuple(charges)), kept
