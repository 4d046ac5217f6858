"""Calls the audit log holds without a known outcome: read them, settle them by reading Lago,
report them — on every plan and every apply, also when there is nothing to apply.

``plan`` only reads (it reports what each call turned out to be, and blocks changes to objects
with an unresolved one, so reviewers see it); ``apply`` also records each settlement in the log
(``AuditTrail.settle``) before it sends anything. The rules live in ``lagoform.engine.settle``;
this module glues the audit log (where the calls are) to the engine (which reads Lago).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from lagoform.audit.chain import Unsettled, unsettled_intents
from lagoform.audit.trail import AuditTrail
from lagoform.engine.settle import UnknownCall, Verdict, settle
from lagoform.errors import AuditError
from lagoform.lago.client import LagoClient


@dataclass
class Settling:
    """The unsettled calls of one log and what reading Lago made of them."""

    path: Path | None
    verdicts: list[Verdict] = field(default_factory=list)
    by_id: dict[str, Unsettled] = field(default_factory=dict)

    @property
    def unresolved(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.settled]


def _call(item: Unsettled) -> UnknownCall:
    record = item.record
    return UnknownCall(
        record_id=record.record_id,
        kind=record.object_kind,
        key=record.object_key,
        action=record.action,
        method=record.method,
        path=record.path,
        time=record.time,
        actor=record.actor,
        why=item.why,
    )


def settle_log(path: Path | None, client: LagoClient, *, strict: bool) -> Settling:
    """Read ``path``'s unsettled calls and settle them against Lago. A log that cannot be read
    is an AuditError when ``strict`` (apply), a warning otherwise (plan)."""
    if path is None or not path.is_file():
        return Settling(path)
    try:
        items = unsettled_intents(path)
    except AuditError as err:
        if strict:
            raise
        click.secho(f"warning: {err}", fg="yellow", err=True)
        return Settling(path)
    calls = [_call(item) for item in items]
    return Settling(path, settle(client, calls), {i.record.record_id: i for i in items})


_WORDS = {
    "landed": "settled: Lago has it",
    "not_landed": "settled: it did not land",
    "superseded": "settled",
    "unresolved": "NOT settled",
}


def report(settling: Settling, *, recorded: bool) -> None:
    """Print every unsettled call and its verdict to stderr."""
    if not settling.verdicts:
        return
    n = len(settling.verdicts)
    click.secho(
        f"warning: the audit log {settling.path} holds {n} call(s) whose outcome was never "
        "recorded or is unknown (apply stopped during the call, or Lago's answer was lost):",
        fg="yellow",
        err=True,
    )
    for verdict in settling.verdicts:
        call = verdict.call
        click.echo(
            f"  - {call.action} {call.kind} {call.key}: {call.method} {call.path} at {call.time} "
            f"by {call.actor} (record {call.record_id}, {call.why})",
            err=True,
        )
        click.echo(f"    {_WORDS[verdict.status]} — {verdict.note}", err=True)
        if verdict.how:
            click.echo(f"    {verdict.how}", err=True)
    settled = sum(1 for v in settling.verdicts if v.settled)
    if settled:
        where = "recorded in the audit log" if recorded else "apply records this in the audit log"
        click.echo(f"  {settled} settled by reading Lago ({where}).", err=True)


def record(settling: Settling, trail: AuditTrail) -> None:
    """Write a settlement record for every call reading Lago settled."""
    for verdict in settling.verdicts:
        item = settling.by_id.get(verdict.call.record_id)
        if verdict.settled and item is not None:
            trail.settle(item.record, verdict.status, verdict.note)


def settle_by_hand(
    trail: AuditTrail, path: Path, record_id: str, landed: bool, note: str | None
) -> Unsettled:
    """Record a person's finding about one unsettled call (``lagoform audit settle``)."""
    items: Sequence[Unsettled] = unsettled_intents(path)
    found = next((i for i in items if i.record.record_id == record_id), None)
    if found is None:
        known = ", ".join(i.record.record_id for i in items) or "none"
        raise AuditError(
            f"{path} holds no unsettled intent {record_id!r} (unsettled: {known}); "
            "`lagoform audit show --pending` lists them"
        )
    words = "landed" if landed else "did not land"
    trail.settle(
        found.record,
        "landed" if landed else "not_landed",
        f"settled by hand by {trail.actor}: it {words}" + (f" ({note})" if note else ""),
    )
    return found
