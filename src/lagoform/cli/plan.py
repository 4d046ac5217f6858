"""`lagoform plan`, `lagoform apply` and `lagoform import`: parse, call the engine, print.

Every run prints its target first. The catalog is validated before any call to Lago (a
``CatalogError`` lists every problem and nothing is sent). Exit codes are mapped in one place
(the root group): 0 ok / no changes, 2 changes pending with ``--detailed-exitcode``, 1 error.

``plan`` also prices live usage under the current and the proposed pricing (the revenue
section, ``lagoform.impact``) when it changes pricing a live subscription bills on, or when
asked with ``--impact``; a failed estimate says so and never fails the plan. ``apply`` neither
computes nor shows it.

The audit wiring lives here: ``plan`` shows the override records apply would write (the
finance trail, before merge); ``apply`` — fresh or from a saved plan — gives the trail the
override facts of every subscription with overrides (base plan, override values, the values
Lago holds now, reason, approval). Both settle the calls the audit log holds without a known
outcome by reading Lago (``cli.unsettled``), report them every time — also when there is
nothing to apply — and block changes to an object whose call cannot be settled; apply records
the settlements. Apply opens (and checks) the audit trail before it asks for confirmation, and
ends by printing the log's head, the hash to pin (``lagoform audit verify --expect-head``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lagoform.cli.target import Target, resolve_target, target_options
from lagoform.errors import ChangesPending, PlanError

_ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding catalog/, overrides/ and lagoform.yaml.",
)


def _target_label(target: Target) -> str:
    return target.describe().removeprefix("target: ")


@dataclass
class Built:
    review: Any  # lagoform.review.Review: the plan with what its reviewers read
    project: Any
    desired: Any
    live: Any
    facts: dict[str, Any]


def _build(
    target: Target, root: Path, *, impact: bool | None = False, past_periods: int = 0
) -> Built:
    """Validate the catalog (no API call on failure), read Lago, build the plan and its
    review: the override audit records its apply would write and, per ``impact`` (None: when
    the plan changes pricing a live subscription bills on), the revenue section."""
    from lagoform.audit.project_facts import override_facts
    from lagoform.catalog import load_project
    from lagoform.engine.desired import from_project
    from lagoform.engine.live import fetch_live
    from lagoform.engine.plan import build_plan, hints_for
    from lagoform.review import build_review, revenue_section

    project = load_project(root)
    desired = from_project(project)
    live = fetch_live(target.client(), hints_for(desired))
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = build_plan(desired, live, target=_target_label(target), created_at=created)
    facts = override_facts(project, desired, live)
    revenue = revenue_section(
        plan,
        desired,
        live,
        target.async_client,
        enabled=impact,
        past_periods=past_periods,
        premium=target.environment.premium,
    )
    return Built(build_review(plan, facts=facts, revenue=revenue), project, desired, live, facts)


def _saved_plan_facts(root: Path, plan: Any, live: Any) -> dict[str, Any]:
    """Override facts for a saved plan's audit records (with the values Lago holds now), when
    the catalog is still the one the plan was made from; otherwise none (and say so)."""
    from lagoform.audit.project_facts import override_facts
    from lagoform.catalog import load_project
    from lagoform.engine.desired import from_project
    from lagoform.errors import CatalogError

    try:
        project = load_project(root)
    except CatalogError:
        project = None
    desired = from_project(project) if project is not None else None
    if project is None or desired is None or desired.fingerprint != plan.catalog_fingerprint:
        click.echo(
            "note: the catalog under --root is not the one this plan was made from; the plan "
            "is applied as saved, and its audit records carry no override facts.",
            err=True,
        )
        return {}
    return override_facts(project, desired, live)


@click.command("plan")
@target_options
@_ROOT
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a pull-request comment, json for programs.",
)
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
def plan_command(
    env: str | None,
    api_url: str | None,
    root: Path,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    impact: bool | None,
    past_periods: int,
) -> None:
    """Show what apply would change in Lago to match catalog/ and overrides/."""
    from lagoform.cli import unsettled
    from lagoform.engine.settle import block_unresolved
    from lagoform.review import render_json, render_markdown, render_text

    with resolve_target(env, api_url, root) as target:
        # text goes to a person: the target leads stdout; other formats keep stdout parseable
        click.echo(target.describe(), err=fmt != "text")
        review = _build(target, root, impact=impact, past_periods=past_periods).review
        settling = unsettled.settle_log(_log_path(target, root), target.client(), strict=False)
        review = review.model_copy(
            update={"plan": block_unresolved(review.plan, settling.verdicts)}
        )
        unsettled.report(settling, recorded=False)
    plan = review.plan
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_json(review))
    if fmt == "json":
        click.echo(render_json(review), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(review), nl=False)
    else:
        click.echo(render_text(review, color=sys.stdout.isatty()), nl=False)
    if out is not None:
        click.echo(f"Saved plan {plan.plan_id} to {out}.", err=True)
    if detailed_exitcode and plan.has_changes:
        raise ChangesPending(len(plan.pending()))


@click.command("apply")
@click.argument(
    "planfile", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@target_options
@_ROOT
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--actor", default=None, help="Who applies (audit records); default: detected.")
@click.option(
    "--confirm-delete-plan",
    "confirm_delete_plan",
    multiple=True,
    metavar="CODE",
    help="Allow deleting this plan although it has subscriptions (repeatable).",
)
def apply_command(
    planfile: Path | None,
    env: str | None,
    api_url: str | None,
    root: Path,
    auto_approve: bool,
    actor: str | None,
    confirm_delete_plan: tuple[str, ...],
) -> None:
    """Make Lago match the catalog (or exactly a saved PLANFILE)."""
    from lagoform.cli import unsettled
    from lagoform.engine.apply import apply_plan, check_applicable
    from lagoform.engine.live import fetch_live
    from lagoform.engine.lockfile import apply_lock
    from lagoform.engine.settle import block_unresolved
    from lagoform.review import Review, render_text

    with resolve_target(env, api_url, root) as target:
        click.echo(target.describe())
        client = target.client()
        if planfile is not None:
            review = Review.loads(planfile.read_bytes())
            plan = review.plan
            if plan.target != _target_label(target):
                raise PlanError(
                    f"{planfile} was made for {plan.target!r}, not for {_target_label(target)!r}"
                )
            # what Lago holds now, for the records' previous override values (apply reads
            # again after the confirmation, to refuse a plan that went stale meanwhile)
            facts = _saved_plan_facts(root, plan, fetch_live(client, plan.reads))
        else:
            built = _build(target, root)
            review, facts = built.review, built.facts
            plan = review.plan
        # the trail first: a sink that cannot write or a chain that does not verify stops
        # apply here, before the plan is confirmed and before anything is sent
        with _trail(target, root, plan, actor, facts) as trail:
            settling = unsettled.settle_log(trail.log_path, client, strict=True)
            plan = block_unresolved(plan, settling.verdicts)
            review = review.model_copy(update={"plan": plan})
            # a saved plan's revenue section is what usage looked like then: apply ignores it
            click.echo(render_text(review, color=sys.stdout.isatty(), revenue=False), nl=False)
            unsettled.report(settling, recorded=True)
            unsettled.record(settling, trail)
            if not plan.has_changes:
                click.echo("Nothing to apply.")
                _head(trail)
                return
            check_applicable(plan, confirm_delete_plan)
            _confirm(target, auto_approve)
            with apply_lock(root, target.name):
                try:
                    report = apply_plan(
                        plan,
                        client,
                        audit=trail,
                        confirm_delete_plans=confirm_delete_plan,
                        progress=_progress,
                    )
                finally:
                    _head(trail)
        click.echo(report.summary())
        click.secho(f"Apply complete: {len(report.applied)} change(s).", fg="green")


def _log_path(target: Target, root: Path) -> Path | None:
    from lagoform.audit.configured import log_path
    from lagoform.config import load_config

    return log_path(load_config(root), root=root, environment=target.name)


def _head(trail: Any) -> None:
    """The log's last hash after this run: keep it somewhere else to pin the log."""
    if trail.log_path is None or trail.written == 0:
        return
    click.echo(
        f"Audit log {trail.log_path}: head {trail.head} "
        f"(pin it: lagoform audit verify --expect-head {trail.head})",
        err=True,
    )


def _confirm(target: Target, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise PlanError("no terminal to confirm on: pass --auto-approve to apply without asking")
    if not click.confirm(f"Apply these changes to {_target_label(target)}?", default=False):
        raise PlanError("apply cancelled; nothing was changed")


def _progress(index: int, total: int, change: Any, status: str) -> None:
    if status == "start":
        click.echo(f"[{index}/{total}] {change.action} {change.kind} {change.key} ...", err=True)
    elif status == "failed":
        click.secho(f"[{index}/{total}] {change.kind} {change.key}: failed", fg="red", err=True)


def _trail(target: Target, root: Path, plan: Any, actor: str | None, facts: dict[str, Any]) -> Any:
    from lagoform.audit.configured import open_trail
    from lagoform.config import load_config

    return open_trail(
        load_config(root),
        root=root,
        environment=target.name,
        api_url=target.api_url or "sandbox",
        plan_id=plan.plan_id,
        actor=actor,
        env=os.environ,
        api_key=target._key,  # only so the trail can scrub it from records
        overrides=facts,
    )


@click.command("import")
@target_options
@_ROOT
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
        click.echo(target.describe())
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
