"""lagoform.engine: desired state → keyed diff → frozen ``Plan`` → renderers and applier.

Pipeline (each step a module): ``desired`` (catalog → comparison form) and ``live`` (Lago list
endpoints → comparison form) feed ``plan.build_plan`` (pure; ``diff``, ``locks``, ``blast`` and,
for subscriptions, ``pricing`` and ``moves`` inside, asking ``lagoform.model`` what a
subscription pays);
``render`` shows a plan as text, markdown or JSON; ``apply`` makes Lago match a plan (requests
from ``payloads``) through the ``hooks.AuditHook``; ``importer`` writes YAML from a live Lago.
"""

from __future__ import annotations

from lagoform.engine.apply import ApplyFailed, ApplyReport, apply_plan, check_applicable
from lagoform.engine.desired import desired_state, from_project
from lagoform.engine.diff import FieldChange, diff
from lagoform.engine.hooks import AuditHook, MemoryAudit, NullAudit
from lagoform.engine.importer import import_project
from lagoform.engine.live import fetch_live
from lagoform.engine.locks import Blocked
from lagoform.engine.payloads import override_requests
from lagoform.engine.plan import (
    BlastRadius,
    ObjectChange,
    ObjectRef,
    Plan,
    PlanMove,
    PriceLine,
    ReadHints,
    SubscriptionPricing,
    TenantImpact,
    build_plan,
    hints_for,
)
from lagoform.engine.render import render_json, render_markdown, render_text
from lagoform.model.state import DesiredState, LiveState

__all__ = [
    "ApplyFailed",
    "ApplyReport",
    "AuditHook",
    "BlastRadius",
    "Blocked",
    "DesiredState",
    "FieldChange",
    "LiveState",
    "MemoryAudit",
    "NullAudit",
    "ObjectChange",
    "ObjectRef",
    "Plan",
    "PlanMove",
    "PriceLine",
    "ReadHints",
    "SubscriptionPricing",
    "TenantImpact",
    "apply_plan",
    "build_plan",
    "check_applicable",
    "desired_state",
    "diff",
    "fetch_live",
    "from_project",
    "hints_for",
    "import_project",
    "override_requests",
    "render_json",
    "render_markdown",
    "render_text",
]
