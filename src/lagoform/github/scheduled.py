"""Mode ``scheduled``: apply the scheduled prices that are due, and nothing else.

It runs like mode ``apply`` (validate, plan once, ``lagoform apply plan.json --auto-approve``
with an audit record per call; ``apply.run`` with this mode), from a daily schedule rather than
a merge, with a write key. Two differences: the actor in the audit records is
``lagoform-scheduled`` (unless the ``actor`` input names one), and it applies only when every
pending change is a scheduled price in force today (``engine.scheduled.beyond_due``). Anything
else pending — someone changed Lago by hand, an apply did not finish — is drift: this run then
applies nothing, fails, and lists what is in the way (the drift check's issue tracks it; the
apply workflow or a pull request settles it). The job summary also lists the changes still
scheduled, with the customers to notify.
"""

from __future__ import annotations

from lagoform.engine.scheduled import beyond_due
from lagoform.github import report
from lagoform.review import Review
from lagoform.review.scheduled import scheduled_markdown

__all__ = ["ACTOR", "ahead", "refusal"]

ACTOR = "lagoform-scheduled"


def refusal(review: Review, where: str) -> str | None:
    """The summary when pending changes other than due scheduled prices stand in the way (None:
    every pending change is one, apply may run)."""
    other = beyond_due(review.plan, review.scheduled)
    if not other:
        return None
    rows = "\n".join(f"- `{report.escape_text(c.ref)}`: {c.action}" for c in other)
    return report.document(
        f"❌ **Not applied** for {where} — Lago differs from the repository beyond the "
        f"scheduled prices due today ({len(other)} other change(s)); nothing was applied.",
        rows,
        "Settle them first (re-run the apply workflow, or bring the change into the YAML with "
        "a pull request); the next scheduled run then applies the prices that are due.",
    )


def ahead(review: Review | None) -> str:
    """The scheduled changes still ahead, as the pull request showed them ("" when none)."""
    return scheduled_markdown(review) if review is not None else ""
