"""Run every rule of ``policies.yaml``: the project alone (validate) or a plan (plan, apply).

Each rule kind is matched explicitly to its check (``static`` or ``changes``); a rule that
needs what the caller does not have (a plan, Lago's state) is skipped by ``check_project``
and run by ``check_plan``. Findings are added to the plan's (``with_findings``), where apply's
refusal and its ways through already live.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from lagoform.catalog.models_policy import (
    ApprovalAbove,
    MarginFloor,
    MaxIncrease,
    MinNotice,
    NegotiatedFloor,
)
from lagoform.catalog.policies_file import Policies
from lagoform.catalog.project import Project
from lagoform.engine.findings import Finding, acknowledged_ids
from lagoform.engine.plan import Plan
from lagoform.engine.scheduled import Schedule
from lagoform.errors import ConfigError
from lagoform.impact.model import RevenueImpact
from lagoform.model.state import DesiredState, LiveState
from lagoform.policies.changes import approval_above, max_increase, min_notice
from lagoform.policies.context import Context
from lagoform.policies.prices import moves
from lagoform.policies.static import margin_floor, negotiated_floor

__all__ = ["check_plan", "check_project", "needs_impact", "parse_approvals", "with_findings"]


def _context(
    policies: Policies,
    project: Project,
    desired: DesiredState,
    today: dt.date,
    approvals: Mapping[str, str],
) -> Context:
    acknowledged = acknowledged_ids(desired) | set(policies.model.acknowledge)
    return Context(policies, project, desired, today, dict(approvals), frozenset(acknowledged))


def check_project(
    policies: Policies,
    project: Project,
    desired: DesiredState,
    *,
    today: dt.date,
    approvals: Mapping[str, str] | None = None,
) -> list[Finding]:
    """The findings of the rules the YAML alone decides (negotiated and margin floors)."""
    ctx = _context(policies, project, desired, today, approvals or {})
    out: list[Finding] = []
    for rule in policies.model.rules:
        match rule:
            case NegotiatedFloor():
                out += negotiated_floor(ctx, rule)
            case MarginFloor():
                out += margin_floor(ctx, rule)
            case MaxIncrease() | MinNotice() | ApprovalAbove():
                pass  # about a plan's changes: check_plan
    return out


def check_plan(
    policies: Policies,
    project: Project,
    desired: DesiredState,
    plan: Plan,
    live: LiveState,
    revenue: RevenueImpact | None,
    *,
    today: dt.date,
    approvals: Mapping[str, str] | None = None,
    schedule: Schedule | None = None,
) -> list[Finding]:
    """Every rule's findings about making Lago match ``plan`` (``revenue``: its impact;
    ``schedule``: the scheduled prices as of ``today``, due and ahead)."""
    ctx = _context(policies, project, desired, today, approvals or {})
    changed = moves(plan, project, ctx.locator)
    plan_moves = [c for c in plan.pending() if c.kind == "subscription" and c.move is not None]
    # scheduled prices of plans Lago has (a plan this apply creates has no price to move)
    existing = schedule and schedule.model_copy(
        update={"upcoming": tuple(c for c in schedule.upcoming if live.get("plan", c.plan))}
    )
    out = check_project(policies, project, desired, today=today, approvals=approvals)
    for rule in policies.model.rules:
        match rule:
            case MaxIncrease():
                out += max_increase(ctx, rule, changed, revenue, plan_moves)
            case MinNotice():
                out += min_notice(ctx, rule, changed, live, schedule)
            case ApprovalAbove():
                out += approval_above(ctx, rule, changed, revenue, existing)
            case NegotiatedFloor() | MarginFloor():
                pass  # checked with the project above
    return out


def needs_impact(policies: Policies | None) -> bool:
    """Do the rules read the revenue impact (so plan and apply must price usage)?"""
    if policies is None:
        return False
    return any(
        isinstance(r, MaxIncrease) or (isinstance(r, ApprovalAbove) and r.revenue_change)
        for r in policies.model.rules
    )


def with_findings(plan: Plan, findings: Iterable[Finding]) -> Plan:
    """``plan`` with ``findings`` (the policies', a schedule's) after its own (a plan's id
    stays: the findings are what reviewers and apply decide on, not what apply sends)."""
    added = tuple(findings)
    return plan.model_copy(update={"findings": plan.findings + added}) if added else plan


def parse_approvals(given: Iterable[str]) -> dict[str, str]:
    """``["finance=FIN-123"]`` → ``{"finance": "FIN-123"}``; ``ConfigError`` on a malformed
    one (``--approval`` and ``LAGOFORM_APPROVALS``, comma-separated)."""
    out: dict[str, str] = {}
    for item in given:
        for part in (p.strip() for p in item.split(",")):
            if not part:
                continue
            kind, sep, ref = part.partition("=")
            if not sep or not kind.strip() or not ref.strip():
                raise ConfigError(
                    f"expected an approval as KIND=REF (finance=FIN-123), got {part!r}"
                )
            out[kind.strip()] = ref.strip()
    return out
