"""The audit record: its schema (versioned), canonical JSON and object digests.

A record is one JSON object per line. This module defines what a record holds and how it is
serialized and digested; sealing a line (``prev_hash``/``hash``) lives in ``seal.py``, checking
the chain in ``chain.py``, writing in ``sinks.py``, and deciding *when* to write in
``trail.py``. Nothing here does I/O.

Schema version 2 (version 1 lines still verify and parse): a third phase, ``settlement`` — a
later record that settles an intent whose outcome was ``unknown`` (or never written) by reading
Lago, or by hand — with ``note`` saying how; outcome statuses ``unknown`` (the call may or may
not have reached Lago) and, on settlements, ``landed`` / ``not_landed`` / ``superseded``.

Schema version 3 (versions 1 and 2 still verify, parse and render as they did): the finance
section says which currency its amounts are in (``currency``) and, for each unit price, what
the YAML wrote it per (``per``: ``1M tokens``), so ``audit show`` prints ``2.5 USD per 1M
tokens`` as the change was reviewed. The values themselves stay Lago's per-unit amounts: what
was sent. Both fields are optional in the schema, so older lines (which lack them) still parse.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

from lagoform.model.units import parse_unit

SCHEMA_VERSION = 3

Phase = Literal["intent", "outcome", "settlement"]
# "not_sent": the intent was recorded but the call was never made (a later sink refused the
# intent, or apply stopped); it closes the intent so it does not read as a crash.
# "unknown": the answer was lost (timeout, broken connection, 5xx): Lago may have acted.
# Settlements: "landed" (Lago has it), "not_landed" (it does not, and never will), "superseded"
# (an idempotent call: a later apply re-read Lago and planned from what it holds).
OutcomeStatus = Literal["ok", "failed", "not_sent", "unknown", "landed", "not_landed", "superseded"]
UNSETTLED: frozenset[str] = frozenset({"unknown"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Outcome(_Frozen):
    """How a mutating call ended. ``http_status``/``error_code`` come from Lago's error body."""

    status: OutcomeStatus
    http_status: int | None = None
    error_code: str | None = None


def _unit_text(text: str | None) -> str | None:
    if text is not None:
        parse_unit(text)  # a unit renders can read, or a schema error naming the line
    return text


UnitText = Annotated[str | None, AfterValidator(_unit_text)]


class OverrideDiffEntry(_Frozen):
    """One field of one charge (or of one charge filter, or of the plan) that an override sets.

    ``charge_code`` is None for plan-level fields (base amount, display names).
    ``filter_values`` is the filter's values map (keys and values sorted) or None for the charge
    level. ``field`` is a path inside the charge or filter, e.g. ``properties.amount`` or
    ``properties.graduated_ranges[1].per_unit_amount``. ``change`` tells a changed field from a
    filter or key the override adds or drops. ``base_value`` and ``override_value`` are Lago's
    (a unit price per single unit); ``per`` is the unit the YAML writes that price in
    (``1M tokens``), None when it is per single unit, not a unit price, or the record predates
    schema version 3.
    """

    charge_code: str | None
    filter_values: dict[str, list[str]] | None
    field: str
    base_value: Any
    override_value: Any
    change: Literal["changed", "added", "removed"]
    per: UnitText = None  # schema 3


class OverrideAudit(_Frozen):
    """The finance part of a record for a subscription carrying overrides."""

    tenant_id: str
    subscription_external_id: str
    base_plan_code: str
    reason: str | None
    approval: str | None
    # base plan -> the values this apply sets
    charges_diff: list[OverrideDiffEntry]
    # base plan -> the values the subscription had before (None: no previous override known)
    previous_overrides: list[OverrideDiffEntry] | None
    # the subscription's currency, which amounts are in (schema 3; None on older records)
    currency: str | None = None


class Record(_Frozen):
    """One audit record, as written on one line. Field order here is documentation only: lines
    are canonical JSON (sorted keys)."""

    schema_version: int
    record_id: str
    time: str  # UTC, ISO 8601 with a trailing Z
    phase: Phase
    intent_id: str | None  # the intent an outcome closes; None on intents
    environment: str
    lago_host: str
    actor: str
    actor_source: str  # flag | ci | git | os
    git_commit: str | None
    pull_request: int | None
    plan_id: str | None
    action: str
    object_kind: str
    object_key: str
    method: str | None  # the HTTP call this record is about
    path: str | None
    before_digest: str | None
    after_digest: str | None
    request_digest: str | None
    response_digest: str | None
    outcome: Outcome | None  # None on intents
    override: OverrideAudit | None
    # The plan migration a subscription's plan change carries out (only on that call's records):
    # {id, from_plan, to_plan, kind, effective}.
    migration: dict[str, Any] | None = None
    prev_hash: str
    hash: str
    note: str | None = None  # settlements (and recovered outcomes): how it was settled


def jsonable(value: Any) -> Any:
    """Plain JSON types only, so a digest or a hash never depends on a Python type's repr.

    Decimals become strings (Lago's amounts are decimal strings), dates ISO strings, tuples and
    sets lists (sets sorted), pydantic models their JSON-mode dump.
    """
    match value:
        case None | bool() | int() | float() | str():
            return value
        case Decimal():
            return str(value)
        case datetime() | date():
            return value.isoformat()
        case BaseModel():
            return jsonable(value.model_dump(mode="json"))
        case Mapping():
            return {str(k): jsonable(v) for k, v in value.items()}
        case set() | frozenset():
            return sorted((jsonable(v) for v in value), key=canonical_json)
        case list() | tuple():
            return [jsonable(v) for v in value]
    raise TypeError(f"cannot put a {type(value).__name__} into an audit record")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: the one serialization hashes are computed over."""
    return json.dumps(
        jsonable(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def digest(value: Any) -> str | None:
    """``sha256:<hex>`` of the canonical JSON of an object, or None when there is no object."""
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


def utc_now_iso(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_record_id() -> str:
    return uuid.uuid4().hex


def time_ns(record: Mapping[str, Any]) -> int:
    """The record's time as unix nanoseconds (Loki's timestamp unit)."""
    moment = datetime.fromisoformat(str(record["time"]).replace("Z", "+00:00"))
    whole = int(moment.replace(microsecond=0).timestamp())
    return whole * 1_000_000_000 + moment.microsecond * 1_000


def parse_record(data: Mapping[str, Any]) -> Record:
    """Validate a decoded line against the schema (raises pydantic's ValidationError)."""
    return Record.model_validate(dict(data))
