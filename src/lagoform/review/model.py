"""``Review``: a plan with what only its reviewers read, and its saved JSON form.

The document ``lagoform plan --out`` writes (and ``--format json`` prints)::

    {"review_version": 1, "plan": {...Plan, format_version 2...},
     "revenue": {...RevenueImpact...} | null, "audit_preview": [{...intent record...}],
     "customer_names": {external_id: name}, "plan_parents": {variant: parent},
     "live_seen": {"kind:key": {...comparison form...} | null}}

The last three are optional (older files lack them): the names reviewers read customers by (from
the tenant files), which plans are variants (``extends``) of which, and each object the plan
read as Lago held it then, so a stale saved plan can name what moved down to the field.

``Review.loads`` also takes a bare plan document (a program may save only the plan); either
way ``apply`` reads nothing but the plan.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from lagoform.engine.plan import Plan
from lagoform.engine.scheduled import Schedule
from lagoform.engine.versions import MigrationStep
from lagoform.errors import PlanError
from lagoform.impact.model import RevenueImpact

__all__ = ["REVIEW_VERSION", "Review"]

REVIEW_VERSION = 1


class Review(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    review_version: int = REVIEW_VERSION
    plan: Plan
    # Who pays how much more or less (``lagoform.impact``), when live usage was priced.
    revenue: RevenueImpact | None = None
    # The intent records apply would write for override calls (``lagoform.audit``), minus
    # record id, time and chain hashes; informative only, apply writes its own.
    audit_preview: tuple[dict[str, Any], ...] = ()
    # Customer names by external id (the tenant files' ``customer.name``), for people.
    customer_names: dict[str, str] = {}
    # Plan variants (``extends``): variant code -> the plan it extends.
    plan_parents: dict[str, str] = {}
    # "kind:key" -> the comparison form of the live object the plan read (None: absent);
    # what ``engine.stale`` compares with Lago now when the saved plan went stale.
    live_seen: dict[str, dict[str, Any] | None] = {}
    # Scheduled prices (``engine.scheduled``): the plan's day, those in force, those ahead.
    scheduled: Schedule | None = None
    # Plan migrations (versioned plans): who moves, when, and each one's monthly bill before
    # and after (``review.migrations``).
    migrations: tuple[MigrationStep, ...] = ()

    def customer_name(self, external_id: str) -> str | None:
        return self.customer_names.get(external_id)

    def dumps(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def loads(cls, text: str | bytes) -> Review:
        """A saved review, or a bare saved plan; refuses other versions and malformed files."""
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError as err:
            raise PlanError(f"not a lagoform plan file (invalid JSON: {err})") from None
        if not isinstance(raw, dict) or "plan" not in raw:
            return cls(plan=Plan.loads(text))
        version = raw.get("review_version")
        if version != REVIEW_VERSION:
            raise PlanError(
                f"plan file review_version {version!r} is not supported (this lagoform reads "
                f"version {REVIEW_VERSION}); run `lagoform plan` again"
            )
        plan = Plan.loads(orjson.dumps(raw["plan"]))
        try:
            return cls.model_validate({**raw, "plan": plan})
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PlanError(f"not a valid lagoform plan file: {where}: {first['msg']}") from None
