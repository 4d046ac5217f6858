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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lagoform.model.effective import cascade, copy_after, copy_goal, overlay
from lagoform.model.state import DesiredState, LiveState, SubscriptionFact
from lagoform.model.values import Normal

__all__ = [
    "How",
    "Part",
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

How = Literal["follows", "repriced", "frozen", "cascade", "unreached"]


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
    frozen: bool = False  # ``overrides: {frozen: true}``: its copy keeps its prices


@dataclass(frozen=True)
class PlanChange:
    """The plan the subscription ends up on: as Lago has it now and as the catalog wants it
    (``billing_plan`` forms; ``old`` None when Lago lacks it, ``new`` None when the catalog
    does), and whether edits cascade to overridden copies."""

    old: Normal | None
    new: Normal | None
    cascade_updates: bool = False
    # each charge → its metric's filter values after apply (a copy cannot keep others)
    metric_values: Mapping[str, Mapping[str, list[str]]] = field(default_factory=dict)


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
        parts = changed_parts(plan.old, plan.new)
        return not parts or any(p.label not in kept for p in parts)


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
        if wanted is not None and wanted.frozen:
            return Reach("frozen", _FROZEN_NEW, after, _kept(plan, after, negotiated, ""), moves)
        if negotiated and _prices(negotiated):
            kept = _kept(plan, after, negotiated, "")
            return Reach("repriced", _REPRICED_NEW, after, kept, moves)
        return Reach("follows", _FOLLOWS, after, (), moves)
    if wanted is not None and wanted.stated:
        how: How = "frozen" if wanted.frozen else "repriced"
        why = _FROZEN if wanted.frozen else _REPRICED
        if new is None or sub.effective is None:
            unknown = (
                _kept(plan, None, negotiated, "frozen")
                if not wanted.frozen
                else tuple(f"{p.label} (frozen)" for p in changed_parts(plan.old, new))
            )
            return Reach(how, why, None, unknown)
        found = copy_goal(
            new, negotiated, sub.effective,
            cascade_updates=plan.cascade_updates, parent=plan.old, frozen=wanted.frozen,
            metric_values=plan.metric_values,
        )  # fmt: skip
        after = copy_after(found)
        kept = _kept(plan, after, negotiated, "frozen" if wanted.frozen else "its own")
        return Reach(how, why, after, kept)
    if plan.cascade_updates:
        if sub.effective is None or plan.old is None or new is None:
            return Reach("cascade", _CASCADE, None)
        done = cascade(sub.effective, plan.old, new)
        return Reach("cascade", _CASCADE, done.plan, done.kept)
    if sub.effective is None:  # whatever its copy holds, none of the change reaches it
        kept = tuple(p.label for p in changed_parts(plan.old, new))
        return Reach("unreached", _UNREACHED, None, kept)
    return Reach("unreached", _UNREACHED, sub.effective, _kept(plan, sub.effective, {}, ""))


_FOLLOWS = "bills the plan itself"
_REPRICED_NEW = (
    "its YAML negotiates prices: apply puts it on its own copy of the plan, the catalog's "
    "prices with the negotiated ones laid over them"
)
_REPRICED = (
    "on its own copy of the plan, which apply keeps at the catalog's prices with its YAML's "
    "negotiated values laid over them"
)
_FROZEN = (
    "on its own copy of the plan, frozen in its YAML: it keeps the prices it has, catalog "
    "changes do not reach it (apply sets only the values its YAML writes)"
)
_FROZEN_NEW = (
    "frozen in its YAML: apply gives it its own copy of the plan at the catalog's prices after "
    "this apply (with its negotiated values); later catalog changes do not reach it"
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


@dataclass(frozen=True)
class Part:
    """One part of a plan that a change can move: the subscription fee (``charge`` None), a
    charge's ``properties`` (its price) or ``min_amount_cents``, one of its filters (``filters``
    with the filter's key), or the charge itself being ``added`` or ``removed``."""

    charge: str | None
    field: str
    filter: str | None = None

    @property
    def label(self) -> str:
        if self.charge is None:
            return "subscription fee"
        if self.filter is not None:
            return f"charge {self.charge} filter {self.filter}"
        return f"charge {self.charge} {_WORDS.get(self.field, self.field)}"

    def value(self, plan: Normal) -> Any:
        if self.charge is None:
            return plan.get("amount_cents")
        charge = (plan.get("charges") or {}).get(self.charge)
        if self.field in ("added", "removed"):
            return charge is not None
        if charge is None:
            return None
        if self.filter is not None:
            return (charge.get("filters") or {}).get(self.filter)
        return charge.get(self.field)

    def negotiated(self, overrides: Normal) -> bool:
        if self.charge is None:
            return "amount_cents" in overrides
        mine = (overrides.get("charges") or {}).get(self.charge) or {}
        if self.filter is not None:
            return self.filter in (mine.get("filters") or {})
        return self.field in mine


_WORDS = {"properties": "price", "min_amount_cents": "minimum"}


def changed_parts(old: Normal | None, new: Normal | None) -> list[Part]:
    """The parts of a plan that differ (``Part.label``: ``subscription fee``, ``charge tokens
    price``, ``charge tokens filter type=input``, ``charge tokens added`` ...)."""
    if old is None or new is None:
        return []
    out: list[Part] = []
    if old.get("amount_cents") != new.get("amount_cents"):
        out.append(Part(None, "amount_cents"))
    before, after = old.get("charges") or {}, new.get("charges") or {}
    for code in sorted(set(before) | set(after)):
        a, b = before.get(code), after.get(code)
        if a is None or b is None:
            out.append(Part(code, "added" if a is None else "removed"))
            continue
        out.extend(
            Part(code, name)
            for name in ("properties", "min_amount_cents")
            if a.get(name) != b.get(name)
        )
        old_filters, new_filters = a.get("filters") or {}, b.get("filters") or {}
        out.extend(
            Part(code, "filters", key)
            for key in sorted(set(old_filters) | set(new_filters))
            if old_filters.get(key) != new_filters.get(key)
        )
    return out


def _kept(plan: PlanChange, after: Normal | None, overrides: Normal, why: str) -> tuple[str, ...]:
    """The parts of the plan's change the subscription does not get: where its plan after
    apply holds another value than the catalog's new one (``after`` None: unknown, so the parts
    its YAML negotiates), each with why (``negotiated`` when its YAML sets it, else ``why``)."""
    if plan.old is None or plan.new is None:
        return ()
    out: list[str] = []
    for part in changed_parts(plan.old, plan.new):
        if after is None:
            differs = part.negotiated(overrides)
        else:
            differs = part.value(after) != part.value(plan.new)
        if differs:
            reason = "negotiated" if part.negotiated(overrides) else why
            out.append(f"{part.label} ({reason})" if reason else part.label)
    return tuple(out)


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
        frozen=bool(obj.meta.get("frozen")),
    )


def plan_change(desired: DesiredState, live: LiveState, code: str) -> PlanChange:
    want, have = desired.get("plan", code), live.get("plan", code)
    return PlanChange(
        old=have.normal if have is not None else None,
        new=want.normal if want is not None else None,
        cascade_updates=want.cascade_updates if want is not None else False,
        metric_values=metric_values(desired, live, code),
    )


def metric_values(
    desired: DesiredState, live: LiveState, plan_code: str
) -> dict[str, dict[str, list[str]]]:
    """Each charge of plan ``plan_code`` → its metric's filter values after apply."""
    plan = desired.get("plan", plan_code) or live.get("plan", plan_code)
    out: dict[str, dict[str, list[str]]] = {}
    for code, charge in ((plan.normal.get("charges") or {}) if plan else {}).items():
        metric_code = str(charge.get("billable_metric_code") or "")
        metric = desired.get("billable_metric", metric_code) or live.get(
            "billable_metric", metric_code
        )
        if metric is not None:
            out[code] = dict(metric.normal.get("filters") or {})
    return out
