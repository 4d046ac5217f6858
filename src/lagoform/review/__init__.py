"""lagoform.review: what a reviewer reads beside the plan — and only the reviewer.

A ``Review`` holds the ``Plan`` (what apply applies, and all it reads) with the revenue section
(``lagoform.impact``: who pays how much more or less, priced on live usage) and the audit
records apply would write for negotiated prices (``lagoform.audit``). ``build_review`` makes one
after ``engine.build_plan``; ``render_text`` / ``render_markdown`` / ``render_json`` show it.
``lagoform plan --out`` saves a review; ``lagoform apply`` reads only its plan.

This package sits above engine, impact and audit (it is the one place they meet), below the
CLI and the GitHub Action.
"""

from __future__ import annotations

from lagoform.review.build import audit_preview, build_review, revenue_section, wanted
from lagoform.review.model import REVIEW_VERSION, Review
from lagoform.review.render import (
    render_json,
    render_markdown,
    render_revenue_markdown,
    render_text,
)

__all__ = [
    "REVIEW_VERSION",
    "Review",
    "audit_preview",
    "build_review",
    "render_json",
    "render_markdown",
    "render_revenue_markdown",
    "render_text",
    "revenue_section",
    "wanted",
]
