"""The reconciler's plan: ``build_plan(desired, live) -> Plan``, pure, and the ``Plan`` model.

A ``Plan`` is inert data read by two consumers: the renderers (text, markdown, JSON) and the
applier. It lists one ``ObjectChange`` per managed object, in apply order (taxes → metrics →
add-ons → plans → coupons → customers → subscriptions → wallets, then deletes in reverse), with
field-level old → new values. Changes Lago would silently ignore (locks, ``locks.py``) are
*blocked*: the plan says why and what to do instead, and apply refuses them. Objects in Lago but
not in YAML are listed as unmanaged and left alone unless YAML's ``remove`` names them.

A plan carries a format version, an id and fingerprints of the catalog and of every live
object it read, so a saved plan can be checked for staleness before it is applied. It holds only
what apply applies: what reviewers read beside it (the revenue section, the audit preview) is a
``lagoform.review.Review`` holding the plan.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from lagoform.engine import locks, versions
from lagoform.engine.blast import BlastRadius, TenantImpact, blast_for, metric_blast, plan_blast
from lagoform.engine.diff import FieldChange, diff
from lagoform.engine.findings import Finding, find
from lagoform.engine.locks import Blocked
from lagoform.engine.pricing import compare_subscription
from lagoform.engine.pricing_model import PlanMove, PriceLine, SubscriptionPricing
from lagoform.errors import PlanError
from lagoform.model.forms import PROJECTED_KINDS, project
from lagoform.model.state import KINDS, DesiredState, Kind, LiveState, fingerprint

__all__ = [
    "ACTIONS",
    "FORMAT_VERSION",
    "BlastRadius",
    "ObjectChange",
    "ObjectRef",
    "Plan",
    "PlanMove",
    "PriceLine",
    "ReadHints",
    "SubscriptionPricing",
    "TenantImpact",
    "build_plan",
    "hints_for",
]

FORMAT_VERSION = 2

Action = Literal["create", "update", "delete", "no-op", "blocked"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "blocked", "no-op")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    # Subscriptions: the prices the change sets (base, current, new per charge and filter, with
    # the override's reason and approval), and a change of plan with Lago's rule for it.
    pricing: SubscriptionPricing | None = None
    move: PlanMove | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.key}"


class ObjectRef(_Frozen):
    kind: Kind
    key: str


class ReadHints(_Frozen):
    """What beyond whole collections the live read fetched; apply repeats it to check
    staleness (same reads, same fingerprints)."""

    tenants: tuple[str, ...] = ()  # customers whose wallets (and their transactions) were listed
    effective_plans: tuple[str, ...] = ()  # subscriptions whose YAML states overrides
    applied_coupons: bool = False
    # every managed subscription: the effective plan is read for those Lago has overridden
    subscriptions: tuple[str, ...] = ()


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
    # What each plan's prices are written per in YAML (``per: 1M tokens``): plan code -> charge
    # code -> "" (the charge's prices) or a filter key -> unit. For renders only.
    units: dict[str, dict[str, dict[str, str]]] = {}
    # Prices the plan would leave that nobody asked for (``findings``): apply refuses the error
    # ones unless acknowledged.
    findings: tuple[Finding, ...] = ()
    # Which prices of each plan come from a shared price table (``price_tables:``): plan code ->
    # charge code -> "filters" | "tiers" -> "" (the charge's tiers) or a filter key -> table
    # code. For renders only: a table is a way of writing the same Lago request bodies.
    price_tables: dict[str, dict[str, dict[str, dict[str, str]]]] = {}

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

    def open_findings(self) -> list[Finding]:
        """Error findings no one acknowledged: apply refuses the plan while there are any."""
        return [f for f in self.findings if f.severity == "error" and not f.acknowledged]

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
            change = _compare(kind, key, desired, live, created_at)
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
        units=desired.units,
        findings=tuple(find(desired, live)),
        price_tables=desired.price_tables,
    )


def hints_for(desired: DesiredState) -> ReadHints:
    """The extra reads the live fetch needs for this desired state."""
    return ReadHints(
        tenants=tuple(sorted(desired.keys("customer"))),
        effective_plans=tuple(
            sorted(
                k
                for k, o in desired.objects.get("subscription", {}).items()
                if "plan_overrides" in o.body
            )
        ),
        applied_coupons=bool(desired.keys("coupon") or desired.remove.get("coupon")),
        subscriptions=tuple(sorted(desired.keys("subscription"))),
    )


def _fp(live: LiveState, kind: Kind, key: str) -> str | None:
    obj = live.get(kind, key)
    return obj.fingerprint if obj is not None else None


def _compare(
    kind: Kind, key: str, desired: DesiredState, live: LiveState, now: str | None
) -> ObjectChange:
    want = desired.objects[kind][key]
    have = live.get(kind, key)
    common: dict[str, Any] = {
        "kind": kind,
        "key": key,
        "body": want.body,
        "cascade_updates": want.cascade_updates,
    }
    if kind == "subscription":
        return _subscription(key, desired, live, now, common)
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
    blast = blast_for(kind, key, desired, live)
    if want.meta.get("retired"):
        common["note"] = str(want.meta["retired"])
    return ObjectChange(
        action="blocked" if blocked else "update",
        changes=tuple(changes),
        blocked=tuple(blocked),
        blast=blast,
        **common,
    )


def _subscription(
    key: str, desired: DesiredState, live: LiveState, now: str | None, common: dict[str, Any]
) -> ObjectChange:
    found = compare_subscription(key, desired, live, now=now)
    want = desired.objects["subscription"][key]
    refused = versions.refusals(want)  # a plan migration that cannot keep its overrides
    if not found.changes and not found.blocked and not refused:
        return ObjectChange(kind="subscription", key=key, action="no-op")
    exists = live.get("subscription", key) is not None
    locked = locks.blocked_fields("subscription", key, found.changes, live) if exists else []
    blocked = [*locked, *found.blocked, *refused]
    if found.move is not None and (migration := want.meta.get("migration")):
        rule = f"Plan migration {migration!r} moves it. {found.move.rule}"
        found.move = found.move.model_copy(update={"migration": migration, "rule": rule})
    action: Action = "blocked" if blocked else "update" if exists else "create"
    return ObjectChange(
        action=action,
        changes=tuple(found.changes),
        blocked=tuple(blocked),
        pricing=found.pricing,
        move=found.move,
        note=" ".join(found.notes) or None,
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
        blast = plan_blast([key], live, everyone=True)
    elif kind == "billable_metric":
        note = "Lago also deletes every charge on this metric, on every plan"
        blast = metric_blast(key, None, live)
    return ObjectChange(
        kind=kind,
        key=key,
        action="delete",
        changes=tuple(diff(have.normal, None)),
        confirm=confirm,
        note=note,
        blast=blast,
    )
