"""`lagoform plan`, `lagoform show` and `lagoform import`: parse, call the engine, print.
(`lagoform apply` is ``cli.apply``; both build plans with ``build`` here.)

Every run prints its target first. The catalog is validated before any call to Lago (a
``CatalogError`` lists every problem and nothing is sent). Exit codes are mapped in one place
(the root group): 0 ok / no changes, 2 changes pending with ``--detailed-exitcode``, 1 error.
Reads of Lago that take a while show progress on a terminal (``console``).

``plan`` also prices live usage under the current and the proposed pricing (the revenue
section, ``lagoform.impact``) when it changes pricing a live subscription bills on, or when
asked with ``--impact``; a failed estimate says so and never fails the plan. ``apply`` never
shows it, and computes it only for a pricing policy that reads it (``policies.yaml``).

Both build plans carrying the findings of ``policies.yaml`` (``lagoform.policies``): ``plan``
shows them next to the verdict, ``apply`` refuses the open error ones. ``--approval KIND=REF``
(or ``LAGOFORM_APPROVALS``) gives an approval a policy asks for.

``plan`` shows the override records apply would write (the finance trail, before merge). It
also settles the calls the audit log holds without a known outcome by reading Lago
(``cli.unsettled``), reports them every time, and blocks changes to an object whose call cannot
be settled. ``show PLANFILE`` renders a saved plan again, as ``plan`` printed it, without
reading Lago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lagoform.cli.console import console
from lagoform.cli.target import Target, resolve_target, target_options
from lagoform.errors import ChangesPending

ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding catalog/, overrides/ and lagoform.yaml.",
)


FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a pull-request comment, json for programs.",
)


APPROVAL = click.option(
    "--approval",
    "approval",
    multiple=True,
    metavar="KIND=REF",
    help="An approval policies.yaml asks for, given (finance=FIN-123; repeatable; also "
    "LAGOFORM_APPROVALS, comma-separated): lets through the policy findings it covers.",
)


def approvals_given(option: tuple[str, ...]) -> dict[str, str]:
    """``--approval`` values and ``LAGOFORM_APPROVALS``: approval kind -> reference."""
    import os

    from lagoform.policies import parse_approvals

    return parse_approvals([os.environ.get("LAGOFORM_APPROVALS", ""), *option])


def announce(target: Target, *, stdout: bool = True) -> None:
    """Every run says what it targets: first on stdout (``stdout=False``: on stderr, so stdout
    stays parseable); not with --quiet."""
    if not console().quiet:
        click.echo(target.describe(), err=not stdout)


def target_label(target: Target) -> str:
    return target.describe().removeprefix("target: ")


@dataclass
class Built:
    review: Any  # lagoform.review.Review: the plan with what its reviewers read
    project: Any
    desired: Any
    live: Any
    facts: dict[str, Any]


def build(
    target: Target,
    root: Path,
    *,
    impact: bool | None = False,
    past_periods: int = 0,
    approvals: dict[str, str] | None = None,
) -> Built:
    """Validate the catalog (no API call on failure), read Lago, build the plan and its
    review: the override audit records its apply would write and, per ``impact`` (None: when
    the plan changes pricing a live subscription bills on), the revenue section. The plan
    carries the findings of policies.yaml's rules (``approvals``: those given, kind -> ref);
    rules reading the revenue impact have it priced even when ``impact`` is False."""
    from lagoform.audit.project_facts import override_facts
    from lagoform.catalog import load_project
    from lagoform.catalog.policies_file import load_policies
    from lagoform.engine.desired import from_project
    from lagoform.engine.live import fetch_live
    from lagoform.engine.plan import build_plan, hints_for
    from lagoform.engine.scheduled import plan_schedule
    from lagoform.engine.target_day import day_at
    from lagoform.engine.versions import resolve as resolve_versions
    from lagoform.impact.fetch import UsageReads
    from lagoform.policies import check_plan, needs_impact, with_findings
    from lagoform.review import build_review, revenue_section
    from lagoform.review.build import customer_names
    from lagoform.review.migrations import migration_steps

    project = load_project(root)
    policies = load_policies(root, project)
    for warning in project.warnings:  # valid, but likely a mistake (as `validate` says them)
        click.echo(str(warning), err=True)
    desired = from_project(project)
    label = target_label(target)
    with console().progress(f"Reading Lago ({label})"):
        client = target.client()
        live = fetch_live(client, hints_for(desired))
    # scheduled prices: those due by the target's clock are in force, the others shown ahead
    today = day_at(live.now)  # Lago's day (the live read's Date): scheduled prices, notice
    timed = plan_schedule(project, desired, live, today, customer_names(desired, live))
    project = timed.project
    resolution = resolve_versions(timed.desired, live)  # versioned plans: who is on which
    desired = resolution.desired
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = build_plan(desired, live, target=label, created_at=created)
    plan = with_findings(plan, timed.findings)  # too short a notice on a scheduled price
    facts = override_facts(project, desired, live)
    reads = UsageReads()  # each subscription's usage read once, for revenue and migrations
    with console().progress("Pricing usage under the current and the proposed prices"):
        revenue = revenue_section(
            plan,
            desired,
            live,
            target.async_client,
            enabled=None if impact is False and needs_impact(policies) else impact,
            past_periods=past_periods,
            premium=target.environment.premium,
            reads=reads,
        )
    steps = migration_steps(
        resolution,
        live,
        target.async_client,
        premium=target.environment.premium,
        priced=impact is not False,
        reads=reads,
    )
    if policies is not None:
        found = check_plan(
            policies,
            project,
            desired,
            plan,
            live,
            revenue,
            today=today,
            approvals=approvals,
            schedule=timed.schedule,
        )
        plan = with_findings(plan, found)
        revenue = revenue if impact is not False else None  # priced for the rules only
    review = build_review(
        plan,
        facts=facts,
        revenue=revenue,
        desired=desired,
        live=live,
        project=project,
        migrations=steps,
    ).model_copy(update={"scheduled": timed.schedule})
    return Built(review, project, desired, live, facts)


@click.command("plan")
@target_options
@ROOT
@FORMAT
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also save the plan (JSON, with its review) here, for `lagoform apply PLANFILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes (0: none, 1: error).",
)
@click.option(
    "--impact/--no-impact",
    default=None,
    help="Price live usage under the current and the proposed pricing (the revenue section). "
    "Default: when the plan changes a plan or subscription that exists.",
)
@click.option(
    "--past-periods",
    type=click.IntRange(0, 24),
    default=0,
    show_default=True,
    help="Revenue section: also price the last N closed billing periods.",
)
@APPROVAL
def plan_command(
    env: str | None,
    api_url: str | None,
    root: Path,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    impact: bool | None,
    past_periods: int,
    approval: tuple[str, ...],
) -> None:
    """Show what apply would change in Lago to match catalog/ and overrides/."""
    from lagoform.cli import unsettled
    from lagoform.engine.settle import block_unresolved
    from lagoform.review import render_json

    approvals = approvals_given(approval)
    with resolve_target(env, api_url, root) as target:
        # text goes to a person: the target leads stdout; other formats keep stdout parseable
        announce(target, stdout=fmt == "text")
        review = build(
            target, root, impact=impact, past_periods=past_periods, approvals=approvals
        ).review
        settling = unsettled.settle_log(log_path(target, root), target.client(), strict=False)
        review = review.model_copy(
            update={"plan": block_unresolved(review.plan, settling.verdicts)}
        )
        unsettled.report(settling, recorded=False)
    plan = review.plan
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_json(review))
    click.echo(_rendered(review, fmt), nl=False)
    if out is not None:
        console().info(f"Saved plan {plan.plan_id} to {out}.")
    if detailed_exitcode and plan.has_changes:
        raise ChangesPending(len(plan.pending()))


def log_path(target: Target, root: Path) -> Path | None:
    """This environment's JSON Lines audit log (None: lagoform.yaml configures none)."""
    from lagoform.audit.configured import log_path as configured_log
    from lagoform.config import load_config

    return configured_log(load_config(root), root=root, environment=target.name)


def _rendered(review: Any, fmt: str) -> str:
    from lagoform.review import render_json, render_markdown, render_text

    if fmt == "json":
        return render_json(review)
    if fmt == "markdown":
        return render_markdown(review)
    return render_text(review, color=console().color())


@click.command("show")
@click.argument("planfile", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@FORMAT
def show_command(planfile: Path, fmt: str) -> None:
    """Show a saved plan (`lagoform plan --out FILE`) again, without reading Lago."""
    from lagoform.review import Review

    review = Review.loads(planfile.read_bytes())
    plan = review.plan
    made = f", made {plan.created_at}" if plan.created_at else ""
    console().info(f"Saved plan {plan.plan_id} for {plan.target or 'an unnamed target'}{made}.")
    click.echo(_rendered(review, fmt), nl=False)


@click.command("import")
@target_options
@ROOT
@click.option(
    "--force",
    is_flag=True,
    help="Discard the existing catalog/ and overrides/ YAML and write it afresh (without it, "
    "an existing project is updated in place, keeping what Lago cannot hold).",
)
def import_command(env: str | None, api_url: str | None, root: Path, force: bool) -> None:
    """Write catalog/ and overrides/ from a live Lago (the next plan is then empty)."""
    from lagoform.engine.importer import import_project

    with resolve_target(env, api_url, root) as target:
        announce(target)
        with console().progress(f"Reading Lago ({target_label(target)})"):
            result = import_project(target.client(), root, force=force)
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in result.counts.items())
    click.echo(f"Imported {counts} into {len(result.files)} file(s).")
    for note in result.notes:
        click.echo(f"  {note}")
    for path in result.files:
        click.echo(f"  wrote {path}")
    for path in result.removed:
        click.echo(f"  removed {path}")
    if result.kept:
        click.echo(f"  kept {len(result.kept)} file(s) as they were")
    for skipped in result.skipped:
        click.echo(f"  skipped {skipped}")
    click.echo("Next: `lagoform plan` should show no changes.")
