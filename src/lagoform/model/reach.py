"""What a catalog change does to one live subscription: the one place that decides it.

The plan's blast radius, its subscription changes, the revenue section and ``lagoform impact``
all ask ``reach``; so they cannot disagree about who pays what after apply. A subscription's
effective plan after apply (``Reach.after``) is:

- ``follows``: it bills its plan itself (no overrides in Lago, none in its YAML): the catalog
  plan, or the plan it moves to;
- ``repriced``: its YAML states ``overrides:`` (with prices, or on a copy Lago has): lagoform's
  apply sets its own copy to the catalog plan with the negotiated values laid over it
  (``effective.copy_goal`` / ``copy_after``), so every non-negotiated price follows the
  catalog and every negotiated one keeps its value;
- ``cascade``: Lago has it on its own copy, lagoform does not manage it, and the plan has
  ``cascade_updates: true``: Lago carries the change to what the copy did not customise;
- ``unreached``: the same with ``cascade_updates: false``: the copy keeps its prices.

``kept`` names the parts of its plan's change the subscription does not get, and why (a
negotiated value, a customised part, a field Lago never cascades). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from lagoform.model.effective import cascade, copy_after, copy_goal, overlay
from lagoform.model.state import DesiredState, LiveState, SubscriptionFact
from lagoform.model.values import Normal

__all__ = [
    "How",
    "PlanChange",
    "Reach",
    "Subscriber",
    "Wanted",
    "changed_parts",
    "plan_change",
    "reach",
    "subscriber",
    "wanted",
]

How = Literal["follows", "repriced", "cascade", "unreached"]


@dataclass(frozen=True)
class Subscriber:
    """One live subscription record (active, or pending: not started or a scheduled
    downgrade's next record)."""

    external_id: str
    external_customer_id: str
    plan_code: str
    status: str
    overridden: bool  # Lago has it on its own copy of the plan
    effective: Normal | None = None  # that copy (``billing_plan`` form), when it was read


@dataclass(frozen=True)
class Wanted:
    """What the subscription's YAML says (None: no tenant file lists it)."""

    plan_code: str
    overrides: Normal  # the negotiated values (``forms.plan_overrides`` form); {} for none
    stated: bool = False  # the YAML states ``overrides:`` (lagoform manages its copy)


@dataclass(frozen=True)
class PlanChange:
    """The plan the subscription ends up on: as Lago has it now and as the catalog wants it
    (``billing_plan`` forms; ``old`` None when Lago lacks it, ``new`` None when the catalog
    does), and whether edits cascade to overridden copies."""

    old: Normal | None
    new: Normal | None
    cascade_updates: bool = False


@dataclass(frozen=True)
class Reach:
    how: How
    reason: str
    after: Normal | None  # its effective plan after apply; None when it cannot be known
    kept: tuple[str, ...] = ()
    moves: bool = False  # it changes plan

    def reached(self, plan: PlanChange) -> bool:
        """Does any part of the plan's change reach it (not everything kept)?"""
        if self.how == "unreached":
            return False
        kept = {k.split(" (")[0] for k in self.kept}
        parts = list(changed_parts(plan.old, plan.new))
        return not parts or any(p not in kept for p in parts)


def reach(
    sub: Subscriber,
    wanted: Wanted | None,
    plan: PlanChange,
    *,
    moves: bool = False,
) -> Reach:
    """What apply (and Lago behind it) makes ``sub`` pay; ``plan`` is the plan it is on after
    apply (its current one, or the one the YAML moves it to when ``moves``)."""
    new = plan.new if plan.new is not None else plan.old
    negotiated = wanted.overrides if wanted is not None else {}
    if moves or not sub.overridden:
        # A record on its base plan (or a new one on the plan it moves to): the catalog plan,
        # and lagoform lays the negotiated values over it (Lago makes it a copy then).
        after = overlay(new, negotiated) if new is not None and negotiated else new
        if negotiated and _prices(negotiated):
            kept = _negotiated(plan, negotiated)
            return Reach("repriced", _REPRICED_NEW, after, kept, moves)
        return Reach("follows", _FOLLOWS, after, (), moves)
    if wanted is not None and wanted.stated:
        if new is None or sub.effective is None:
            return Reach("repriced", _REPRICED, None, _negotiated(plan, negotiated))
        parents = (plan.old or {}).get("charges") or {}
        found = copy_goal(
            new, negotiated, sub.effective,
            cascade_updates=plan.cascade_updates, parent_charges=parents,
        )  # fmt: skip
        after = copy_after(sub.effective, new, found)
        return Reach("repriced", _REPRICED, after, _negotiated(plan, negotiated))
    if plan.cascade_updates:
        if sub.effective is None or plan.old is None or new is None:
            return Reach("cascade", _CASCADE, None)
        done = cascade(sub.effective, plan.old, new)
        return Reach("cascade", _CASCADE, done.plan, done.kept)
    kept = tuple(changed_parts(plan.old, new))
    return Reach("unreached", _UNREACHED, sub.effective, kept)


_FOLLOWS = "bills the plan itself"
_REPRICED_NEW = (
    "its YAML negotiates prices: apply puts it on its own copy of the plan, the catalog's "
    "prices with the negotiated ones laid over them"
)
_REPRICED = (
    "on its own copy of the plan, which apply keeps at the catalog's prices with its YAML's "
    "negotiated values laid over them"
)
_CASCADE = (
    "on its own copy of the plan, not managed by lagoform; the plan has cascade_updates: Lago "
    "carries the change to what the copy did not customise"
)
_UNREACHED = (
    "on its own copy of the plan, not managed by lagoform; the plan has cascade_updates: "
    "false, so the copy keeps its prices"
)


def _prices(overrides: Normal) -> bool:
    return any(k != "charges" for k in overrides) or bool(overrides.get("charges"))


def _negotiated(plan: PlanChange, overrides: Normal) -> tuple[str, ...]:
    """The parts of the plan's change a negotiated value overrides (and so does not reach)."""
    if plan.old is None or plan.new is None:
        return ()
    out: list[str] = []
    for part in changed_parts(plan.old, plan.new):
        where = part.split(" ")
        if where[0] == "charge" and len(where) > 2:
            fields = (overrides.get("charges") or {}).get(where[1]) or {}
            field = _PART_FIELD.get(where[2], where[2])
            if field in fields:
                out.append(f"{part} (negotiated)")
        elif _PART_FIELD.get(part) in overrides:
            out.append(f"{part} (negotiated)")
    return tuple(out)


_PART_FIELD = {
    "subscription fee": "amount_cents",
    "price": "properties",
    "filters": "filters",
    "minimum": "min_amount_cents",
    "display": "invoice_display_name",
    "taxes": "tax_codes",
}


def changed_parts(old: Normal | None, new: Normal | None) -> Iterable[str]:
    """The parts of a plan that differ, in words: ``subscription fee``, ``charge tokens price``,
    ``charge tokens filters``, ``charge tokens added`` ..."""
    if old is None or new is None:
        return
    if old.get("amount_cents") != new.get("amount_cents"):
        yield "subscription fee"
    before, after = old.get("charges") or {}, new.get("charges") or {}
    for code in sorted(set(before) | set(after)):
        a, b = before.get(code), after.get(code)
        if a is None:
            yield f"charge {code} added"
        elif b is None:
            yield f"charge {code} removed"
        else:
            for field, word in (
                ("properties", "price"),
                ("filters", "filters"),
                ("min_amount_cents", "minimum"),
            ):
                if a.get(field) != b.get(field):
                    yield f"charge {code} {word}"


# -- inputs, from the desired and live states ---------------------------------------------------


def subscriber(fact: SubscriptionFact, live: LiveState) -> Subscriber:
    """One live subscription record with the copy of its plan, when the live read has it."""
    obj = live.get("subscription", fact.external_id)
    effective: Normal | None = None
    if obj is not None and fact.overridden:
        scheduled = fact.status == "pending" and obj.raw.get("status") != "pending"
        effective = obj.normal.get("pending_plan" if scheduled else "plan")
    return Subscriber(
        external_id=fact.external_id,
        external_customer_id=fact.external_customer_id,
        plan_code=fact.plan_code,
        status=fact.status,
        overridden=fact.overridden,
        effective=effective,
    )


def wanted(desired: DesiredState, external_id: str) -> Wanted | None:
    """What the YAML says of a subscription (None when no tenant file lists it)."""
    obj = desired.get("subscription", external_id)
    if obj is None:
        return None
    return Wanted(
        plan_code=str(obj.normal.get("plan_code") or ""),
        overrides=obj.normal.get("overrides") or {},
        stated="plan_overrides" in obj.body,
    )


def plan_change(desired: DesiredState, live: LiveState, code: str) -> PlanChange:
    want, have = desired.get("plan", code), live.get("plan", code)
    return PlanChange(
        old=have.normal if have is not None else None,
        new=want.normal if want is not None else None,
        cascade_updates=want.cascade_updates if want is not None else False,
    )
