"""The two steps every mode starts with: validate the YAML, then plan against the target.

Validation annotates each problem on its YAML line. Planning runs ``lagoform plan`` once
(``--format text`` for the log, ``--out plan.json``: one read of Lago), loads the saved review
and renders its markdown with ``lagoform.review``, so plan.json, plan.md, the comment and the
summary all describe the same plan, led by the verdict and the money line. Apply mode plans
without the revenue section (it would read usage for nothing).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import github_action_toolkit as gat

from lagoform.engine.plan import Plan
from lagoform.errors import EXIT_CHANGES, EXIT_OK, LagoformError, Problem
from lagoform.github import report
from lagoform.github.commands import Completed, run_lagoform
from lagoform.github.runner import RunnerContext, annotate_error, annotate_problem, log_group
from lagoform.github.settings import Settings
from lagoform.review import Review, render_markdown
from lagoform.validation import validate_project


def validate(ctx: RunnerContext, settings: Settings) -> list[Problem]:
    """Every problem in the project's YAML, each annotated; empty when valid."""
    with log_group("lagoform validate"):
        try:
            problems = validate_project(settings.project_root)
        except LagoformError as err:  # e.g. lagoform.yaml unreadable: one problem, no line
            problems = [Problem(message=settings.scrub(str(err)))]
        for problem in problems:
            annotate_problem(problem, ctx, settings.project_root)
        count = len(problems)
        gat.info(f"{count} problem{'s' if count != 1 else ''} found" if count else "valid")
    return problems


@dataclass(frozen=True)
class PlanOutcome:
    completed: Completed
    review: Review | None = None
    json_path: Path | None = None
    markdown_path: Path | None = None
    markdown: str = ""

    @property
    def plan(self) -> Plan | None:
        return self.review.plan if self.review is not None else None


def plan(
    ctx: RunnerContext, settings: Settings, *, name: str = "plan", impact: bool = True
) -> PlanOutcome:
    """Run ``lagoform plan`` against the target and write ``<name>.json`` / ``<name>.md``.
    ``impact=False`` plans without the revenue section (``--no-impact``); otherwise lagoform
    decides (it prices usage when the plan changes pricing a live subscription bills on)."""
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    json_path = settings.output_dir / f"{name}.json"
    json_path.unlink(missing_ok=True)  # never report a stale plan from an earlier run
    args = [
        "plan",
        *settings.target.args(),
        "--format",
        "text",  # for the log; the JSON goes to --out
        "--out",
        str(json_path),
        "--detailed-exitcode",
        *(
            ["--past-periods", str(settings.past_periods)]
            if impact and settings.past_periods
            else []
        ),
        *([] if impact else ["--no-impact"]),
    ]
    with log_group(f"lagoform plan ({settings.target.label})"):
        completed = run_lagoform(args, cwd=settings.project_root, scrub=settings.scrub)
        for stream in (completed.stdout, completed.stderr):
            if stream.strip():
                gat.info(stream.rstrip())
    if completed.exit_code not in (EXIT_OK, EXIT_CHANGES) or not json_path.is_file():
        annotate_error(f"lagoform plan failed:\n{completed.message()}")
        return PlanOutcome(completed)
    try:
        loaded = Review.loads(json_path.read_bytes())
    except LagoformError as err:
        annotate_error(f"cannot read the plan lagoform wrote: {err}")
        return PlanOutcome(completed)
    markdown = settings.scrub(
        render_markdown(loaded, target=settings.target.label, limit=sys.maxsize)
    )
    markdown_path = settings.output_dir / f"{name}.md"
    markdown_path.write_text(markdown, encoding="utf-8")
    return PlanOutcome(completed, loaded, json_path, markdown_path, markdown)


def review_markdown(
    review: Review,
    ctx: RunnerContext,
    settings: Settings,
    *,
    when: str,
    next_steps: str = "",
    limit: int | None = None,
) -> str:
    """The review as people read it on GitHub, scrubbed; within ``limit`` characters (the
    per-change details are dropped from the end, pointing at the run's plan.md), or whole."""
    where = f"the plan.md artifact of [this run]({ctx.run_url})" if ctx.run_url else "plan.md"
    text = render_markdown(
        review,
        target=settings.target.label,
        when=when,
        next_steps=next_steps,
        full_plan=where,
        limit=sys.maxsize if limit is None else limit,
    )
    text = settings.scrub(text)
    return text if limit is None else report.fit(text, limit)
