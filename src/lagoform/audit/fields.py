"""What an intent record says about one call: pure functions from a plan change and a request.

Shared by the trail (which adds id, time and chain) and the plan preview (which shows reviewers
the records apply would write). The engine's types are read through small Protocols so the
audit package does not import the engine (the engine calls into audit, not the reverse).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

from lagoform.audit.context import RunContext
from lagoform.audit.overrides_diff import (
    charge_override_diff,
    effective_override_diff,
    plan_override_diff,
)
from lagoform.audit.price_units import Units, currency_of, in_units
from lagoform.audit.record import SCHEMA_VERSION, OverrideAudit, OverrideDiffEntry, digest


class FieldChangeLike(Protocol):
    @property
    def path(self) -> tuple[str, ...]: ...
    @property
    def old(self) -> Any: ...
    @property
    def new(self) -> Any: ...


class ChangeLike(Protocol):
    """What the audit reads of ``lagoform.engine.plan.ObjectChange``."""

    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def changes(self) -> Sequence[FieldChangeLike]: ...


@dataclass(frozen=True)
class OverrideFacts:
    """Everything the finance part of a record needs about one overridden subscription.

    All plan shapes are Lago's: ``base_plan`` as ``GET /plans/{code}`` returns it (``code``,
    ``amount_cents``, ``charges[]`` with ``code``, ``properties``, ``filters``...);
    ``overrides`` the desired override values (plan-level keys, and ``charges`` as
    ``{charge_code: {properties, filters, min_amount_cents, ...}}``); ``effective_plan`` the
    subscription's current plan (``GET /subscriptions/{id}`` → ``plan``), None when the
    subscription does not exist yet. ``units``: what the base plan's YAML writes each price
    per (``DesiredState.units`` of that plan), so the record can say it.
    """

    tenant_id: str
    subscription_external_id: str
    base_plan: Mapping[str, Any]
    overrides: Mapping[str, Any]
    effective_plan: Mapping[str, Any] | None = None
    reason: str | None = None
    approval: str | None = None
    units: Units = field(default_factory=dict)


_CHARGE_PATH = re.compile(r"/subscriptions/[^/]+/charges/([^/?]+)")


def _sets(request: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any] | None]:
    """(charge code, charge override) for a per-charge call, or (None, plan_overrides) for a
    subscription call carrying ``plan_overrides``, or (None, None) for a call setting neither."""
    body = request.get("body") or {}
    match = _CHARGE_PATH.search(str(request.get("path") or ""))
    if match:
        charge = body.get("charge") if isinstance(body, Mapping) else None
        return unquote(match.group(1)), charge if isinstance(charge, Mapping) else {}
    subscription = body.get("subscription") if isinstance(body, Mapping) else None
    if isinstance(subscription, Mapping) and isinstance(
        subscription.get("plan_overrides"), Mapping
    ):
        return None, subscription["plan_overrides"]
    return None, None


def override_section(facts: OverrideFacts, request: Mapping[str, Any]) -> OverrideAudit:
    """The override part of the record for one call, from what that call actually sends.

    A per-charge call (``PUT /subscriptions/{id}/charges/{code}``) is diffed for that charge only,
    a call carrying ``plan_overrides`` for everything it holds; any other call on the
    subscription (create, rename, terminate) sets no override value and carries an empty diff.
    Previous values are those of the effective plan, narrowed to the same charge.
    """
    code, sent = _sets(request)
    base = facts.base_plan
    entries: list[OverrideDiffEntry] = []
    if code is not None and sent is not None:
        base_charge = next(
            (c for c in base.get("charges") or [] if str(c.get("code")) == code), {"code": code}
        )
        entries = charge_override_diff(base_charge, sent)
    elif sent is not None:
        entries = plan_override_diff(base, sent)
    previous: list[OverrideDiffEntry] | None = None
    if facts.effective_plan is not None:
        previous = effective_override_diff(base, facts.effective_plan)
        if code is not None:
            previous = [e for e in previous if e.charge_code == code]
    return OverrideAudit(
        tenant_id=facts.tenant_id,
        subscription_external_id=facts.subscription_external_id,
        base_plan_code=str(base.get("code")),
        reason=facts.reason,
        approval=facts.approval,
        charges_diff=in_units(entries, base, facts.units),
        previous_overrides=in_units(previous, base, facts.units) if previous is not None else None,
        currency=currency_of(base, facts.overrides),
    )


def _side(change: ChangeLike, attr: str) -> dict[str, Any] | None:
    if (attr == "old" and change.action == "create") or (
        attr == "new" and change.action == "delete"
    ):
        return None
    return {".".join(fc.path): getattr(fc, attr) for fc in change.changes}


def intent_fields(
    context: RunContext,
    change: ChangeLike,
    request: Mapping[str, Any],
    facts: OverrideFacts | None,
) -> dict[str, Any]:
    """Every field of an intent record except its id, time and chain hashes.

    The before/after digests cover the fields the plan changes (``path -> old`` and
    ``path -> new`` from the plan's field changes), so anyone holding the saved plan can
    recompute them; the request digest covers the exact body sent.
    """
    override = override_section(facts, request) if facts is not None else None
    return {
        "schema_version": SCHEMA_VERSION,
        "phase": "intent",
        "intent_id": None,
        "environment": context.environment,
        "lago_host": context.lago_host,
        "actor": context.actor,
        "actor_source": context.actor_source,
        "git_commit": context.git_commit,
        "pull_request": context.pull_request,
        "plan_id": context.plan_id,
        "action": change.action,
        "object_kind": change.kind,
        "object_key": change.key,
        "method": request.get("method"),
        "path": request.get("path"),
        "before_digest": digest(_side(change, "old")),
        "after_digest": digest(_side(change, "new")),
        "request_digest": digest(request.get("body")),
        "response_digest": None,
        "outcome": None,
        "override": override.model_dump(mode="json") if override is not None else None,
        "migration": migration_section(change, request),
    }


def migration_section(change: ChangeLike, request: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the record of a subscription's plan change says about the plan migration it
    carries out (``migrations:`` of a versioned plan); None for every other call."""
    move = getattr(change, "move", None)  # an engine ObjectChange; the Protocol stays small
    migration = getattr(move, "migration", None)
    if (
        move is None
        or not migration
        or request.get("method") != "POST"
        or request.get("path") != "/subscriptions"
    ):
        return None
    return {
        "id": migration,
        "from_plan": move.from_plan,
        "to_plan": move.to_plan,
        "kind": move.kind,
        "effective": move.effective,
    }
