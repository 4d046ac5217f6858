"""The finance facts of every overridden subscription, from the loaded project and engine state.

Pure glue for the CLI: ``override_facts(project, desired, live)`` gives the
``{subscription external_id: OverrideFacts}`` map that ``open_trail(overrides=...)`` and
``preview_records`` take. The base plan is the *desired* one (what the catalog says after this
apply), the override values are the desired subscription's ``plan_overrides``, reason and
approval come from the tenant's YAML, and the previous values from the subscription's effective
plan as read from Lago (none when the subscription is new or not overridden yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lagoform.audit.fields import OverrideFacts

if TYPE_CHECKING:
    from lagoform.catalog.project import Project
    from lagoform.model.state import DesiredState, LiveState


def _effective(live: LiveState | None, external_id: str, base: Mapping[str, Any]) -> Any:
    have = live.get("subscription", external_id) if live is not None else None
    if have is None:
        return None  # a new subscription: no previous values
    pending = have.raw.get("pending_plan")  # the record of a scheduled downgrade
    ahead = isinstance(pending, Mapping) and pending.get("code") == base.get("code")
    plan = pending if ahead else have.raw.get("plan")
    if not isinstance(plan, Mapping) or not plan.get("parent_id"):
        return base  # on its base plan: no override yet, so none to show as previous
    if plan.get("code") != base.get("code"):
        return base  # moving to another plan: the new record starts on its base plan
    return plan


def override_facts(
    project: Project, desired: DesiredState, live: LiveState | None = None
) -> dict[str, OverrideFacts]:
    facts: dict[str, OverrideFacts] = {}
    for tenant, subscription in project.subscriptions():
        if subscription.overrides is None:
            continue
        want = desired.get("subscription", subscription.external_id)
        # the plan the desired state puts it on: a versioned plan's version (engine.versions)
        code = str(want.body.get("plan_code") or subscription.plan) if want else ""
        base = desired.get("plan", code)
        if want is None or base is None:
            continue  # the catalog checks report a subscription on an unknown plan
        facts[subscription.external_id] = OverrideFacts(
            tenant_id=tenant.external_id,
            subscription_external_id=subscription.external_id,
            base_plan=base.body,
            overrides=dict(want.body.get("plan_overrides") or {}),
            effective_plan=_effective(live, subscription.external_id, base.body),
            reason=subscription.overrides.reason,
            approval=subscription.overrides.approval,
            units=desired.units.get(subscription.plan, {}),
        )
    return facts
