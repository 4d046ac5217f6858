"""`lagoform apply [PLANFILE]`: make Lago match, as Terraform's apply does.

- ``apply PLANFILE`` applies the reviewed plan without asking (it was reviewed); a plan that
  went stale is refused first, naming what moved down to the field
  (``subscription hooli-main: plan.charges.tokens.filters[model=gpt-5, type=input]…amount
  0.000001 → 0.0000009``), before anything else is printed.
- ``apply`` alone plans, shows the plan and asks, unless ``--auto-approve``.
- Each change prints one line when it is done; on a terminal a status line shows which change
  runs and the elapsed time. The run ends with the audit log's head (the hash to pin:
  ``lagoform audit verify --expect-head``) and Terraform's summary: ``Apply complete: 2
  created, 1 updated, 0 deleted, 0 blocked``.

The audit wiring lives here: apply gives the trail the override facts of every subscription
with overrides (base plan, override values, the values Lago holds now, reason, approval). It
opens (and checks) the trail before it asks for confirmation, settles the calls the log holds
without a known outcome by reading Lago (``cli.unsettled``), records the settlements, and
blocks changes to an object whose call cannot be settled.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lagoform.cli.console import Ticker, console
from lagoform.cli.plan import APPROVAL, ROOT, announce, approvals_given, build, target_label
from lagoform.cli.target import Target, resolve_target, target_options
from lagoform.errors import PlanError, StalePlanError

if TYPE_CHECKING:
    from lagoform.engine.apply import ApplyStep

_DONE = {"create": "created", "update": "updated", "delete": "deleted"}
_SYMBOL = {"create": "+", "update": "~", "delete": "-"}


@click.command("apply")
@click.argument(
    "planfile", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@target_options
@ROOT
@click.option(
    "--auto-approve", is_flag=True, help="Do not ask (a saved PLANFILE is never asked about)."
)
@click.option("--actor", default=None, help="Who applies (audit records); default: detected.")
@click.option(
    "--confirm-delete-plan",
    "confirm_delete_plan",
    multiple=True,
    metavar="CODE",
    help="Allow deleting this plan although it has subscriptions (repeatable).",
)
@click.option(
    "--acknowledge",
    "acknowledge",
    multiple=True,
    metavar="ID",
    help="Accept a finding of the plan (its id) and apply anyway (repeatable).",
)
@APPROVAL
def apply_command(
    planfile: Path | None,
    env: str | None,
    api_url: str | None,
    root: Path,
    auto_approve: bool,
    actor: str | None,
    confirm_delete_plan: tuple[str, ...],
    acknowledge: tuple[str, ...],
    approval: tuple[str, ...],
) -> None:
    """Make Lago match the catalog (or exactly a saved PLANFILE, without asking)."""
    from lagoform.cli import unsettled
    from lagoform.engine.apply import check_applicable
    from lagoform.engine.live import fetch_live
    from lagoform.engine.settle import block_unresolved
    from lagoform.engine.stale import stale_objects
    from lagoform.review import Review, render_text

    approvals = approvals_given(approval)
    with resolve_target(env, api_url, root) as target:
        client = target.client()
        label = target_label(target)
        if planfile is not None:
            review = Review.loads(planfile.read_bytes())
            plan = review.plan
            if plan.target != label:
                raise PlanError(f"{planfile} was made for {plan.target!r}, not for {label!r}")
            with console().progress(f"Reading Lago ({label})"):
                live = fetch_live(client, plan.reads)
            # before anything else: what moved since the plan was reviewed, field by field
            moved = stale_objects(plan, live, review.live_seen or None)
            if moved:
                raise StalePlanError(moved, target=label)
            announce(target)
            day = review.scheduled.today if review.scheduled is not None else None
            facts = _saved_plan_facts(root, plan, live, day)
        else:
            announce(target)
            built = build(target, root, approvals=approvals)
            review, facts = built.review, built.facts
            plan = review.plan
        # the trail first: a sink that cannot write or a chain that does not verify stops
        # apply here, before the plan is confirmed and before anything is sent
        with _trail(target, root, plan, actor, facts) as trail:
            settling = unsettled.settle_log(trail.log_path, client, strict=True)
            plan = block_unresolved(plan, settling.verdicts)
            review = review.model_copy(update={"plan": plan})
            if planfile is None:
                # the revenue section is for reviewers: apply never shows it (it prices usage
                # only for a pricing policy that needs it)
                text = render_text(review, color=console().color(), revenue=False)
                click.echo(text, nl=False)
            elif not console().quiet:
                made = f", made {plan.created_at}" if plan.created_at else ""
                click.echo(f"Applying saved plan {plan.plan_id}{made}: {_counted(plan)}.")
            unsettled.report(settling, recorded=True)
            unsettled.record(settling, trail)
            if not plan.has_changes:
                click.echo("Nothing to apply.")
                _head(trail)
                return
            # an approval given now lets through the policy findings of its kind (a saved
            # plan's were decided when it was made)
            acknowledge += tuple(f.id for f in plan.findings if f.approval in approvals)
            check_applicable(plan, confirm_delete_plan, acknowledge)
            if planfile is None:  # a saved plan was reviewed already: applied as it is
                _confirm(target, auto_approve)
            _apply(target, root, review, trail, confirm_delete_plan, acknowledge)


def _apply(
    target: Target,
    root: Path,
    review: Any,
    trail: Any,
    confirm_delete_plan: tuple[str, ...],
    acknowledge: tuple[str, ...] = (),
) -> None:
    from lagoform.engine.apply import apply_plan
    from lagoform.engine.lockfile import apply_lock

    started = time.monotonic()
    with (
        apply_lock(root, target.name),
        console().progress(f"Applying to {target_label(target)}") as ticker,
    ):
        try:
            report = apply_plan(
                review.plan,
                target.client(),
                audit=trail,
                confirm_delete_plans=confirm_delete_plan,
                progress=ApplyProgress(ticker, quiet=console().quiet),
                seen=review.live_seen or None,
                acknowledged=acknowledge,
            )
        finally:
            ticker.clear()  # the status line goes before the head is printed
            _head(trail)
    click.secho(summary(report.counts(), time.monotonic() - started), fg="green")


def _head(trail: Any) -> None:
    """The log's last hash after this run: keep it somewhere else to pin the log."""
    if trail.log_path is None or trail.written == 0:
        return
    click.echo(
        f"Audit log {trail.log_path}: head {trail.head} "
        f"(pin it: lagoform audit verify --expect-head {trail.head})",
        err=True,
    )


def summary(counts: dict[str, int], elapsed: float, blocked: int = 0) -> str:
    """Terraform's closing line: ``Apply complete: 2 created, 1 updated, 0 deleted, 0 blocked
    (3.2 s).`` (apply refuses a plan holding blocked changes, so a complete one has none)."""
    return (
        f"Apply complete: {counts.get('create', 0)} created, {counts.get('update', 0)} updated, "
        f"{counts.get('delete', 0)} deleted, {blocked} blocked ({elapsed:.1f} s)."
    )


def _counted(plan: Any) -> str:
    counts: dict[str, int] = {}
    for change in plan.pending():
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{n} to {a}" for a, n in counts.items()) or "no changes"


class ApplyProgress:
    """The engine's progress callback, printed: a permanent line per change done (or failed),
    and the terminal's status line naming the change running; past ten changes both say how
    long the rest should take (``ApplyStep.eta``: a paced apply of 1,000 plans takes minutes)."""

    def __init__(self, ticker: Ticker, *, quiet: bool = False) -> None:
        self.ticker = ticker
        self.quiet = quiet
        self.began = time.monotonic()

    def __call__(self, step: ApplyStep) -> None:
        change, index, total = step.change, step.index, step.total
        what = f"{change.kind.replace('_', ' ')} {change.key}"
        left = f", ~{_duration(step.eta)} left" if step.eta is not None and total >= 10 else ""
        if step.status == "start":
            self.began = time.monotonic()
            self.ticker.update(f"[{index}/{total}{left}] {change.action} {what}")
            return
        took = time.monotonic() - self.began
        if step.status == "failed":
            self.ticker.echo(f"! {what}: failed after {took:.1f} s", err=True, fg="red")
        elif not self.quiet:
            done = _DONE.get(change.action, change.action)
            symbol = _SYMBOL.get(change.action, "~")
            self.ticker.echo(f"{symbol} {what}: {done} ({took:.1f} s) [{index}/{total}{left}]")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _saved_plan_facts(root: Path, plan: Any, live: Any, day: Any = None) -> dict[str, Any]:
    """Override facts for a saved plan's audit records (with the values Lago holds now), when
    the catalog is still the one the plan was made from; otherwise none (and say so). ``day``:
    the plan's day at the target, when it had scheduled prices (those due then were in it)."""
    from lagoform.audit.project_facts import override_facts
    from lagoform.catalog import load_project
    from lagoform.engine.desired import from_project
    from lagoform.engine.versions import resolve as resolve_versions
    from lagoform.errors import CatalogError

    try:
        project = load_project(root)
    except CatalogError:
        project = None
    if project is not None and day is not None:
        from lagoform.catalog.schedule import as_of

        project = as_of(project, day)
    desired = from_project(project) if project is not None else None
    if desired is not None:  # versioned plans: each subscription on its version, as planned
        desired = resolve_versions(desired, live).desired
    if project is None or desired is None or desired.fingerprint != plan.catalog_fingerprint:
        console().info(
            "note: the catalog under --root is not the one this plan was made from; the plan "
            "is applied as saved, and its audit records carry no override facts."
        )
        return {}
    return override_facts(project, desired, live)


def _confirm(target: Target, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise PlanError("no terminal to confirm on: pass --auto-approve to apply without asking")
    if not click.confirm(f"Apply these changes to {target_label(target)}?", default=False):
        raise PlanError("apply cancelled; nothing was changed")


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
