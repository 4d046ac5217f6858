"""`lagoform audit verify` (check a log's chain), `audit show` (read it) and `audit settle`.

Each reads the JSON Lines log named on the command line, or the one ``lagoform.yaml`` configures
for the environment (``-e``, default sandbox). Problems go to stdout one per line as
``file:line: record <id>: what``; a broken chain exits 1 through the root group's error mapping.
``verify --expect-head HASH`` also demands that a hash pinned earlier is still in the log (so
cutting its tail or re-hashing it is caught); a keyed chain is checked with the key from the
variable ``audit.key_env`` (or ``--key-env``) names. ``settle`` records what a person found in
Lago about a call whose outcome is unknown.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from lagoform.audit.chain import read_records, unsettled_intents, verify_file
from lagoform.audit.configured import chain_key, log_path
from lagoform.audit.record import Record
from lagoform.cli.target import ADHOC
from lagoform.config import SANDBOX, load_config
from lagoform.errors import AuditError
from lagoform.review.audit_values import entry_prices

_root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding lagoform.yaml.",
)
_env_option = click.option(
    "-e",
    "--env",
    "environment",
    default=SANDBOX,
    show_default=True,
    help="Environment whose configured audit log to read (when FILE is not given).",
)
_file_argument = click.argument(
    "file", required=False, type=click.Path(dir_okay=False, path_type=Path)
)


def _resolve(file: Path | None, root: Path, environment: str) -> Path:
    if file is not None:
        return file
    config = load_config(root)
    if environment != ADHOC:  # the log of `--api-url` runs is named after "ad-hoc"
        config.environment(environment)  # unknown environment -> ConfigError naming the known
    path = log_path(config, root=root, environment=environment)
    if path is None:
        raise AuditError(
            f"environment {environment!r} has no jsonl audit sink in lagoform.yaml; "
            "name the log file: lagoform audit verify FILE"
        )
    return path


@click.group()
def audit() -> None:
    """Read and check the audit log of Lago mutations."""


def _key_var(key_env: str | None, root: Path, environment: str) -> str | None:
    """The variable holding the chain's HMAC key: ``--key-env``, else lagoform.yaml's."""
    if key_env is not None:
        return key_env
    return load_config(root).audit_for(environment).key_env


@audit.command()
@_file_argument
@click.option(
    "--expect-head",
    "expect_head",
    metavar="HASH",
    default=None,
    help="A head printed by an earlier apply: it must still be in the log.",
)
@click.option(
    "--key-env",
    "key_env",
    metavar="VAR",
    default=None,
    help="Variable holding the keyed chain's HMAC key (default: lagoform.yaml's audit key_env).",
)
@_env_option
@_root_option
def verify(
    file: Path | None, expect_head: str | None, key_env: str | None, environment: str, root: Path
) -> None:
    """Check the chain: exit 1 naming every edited, removed, reordered or corrupt record."""
    path = _resolve(file, root, environment)
    var = _key_var(key_env, root, environment)
    key = chain_key(var, os.environ) if var is not None else None
    report = verify_file(path, key=key, expect_head=expect_head)
    if not report.ok:
        for problem in report.problems:
            click.echo(str(problem))
        n = len(report.problems)
        raise AuditError(
            f"audit log {path} failed verification: {n} problem{'s' if n != 1 else ''} "
            f"in {report.records} records"
        )
    keyed = f", {report.keyed} keyed" if report.keyed else ""
    click.echo(
        f"{path}: {report.records} records{keyed}, chain intact "
        f"(last record {report.last_record_id or '-'}, hash {report.last_hash})"
    )
    if expect_head is not None:
        click.echo(f"pinned head {expect_head} found at line {report.head_line}")
    pending = unsettled_intents(path)
    if pending:
        click.echo(
            f"warning: {len(pending)} call(s) with no known outcome (apply stopped during a call,"
            f" or Lago's answer was lost): lagoform audit show --pending {path}",
            err=True,
        )


@audit.command()
@_file_argument
@click.option("--pending", is_flag=True, help="Only intents that have no outcome (a crash).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for one record per line.",
)
@_env_option
@_root_option
def show(file: Path | None, pending: bool, fmt: str, environment: str, root: Path) -> None:
    """List the records of an audit log (or only the unfinished intents)."""
    path = _resolve(file, root, environment)
    if not path.exists():
        raise AuditError(f"audit log {path} does not exist (has apply written to it yet?)")
    numbered = read_records(path)
    if pending:
        open_ids = {u.record.record_id for u in unsettled_intents(path)}
        numbered = [(n, r) for n, r in numbered if r.record_id in open_ids]
    if fmt == "json":
        for _, record in numbered:
            click.echo(json.dumps(record.model_dump(mode="json"), sort_keys=True))
        return
    if not numbered:
        click.echo("no pending intents." if pending else "no records.")
        return
    for number, record in numbered:
        click.echo(_line(path, number, record))
        for detail in _override_lines(record):
            click.echo(detail)


def _line(path: Path, number: int, record: Record) -> str:
    if record.outcome is None:
        result = "intent"
    else:
        parts: list[str] = [record.outcome.status]
        if record.outcome.http_status is not None:
            parts.append(f"HTTP {record.outcome.http_status}")
        if record.outcome.error_code:
            parts.append(record.outcome.error_code)
        if record.intent_id and record.phase == "settlement":
            parts.append(f"of intent {record.intent_id}")
        result = f"{record.phase} " + " ".join(parts)
        if record.note:
            result += f" ({record.note})"
    where = f" {record.method} {record.path}" if record.method else ""
    return (
        f"{path}:{number} {record.time} {record.record_id} {result}: {record.action} "
        f"{record.object_kind} {record.object_key!r}{where} by {record.actor} "
        f"[{record.environment}, plan {record.plan_id or '-'}]"
    )


def _value(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _override_lines(record: Record) -> list[str]:
    section = record.override
    if section is None or record.phase != "intent":
        return []
    out = [
        f"    override for tenant {section.tenant_id}, subscription "
        f"{section.subscription_external_id} on base plan {section.base_plan_code}; "
        f"reason: {section.reason or '-'}; approval: {section.approval or '-'}"
    ]
    for entry in section.charges_diff:
        scope = f"charge {entry.charge_code}" if entry.charge_code else "plan"
        if entry.filter_values is not None:
            scope += " filter " + json.dumps(entry.filter_values, sort_keys=True)
        # prices in the YAML's unit and currency when the record says them (schema 3)
        base, new = entry_prices(entry.model_dump(mode="json"), section.currency)
        out.append(
            f"      {scope} {entry.field}: base {base or _value(entry.base_value)} -> "
            f"{new or _value(entry.override_value)} ({entry.change})"
        )
    return out


@audit.command()
@click.argument("record_id")
@click.option("--landed/--not-landed", required=True, help="What you found in Lago.")
@click.option("--note", default=None, help="How you know (e.g. the transaction id you saw).")
@click.option("--actor", default=None, help="Who settles it (default: detected).")
@_env_option
@_root_option
def settle(
    record_id: str, landed: bool, note: str | None, actor: str | None, environment: str, root: Path
) -> None:
    """Record what you found in Lago about a call whose outcome is unknown.

    Apply refuses to send a top-up (or a wallet create) again while its earlier attempt is
    unsettled; once you have looked in Lago, say whether it landed, and apply can go on.
    """
    from lagoform.audit.configured import open_trail
    from lagoform.cli.unsettled import settle_by_hand

    config = load_config(root)
    api_url = ADHOC if environment == ADHOC else config.environment(environment).api_url
    path = _resolve(None, root, environment)
    trail = open_trail(
        config,
        root=root,
        environment=environment,
        api_url=api_url or "sandbox",
        plan_id=None,
        actor=actor,
        env=os.environ,
    )
    with trail:
        found = settle_by_hand(trail, path, record_id, landed, note)
    record = found.record
    click.echo(
        f"settled {record.action} {record.object_kind} {record.object_key} (record {record_id}) "
        f"as {'landed' if landed else 'not landed'} in {path}"
    )
