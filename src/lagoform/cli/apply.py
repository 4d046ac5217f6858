"""`lagoform apply [PLANFILE]`: make Lago match, as Terraform's apply does.

- ``apply PLANFILE`` applies the reviewed plan without asking (it was reviewed); a plan that
  went stale is refused first, naming what moved down to the field
  (``subscription hooli-main: plan.charges.tokens.filters[model=gpt-5, type=input]…amount
  0.000001 → 0.0000009``), before anything else is printed.
- ``apply`` alone plans, shows the plan and asks, unless ``--auto-approve``.
- Each change prints one line when it is done; on a terminal a status line shows which change
  runs and the elapsed time. The run ends with Terraform's summary: ``Apply complete: 2
  created, 1 updated, 0 deleted, 0 blocked``, and where the audit records are.

The audit wiring lives here: apply gives the trail the override facts of every subscription
with overrides (base plan, override values, the values Lago holds now, reason, approval), and
first reports intents the audit log holds without an outcome (a previous apply stopped between
a call and its record).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from lagoform.audit.record import short_hash
from lagoform.cli.console import Ticker, console
from lagoform.cli.plan import ROOT, announce, build, target_label
from lagoform.cli.target import Target, resolve_target, target_options
from lagoform.errors import PlanError, StalePlanError

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
def apply_command(
    planfile: Path | None,
    env: str | None,
    api_url: str | None,
    root: Path,
    auto_approve: bool,
    actor: str | None,
    confirm_delete_plan: tuple[str, ...],
) -> None:
    """Make Lago match the catalog (or exactly a saved PLANFILE, without asking)."""
    from lagoform.engine.apply import check_applicable
    from lagoform.engine.live import fetch_live
    from lagoform.engine.stale import stale_objects
    from lagoform.review import Review, render_text

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
            facts = _saved_plan_facts(root, plan, live)
            made = f", made {plan.created_at}" if plan.created_at else ""
            if not console().quiet:
                click.echo(f"Applying saved plan {plan.plan_id}{made}: {_counted(plan)}.")
        else:
            announce(target)
            built = build(target, root)
            review, facts = built.review, built.facts
            plan = review.plan
            click.echo(render_text(review, color=console().color(), revenue=False), nl=False)
        if not plan.has_changes:
            click.echo("Nothing to apply.")
            return
        check_applicable(plan, confirm_delete_plan)
        _report_unfinished(target, root)
        if planfile is None:  # a saved plan was reviewed already: Terraform applies it as is
            _confirm(target, auto_approve)
        _apply(target, root, review, actor, facts, confirm_delete_plan)


def _apply(
    target: Target,
    root: Path,
    review: Any,
    actor: str | None,
    facts: dict[str, Any],
    confirm_delete_plan: tuple[str, ...],
) -> None:
    from lagoform.engine.apply import apply_plan
    from lagoform.engine.lockfile import apply_lock

    plan = review.plan
    started = time.monotonic()
    with (
        apply_lock(root, target.name),
        _trail(target, root, plan, actor, facts) as trail,
        console().progress(f"Applying to {target_label(target)}") as ticker,
    ):
        report = apply_plan(
            plan,
            target.client(),
            audit=trail,
            confirm_delete_plans=confirm_delete_plan,
            progress=ApplyProgress(ticker, quiet=console().quiet),
            seen=review.live_seen or None,
        )
        log = trail.log_path
    click.secho(summary(report.counts(), time.monotonic() - started), fg="green")
    if log is not None:
        head = _audit_head(log)
        chain = f", chain head {short_hash(head)}" if head else ""
        click.echo(f"Audit records: {_relative(log, root)}{chain}.")


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
    and the terminal's status line naming the change running."""

    def __init__(self, ticker: Ticker, *, quiet: bool = False) -> None:
        self.ticker = ticker
        self.quiet = quiet
        self.began = time.monotonic()

    def __call__(self, index: int, total: int, change: Any, status: str) -> None:
        what = f"{change.kind.replace('_', ' ')} {change.key}"
        if status == "start":
            self.began = time.monotonic()
            self.ticker.update(f"[{index}/{total}] {change.action} {what}")
            return
        took = time.monotonic() - self.began
        if status == "failed":
            self.ticker.echo(f"! {what}: failed after {took:.1f} s", err=True, fg="red")
        elif not self.quiet:
            done = _DONE.get(change.action, change.action)
            symbol = _SYMBOL.get(change.action, "~")
            self.ticker.echo(f"{symbol} {what}: {done} ({took:.1f} s) [{index}/{total}]")


def _audit_head(log: Path) -> str | None:
    """The hash of the last record in a JSON Lines audit log: its chain's head. (Read from the
    file's last line; a trail that tells its head would make this unnecessary.)"""
    import orjson

    try:
        with log.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65_536))
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        head = record.get("hash") if isinstance(record, dict) else None
        return head if isinstance(head, str) else None
    return None


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


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
        console().info(
            "note: the catalog under --root is not the one this plan was made from; the plan "
            "is applied as saved, and its audit records carry no override facts."
        )
        return {}
    return override_facts(project, desired, live)


def _report_unfinished(target: Target, root: Path) -> None:
    """Intents without an outcome in this environment's audit log: a previous apply stopped
    between a call and its record, so Lago may or may not have taken those calls."""
    from lagoform.audit.chain import pending_intents
    from lagoform.audit.configured import log_path
    from lagoform.config import load_config

    path = log_path(load_config(root), root=root, environment=target.name)
    if path is None or not path.exists():
        return
    unfinished = pending_intents(path)
    if not unfinished:
        return
    click.secho(
        f"warning: the audit log {path} holds {len(unfinished)} call(s) with no recorded "
        "outcome: a previous apply stopped between the call and its record, so Lago may or may "
        "not have taken them:",
        fg="yellow",
        err=True,
    )
    for record in unfinished:
        click.echo(
            f"  - {record.action} {record.object_kind} {record.object_key}: {record.method} "
            f"{record.path} at {record.time} by {record.actor} (record {record.record_id})",
            err=True,
        )
    click.echo(
        "  This plan was made from what Lago holds now, so applying it is safe; check these "
        "objects in Lago if the call matters (e.g. a wallet top-up).",
        err=True,
    )


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
