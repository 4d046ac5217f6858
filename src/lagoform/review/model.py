"""``Review``: a plan with what only its reviewers read, and its saved JSON form.

The document ``lagoform plan --out`` writes (and ``--format json`` prints)::

    {"review_version": 1, "plan": {...Plan, format_version 2...},
     "revenue": {...RevenueImpact...} | null, "audit_preview": [{...intent record...}]}

``Review.loads`` also takes a bare plan document (a program may save only the plan); either
way ``apply`` reads nothing but the plan.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from lagoform.engine.plan import Plan
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
