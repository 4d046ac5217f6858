"""Mode ``apply``: after a merge, make Lago match the default branch, and say what happened.

Validate, plan once (plan.json, an artifact), then ``lagoform apply plan.json --auto-approve
--actor <who merged>`` so exactly the planned changes are made and a stale plan is refused.
Which changes were made is read from the audit records this run appended (one intent and one
outcome per Lago call); the summary lists every pending change as applied, failed, not applied
or blocked, and a failed apply fails the job with the same list. The audit log's path is a step
output, for upload as an artifact; its head (the hash of the last record this run wrote) is in
the job summary and the ``audit-head`` output, to be pinned elsewhere and checked later with
``lagoform audit verify --expect-head``. An ``unknown`` outcome (Lago's answer was lost) shows
as unknown, never as applied or not applied.
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
from lagoform.github import report, steps
from lagoform.github.commands import run_lagoform
from lagoform.github.runner import (
    RunnerContext,
    annotate_error,
    log_group,
    set_output,
    write_summary,
)
from lagoform.github.settings import Settings

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


def run(ctx: RunnerContext, settings: Settings) -> int:
    label = report.escape_text(settings.target.label)
    title = f"### lagoform apply — `{label}`"
    problems = steps.validate(ctx, settings)
    if problems:
        return _finish(
            "invalid",
            report.document(
                title,
                "❌ **Invalid configuration** — nothing was applied.",
                report.problems_section(problems, lambda _: None),
            ),
        )
    planned = steps.plan(ctx, settings, impact=False)  # apply never reads the section
    if planned.plan is None or planned.json_path is None:
        return _finish(
            "error",
            report.document(
                title,
                "❌ **Plan failed** — nothing was applied.",
                f"```text\n{report.escape_text(planned.completed.message())}\n```",
            ),
        )
    set_output("plan-json", str(planned.json_path))
    if planned.markdown_path is not None:
        set_output("plan-markdown", str(planned.markdown_path))
    plan = planned.plan
    audit_log = audit_log_path(settings, settings.target.audit_environment)
    if not plan.has_changes:
        if audit_log is not None and audit_log.is_file():
            set_output("audit-log", str(audit_log))
        return _finish(
            "no-changes", report.document(title, "✅ **No changes** — nothing to apply.")
        )

    actor = settings.actor or ctx.merge_actor() or "github-actions"
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
    table = status_table(statuses)
    head = audit_head(records)
    if records:
        set_output("audit-head", records[-1].hash)
    if completed.exit_code != EXIT_OK:
        applied = sum(1 for s in statuses if s.status == "applied")
        annotate_error(
            f"lagoform apply failed ({applied} of {len(statuses)} changes applied):\n"
            f"{completed.message()}\n\n{status_lines(statuses)}"
        )
        return _finish(
            "failed",
            report.document(
                title,
                f"❌ **Apply failed** — {applied} of {len(statuses)} changes were applied.",
                f"```text\n{report.escape_text(completed.message())}\n```",
                table,
                head,
                report.footer(sha=ctx.sha, run_url=ctx.run_url, artifacts=True),
            ),
        )
    return _finish(
        "applied",
        report.document(
            title,
            f"✅ **Applied** {len(statuses)} change{'s' if len(statuses) != 1 else ''} "
            f"as `{report.escape_text(actor)}`.",
            table,
            head,
            report.footer(sha=ctx.sha, run_url=ctx.run_url, artifacts=True),
        ),
    )


def audit_head(records: list[Record]) -> str:
    """The audit log's head after this run, as a summary line ('' when it wrote nothing)."""
    if not records:
        return ""
    value = report.escape_text(records[-1].hash)
    return (
        f"Audit log head: `{value}` — keep it outside the repository and check the log later "
        f"with `lagoform audit verify --expect-head {value}`."
    )


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
        out.append(
            ChangeStatus(change, _status(by_object.get((change.kind, change.key)), apply_ok))
        )
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
    rows = ["| | Object | Change | Result |", "|---|---|---|---|"]
    for s in statuses:
        ref = report.escape_text(s.change.ref).replace("|", "\\|")
        rows.append(f"| {_ICONS[s.status]} | `{ref}` | {s.change.action} | {s.status} |")
    return "\n".join(rows)
