"""Mode ``pr``: validate, plan, and report on a pull request.

Outcome (the check's colour): failure on invalid YAML (including overrides without a reason or
approval reference: the catalog's validation says so on the line), on a plan that cannot be
built, or on blocked changes; success otherwise, with a "changes pending" note when the merge
would change Lago. The report goes to one sticky PR comment per environment (edited on every
push), to the job summary, and to plan.json/plan.md, whose paths are step outputs. In every
state it starts with the verdict, then the money line (``lagoform.review``): then the movers
by name, what changes, "What happens next" (``next_steps``: where it applies on merge, who
must approve, how to re-plan), and the long parts collapsed.
"""

from __future__ import annotations

from collections.abc import Callable

import github_action_toolkit as gat

from lagoform.errors import EXIT_ERROR, EXIT_OK, Problem
from lagoform.github import next_steps, report, steps
from lagoform.github.rest import GitHubApiError, GitHubClient
from lagoform.github.runner import (
    RunnerContext,
    annotate_notice,
    annotate_warning,
    set_output,
    write_summary,
)
from lagoform.github.settings import Settings
from lagoform.github.sticky import plan_marker, upsert_comment

WHEN = "applied when this pull request is merged"
# What merging does when it applies nothing.
HELD: dict[report.Outcome, str] = {
    "invalid": "nothing is applied: the apply workflow validates first and stops.",
    "error": "the apply workflow plans again, and fails the same way until the cause is fixed.",
    "blocked": "nothing is applied until the blocked changes are fixed.",
    "no-changes": "nothing to apply: Lago already matches.",
}


def run(ctx: RunnerContext, settings: Settings) -> int:
    problems = steps.validate(ctx, settings)
    planned: steps.PlanOutcome | None = None
    if problems:
        outcome: report.Outcome = "invalid"
    else:
        planned = steps.plan(ctx, settings)
        outcome = _outcome(planned)

    plan = planned.plan if planned is not None else None
    held = HELD.get(outcome)
    if outcome == "blocked" and plan is not None and not plan.blocked():
        # only findings hold it (a price nobody asked for, a broken pricing policy)
        held = "nothing is applied until the findings are fixed, approved or acknowledged."
    after = next_steps.render(next_steps.gather(ctx, settings, held=held, plan=plan))
    write_summary(report_body(ctx, settings, problems, planned, after, limit=None))
    body = report_body(ctx, settings, problems, planned, after, limit=report.PLAN_BUDGET_CHARS)
    set_output("outcome", outcome)
    set_output("has-changes", "true" if outcome in ("changes-pending", "blocked") else "false")
    if planned is not None and planned.json_path and planned.markdown_path:
        set_output("plan-json", str(planned.json_path))
        set_output("plan-markdown", str(planned.markdown_path))
    _comment(ctx, settings, body)

    if outcome == "changes-pending":
        annotate_notice(f"lagoform: changes pending for {settings.target.label}; see the plan")
    return EXIT_OK if outcome in ("changes-pending", "no-changes") else EXIT_ERROR


def _outcome(planned: steps.PlanOutcome) -> report.Outcome:
    if planned.plan is None:
        return "error"
    if planned.plan.blocked() or planned.plan.open_findings():
        return "blocked"
    return "changes-pending" if planned.plan.has_changes else "no-changes"


def report_body(
    ctx: RunnerContext,
    settings: Settings,
    problems: list[Problem],
    planned: steps.PlanOutcome | None,
    after: str,
    *,
    limit: int | None,
) -> str:
    """The comment (``limit``: its plan part trimmed to fit) or the job summary (whole)."""
    target = settings.target.label
    tail = report.footer(
        sha=ctx.head_sha(),
        run_url=ctx.run_url,
        artifacts=planned is not None and planned.plan is not None,
    )
    if problems:
        return report.invalid(
            problems, target=target, link=_line_link(ctx, settings), next_steps=after, tail=tail
        )
    if planned is None or planned.review is None:
        message = planned.completed.message() if planned is not None else "no plan"
        return report.failed_plan(message, target=target, next_steps=after, tail=tail)
    text = steps.review_markdown(
        planned.review, ctx, settings, when=WHEN, next_steps=after, limit=limit
    )
    return report.document(text, tail)


def _line_link(ctx: RunnerContext, settings: Settings) -> Callable[[Problem], str | None]:
    sha = ctx.head_sha()

    def link(problem: Problem) -> str | None:
        if not (sha and ctx.repository and problem.file):
            return None
        path = settings.project_root / problem.file
        anchor = f"#L{problem.line}" if problem.line else ""
        rel = ctx.relative_to_workspace(path)
        return f"{ctx.server_url}/{ctx.repository}/blob/{sha}/{rel}{anchor}"

    return link


def _comment(ctx: RunnerContext, settings: Settings, body: str) -> None:
    number = ctx.pull_request_number()
    if not settings.comment or number is None:
        return
    marker = plan_marker(settings.target.label)
    try:
        with GitHubClient(ctx.api_url, ctx.repository, ctx.token) as client:
            result = upsert_comment(client, number, marker, body)
    except GitHubApiError as err:
        # A fork's read-only token cannot comment; the summary still has the whole report.
        annotate_warning(f"could not post the plan comment: {settings.scrub(str(err))}")
        return
    gat.info(f"plan comment {result.action}: {result.url}")
    set_output("comment-url", result.url)
