"""Mode ``pr``: validate, plan, and report on a pull request.

Outcome (the check's colour): failure on invalid YAML (including overrides without a reason or
approval reference: the catalog's validation says so on the line), on a plan that cannot be
built, or on blocked changes; success otherwise, with a "changes pending" note when the merge
would change Lago. The report goes to one sticky PR comment per environment (edited on every
push), to the job summary, and to plan.json/plan.md, whose paths are step outputs. After the
one-line verdict, the report leads with the revenue section (who pays how much more or less),
then the tenants whose negotiated prices change, then the plan.
"""

from __future__ import annotations

from collections.abc import Callable

import github_action_toolkit as gat

from lagoform.errors import EXIT_ERROR, EXIT_OK, Problem
from lagoform.github import report, steps
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


def run(ctx: RunnerContext, settings: Settings) -> int:
    problems = steps.validate(ctx, settings)
    planned: steps.PlanOutcome | None = None
    if problems:
        outcome: report.Outcome = "invalid"
    else:
        planned = steps.plan(ctx, settings)
        outcome = _outcome(planned)

    comment_plan = summary_plan = None
    if planned is not None and planned.review is not None:
        comment_plan = steps.comment_markdown(planned.review, ctx, settings)
        # the summary holds 1 MiB: the whole plan
        summary_plan = steps.plan_markdown(planned.review, ctx, settings)
    write_summary(_body(ctx, settings, outcome, problems, planned, summary_plan))
    body = _body(ctx, settings, outcome, problems, planned, comment_plan)
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
    if planned.plan.blocked():
        return "blocked"
    return "changes-pending" if planned.plan.has_changes else "no-changes"


def _body(
    ctx: RunnerContext,
    settings: Settings,
    outcome: report.Outcome,
    problems: list[Problem],
    planned: steps.PlanOutcome | None,
    plan_markdown: steps.PlanMarkdown | None,
) -> str:
    label = f"`{report.escape_text(settings.target.label)}`"
    if planned is None or planned.plan is None:
        sections = [f"### lagoform plan — {label}", report.headline(outcome)]
    else:  # the engine's markdown below brings its own heading
        sections = [f"**lagoform** · {label} · {report.headline(outcome)}"]
    if problems:
        sections.append(report.problems_section(problems, _line_link(ctx, settings)))
    if planned is not None and planned.plan is None:
        error = report.escape_text(planned.completed.message())
        sections.append(f"```text\n{error}\n```")
    if planned is not None and planned.plan is not None and plan_markdown is not None:
        tenants = report.negotiated_price_changes(planned.plan)
        sections.append(plan_markdown.revenue)
        sections.append(report.tenants_section(tenants))
        sections.append(plan_markdown.plan)
    sections.append(
        report.footer(
            sha=ctx.head_sha(),
            run_url=ctx.run_url,
            artifacts=planned is not None and planned.plan is not None,
        )
    )
    return report.document(*sections)


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
