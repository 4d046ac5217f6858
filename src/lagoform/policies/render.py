"""Policy findings as reviewers read them, next to the verdict: terminal text and markdown.

Errors first (apply refuses them), then warnings, then what was approved or acknowledged; each
with its id, the YAML line that breaks the rule, what is wrong and the way out. The approvals
still missing are summed up with who gives them (policies.yaml ``approvals:``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lagoform.engine.findings import Finding
from lagoform.engine.plan import Plan
from lagoform.errors import Problem

# Findings listed in a comment (open errors first); the rest are counted, and all are in the
# plan's JSON and text: a price list of 160 models must not push the verdict out of a comment.
MAX_SHOWN = 20

__all__ = ["as_problem", "markdown_block", "missing_approvals", "policy_findings", "text_block"]


def policy_findings(plan: Plan) -> list[Finding]:
    """The plan's policy findings: open errors, open warnings, then the let-through ones."""

    def order(f: Finding) -> tuple[int, str]:
        rank = 2 if f.acknowledged else 0 if f.severity == "error" else 1
        return rank, f.id

    return sorted((f for f in plan.findings if f.rule is not None), key=order)


def missing_approvals(plan: Plan) -> dict[str, tuple[tuple[str, ...], list[str]]]:
    """approval kind -> (who gives it, the open findings' ids it would let through)."""
    out: dict[str, tuple[tuple[str, ...], list[str]]] = {}
    for f in policy_findings(plan):
        if f.approval and not f.acknowledged:
            out.setdefault(f.approval, (f.reviewers, []))[1].append(f.id)
    return out


def _headline(found: Sequence[Finding]) -> str:
    errors = sum(1 for f in found if f.severity == "error" and not f.acknowledged)
    warnings = sum(1 for f in found if f.severity == "warning" and not f.acknowledged)
    through = sum(1 for f in found if f.acknowledged)
    parts = [f"{errors} error{'s' if errors != 1 else ''} apply refuses"] if errors else []
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    if through:
        parts.append(f"{through} approved or acknowledged")
    return ", ".join(parts) or "none"


def _state(f: Finding) -> str:
    if f.approved:
        return f"approved ({f.approved})"
    if f.acknowledged:
        return "acknowledged"
    return f.severity


def text_block(plan: Plan, paint: Callable[[str, str], str] | None = None) -> str:
    """The terminal form ('' when the plan has no policy finding)."""
    found = policy_findings(plan)
    if not found:
        return ""
    mark = paint or (lambda text, _symbol: text)
    lines = [f"Pricing policies (policies.yaml): {_headline(found)}"]
    for f in found:
        symbol = "=" if f.acknowledged else "!" if f.severity == "error" else "~"
        lines.append(mark(f"  {_state(f)}: {f.id}", symbol) + f"  ({f.where})")
        lines.append(f"      {f.message}")
        if not f.acknowledged:
            lines.append(f"      way out: {f.way_out}")
    return "\n".join(lines) + "\n\n"


def _md(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_block(plan: Plan) -> str:
    """The comment's block ('' when the plan has no policy finding), with the approvals still
    missing and who gives them."""
    found = policy_findings(plan)
    if not found:
        return ""
    blocking = any(f.severity == "error" and not f.acknowledged for f in found)
    lines = [
        "> [!CAUTION]" if blocking else "> [!NOTE]",
        f"> **Pricing policies** (`policies.yaml`) — {_headline(found)}:",
    ]
    for f in found[:MAX_SHOWN]:
        icon = "✅" if f.acknowledged else "⛔" if f.severity == "error" else "⚠️"
        state = _state(f)
        lines.append(
            f"> - {icon} **{state}** `{f.id}` at `{_md(f.where or '')}`: {_md(f.message)}."
            + ("" if f.acknowledged else f" **Way out:** {_md(f.way_out)}.")
        )
    if len(found) > MAX_SHOWN:
        lines.append(
            f"> - … and {len(found) - MAX_SHOWN} more (every finding: `lagoform plan`, or the "
            "saved plan's `plan.findings`)."
        )
    missing = missing_approvals(plan)
    if missing:
        lines.append(">")
        for kind, (reviewers, ids) in missing.items():
            who = ", ".join(reviewers) or "anyone (policies.yaml names no reviewers)"
            lines.append(
                f"> **Approval required:** `{_md(kind)}` from {_md(who)} "
                f"({len(ids)} finding{'s' if len(ids) != 1 else ''}): give it under "
                "`approved:` in `policies.yaml` (with its reference and the finding ids), or "
                f"`lagoform apply --approval {_md(kind)}=REF`."
            )
    return "\n".join(lines) + "\n"


def as_problem(finding: Finding) -> Problem:
    """A policy finding as ``lagoform validate`` prints it: ``file:line: message (way out)``;
    a warning-level one never fails validation."""
    file, _, line = (finding.where or "").rpartition(":")
    located = line.isdigit() and bool(file)
    return Problem(
        f"policy {finding.rule}: {finding.message} [{finding.id}]",
        file=file if located else finding.where,
        line=int(line) if located else None,
        hint=f"way out: {finding.way_out}",
        warning=finding.severity == "warning",
    )
