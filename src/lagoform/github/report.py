"""The markdown the Action writes for people: PR comment, job summary, drift issue.

Pure functions from results (problems, a ``Plan``, the engine's rendered markdown) to text. The
plan itself is rendered by the engine; this module frames it: what the check concluded, which
YAML lines are wrong, which tenants' negotiated prices change, and where the artifacts are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from lagoform.engine.diff import FieldChange
from lagoform.engine.plan import Plan
from lagoform.errors import Problem

Outcome = Literal["invalid", "error", "blocked", "changes-pending", "no-changes"]

_HEADLINES: dict[Outcome, str] = {
    "invalid": "❌ **Invalid configuration** — fix the problems below; nothing was planned.",
    "error": "❌ **Plan failed** — lagoform could not build a plan.",
    "blocked": "⛔ **Blocked changes** — Lago would silently ignore some changes; see below.",
    "changes-pending": "📝 **Changes pending** — they will be applied when this is merged.",
    "no-changes": "✅ **No changes** — Lago already matches this configuration.",
}
# Leaves room in a 65,536-char GitHub body for the framing around the engine's markdown.
PLAN_BUDGET_CHARS = 60_000


def escape_text(text: str) -> str:
    """Text from YAML or Lago shown in markdown: no HTML (an ``<!--`` would hide the rest)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def headline(outcome: Outcome) -> str:
    return _HEADLINES[outcome]


def problems_section(problems: Iterable[Problem], link: Callable[[Problem], str | None]) -> str:
    """A bullet per problem: location (linked to the line when possible), message, hint."""
    lines: list[str] = []
    for problem in problems:
        where = f"`{problem.location()}`"
        url = link(problem)
        if url:
            where = f"[{where}]({url})"
        text = escape_text(problem.message)
        if problem.hint:
            text += f" — _{escape_text(problem.hint)}_"
        lines.append(f"- {where}: {text}")
    count = len(lines)
    title = f"#### {count} problem{'s' if count != 1 else ''} found"
    return "\n".join([title, "", *lines])


@dataclass(frozen=True)
class TenantPriceChange:
    """A tenant whose negotiated (overridden) prices this plan changes, and how."""

    tenant: str
    subscriptions: tuple[str, ...]
    why: str


def negotiated_price_changes(plan: Plan) -> list[TenantPriceChange]:
    """Tenants whose negotiated prices change: their own overrides are edited, or a plan or
    metric change cascades into their overridden subscriptions."""
    found: dict[str, TenantPriceChange] = {}

    def add(tenant: str, subscriptions: Iterable[str], why: str) -> None:
        old = found.get(tenant)
        subs = tuple(sorted({*(old.subscriptions if old else ()), *subscriptions}))
        reasons = f"{old.why}; {why}" if old and why not in old.why else (old.why if old else why)
        found[tenant] = TenantPriceChange(tenant, subs, reasons)

    for change in plan.pending():
        if change.kind == "subscription" and _touches_overrides(change.changes):
            body = change.body or {}
            tenant = str(body.get("external_customer_id") or "") or _new_value(
                change.changes, "external_customer_id"
            )
            if tenant:
                add(tenant, [change.key], f"overrides on `{change.key}` {_verb(change.action)}")
        if change.blast is None:
            continue
        for impact in change.blast.tenants:
            if impact.overridden and impact.reached:
                add(
                    impact.external_customer_id,
                    impact.subscriptions,
                    f"follows the {change.kind.replace('_', ' ')} `{change.key}` change",
                )
    return [found[t] for t in sorted(found)]


def _touches_overrides(changes: Iterable[FieldChange]) -> bool:
    # A subscription's negotiated prices live under "overrides" in the engine's comparison form.
    return any(change.path[:1] == ("overrides",) for change in changes)


def _new_value(changes: Iterable[FieldChange], field: str) -> str:
    for change in changes:
        if change.path == (field,):
            return str(change.new or "")
    return ""


def _verb(action: str) -> str:
    return {"create": "set", "delete": "removed", "blocked": "blocked"}.get(action, "changed")


def tenants_section(changes: list[TenantPriceChange]) -> str:
    if not changes:
        return ""
    names = ", ".join(f"`{escape_text(c.tenant)}`" for c in changes)
    lines = [
        f"**Negotiated prices change for {len(changes)} tenant"
        f"{'s' if len(changes) != 1 else ''}:** {names}",
        "",
    ]
    lines += [
        f"- `{escape_text(c.tenant)}` ({', '.join(f'`{escape_text(s)}`' for s in c.subscriptions)})"
        f": {escape_text(c.why)}"
        for c in changes
    ]
    return "\n".join(lines)


def fit(markdown: str, budget: int = PLAN_BUDGET_CHARS) -> str:
    """The engine's markdown cut to ``budget`` chars at a line boundary, saying so."""
    if len(markdown) <= budget:
        return markdown
    cut = markdown.rfind("\n", 0, budget)
    cut = cut if cut > 0 else budget
    body = markdown[:cut]
    if body.count("```") % 2:  # do not leave a code fence open
        body += "\n```"
    return body + "\n\n_…plan truncated; the full plan is in the plan.md artifact._"


def footer(*, sha: str | None, run_url: str | None, artifacts: bool) -> str:
    parts = []
    if sha:
        parts.append(f"commit `{sha[:12]}`")
    if run_url:
        parts.append(f"[workflow run]({run_url})")
    if artifacts:
        parts.append("plan.json and plan.md are attached to the run as artifacts")
    return f"<sub>{' · '.join(parts)}</sub>" if parts else ""


def document(*sections: str) -> str:
    return "\n\n".join(s.strip("\n") for s in sections if s.strip()) + "\n"
