"""The finance trail before merge: the override records an apply of a plan would write. Pure.

``lagoform plan`` shows these to reviewers. They are the intent records apply writes for the
override calls (API_NOTES §5.5: one ``PUT /subscriptions/{id}/charges/{code}`` per charge whose
negotiated values change, and a ``PUT /subscriptions/{id}`` with plan-level ``plan_overrides``
when the base amount or display names change), minus what only exists at apply time: record
id, time and chain hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote

from lagoform.audit.context import RunContext
from lagoform.audit.fields import ChangeLike, OverrideFacts, intent_fields
from lagoform.audit.overrides_diff import (
    CHARGE_OVERRIDE_FIELDS,
    PLAN_OVERRIDE_FIELDS,
    charge_override_diff,
    override_items,
    plan_override_diff,
)


class PlanLike(Protocol):
    """What the preview reads of ``lagoform.engine.plan.Plan``."""

    @property
    def plan_id(self) -> str: ...

    def pending(self) -> Sequence[ChangeLike]: ...


_UNKNOWN = "(at apply time)"


def expected_override_requests(facts: OverrideFacts) -> list[dict[str, Any]]:
    """The override calls that bring the subscription from its effective plan (or, when it
    does not exist yet, its base plan) to base plan + overrides, in the order apply sends them:
    plan-level first, then one call per charge, by charge code."""
    current = facts.effective_plan or facts.base_plan
    sub = quote(facts.subscription_external_id, safe="")
    requests: list[dict[str, Any]] = []
    plan_level = {k: v for k, v in facts.overrides.items() if k in PLAN_OVERRIDE_FIELDS}
    if plan_level and plan_override_diff(current, plan_level):
        requests.append(
            {
                "method": "PUT",
                "path": f"/subscriptions/{sub}",
                "body": {"subscription": {"plan_overrides": plan_level}},
            }
        )
    current_charges = {str(c.get("code")): c for c in current.get("charges") or []}
    for code, item in override_items(facts.overrides.get("charges")):
        override = {k: v for k, v in item.items() if k in CHARGE_OVERRIDE_FIELDS}
        have = current_charges.get(code, {"code": code})
        if charge_override_diff(have, override):
            requests.append(
                {
                    "method": "PUT",
                    "path": f"/subscriptions/{sub}/charges/{quote(code, safe='')}",
                    "body": {"charge": override},
                }
            )
    return requests


def preview_records(
    plan: PlanLike,
    overrides: Mapping[str, OverrideFacts],
    context: RunContext | None = None,
    requests: Callable[[ChangeLike, OverrideFacts], Sequence[Mapping[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """The intent records apply would write for override calls, in order, one dict per record.

    ``overrides`` maps subscription external_id → facts, as given to ``AuditTrail``. Only
    subscriptions the plan creates or updates count. ``context`` fills environment, actor,
    commit and pull request; without it those read ``(at apply time)``. ``requests`` gives the
    override calls of one change exactly as apply will send them (the engine's own payloads);
    without it they are derived from the facts (``expected_override_requests``).
    """
    ctx = context or RunContext(
        environment=_UNKNOWN,
        lago_host=_UNKNOWN,
        actor=_UNKNOWN,
        actor_source=_UNKNOWN,
        git_commit=None,
        pull_request=None,
        plan_id=plan.plan_id,
    )
    out: list[dict[str, Any]] = []
    for change in plan.pending():
        facts = overrides.get(change.key)
        if change.kind != "subscription" or facts is None:
            continue
        if change.action not in ("create", "update"):
            continue
        calls = requests(change, facts) if requests else expected_override_requests(facts)
        for request in calls:
            out.append(intent_fields(ctx, change, request, facts))
    return out
