"""Mode ``drift``: is Lago still what the main branch says? Keep one issue open while it is not.

``lagoform plan --detailed-exitcode`` against the target: changes pending means someone changed
Lago outside the repository (or an apply did not finish). Then the single drift issue (label
plus ``<!-- lagoform-drift:<environment> -->`` marker) is opened or updated with the plan; when
the plan is empty again it is closed with a note. A run that cannot plan fails and leaves the
issue alone: "could not check" is not "no drift".
"""

from __future__ import annotations

import github_action_toolkit as gat

from lagoform.errors import EXIT_ERROR, EXIT_OK
from lagoform.github import report, steps
from lagoform.github.rest import GitHubClient
from lagoform.github.runner import (
    RunnerContext,
    annotate_warning,
    set_output,
    write_summary,
)
from lagoform.github.settings import Settings
from lagoform.github.sticky import drift_marker, sync_drift_issue

# Drift is Lago moving away from the default branch: what brings them together again.
WHEN = (
    "Lago no longer matches the default branch: re-run the apply workflow to restore it, or "
    "bring the change into the YAML with a pull request"
)


def run(ctx: RunnerContext, settings: Settings) -> int:
    label = settings.target.label
    problems = steps.validate(ctx, settings)
    if problems:
        write_summary(
            report.document(
                f"### lagoform drift check — `{report.escape_text(label)}`",
                "❌ **Invalid configuration on this branch** — drift was not checked.",
                report.problems_section(problems, lambda _: None),
            )
        )
        set_output("outcome", "invalid")
        return EXIT_ERROR

    planned = steps.plan(ctx, settings, name="drift")
    if planned.review is None or planned.json_path is None or planned.markdown_path is None:
        write_summary(
            report.document(
                f"### lagoform drift check — `{report.escape_text(label)}`",
                "❌ **Plan failed** — drift was not checked; the drift issue was left as is.",
                f"```text\n{report.escape_text(planned.completed.message())}\n```",
            )
        )
        set_output("outcome", "error")
        return EXIT_ERROR
    set_output("plan-json", str(planned.json_path))
    set_output("plan-markdown", str(planned.markdown_path))

    drifted = planned.review.plan.has_changes
    title = f"lagoform: {label} has drifted from the repository"
    footer = report.footer(sha=ctx.sha, run_url=ctx.run_url, artifacts=True)
    body = (
        report.document(
            steps.review_markdown(
                planned.review,
                ctx,
                settings,
                when=WHEN,
                limit=report.PLAN_BUDGET_CHARS,
            ),
            footer,
        )
        if drifted
        else None
    )
    closing_note = report.document(
        f"✅ No drift any more: Lago (`{report.escape_text(label)}`) matches the repository.",
        footer,
    )
    with GitHubClient(ctx.api_url, ctx.repository, ctx.token) as client:
        result = sync_drift_issue(
            client,
            drift_marker(label),
            title=title,
            body=body,
            closing_note=closing_note,
            label=settings.drift_label,
        )
    gat.info(f"drift issue: {result.action} {result.url or ''}".rstrip())
    if result.url:
        set_output("issue-url", result.url)
    set_output("outcome", "drift" if drifted else "no-drift")

    headline = (
        f"⚠️ **Drift** — Lago differs from the repository; issue {result.action}: {result.url}"
        if drifted
        else "✅ **No drift** — Lago matches the repository."
    )
    write_summary(
        report.document(
            f"### lagoform drift check — `{report.escape_text(label)}`",
            headline,
            planned.markdown if drifted else "",
        )
    )
    if drifted:
        annotate_warning(f"lagoform: {label} has drifted; see {result.url}")
    return EXIT_OK
