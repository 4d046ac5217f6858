"""The hash chain over audit records, its verification, and reading a log back.

Each record carries ``prev_hash`` (the ``hash`` of the record before it; ``GENESIS`` for the first)
and ``hash`` (sha256 of its own canonical JSON without ``hash``). Editing a record breaks its own
hash; removing or reordering records breaks a ``prev_hash``. Verification names the file, the line
and the record id of every break. A hash chain without a secret cannot stop someone from
rewriting the whole file, or notice records cut from its end: the copy shipped to Loki (or any
other sink) is the outside anchor for that (see docs/audit.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lagoform.audit.record import Record, canonical_json, digest, parse_record
from lagoform.errors import AuditError

GENESIS = "sha256:" + "0" * 64


def record_hash(record: Mapping[str, Any]) -> str:
    """The hash a record must carry: over its canonical JSON minus the ``hash`` field itself."""
    body = {k: v for k, v in record.items() if k != "hash"}
    value = digest(body)
    assert value is not None  # a dict is never None
    return value


def seal(body: Mapping[str, Any], prev_hash: str) -> dict[str, Any]:
    """Chain a record body to its predecessor: returns the body with prev_hash and hash set."""
    sealed = {k: v for k, v in body.items() if k not in ("prev_hash", "hash")}
    sealed["prev_hash"] = prev_hash
    sealed["hash"] = record_hash(sealed)
    return sealed


def line_of(record: Mapping[str, Any]) -> str:
    """The exact line written for a record (without the newline)."""
    return canonical_json(record)


@dataclass(frozen=True)
class ChainProblem:
    file: str
    line: int
    record_id: str | None
    message: str

    def __str__(self) -> str:
        who = f"record {self.record_id}: " if self.record_id else ""
        return f"{self.file}:{self.line}: {who}{self.message}"


@dataclass(frozen=True)
class VerifyReport:
    file: str
    records: int
    last_hash: str
    last_record_id: str | None
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Line:
    number: int
    data: dict[str, Any] | None  # None: unreadable (reported already)

    @property
    def record_id(self) -> str | None:
        rid = self.data.get("record_id") if self.data else None
        return rid if isinstance(rid, str) else None

    @property
    def stored_hash(self) -> str | None:
        value = self.data.get("hash") if self.data else None
        return value if isinstance(value, str) else None


def _schema_problem(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    return f"does not match audit schema: {where}: {first['msg']} ({err.error_count()} error(s))"


def _decode(lines: Iterable[str], file: str, problems: list[ChainProblem]) -> list[_Line]:
    out: list[_Line] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip("\n")
        message: str | None = None
        data: Any = None
        if not text.strip():
            message = "blank line inside the log"
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as err:
                message = f"not a JSON record ({err.msg})"
            else:
                if not isinstance(data, dict):
                    message = "not a JSON object"
        if message is not None:
            problems.append(ChainProblem(file, number, None, message))
            out.append(_Line(number, None))
        else:
            out.append(_Line(number, data))
    return out


def verify_lines(lines: Iterable[str], file: str) -> VerifyReport:
    """Check every line of a log; reports every problem, not just the first."""
    problems: list[ChainProblem] = []
    decoded = _decode(lines, file, problems)
    by_hash: dict[str, _Line] = {}
    for entry in decoded:
        if entry.stored_hash is not None:
            by_hash.setdefault(entry.stored_hash, entry)
    by_id: dict[str, int] = {}
    intents: set[str] = set()
    previous: _Line | None = None
    for entry in decoded:
        if entry.data is None:
            previous = entry
            continue
        data, rid = entry.data, entry.record_id

        def report(message: str, *, _n: int = entry.number, _r: str | None = rid) -> None:
            problems.append(ChainProblem(file, _n, _r, message))

        try:
            parse_record(data)
        except ValidationError as err:
            report(_schema_problem(err))
        if entry.stored_hash != record_hash(data):
            report("content was edited: its hash does not match its content")
        if rid is not None:
            if rid in by_id:
                report(f"record id also used on line {by_id[rid]}")
            by_id[rid] = entry.number
        _check_link(entry, previous, by_hash, report)
        if data.get("phase") == "intent" and rid is not None:
            intents.add(rid)
        if data.get("phase") == "outcome" and data.get("intent_id") not in intents:
            report(f"outcome closes intent {data.get('intent_id')}, not found earlier in the log")
        previous = entry
    records = [e for e in decoded if e.data is not None]
    last = records[-1] if records else None
    return VerifyReport(
        file=file,
        records=len(records),
        last_hash=(last.stored_hash if last else None) or GENESIS,
        last_record_id=last.record_id if last else None,
        problems=problems,
    )


def _check_link(
    entry: _Line,
    previous: _Line | None,
    by_hash: Mapping[str, _Line],
    report: Callable[[str], None],
) -> None:
    prev_hash = entry.data.get("prev_hash") if entry.data else None
    if previous is None:
        if prev_hash != GENESIS:
            report("first record is not the start of the chain: records before it were removed")
        return
    if previous.data is None:
        return  # the line before is unreadable; already reported there
    if prev_hash == previous.stored_hash:
        return
    if prev_hash == GENESIS:
        report(
            f"starts a new chain after line {previous.number}: records were reordered or spliced"
        )
    elif isinstance(prev_hash, str) and prev_hash in by_hash:
        other = by_hash[prev_hash]
        report(
            f"chained to line {other.number} (record {other.record_id}), not to line "
            f"{previous.number}: records were reordered"
        )
    else:
        report(
            "the record it was chained to is missing: a record was removed before this line "
            f"(after line {previous.number}, record {previous.record_id})"
        )


def verify_file(path: Path) -> VerifyReport:
    if not path.exists():
        raise AuditError(f"audit log {path} does not exist (has apply written to it yet?)")
    with path.open(encoding="utf-8", newline="\n") as handle:
        return verify_lines(handle, str(path))


def read_records(path: Path) -> list[tuple[int, Record]]:
    """Every record of a log with its line number. A line that is not a valid record is an
    AuditError naming it: a log we cannot read must not be trusted for anything."""
    if not path.exists():
        return []
    out: list[tuple[int, Record]] = []
    with path.open(encoding="utf-8", newline="\n") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                out.append((number, parse_record(json.loads(raw))))
            except (json.JSONDecodeError, ValidationError, TypeError) as err:
                kind = "schema" if isinstance(err, ValidationError) else "JSON"
                raise AuditError(
                    f"{path}:{number}: not a valid audit record ({kind}); "
                    f"run `lagoform audit verify {path}`"
                ) from None
    return out


def pending_intents(path: Path) -> list[Record]:
    """Intents with no outcome in the log: a call that may or may not have reached Lago because
    apply crashed (or was killed) between the two records. Apply reports these before it starts,
    and ``lagoform audit show --pending`` lists them; reconciling is safe (plans are computed from
    live state), but a human should know a mutation's result was never recorded."""
    records = [r for _, r in read_records(path)]
    closed = {r.intent_id for r in records if r.phase == "outcome"}
    return [r for r in records if r.phase == "intent" and r.record_id not in closed]
