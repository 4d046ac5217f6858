"""Build a ``Review``: the revenue section and the audit preview beside a plan.

``wanted`` says whether a plan can move anyone's bill at all (it edits or deletes a billing plan
Lago has, or edits a subscription); only then does ``revenue_section`` read usage by default,
so a plan without such changes makes no usage reads. It reuses the engine's live read and turns
any failure into a section that says the estimate is unavailable and why: the reviewer still
needs the plan, and apply never reads the section. ``audit_preview`` gives the intent records
apply would write for override calls — the engine's own requests (``payloads``), recorded by
the audit package's own fields. ``build_review`` also keeps what people read the plan by: the
customers' names (the tenant files'), which plans are variants of which (``extends``), and the
objects as the plan read them (for a stale saved plan's field-level explanation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lagoform.audit.context import RunContext
from lagoform.audit.fields import ChangeLike, OverrideFacts
from lagoform.audit.preview import preview_records
from lagoform.catalog.project import Project
from lagoform.engine.payloads import override_requests
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.engine.stale import seen_objects
from lagoform.engine.versions import MigrationStep
from lagoform.errors import LagoformError
from lagoform.impact.analyze import DEFAULT_CONCURRENCY, run_analysis
from lagoform.impact.fetch import UsageReads
from lagoform.impact.model import RevenueImpact
from lagoform.lago import AsyncLagoClient
from lagoform.model.state import DesiredState, LiveState
from lagoform.review.model import Review

__all__ = [
    "audit_preview",
    "build_review",
    "customer_names",
    "plan_parents",
    "revenue_section",
    "wanted",
]


def wanted(plan: Plan) -> bool:
    """Does the plan change the pricing some live subscription could be billed on?

    A created plan has no subscriptions yet and a created subscription no usage; an update (or
    a blocked one: the reviewer should still see what it would do) to a billing plan or a
    subscription, or the deletion of a plan, can re-price someone.
    """
    for change in plan.pending():
        if change.kind == "plan" and change.action in ("update", "blocked", "delete"):
            return True
        if change.kind == "subscription" and change.action in ("update", "blocked"):
            return True
    return False


def revenue_section(
    plan: Plan,
    desired: DesiredState,
    live: LiveState,
    make_client: Callable[[], AsyncLagoClient],
    *,
    enabled: bool | None = None,
    past_periods: int = 0,
    premium: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    reads: UsageReads | None = None,
) -> RevenueImpact | None:
    """The plan's revenue section, or None when it is not asked for.

    ``enabled``: True always analyses, False never, None (the default) when ``wanted(plan)``.
    Never raises for a failed analysis: the section then carries ``unavailable``.
    """
    if enabled is False or (enabled is None and not wanted(plan)):
        return None
    try:
        return run_analysis(
            desired,
            make_client,
            live=live,
            past_periods=past_periods,
            concurrency=concurrency,
            premium=premium,
            reads=reads,
        )
    except LagoformError as err:
        return RevenueImpact(unavailable=str(err) or type(err).__name__)
    except Exception as err:  # advisory: not even a bug in the estimate may hide the plan
        return RevenueImpact(unavailable=f"the analysis failed ({type(err).__name__}: {err})")


def _requests(change: ChangeLike, facts: OverrideFacts) -> Sequence[Mapping[str, Any]]:
    return override_requests(change) if isinstance(change, ObjectChange) else []


def audit_preview(
    plan: Plan, facts: Mapping[str, OverrideFacts], context: RunContext | None = None
) -> tuple[dict[str, Any], ...]:
    """The override audit records an apply of ``plan`` would write (``facts`` as for the
    trail: ``lagoform.audit.override_facts(project, desired, live)``)."""
    return tuple(preview_records(plan, facts, context, requests=_requests))


def customer_names(desired: DesiredState | None, live: LiveState | None = None) -> dict[str, str]:
    """Each customer's name by external id: the tenant file's, else the one Lago holds."""
    names: dict[str, str] = {}
    for state in (live, desired):  # the tenant files win
        if state is None:
            continue
        for key, obj in state.objects.get("customer", {}).items():
            name = obj.normal.get("name")
            if isinstance(name, str) and name.strip():
                names[key] = name.strip()
    return dict(sorted(names.items()))


def plan_parents(project: Project | None) -> dict[str, str]:
    """Variant plan code -> the plan it ``extends``, from the catalog."""
    if project is None:
        return {}
    return {p.code: p.extends for p in project.catalog.plans if p.extends}


def build_review(
    plan: Plan,
    *,
    facts: Mapping[str, OverrideFacts],
    revenue: RevenueImpact | None = None,
    context: RunContext | None = None,
    desired: DesiredState | None = None,
    live: LiveState | None = None,
    project: Project | None = None,
    migrations: Sequence[MigrationStep] = (),
) -> Review:
    """``plan`` with its audit preview and (when priced) its revenue section; with ``desired``,
    ``live`` and ``project`` (what the plan was built from) also the names people read it by
    and the objects as the plan read them."""
    return Review(
        plan=plan,
        revenue=revenue,
        audit_preview=audit_preview(plan, facts, context),
        customer_names=customer_names(desired, live),
        plan_parents=plan_parents(project),
        live_seen=seen_objects(plan, live) if live is not None else {},
        migrations=tuple(migrations),
    )
