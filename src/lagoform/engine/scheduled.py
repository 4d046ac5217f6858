"""Scheduled price changes: what is due, what is still ahead, who must be told, and when.

A ``scheduled:`` price (``catalog.schedule``) takes over on its ``effective`` date, 00:00 UTC,
by **the target's clock** (``engine.target_day``: the ``Date`` header of Lago's answers).

``plan_schedule`` folds the due prices into the project (they are pending like any change,
and apply applies them) and describes each one still ahead as a ``ScheduledChange``: its plan,
date, field changes, whether it raises a price, and the customers it reaches (``model.reach``,
the blast radius's verdict) — who must be notified. A rise that reaches existing subscribers
with a ``notice:`` whose window has already begun (effective − notice before today) is an
error-level ``Finding`` (``engine.findings``): apply refuses it until the date moves, the notice
is shortened or the finding is acknowledged.

``effective_date(schedule, ref, path)`` answers, for a change of the plan (``plan:<code>`` and a
field path of the plan's comparison form), the date it takes effect: None when it is immediate
(not a scheduled price), the entry's date otherwise (past for a due one, future for one ahead).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from lagoform.catalog.models_schedule import notice_start
from lagoform.catalog.project import Project
from lagoform.catalog.schedule import Entry, as_of, entries, has_schedule
from lagoform.engine.desired import from_project
from lagoform.engine.diff import FieldChange, diff
from lagoform.engine.findings import Finding
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.model.reach import PlanChange, metric_values, reach, subscriber, wanted
from lagoform.model.state import DesiredState, LiveState
from lagoform.model.values import Normal, finite

__all__ = [
    "DueEntry",
    "Notified",
    "PriceStep",
    "Schedule",
    "ScheduledChange",
    "Scheduling",
    "beyond_due",
    "effective_date",
    "plan_schedule",
]

CURRENT = ("active", "pending")
# Fields of the plan's comparison form whose increase costs a subscriber more. Tier bounds and
# package sizes are left out: a larger free tier is not a rise, and is no price either.
PRICE_FIELDS = frozenset(
    {
        "amount",
        "amount_cents",
        "per_unit_amount",
        "flat_amount",
        "rate",
        "fixed_amount",
        "min_amount_cents",
        "per_transaction_min_amount",
        "per_transaction_max_amount",
    }
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Notified(_Frozen):
    """A customer a scheduled change reaches: who must be told."""

    external_id: str
    name: str | None = None
    subscriptions: tuple[str, ...] = ()


class PriceStep(_Frozen):
    """One price a scheduled change moves, as the plan's comparison form holds it before and
    after (a charge's or filter's properties, a base fee or minimum in cents), with what a
    person needs to read it: the charge model, the unit its YAML writes prices per, the
    currency."""

    price: str  # "pro_monthly/tokens[type=input]"
    field: str  # "properties" | "amount_cents" | "min_amount_cents"
    # where in the plan's comparison form: ("charges", "tokens", "filters", key, "properties")
    path: tuple[str, ...] = ()
    old: Any = None
    new: Any = None
    model: str | None = None
    per: str | None = None
    currency: str | None = None


class ScheduledChange(_Frozen):
    """The prices of one plan that change on one date, still ahead."""

    plan: str
    effective: dt.date
    notice: str | None = None  # the longest notice of its entries
    notify_by: dt.date  # the last day to tell subscribers (effective − notice)
    prices: tuple[str, ...]  # which prices: "pro_monthly", "pro_monthly/tokens[type=input]"
    reasons: tuple[str, ...] = ()
    where: tuple[str, ...] = ()  # file:line:column of each entry's `effective:`
    changes: tuple[FieldChange, ...] = ()
    steps: tuple[PriceStep, ...] = ()
    rise: bool = False
    notified: tuple[Notified, ...] = ()

    @property
    def ref(self) -> str:
        return f"plan:{self.plan}"


class DueEntry(_Frozen):
    """A scheduled price in force today (what it replaced is a pending change until applied)."""

    plan: str
    effective: dt.date
    paths: tuple[tuple[str, ...], ...]
    where: str


class Schedule(_Frozen):
    """What the plan's day makes of the catalog's scheduled prices (in the saved review)."""

    today: dt.date
    upcoming: tuple[ScheduledChange, ...] = ()
    due: tuple[DueEntry, ...] = ()


class Scheduling(BaseModel):
    """``plan_schedule``'s answer: the project and desired state as of today, the schedule and
    the findings to add to the plan."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    project: Any  # catalog.project.Project, folded as of today
    desired: Any  # model.state.DesiredState of that project
    schedule: Schedule | None = None
    findings: tuple[Finding, ...] = ()


# -- the schedule ------------------------------------------------------------------------------


def plan_schedule(
    project: Project,
    desired: DesiredState,
    live: LiveState,
    today: dt.date,
    names: Mapping[str, str] | None = None,
) -> Scheduling:
    """The catalog as of ``today`` and what is scheduled after it. ``desired`` is the desired
    state of ``project`` (returned as it is when nothing is scheduled)."""
    if not has_schedule(project):
        return Scheduling(project=project, desired=desired)
    listed = entries(project)
    now_project = as_of(project, today)
    now = desired if now_project is project else from_project(now_project)
    due = tuple(
        DueEntry(plan=e.plan, effective=e.effective, paths=e.paths, where=str(e.where))
        for e in listed
        if e.due(today)
    )
    upcoming: list[ScheduledChange] = []
    before = now
    for day in sorted({e.effective for e in listed if not e.due(today)}):
        after = from_project(as_of(project, day))
        on_day = [e for e in listed if e.effective == day]
        for code in sorted({e.plan for e in on_day}):
            found = _change(code, [e for e in on_day if e.plan == code], before, after, live)
            if found is not None:
                upcoming.append(_named(found, names or {}))
        before = after
    schedule = Schedule(today=today, upcoming=tuple(upcoming), due=due)
    findings = tuple(_notice_findings(schedule, desired))
    return Scheduling(project=now_project, desired=now, schedule=schedule, findings=findings)


def _change(
    code: str, on_day: Sequence[Entry], before: DesiredState, after: DesiredState, live: LiveState
) -> ScheduledChange | None:
    old_obj, new_obj = before.get("plan", code), after.get("plan", code)
    if old_obj is None or new_obj is None:
        return None
    changes = diff(old_obj.normal, new_obj.normal)
    if not changes:
        return None  # the scheduled price is the price already: nothing happens that day
    day = on_day[0].effective
    starts = [(notice_start(e.effective, e.notice), e.notice) for e in on_day]
    notify_by, notice = min(starts, key=lambda s: s[0])
    change = PlanChange(
        old=old_obj.normal,
        new=new_obj.normal,
        cascade_updates=new_obj.cascade_updates,
        metric_values=metric_values(after, live, code),
    )
    reached: dict[str, list[str]] = {}
    for fact in live.subscriptions:
        if fact.plan_code != code or fact.status not in CURRENT:
            continue
        found = reach(subscriber(fact, live), wanted(after, fact.external_id), change)
        if found.reached(change):
            reached.setdefault(fact.external_customer_id, []).append(fact.external_id)
    return ScheduledChange(
        plan=code,
        effective=day,
        notice=notice,
        notify_by=notify_by,
        prices=tuple(dict.fromkeys(e.subject for e in on_day)),
        reasons=tuple(dict.fromkeys(e.reason for e in on_day if e.reason)),
        where=tuple(str(e.where) for e in on_day),
        changes=tuple(changes),
        steps=tuple(_steps(on_day, old_obj.normal, new_obj.normal, after.units.get(code, {}))),
        rise=any(_rises(c) for c in changes),
        notified=tuple(
            Notified(external_id=k, subscriptions=tuple(sorted(v)))
            for k, v in sorted(reached.items())
        ),
    )


def _steps(
    on_day: Sequence[Entry], old: Normal, new: Normal, units: Mapping[str, Mapping[str, str]]
) -> list[PriceStep]:
    out = []
    currency = str(new.get("amount_currency") or "") or None
    for entry in on_day:
        for path in entry.paths:
            before, after = _at(old, path), _at(new, path)
            if before == after:
                continue
            charge = _at(new, path[:2]) if entry.charge is not None else None
            model = (
                str(charge.get("charge_model") or "") or None if isinstance(charge, dict) else None
            )
            per = units.get(entry.charge or "", {})
            out.append(
                PriceStep(
                    price=entry.subject, field=path[-1], path=tuple(path), old=before,
                    new=after, model=model,
                    per=per.get(entry.filter or "") or per.get(""), currency=currency,
                )
            )  # fmt: skip
    return out


def _at(root: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(root, Mapping):
            return None
        root = root.get(part)
    return root


def _named(change: ScheduledChange, names: Mapping[str, str]) -> ScheduledChange:
    notified = tuple(
        n.model_copy(update={"name": names.get(n.external_id)}) for n in change.notified
    )
    return change.model_copy(update={"notified": notified})


def _rises(change: FieldChange) -> bool:
    """Does this change raise a price somewhere (any price figure up)?"""
    return _up(change.path[-1] if change.path else "", change.old, change.new)


def _up(name: str, old: Any, new: Any) -> bool:
    if isinstance(old, Mapping) or isinstance(new, Mapping):
        o = old if isinstance(old, Mapping) else {}
        n = new if isinstance(new, Mapping) else {}
        return any(_up(str(k), o.get(k), n.get(k)) for k in n)
    if isinstance(old, list | tuple) or isinstance(new, list | tuple):
        items = list(old) if isinstance(old, list | tuple) else []
        return any(
            _up(name, items[i] if i < len(items) else None, v)
            for i, v in enumerate(new if isinstance(new, list | tuple) else [])
        )
    if name not in PRICE_FIELDS:
        return False
    before, after = finite(old), finite(new)
    return after is not None and after > (before if before is not None else Decimal(0))


def _notice_findings(schedule: Schedule, desired: DesiredState) -> list[Finding]:
    acknowledged: set[str] = set()
    for obj in desired.objects.get("subscription", {}).values():
        acknowledged.update(str(i) for i in obj.meta.get("acknowledge") or ())
    out = []
    for change in schedule.upcoming:
        if not change.rise or not change.notified or change.notice is None:
            continue
        if change.notify_by >= schedule.today:
            continue
        finding_id = f"notice:{change.plan}:{change.effective.isoformat()}"
        who = ", ".join(n.name or n.external_id for n in change.notified)
        earliest = schedule.today + (change.effective - change.notify_by)
        out.append(
            Finding(
                id=finding_id,
                subject=f"plan {change.plan}",
                message=(
                    f"the rise of plan {change.plan} on {change.effective.isoformat()} reaches "
                    f"{len(change.notified)} customer(s) ({who}) with {change.notice} notice: "
                    f"they had to be told by {change.notify_by.isoformat()}, before today "
                    f"({schedule.today.isoformat()}) [{', '.join(change.where)}]"
                ),
                way_out=(
                    f"move `effective:` to {earliest.isoformat()} or later, shorten `notice:` "
                    "if the contracts allow it, or acknowledge this finding (lagoform apply "
                    f"--acknowledge {finding_id})"
                ),
                acknowledged=finding_id in acknowledged,
            )
        )
    return out


# -- for other rules (pricing policies) ----------------------------------------------------------


def effective_date(schedule: Schedule | None, ref: str, path: Sequence[str] = ()) -> dt.date | None:
    """When a change of the plan takes effect: None = immediately (no scheduled price made
    it); else the date of the scheduled price that makes it — in the past for one due (a
    pending change), ahead for one still scheduled. ``ref`` is ``plan:<code>``; ``path`` a
    field path of the plan's comparison form (a ``FieldChange.path``), empty for any of the
    plan's scheduled prices (the earliest ahead, else the latest due)."""
    if schedule is None or not ref.startswith("plan:"):
        return None
    code = ref.removeprefix("plan:")
    wanted_path = tuple(path)

    def covers(paths: Sequence[tuple[str, ...]]) -> bool:
        return not wanted_path or any(
            wanted_path[: len(p)] == p or p[: len(wanted_path)] == wanted_path for p in paths
        )

    ahead = [
        c.effective
        for c in schedule.upcoming
        if c.plan == code and covers([ch.path for ch in c.changes])
    ]
    if ahead:
        return min(ahead)
    due = [e.effective for e in schedule.due if e.plan == code and covers(e.paths)]
    return max(due) if due else None


def beyond_due(plan: Plan, schedule: Schedule | None) -> list[ObjectChange]:
    """The pending changes of ``plan`` that no scheduled price in force explains (anything but
    a due price: drift, an unmerged edit). A due price of a plan also re-prices the copies of
    the plan apply keeps for subscriptions with negotiated prices (``overrides.<the same
    path>``): those are explained too. The scheduled run applies only when this is empty."""
    out = []
    for change in plan.pending():
        if not (change.action == "update" and _explained(change, schedule)):
            out.append(change)
    return out


def _explained(change: ObjectChange, schedule: Schedule | None) -> bool:
    if schedule is None or not change.changes:
        return False
    if change.kind == "plan":
        ref, strip = change.ref, 0
    elif change.kind == "subscription" and change.move is None:
        ref, strip = f"plan:{(change.body or {}).get('plan_code')}", 1
    else:
        return False
    for field in change.changes:
        if strip and field.path[:1] != ("overrides",):
            return False
        when = effective_date(schedule, ref, field.path[strip:])
        if when is None or when > schedule.today:
            return False
    return True
