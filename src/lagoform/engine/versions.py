"""Which version of a versioned plan each subscription is on, and the migrations due now.

A tenant file names a versioned plan by its family code (``plan: pro_monthly``). Against Lago:

- a subscription Lago does not have yet gets the **current** version;
- one Lago has on a version of the family stays there (**grandfathered**), unless a migration
  of the family selects it (``who``, ``from``) and is **due**: then its desired plan is the
  migration's version, and the engine's ordinary plan change does the rest (Lago's upgrade /
  downgrade rule, ``moves.py``; the tenant's overrides re-expressed on the new version's copy,
  ``pricing.py``). An override the new version cannot take refuses the move (blocked, with
  the reason).

When a migration is due (``when``), per subscription, on Lago's clock (``LiveState.now``):
``now`` at once; a date from that day on; ``end_of_term`` (the billing period holding
``decided``): an upgrade once that period is over (Lago moves an upgrade at once), a downgrade
from that period's start (Lago itself moves a downgrade when the period ends). A subscription
Lago already holds a pending downgrade to the target for is in progress; a migration to the
version it is on cancels such a downgrade. Pure.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from lagoform.engine.locks import Blocked
from lagoform.engine.moves import plan_move
from lagoform.model.forms import charge_code
from lagoform.model.periods import current_period
from lagoform.model.state import DesiredObject, DesiredState, LiveObject, LiveState
from lagoform.model.values import timestamp

if TYPE_CHECKING:
    from lagoform.catalog.models_tenant import Subscription, Tenant
    from lagoform.catalog.project import Project

__all__ = [
    "MigrationStep",
    "Resolution",
    "refusals",
    "resolve",
    "subscription_options",
]

Status = Literal["moves", "scheduled", "in_progress", "refused"]


class MigrationStep(BaseModel):
    """One subscription a migration moves: who, from which version to which, when, and (filled
    by the review) what it does to the customer's monthly run-rate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    migration: str
    family: str
    subscription: str
    tenant: str
    from_plan: str
    to_plan: str
    from_version: int
    to_version: int
    kind: str | None = None  # upgrade | downgrade (Lago's rule), None when unknown
    status: Status
    # The day apply sends the plan change (``due``) and the day the new version bills
    # (``effective``), both YYYY-MM-DD (UTC).
    due: str | None = None
    effective: str | None = None
    reasons: tuple[str, ...] = ()  # why it is refused
    currency: str | None = None
    monthly_old_cents: int | None = None
    monthly_new_cents: int | None = None
    impact_note: str | None = None  # why there is no amount

    @property
    def monthly_delta_cents(self) -> int | None:
        if self.monthly_old_cents is None or self.monthly_new_cents is None:
            return None
        return self.monthly_new_cents - self.monthly_old_cents


@dataclass(frozen=True)
class Resolution:
    """The desired state with each versioned subscription on its version; the migration steps;
    and ``what_if``: every step not refused carried out (what the revenue impact prices)."""

    desired: DesiredState
    steps: tuple[MigrationStep, ...] = ()
    what_if: DesiredState | None = None


# -- from the catalog (engine.desired.from_project) ------------------------------------------


def subscription_options(
    project: Project, tenant: Tenant, sub: Subscription, body: dict[str, Any]
) -> dict[str, Any] | None:
    """For a subscription naming a versioned plan: its request body on each version (or why
    its overrides do not fit one), and the migrations that select its tenant."""
    from lagoform.catalog import lago_form

    family = project.plan_versions.get(sub.plan)
    if family is None or (len(family.versions) < 2 and not family.migrations):
        return None
    plans = {p.code: p for p in project.catalog.plans}
    bodies: dict[str, dict[str, Any]] = {}
    refused: dict[str, list[str]] = {}
    for code in family.versions.values():
        plan = plans.get(code)
        if plan is None:
            continue
        option = {**body, "plan_code": code}
        if sub.overrides is not None:
            misfits = _misfits(project, tenant, sub, plan)
            if misfits:
                refused[code] = misfits
                continue
            option["plan_overrides"] = lago_form.plan_overrides_body(sub.overrides, plan)
        bodies[code] = option
    return {
        "family": family.code,
        "versions": {str(n): c for n, c in family.versions.items()},
        "current": family.current,
        "bodies": bodies,
        "refused": refused,
        "migrations": [
            {
                "id": m.id,
                "to": m.to,
                "from": list(m.from_),
                "when": m.when if isinstance(m.when, str) else m.when.isoformat(),
                "decided": m.decided.isoformat() if m.decided else None,
            }
            for m in family.migrations
            if m.matches(tenant.external_id, tenant.tags)
        ],
    }


def _misfits(project: Project, tenant: Tenant, sub: Subscription, plan: Any) -> list[str]:
    """What of the subscription's overrides the plan version cannot take (the override checks
    ``validate`` runs, against that version), as ``file:line: message``."""
    from lagoform.catalog.checks import Refs
    from lagoform.catalog.checks_charge import Report
    from lagoform.catalog.checks_overrides import check_overrides
    from lagoform.errors import Problem

    assert sub.overrides is not None
    item = next(i for i in project.items if i.kind == "tenant" and i.code == tenant.external_id)
    index = tenant.subscriptions.index(sub)
    problems: list[Problem] = []
    metrics = {m.code: m for m in project.catalog.billable_metrics}
    refs = Refs([i for i in project.items if i.kind != "tenant"])
    path = ("subscriptions", index, "overrides")
    check_overrides(Report(item.raw, problems), path, sub.overrides, plan, metrics, refs)
    return [str(p) for p in problems if not p.warning]


# -- against Lago ----------------------------------------------------------------------------


def resolve(desired: DesiredState, live: LiveState, now: float | None = None) -> Resolution:
    """Put every versioned subscription on its version (module doc). ``now``: Lago's clock,
    by default ``live.now`` (its Date header), else this machine's."""
    subs = desired.objects.get("subscription", {})
    if not any("versions" in o.meta for o in subs.values()):
        return Resolution(desired, (), desired)
    clock = now if now is not None else live.now if live.now is not None else time.time()
    models = {
        code: {charge_code(c): c.get("charge_model") for c in obj.body.get("charges") or []}
        for code, obj in desired.objects.get("plan", {}).items()
    }
    chosen: dict[str, DesiredObject] = dict(subs)
    what_if: dict[str, DesiredObject] = dict(subs)
    steps: list[MigrationStep] = []
    for key, obj in sorted(subs.items()):
        info = obj.meta.get("versions")
        if not info:
            continue
        target, step = _decide(key, obj, info, desired, live, clock)
        chosen[key] = _on(obj, info, target, models, step)
        if step is not None:
            steps.append(step)
            after = step.to_plan if step.status != "refused" else step.from_plan
            what_if[key] = _on(obj, info, after, models, None)
        else:
            what_if[key] = chosen[key]
    return Resolution(
        replace(desired, objects={**desired.objects, "subscription": chosen}),
        tuple(steps),
        replace(desired, objects={**desired.objects, "subscription": what_if}),
    )


def refusals(obj: DesiredObject) -> list[Blocked]:
    """The blocked entries a subscription's desired object carries (a refused migration, or
    overrides its version cannot take)."""
    refused = obj.meta.get("refused")
    if not refused:
        return []
    return [
        Blocked(
            path=("plan_code",),
            reason=str(refused["reason"]),
            way_out=str(refused["way_out"]),
        )
    ]


def _decide(
    key: str,
    obj: DesiredObject,
    info: dict[str, Any],
    desired: DesiredState,
    live: LiveState,
    clock: float,
) -> tuple[str, MigrationStep | None]:
    versions: dict[str, str] = info["versions"]
    numbers = {code: int(n) for n, code in versions.items()}
    current = versions[str(info["current"])]
    have = live.get("subscription", key)
    on = str(have.raw.get("plan_code") or "") if have is not None else ""
    if have is None or on not in numbers:
        return current, None  # new, or coming from another plan: the current version
    pending = str(have.raw.get("next_plan_code") or "")
    target = pending if pending in numbers else on
    for spec in info["migrations"]:
        to = versions[str(spec["to"])]
        if spec["from"] and numbers[on] not in spec["from"]:
            continue
        if numbers[on] == spec["to"]:
            if pending in numbers:  # back to where it is: the downgrade Lago holds is cancelled
                return on, None
            continue
        step = MigrationStep(
            migration=spec["id"],
            family=info["family"],
            subscription=key,
            tenant=str(obj.body.get("external_customer_id") or ""),
            from_plan=on,
            to_plan=to,
            from_version=numbers[on],
            to_version=int(spec["to"]),
            status="scheduled",
        )
        if pending == to:
            date = str(have.raw.get("downgrade_plan_date") or "")[:10] or None
            return to, step.model_copy(update={"status": "in_progress", "effective": date})
        move = plan_move(have, to, desired, live, overrides="plan_overrides" in obj.body)
        kind = move.kind if move is not None and move.kind in ("upgrade", "downgrade") else None
        due, effective = _timing(spec, kind, have, desired, live, clock)
        update: dict[str, Any] = {"kind": kind, "due": _day(due), "effective": _day(effective)}
        refused = info["refused"].get(to)
        if refused:
            update.update(status="refused", reasons=tuple(refused))
            return (to if due <= clock else target), step.model_copy(update=update)
        if due <= clock:
            update["status"] = "moves"
            return to, step.model_copy(update=update)
        return target, step.model_copy(update=update)
    return target, None


def _timing(
    spec: dict[str, Any],
    kind: str | None,
    have: LiveObject,
    desired: DesiredState,
    live: LiveState,
    clock: float,
) -> tuple[float, float]:
    """(when apply sends the change, when the new version bills), epoch seconds."""
    raw = have.raw
    plan = desired.get("plan", str(raw.get("plan_code"))) or live.get(
        "plan", str(raw.get("plan_code"))
    )
    interval = str((plan.normal if plan is not None else {}).get("interval") or "monthly")
    billing_time = str(raw.get("billing_time") or "calendar")
    anchor = _epoch(raw.get("started_at")) or _epoch(raw.get("subscription_at")) or clock

    def period(at: float) -> tuple[float, float]:
        return current_period(interval, billing_time, anchor, at)

    downgrade = kind == "downgrade"
    when = spec["when"]
    if when == "now":
        due = clock
    elif when == "end_of_term":
        start, end = period(_epoch(spec["decided"]) or clock)
        due = start if downgrade else end + 1
    else:
        due = _epoch(when) or clock
    # Lago moves an upgrade when it is sent, a downgrade when the period it is sent in ends
    sent = max(due, clock)
    effective = period(sent)[1] + 1 if downgrade else sent
    return due, effective


def _on(
    obj: DesiredObject,
    info: dict[str, Any],
    code: str,
    models: dict[str, dict[str, Any]],
    step: MigrationStep | None,
) -> DesiredObject:
    """``obj`` on version ``code``: that version's body, and in ``meta`` the migration moving it
    or the reason the move (or the version) is refused."""
    from lagoform.engine.desired import normal_of  # desired -> live -> plan imports this module

    meta = {k: v for k, v in obj.meta.items() if k != "versions"}
    if step is not None and step.status == "moves":
        meta["migration"] = step.migration
    body = info["bodies"].get(code)
    if step is not None and step.status == "refused" and code == step.to_plan:
        meta["refused"] = {
            "reason": f"migration '{step.migration}' cannot move {step.subscription} to "
            f"{step.to_plan} (version {step.to_version}) keeping its negotiated prices: "
            + "; ".join(step.reasons),
            "way_out": "change the override so the new version can take it, give the new "
            "version what the override needs, or leave this tenant out of the migration "
            "(`who`)",
        }
        body = info["bodies"].get(step.from_plan)
    elif body is None:
        reasons = info["refused"].get(code) or [f"plan {code} is not in the catalog"]
        meta["refused"] = {
            "reason": f"{obj.key}'s negotiated prices do not fit {code}: " + "; ".join(reasons),
            "way_out": "change the override so that version can take it",
        }
        body = next(iter(info["bodies"].values()), obj.body)
    return DesiredObject(
        kind=obj.kind,
        key=obj.key,
        normal=normal_of("subscription", body, models),
        body=dict(body),
        cascade_updates=obj.cascade_updates,
        meta=meta,
    )


def _epoch(value: Any) -> float | None:
    """A Lago timestamp or a YAML date (midnight UTC) as epoch seconds; None if it is none."""
    text = timestamp(value)
    try:
        moment = dt.datetime.strptime(text or "", "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC).timestamp()


def _day(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).date().isoformat()
