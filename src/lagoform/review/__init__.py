"""lagoform.review: what a reviewer reads beside the plan — and only the reviewer.

A ``Review`` holds the ``Plan`` (what apply applies, and all it reads) with the revenue section
(``lagoform.impact``: who pays how much more or less, priced on live usage) and the audit
records apply would write for negotiated prices (``lagoform.audit``). ``build_review`` makes one
after ``engine.build_plan``; ``render_text`` / ``render_markdown`` / ``render_json`` show it,
the markdown led by what a finance reviewer reads first (``digest``: the verdict, the money
line, the largest movers by name, the distribution of change).
``lagoform plan --out`` saves a review; ``lagoform apply`` reads only its plan.

This package sits above engine, impact and audit (it is the one place they meet), below the
CLI and the GitHub Action.
"""

from __future__ import annotations

from lagoform.review.build import (
    audit_preview,
    build_review,
    customer_names,
    plan_parents,
    revenue_section,
    wanted,
)
from lagoform.review.digest import Outcome, money_line, outcome_of, verdict
from lagoform.review.markdown import leading_markdown, render_markdown
from lagoform.review.model import REVIEW_VERSION, Review
from lagoform.review.render import render_json, render_text

__all__ = [
    "REVIEW_VERSION",
    "Outcome",
    "Review",
    "audit_preview",
    "build_review",
    "customer_names",
    "leading_markdown",
    "money_line",
    "outcome_of",
    "plan_parents",
    "render_json",
    "render_markdown",
    "render_text",
    "revenue_section",
    "verdict",
    "wanted",
]
