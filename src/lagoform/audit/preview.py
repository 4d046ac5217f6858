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

from lagoform.audit.context import RunContext
from lagoform.audit.fields import ChangeLike, OverrideFacts, intent_fields


class PlanLike(Protocol):
    """What the preview reads of ``lagoform.engine.plan.Plan``."""

    @property
    def plan_id(self) -> str: ...

    def pending(self) -> Sequence[ChangeLike]: ...


_UNKNOWN = "(at apply time)"


def preview_records(
    plan: PlanLike,
    overrides: Mapping[str, OverrideFacts],
    context: RunContext | None,
    requests: Callable[[ChangeLike, OverrideFacts], Sequence[Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """The intent records apply would write for override calls, in order, one dict per record.

    ``overrides`` maps subscription external_id → facts, as given to ``AuditTrail``. Only
    subscriptions the plan creates or updates count. ``context`` fills environment, actor,
    commit and pull request; without it those read ``(at apply time)``. ``requests`` gives the
    override calls of one change exactly as apply will send them (the engine's own payloads,
    ``engine.payloads.override_requests``): the preview never builds a request of its own.
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
        for request in requests(change, facts):
            out.append(intent_fields(ctx, change, request, facts))
    return out
