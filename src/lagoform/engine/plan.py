"""The reconciler's plan: ``build_plan(desired, live) -> Plan``, pure, and the ``Plan`` model.

A ``Plan`` is inert data read by two consumers: the renderers (text, markdown, JSON) and the
applier. It lists one ``ObjectChange`` per managed object, in apply order (taxes → metrics →
add-ons → plans → coupons → customers → subscriptions → wallets, then deletes in reverse), with
field-level old → new values. Changes Lago would silently ignore (locks, ``locks.py``) are
*blocked*: the plan says why and what to do instead, and apply refuses them. Objects in Lago but
not in YAML are listed as unmanaged and left alone unless YAML's ``remove`` names them.

A plan carries a format version, an id and fingerprints of the catalog and of every live
object it read, so a saved plan can be checked for staleness before it is applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from lagoform.engine import locks
from lagoform.engine.diff import FieldChange, diff
from lagoform.engine.locks import Blocked
from lagoform.engine.normal import PROJECTED_KINDS, project
from lagoform.engine.state import (
    KINDS,
    DesiredState,
    Kind,
    LiveState,
    SubscriptionFact,
    fingerprint,
)
from lagoform.errors import PlanError

FORMAT_VERSION = 1

Action = Literal["create", "update", "delete", "no-op", "blocked"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "blocked", "no-op")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenantImpact(_Frozen):
    external_customer_id: str
    subscriptions: tuple[str, ...]
    overridden: bool
    follows: bool  # does the change reach these subscriptions?


class BlastRadius(_Frozen):
    """Who a plan or metric change re-prices (active subscriptions only)."""

    active_subscriptions: int  # on the plan itself: re-priced as soon as apply runs
    overridden_follow: int  # overridden subscriptions the change reaches (cascade_updates)
    overridden_not_follow: int  # overridden subscriptions that keep their copy
    tenants: tuple[TenantImpact, ...] = ()
    via_plans: tuple[str, ...] = ()  # for a metric: the plans whose charges use it


class ObjectChange(_Frozen):
    kind: Kind
    key: str
    action: Action
    changes: tuple[FieldChange, ...] = ()
    blocked: tuple[Blocked, ...] = ()
    # The desired Lago request body (create/update/blocked); metric codes, not ids.
    body: dict[str, Any] | None = None
    cascade_updates: bool = False
    blast: BlastRadius | None = None
    # A deletion that needs a named confirmation at apply time (e.g. a plan with subscriptions).
    confirm: str | None = None
    note: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.key}"


class ObjectRef(_Frozen):
    kind: Kind
    key: str


class ReadHints(_Frozen):
    """What beyond whole collections the live read fetched; apply repeats it to check
    staleness (same reads, same fingerprints)."""

    tenants: tuple[str, ...] = ()  # customers whose wallets were listed
    effective_plans: tuple[str, ...] = ()  # subscriptions whose effective plan was read
    applied_coupons: bool = False


class Plan(_Frozen):
    format_version: int = FORMAT_VERSION
    plan_id: str
    created_at: str | None = None
    target: str = ""
    catalog_fingerprint: str
    # "kind:key" -> fingerprint of the live object as read (None: it did not exist).
    live_fingerprints: dict[str, str | None]
    changes: tuple[ObjectChange, ...]
    unmanaged: tuple[ObjectRef, ...] = ()
    reads: ReadHints = ReadHints()

    def pending(self) -> list[ObjectChange]:
        """The changes apply would make or refuse (everything but no-ops), in apply order."""
        return [c for c in self.changes if c.action != "no-op"]

    @property
    def has_changes(self) -> bool:
        return any(c.action != "no-op" for c in self.changes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {a: 0 for a in ACTIONS}
        for change in self.changes:
            out[change.action] += 1
        return out

    def blocked(self) -> list[ObjectChange]:
        return [c for c in self.changes if c.action == "blocked"]

    def dumps(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def loads(cls, text: str | bytes) -> Plan:
        """Read a saved plan; refuses other format versions and malformed files."""
        import orjson

        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError as err:
            raise PlanError(f"not a lagoform plan file (invalid JSON: {err})") from None
        version = raw.get("format_version") if isinstance(raw, dict) else None
        if version != FORMAT_VERSION:
            raise PlanError(
                f"plan file format_version {version!r} is not supported "
                f"(this lagoform reads version {FORMAT_VERSION}); run `lagoform plan` again"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PlanError(f"not a valid lagoform plan file: {where}: {first['msg']}") from None


# -- building --------------------------------------------------------------------------------


def build_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    target: str = "",
    created_at: str | None = None,
) -> Plan:
    """Compare ``desired`` with ``live`` and decide what apply must do. Pure."""
    forward: list[ObjectChange] = []
    deletes: list[ObjectChange] = []
    fingerprints: dict[str, str | None] = {}
    unmanaged: list[ObjectRef] = []
    for kind in KINDS:
        wanted = desired.keys(kind)
        removed = desired.remove.get(kind, frozenset())
        # a plan Lago is already deleting is neither deleted again nor reported as unmanaged
        present = {k for k, o in live.objects.get(kind, {}).items() if not o.pending_deletion}
        for key in sorted(wanted):
            change = _compare(kind, key, desired, live)
            forward.append(change)
            fingerprints[change.ref] = _fp(live, kind, key)
        for key in sorted((removed & present) - wanted):
            deletes.append(_delete(kind, key, live))
            fingerprints[f"{kind}:{key}"] = _fp(live, kind, key)
        unmanaged.extend(ObjectRef(kind=kind, key=k) for k in sorted(present - wanted - removed))
    # Deletes run last, dependants first (subscriptions before plans, plans before metrics).
    deletes.sort(key=lambda c: (-KINDS.index(c.kind), c.key))
    plan_id = fingerprint(
        [desired.fingerprint, fingerprints, [(c.ref, c.action) for c in forward + deletes]]
    )
    return Plan(
        plan_id=plan_id,
        created_at=created_at,
        target=target,
        catalog_fingerprint=desired.fingerprint,
        live_fingerprints=fingerprints,
        changes=(*forward, *deletes),
        unmanaged=tuple(unmanaged),
        reads=hints_for(desired),
    )


def hints_for(desired: DesiredState) -> ReadHints:
    """The extra reads the live fetch needs for this desired state."""
    return ReadHints(
        tenants=tuple(sorted(desired.keys("customer"))),
        effective_plans=tuple(
            sorted(
                k
                for k, o in desired.objects.get("subscription", {}).items()
                if "overrides" in o.normal
            )
        ),
        applied_coupons=bool(desired.keys("coupon") or desired.remove.get("coupon")),
    )


def _fp(live: LiveState, kind: Kind, key: str) -> str | None:
    obj = live.get(kind, key)
    return obj.fingerprint if obj is not None else None


def _compare(kind: Kind, key: str, desired: DesiredState, live: LiveState) -> ObjectChange:
    want = desired.objects[kind][key]
    have = live.get(kind, key)
    common: dict[str, Any] = {
        "kind": kind,
        "key": key,
        "body": want.body,
        "cascade_updates": want.cascade_updates,
    }
    if have is None:
        return ObjectChange(action="create", changes=tuple(diff(None, want.normal)), **common)
    if have.pending_deletion:
        return ObjectChange(
            action="blocked",
            blocked=(
                Blocked(
                    path=(),
                    reason=f"{kind} {key!r} is being deleted in Lago; its code is still taken",
                    way_out="wait until Lago finishes the deletion, then plan again",
                ),
            ),
            **common,
        )
    current = project(have.normal, want.normal) if kind in PROJECTED_KINDS else have.normal
    changes = diff(current, want.normal)
    if not changes:
        return ObjectChange(kind=kind, key=key, action="no-op")
    blocked = locks.blocked_fields(kind, key, changes, live)
    blast = _blast(kind, key, desired, live, want.cascade_updates, changes)
    return ObjectChange(
        action="blocked" if blocked else "update",
        changes=tuple(changes),
        blocked=tuple(blocked),
        blast=blast,
        **common,
    )


def _delete(kind: Kind, key: str, live: LiveState) -> ObjectChange:
    have = live.objects[kind][key]
    confirm: str | None = None
    note: str | None = None
    blast = None
    if kind == "plan":
        alive = [
            s
            for s in live.subscriptions
            if s.plan_code == key and s.status in ("active", "pending")
        ]
        if alive:
            confirm = key
            note = (
                f"Lago terminates the plan's {len(alive)} active or pending subscription(s), "
                "overridden ones included"
            )
        blast = _plan_blast([key], live, cascade=True)
    elif kind == "billable_metric":
        note = "Lago also deletes every charge on this metric, on every plan"
        blast = _metric_blast(key, None, live)
    return ObjectChange(
        kind=kind,
        key=key,
        action="delete",
        changes=tuple(diff(have.normal, None)),
        confirm=confirm,
        note=note,
        blast=blast,
    )


# -- blast radius ----------------------------------------------------------------------------


def _blast(
    kind: Kind,
    key: str,
    desired: DesiredState,
    live: LiveState,
    cascade: bool,
    changes: list[FieldChange],
) -> BlastRadius | None:
    if kind == "plan":
        keeps = _customised(key, changes, desired) if cascade else frozenset()
        return _plan_blast([key], live, cascade=cascade, keeps_copy=keeps)
    if kind == "billable_metric":
        return _metric_blast(key, desired, live)
    return None


def _plan_blast(
    plan_codes: list[str],
    live: LiveState,
    *,
    cascade: bool,
    keeps_copy: frozenset[str] = frozenset(),
) -> BlastRadius:
    """``keeps_copy``: overridden subscriptions whose own prices on a changed charge stop the
    cascade (Lago only overwrites a child charge whose properties equal the parent's)."""
    codes = set(plan_codes)
    active = [s for s in live.subscriptions if s.plan_code in codes and s.status == "active"]

    def follows(sub: SubscriptionFact) -> bool:
        return not sub.overridden or (cascade and sub.external_id not in keeps_copy)

    groups: dict[tuple[str, bool, bool], list[str]] = {}
    for sub in active:
        key = (sub.external_customer_id, sub.overridden, follows(sub))
        groups.setdefault(key, []).append(sub.external_id)
    tenants = tuple(
        TenantImpact(
            external_customer_id=tenant,
            subscriptions=tuple(sorted(subs)),
            overridden=overridden,
            follows=follow,
        )
        for (tenant, overridden, follow), subs in sorted(groups.items())
    )
    overridden = [s for s in active if s.overridden]
    return BlastRadius(
        active_subscriptions=len(active) - len(overridden),
        overridden_follow=sum(1 for s in overridden if follows(s)),
        overridden_not_follow=sum(1 for s in overridden if not follows(s)),
        tenants=tenants,
    )


def _customised(code: str, changes: list[FieldChange], desired: DesiredState) -> frozenset[str]:
    """Subscriptions on plan ``code`` whose YAML overrides a charge this change touches."""
    touched = {c.path[1] for c in changes if len(c.path) > 1 and c.path[0] == "charges"}
    out = set()
    for key, obj in desired.objects.get("subscription", {}).items():
        overrides = obj.normal.get("overrides") or {}
        if obj.normal.get("plan_code") == code and touched & set(overrides.get("charges") or {}):
            out.add(key)
    return frozenset(out)


def _metric_blast(code: str, desired: DesiredState | None, live: LiveState) -> BlastRadius:
    plans = sorted(set(_plans_using(code, desired, live)))
    # Metric edits reach every plan using it, child plans included: overridden ones follow.
    radius = _plan_blast(plans, live, cascade=True)
    return radius.model_copy(update={"via_plans": tuple(plans)})


def _plans_using(code: str, desired: DesiredState | None, live: LiveState) -> Iterator[str]:
    sources = [live.objects.get("plan", {})]
    if desired is not None:
        sources.append(desired.objects.get("plan", {}))  # type: ignore[arg-type]
    for source in sources:
        for plan_code, obj in source.items():
            charges = obj.normal.get("charges", {})
            if any(c.get("billable_metric_code") == code for c in charges.values()):
                yield plan_code
