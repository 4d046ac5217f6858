"""The finance trail before merge: a plan with the audit records its apply would write for
override calls (``Plan.audit_preview``), so ``lagoform plan`` shows reviewers exactly what the
audit log will say about negotiated prices.

The calls are the engine's own payloads (``payloads.steps_for``): override calls are addressed by
subscription external_id and charge code, so they need no Lago ids and are exactly what apply
sends. The records come from the audit package (``preview_records``): the same fields the trail
writes, minus record id, time and chain hashes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lagoform.audit.context import RunContext
from lagoform.audit.fields import ChangeLike, OverrideFacts
from lagoform.audit.preview import preview_records
from lagoform.engine.payloads import ApplyContext, steps_for
from lagoform.engine.plan import ObjectChange, Plan


def override_requests(change: ObjectChange) -> list[dict[str, Any]]:
    """The calls of ``change`` that set override values, as apply will send them."""
    if change.kind != "subscription" or change.action not in ("create", "update"):
        return []
    return [s.request() for s in steps_for(change, ApplyContext()) if s.overrides]


def _requests(change: ChangeLike, facts: OverrideFacts) -> Sequence[Mapping[str, Any]]:
    return override_requests(change) if isinstance(change, ObjectChange) else []


def with_audit_preview(
    plan: Plan, facts: Mapping[str, OverrideFacts], context: RunContext | None = None
) -> Plan:
    """``plan`` carrying the override audit records its apply would write (``facts`` as for
    the trail: ``lagoform.audit.override_facts(project, desired, live)``)."""
    records = preview_records(plan, facts, context, requests=_requests)
    return plan.model_copy(update={"audit_preview": tuple(records)})
