"""Mode ``apply``: after a merge, make Lago match the default branch, and say what happened.
(Mode ``scheduled`` runs the same way for the scheduled prices due today: ``scheduled``.)

Validate, plan once (plan.json, an artifact), then ``lagoform apply plan.json --auto-approve
--actor <who merged>`` so exactly the planned changes are made and a stale plan is refused.
Which changes were made is read from the audit records this run appended (one intent and one
outcome per Lago call); the summary lists every pending change as applied, failed, not applied
or blocked, and a failed apply fails the job with the same list. The audit log's path is a step
output, for upload as an artifact; its head (the hash of the last record this run wrote) is in
the job summary and the ``audit-head`` output, to be pinned elsewhere and checked later with
``lagoform audit verify --expect-head``. An ``unknown`` outcome (Lago's answer was lost) shows
as unknown, never as applied or not applied.

Like Atlantis, the merged pull request then gets a comment saying what was applied where: the
verdict with Terraform's counts ("2 created, 1 updated, 0 deleted, 0 blocked"), each change
with the audit records that prove it, and where the hash-chained log is (one comment per
environment, edited when the job re-runs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import github_action_toolkit as gat
from pydantic import ValidationError

from lagoform.audit.record import Record
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.errors import EXIT_ERROR, EXIT_OK
from lagoform.github import report, scheduled, steps
from lagoform.github.commands import run_lagoform
from lagoform.github.rest import GitHubApiError, GitHubClient
from lagoform.github.runner import (
    RunnerContext,
    annotate_error,
    annotate_warning,
    log_group,
    set_output,
    write_summary,
)
from lagoform.github.settings import Settings
from lagoform.github.sticky import apply_marker, upsert_comment

Status = Literal["applied", "failed", "not applied", "blocked", "unknown"]
_ICONS: dict[Status, str] = {
    "applied": "✅",
    "failed": "❌",
    "not applied": "⏭️",
    "blocked": "⛔",
    "unknown": "❔",
}


@dataclass(frozen=True)
class ChangeStatus:
    change: ObjectChange
    status: Status
    records: tuple[str, ...] = ()  # the audit records (intent ids) of its calls


def run(ctx: RunnerContext, settings: Settings) -> int:
    where = f"`{report.escape_text(settings.target.label)}`"
    problems = steps.validate(ctx, settings)
    if problems:
        n = len(problems)
        return _finish(
            "invalid",
            report.document(
                f"❌ **Invalid configuration** for {where} — {n} problem{'s' if n != 1 else ''}; "
                "nothing was applied.",
                report.problems_section(problems, lambda _: None),
            ),
        )
    planned = steps.plan(ctx, settings, impact=False)  # apply never reads the section
    if planned.plan is None or planned.json_path is None:
        return _finish(
            "error",
            report.document(
                f"❌ **Plan failed** for {where} — nothing was applied.",
                f"```text\n{report.escape_text(planned.completed.message())}\n```",
            ),
        )
    set_output("plan-json", str(planned.json_path))
    if planned.markdown_path is not None:
        set_output("plan-markdown", str(planned.markdown_path))
    plan = planned.plan
    timed = settings.mode == "scheduled"  # the daily run applying due scheduled prices
    audit_log = audit_log_path(settings, settings.target.audit_environment)
    if not plan.has_changes:
        if audit_log is not None and audit_log.is_file():
            set_output("audit-log", str(audit_log))
        return _finish(
            "no-changes",
            report.document(
                f"✅ **No changes** for {where} — Lago already matches; nothing to apply.",
                scheduled.ahead(planned.review) if timed else "",
            ),
        )
    refused = scheduled.refusal(planned.review, where) if timed and planned.review else None
    if refused is not None:
        annotate_error(f"lagoform: {settings.target.label} has changes beyond the due prices")
        return _finish("drift", refused)

    default = scheduled.ACTOR if timed else ctx.merge_actor()
    actor = settings.actor or default or "github-actions"
    start = audit_log.stat().st_size if audit_log and audit_log.is_file() else 0
    args = ["apply", str(planned.json_path), *settings.target.args(), "--auto-approve"]
    with log_group(f"lagoform apply ({settings.target.label}) as {actor}"):
        completed = run_lagoform(
            [*args, "--actor", actor], cwd=settings.project_root, scrub=settings.scrub
        )
        for stream in (completed.stdout, completed.stderr):
            if stream.strip():
                gat.info(stream.rstrip())
    if audit_log is not None and audit_log.is_file():
        set_output("audit-log", str(audit_log))
    records = read_records(audit_log, start) if audit_log else []
    statuses = change_statuses(plan, records, apply_ok=completed.exit_code == EXIT_OK)
    if records:
        set_output("audit-head", records[-1].hash)
    ok = completed.exit_code == EXIT_OK
    if not ok:
        applied = sum(1 for s in statuses if s.status == "applied")
        annotate_error(
            f"lagoform apply failed ({applied} of {len(statuses)} changes applied):\n"
            f"{completed.message()}\n\n{status_lines(statuses)}"
        )
    body = result_comment(
        target=settings.target.label,
        actor=actor,
        statuses=statuses,
        failure=None if ok else completed.message(),
        audit_log=ctx.relative_to_workspace(audit_log) if audit_log else None,
        head=records[-1].hash if records else None,
        run_url=ctx.run_url,
        sha=ctx.sha,
    )
    if settings.comment and not timed:
        _comment_on_pull(ctx, settings, body)
    ahead = scheduled.ahead(planned.review) if timed else ""
    return _finish("applied" if ok else "failed", report.document(body, ahead))


def result_comment(
    *,
    target: str,
    actor: str,
    statuses: list[ChangeStatus],
    failure: str | None,
    audit_log: str | None,
    head: str | None,
    run_url: str | None,
    sha: str | None,
) -> str:
    """What an apply did, for the merged pull request and the job summary: the verdict with
    Terraform's counts, each change with its audit records, where the audit log is."""
    where = f"`{report.escape_text(target)}`"
    counts = apply_counts(statuses)
    if failure is None:
        n = len(statuses)
        head_line = (
            f"✅ **Applied to {where}** — {n} change{'s' if n != 1 else ''} as "
            f"`{report.escape_text(actor)}`: {counts}."
        )
    else:
        applied = sum(1 for s in statuses if s.status == "applied")
        head_line = (
            f"❌ **Apply to {where} failed** — {applied} of {len(statuses)} changes were "
            f"applied: {counts}. Nothing after the failure was attempted; a new plan shows what "
            "is left."
        )
    parts = [head_line]
    if failure is not None:
        parts.append(f"```text\n{report.escape_text(failure)}\n```")
    parts.append(status_table(statuses))
    parts.append(_audit_note(audit_log, head, run_url))
    parts.append(report.footer(sha=sha, run_url=run_url, artifacts=True))
    return report.document(*parts)


def apply_counts(statuses: list[ChangeStatus]) -> str:
    """``2 created, 1 updated, 0 deleted, 0 blocked``: what Lago now has, as Terraform says it."""
    done = [s.change.action for s in statuses if s.status == "applied"]
    blocked = sum(1 for s in statuses if s.status == "blocked")
    return (
        f"{done.count('create')} created, {done.count('update')} updated, "
        f"{done.count('delete')} deleted, {blocked} blocked"
    )


def _audit_note(audit_log: str | None, head: str | None, run_url: str | None) -> str:
    if audit_log is None:
        return "<sub>No audit log file is configured for this environment (lagoform.yaml).</sub>"
    where = f"the [run's artifacts]({run_url}#artifacts)" if run_url else "the run's artifacts"
    pinned = f" {audit_head(head)}" if head else ""
    return (
        f"🧾 Audit records: `{report.escape_text(audit_log)}` (hash-chained), kept in "
        f"{where}.{pinned}"
    )


def audit_head(head: str) -> str:
    """The audit log's head after this run, as people pin it."""
    value = report.escape_text(head)
    return (
        f"Audit log head: `{value}` — keep it outside the repository and check the log later "
        f"with `lagoform audit verify --expect-head {value}`."
    )


def _comment_on_pull(ctx: RunnerContext, settings: Settings, body: str) -> None:
    """The result on the pull request this merge came from (none found: the summary has it)."""
    try:
        with GitHubClient(ctx.api_url, ctx.repository, ctx.token) as client:
            number = ctx.pull_request_number()
            if number is None and ctx.sha:
                found = client.pulls_for_commit(ctx.sha)
                number = found[0] if found else None
            if number is None:
                gat.info("no pull request for this commit: the result is in the job summary")
                return
            result = upsert_comment(client, number, apply_marker(settings.target.label), body)
    except GitHubApiError as err:
        annotate_warning(f"could not comment the apply result: {settings.scrub(str(err))}")
        return
    gat.info(f"apply comment {result.action}: {result.url}")
    set_output("comment-url", result.url)


def _finish(outcome: str, summary: str) -> int:
    write_summary(summary)
    set_output("outcome", outcome)
    return EXIT_OK if outcome in ("applied", "no-changes") else EXIT_ERROR


def audit_log_path(settings: Settings, environment: str) -> Path | None:
    """The JSON Lines audit log lagoform.yaml configures for ``environment`` (None: no file)."""
    from lagoform.audit.configured import log_path
    from lagoform.config import load_config

    config = load_config(settings.project_root)
    return log_path(config, root=settings.project_root, environment=environment)


def read_records(path: Path, offset: int) -> list[Record]:
    """The audit records appended after byte ``offset`` (this run's), skipping unreadable lines."""
    if not path.is_file():
        return []
    with path.open("rb") as log:
        log.seek(offset)
        lines = log.read().splitlines()
    records: list[Record] = []
    for line in lines:
        try:
            records.append(Record.model_validate_json(line))
        except ValidationError:
            continue  # a torn last line after a crash: the chain check reports it, not us
    return records


def change_statuses(plan: Plan, records: Iterable[Record], *, apply_ok: bool) -> list[ChangeStatus]:
    """Each pending change of ``plan`` and whether Lago now has it, from the audit records."""
    by_object: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        if record.phase == "settlement":  # about an earlier run's call, not this plan's
            continue
        if record.plan_id in (None, plan.plan_id):
            by_object.setdefault((record.object_kind, record.object_key), []).append(record)
    out: list[ChangeStatus] = []
    for change in plan.pending():
        if change.action == "blocked":
            out.append(ChangeStatus(change, "blocked"))
            continue
        mine = by_object.get((change.kind, change.key))
        intents = tuple(r.record_id for r in mine or () if r.phase == "intent")
        out.append(ChangeStatus(change, _status(mine, apply_ok), intents))
    return out


def _status(records: list[Record] | None, apply_ok: bool) -> Status:
    if not records:
        # No record of this object: apply stopped before it, or wrote no file audit at all.
        return "applied" if apply_ok else "not applied"
    outcomes = [r.outcome.status for r in records if r.phase == "outcome" and r.outcome]
    intents = sum(1 for r in records if r.phase == "intent")
    if "failed" in outcomes:
        return "failed"
    if "unknown" in outcomes:
        return "unknown"  # Lago's answer was lost: the call may or may not have landed
    if outcomes and all(o == "ok" for o in outcomes) and len(outcomes) == intents:
        return "applied"
    if not any(o == "ok" for o in outcomes) and len(outcomes) == intents:
        return "not applied"
    return "unknown"  # an intent without its outcome: the call may or may not have landed


def status_lines(statuses: list[ChangeStatus]) -> str:
    return "\n".join(f"{s.status}: {s.change.action} {s.change.ref}" for s in statuses)


def status_table(statuses: list[ChangeStatus]) -> str:
    rows = ["| | Object | Change | Result | Audit records |", "|---|---|---|---|---|"]
    for s in statuses:
        ref = report.escape_text(s.change.ref).replace("|", "\\|")
        records = ", ".join(f"`{r[:12]}`" for r in s.records) or "—"
        rows.append(
            f"| {_ICONS[s.status]} | `{ref}` | {s.change.action} | {s.status} | {records} |"
        )
    return "\n".join(rows)
