"""The markdown the Action writes for people around a review: PR comment, job summary, drift
issue, apply comment.

Pure functions from results to text. A plan's review is rendered by ``lagoform.review`` (the
verdict, the money line, the movers, what changes); this module frames it and renders the
states without a plan: which YAML lines are wrong, why planning failed, and where the artifacts
are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lagoform.errors import Problem
from lagoform.review.digest import Outcome, unestimated_line, verdict

__all__ = [
    "PLAN_BUDGET_CHARS",
    "Outcome",
    "document",
    "escape_text",
    "failed_plan",
    "fit",
    "footer",
    "invalid",
    "problems_section",
]

# Leaves room in a 65,536-char GitHub body for the framing around the engine's markdown.
PLAN_BUDGET_CHARS = 60_000


def escape_text(text: str) -> str:
    """Text from YAML or Lago shown in markdown: no HTML (an ``<!--`` would hide the rest)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def invalid(
    problems: list[Problem],
    *,
    target: str,
    link: Callable[[Problem], str | None],
    next_steps: str = "",
    tail: str = "",
) -> str:
    """Invalid YAML: the verdict first, then that no bill was estimated, then every problem."""
    files = list(dict.fromkeys(p.file for p in problems if p.file))
    return document(
        verdict("invalid", target=target, problems=len(problems), files=files),
        unestimated_line("the configuration must be valid first."),
        problems_section(problems, link),
        next_steps,
        tail,
    )


def failed_plan(message: str, *, target: str, next_steps: str = "", tail: str = "") -> str:
    """A plan lagoform could not build: the verdict, no estimate, what lagoform said."""
    return document(
        verdict("error", target=target),
        unestimated_line("there is no plan."),
        f"```text\n{escape_text(message)}\n```",
        next_steps,
        tail,
    )


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
