"""lagoform.policies: the company's pricing rules (``policies.yaml``), checked on every plan.

``check`` turns the rules into plan findings (``engine.findings.Finding`` with the rule's id,
the YAML line that breaks it, its severity and the way out): the rules the YAML alone decides
(``static``: negotiated floor, margin floor) for ``lagoform validate`` and ``plan``; the rules
about what the plan changes (``changes``: maximum increase per customer from the revenue impact,
minimum notice, approval above a threshold) for ``plan`` and ``apply``. ``apply`` refuses the
error ones like any finding, unless approved or acknowledged (``context``). ``render`` shows
them next to the verdict.

This package sits above engine and impact (it reads plans and revenue impacts) and below
review and the CLI; the policies file's models and loading are the catalog's
(``catalog.models_policy``, ``catalog.policies_file``).
"""

from __future__ import annotations

from lagoform.policies.check import (
    check_plan,
    check_project,
    needs_impact,
    parse_approvals,
    with_findings,
)
from lagoform.policies.render import as_problem, markdown_block, text_block

__all__ = [
    "as_problem",
    "check_plan",
    "check_project",
    "markdown_block",
    "needs_impact",
    "parse_approvals",
    "text_block",
    "with_findings",
]
